"""The dindtui terminal UI: the app holds the engine it is given, the model (the tree, the disk
usage, the event streams), the one task runner, and the live updates; the main screen
(screens/main.py) draws the model and owns the keys.

UI code never calls Docker: every engine call runs in a thread worker and comes back as a
message (messages.py). A daemon event is applied to the model at once and drawn, then only
that daemon's subtree is read again, lazily; a slow poll is the safety net."""

from __future__ import annotations

import gc
import time
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FuturesTimeout
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Callable

from rich.markup import escape
from textual import on, work
from textual.app import App, SystemCommand
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from . import actions
from .engine.explore import rows, stats
from .engine.tree import levels
from .engine.errors import DindtuiError
from .controls import Controls
from .engine.api import TUIEngine
from .engine.facade import Engine
from .engine.explore.rows import ContainerRow
from .engine.explore.stats import Usage
from .engine.tree.levels import Level
from .engine.progress import Progress
from .engine.lazy import LazyModule
from .formatting import cleanup_summary, human, safe_text
from .model import Model
from .messages import (DaemonEvent, DetailsLoaded, InspectLoaded, LevelExited, PlanReady,
                       StatsRound, StreamState, SubtreeLoaded, SwarmLoaded, TaskDone,
                       TaskProgress, TreeLoaded, UsageMeasured)
from .screens.collapse import CollapseScreen
from .screens.search import TreeSearch
from .screens.main import MainScreen
from .widgets.level_tree import LevelTree

if TYPE_CHECKING:
    from .engine.disk.usage import CleanupPlan, UsageReport
    from .engine.lifecycle import exiting, spawn
    from .screens import container, dialogs
    from .screens import usage as usage_screen
    from .screens.dialogs import ClusterRequest, RunRequest
else:  # no part of a first frame (engine/lazy.py): the lifecycle (about 40 ms to import), a
    #    container's screen and the dialogs (about 15 ms)
    spawn = LazyModule("dindtui.engine.lifecycle.spawn")
    container = LazyModule("dindtui.screens.container")
    usage_screen = LazyModule("dindtui.screens.usage")
    dialogs = LazyModule("dindtui.screens.dialogs")

POLL_SECONDS = 30      # the safety net under the event streams...
POLL_CPU_SHARE = 0.001  # ...costs at most this share of one CPU on average (a whole tree read
POLL_MAX = 120          # of 64 levels and 1,000 containers: ~75 ms of CPU, then every ~75 s), and
#                         comes at least this often
USAGE_SECONDS = 120    # du walks every file: not often, and at once when the tree changes
USAGE_SOON = 3.0       # after a change of the tree, the walk waits this long for the rest
USAGE_CPU_SHARE = 0.005  # ...and never more than this share of one CPU on average: a walk that
#                          took 4 s (64 levels, 1,000 containers) is made again in 800 s
REREAD_DELAY = 0.3     # after an event, read that daemon's subtree again (bursts collapse)
STARTING_PROBE = 0.5   # while a level starts, look again this often
SWARM_SECONDS = 1.0    # the swarm tab, while on screen, is read again this often
RETRY_SECONDS = 2
FIRST_FRAME_WAIT = 0.25  # the first frame waits this long for the first tree, then draws


class DindtuiApp(App[int]):
    TITLE = "dindtui"
    SUB_TITLE = "docker in docker in docker…"
    COMMANDS = App.COMMANDS | {TreeSearch}

    def __init__(self, *, animation: bool = True, engine: TUIEngine | None = None) -> None:
        super().__init__()
        self.engine: TUIEngine = engine or Engine()
        self.animation = animation  # the CLI reads --no-animation and DINDTUI_NO_ANIMATION
        self.spinning = True  # the spinning top turns (snapshot tests hold it still)
        self.model = Model()
        self.watcher = self.engine.watcher(self._event_seen, self._stream_seen)
        self._rereads: set[str] = set()   # paths whose subtree re-read is pending
        self._retry_pending = False
        self._busy = ""
        self._quitting = False
        self.collapse_screen: CollapseScreen | None = None
        self.main = MainScreen()
        self.sampler = self.engine.sampler(self._stats_seen)

    # What the screens read of the model (controls.py), kept where they look for it.
    @property
    def roots(self) -> list[Level] | None:
        return self.model.roots

    @property
    def selected_path(self) -> str:
        return self.model.selected_path

    @property
    def report(self) -> UsageReport | None:
        report: UsageReport | None = self.model.report
        return report

    @property
    def streams(self) -> dict[str, str]:
        return self.model.streams

    @property
    def disk_history(self) -> dict[str, deque[tuple[float, int]]]:
        return self.model.disk_history

    @property
    def tree_loads(self) -> int:
        return self.model.loads

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast: plain text unless asked (names and daemon errors are never markup),
        each line bounded and with its terminal controls shown, never sent."""
        message = "\n".join(safe_text(line, 1000) for line in str(message).split("\n")[:12])
        super().notify(message, title=safe_text(title, 200), severity=severity,
                       timeout=timeout, markup=markup)

    def _event_seen(self, endpoint: str, event: dict) -> None:  # the watcher's threads
        self.post_message(DaemonEvent(endpoint, event))

    def _stream_seen(self, endpoint: str, state: str) -> None:
        self.post_message(StreamState(endpoint, state))

    def _stats_seen(self, keys: set[str]) -> None:  # the sampler's thread
        self.post_message(StatsRound(keys))

    def get_default_screen(self) -> MainScreen:
        return self.main

    def on_mount(self) -> None:
        self.set_interval(POLL_SECONDS, self._poll)
        self._schedule_usage(USAGE_SECONDS)
        self.set_interval(SWARM_SECONDS, self._poll_swarm)

    def top_screen(self):
        """The screen on top, or None while the app starts or shuts down (a worker's message
        can arrive then)."""
        return self.screen_stack[-1] if self.screen_stack else None

    def on_unmount(self) -> None:
        self.watcher.close()
        self.sampler.close()

    # ----------------------------------------------------------------- the one task runner

    def _run_task(self, kind: str, body: Callable[[], str | None]) -> None:
        """The one runner of every UI task (in a worker thread): whatever happens, the task
        ends with one TaskDone message, an error notification for any failure, and the UI is
        free again. `body` returns the success text (None: it reports by itself)."""
        try:
            text = body()
        except Exception as exc:  # noqa: BLE001 - never leave the app "busy" for good
            self.post_message(TaskDone(kind, one_line(exc), error=True))
            return
        if text is not None:
            self.post_message(TaskDone(kind, text))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A safety net under _run_task: a task worker that died anyway frees the UI."""
        if event.worker.group == "task" and event.state == WorkerState.ERROR and self._busy:
            self.post_message(TaskDone("task", one_line(event.worker.error), error=True))

    def start_task(self, title: str) -> bool:
        if self._busy:
            self.notify(f"wait: {self._busy} is still running", severity="warning")
            return False
        self._busy = title
        self.main.task_started(title)
        return True

    def _progress(self, report: Progress) -> None:
        self.post_message(TaskProgress(report))

    @on(TaskProgress)
    def task_progress(self, message: TaskProgress) -> None:
        self.main.task_progress(message.report)

    @on(TaskDone)
    def task_done(self, message: TaskDone) -> None:
        self._busy = ""
        self.main.task_finished()
        self.notify(message.text, severity="error" if message.error else "information",
                    timeout=8 if message.error else 4)
        if self.collapse_screen is not None and message.kind in ("exit", "collapse"):
            self.collapse_screen.finish("…and you wake up." if not message.error
                                        else "the collapse stopped: " + message.text)
            self.collapse_screen = None
        if message.kind == "collapse" and self._quitting:
            self.exit(0)
            return
        self.refresh_tree()
        self.measure_usage_soon()

    # ----------------------------------------------------------------- loading

    first_tree: "Future[list[Level]] | None" = None  # read while the app loaded (cli.py)

    def on_load(self) -> None:
        """Before the screens are composed: the first tree is read meanwhile, unless the CLI
        has been reading it since before Textual was imported."""
        if self.first_tree is None:
            self.first_tree = self.engine.discover_soon()

    collector_paused = False  # the CLI disabled the garbage collector for the start

    def first_frame_drawn(self) -> None:
        """After the first frame: what the start made is collected once, what survives is
        frozen (later collections no longer walk Textual's and the app's own objects), and
        the collector works again."""
        if self.collector_paused:
            self.collector_paused = False
            gc.collect()
            gc.freeze()
            gc.enable()

    def main_composed(self) -> None:
        """The main screen is composed and nothing is drawn yet: a first tree that is read by
        now (or within FIRST_FRAME_WAIT) is in the first frame, one layout instead of two
        (waiting here frees the interpreter for the threads reading it); a slower one comes
        through refresh_tree. Disk usage waits for the first tree: it must not slow its
        paint."""
        first = self.first_tree
        self.call_after_refresh(self.first_frame_drawn)
        if first is not None and wait_for(first, FIRST_FRAME_WAIT):
            self.first_tree = None
            try:
                loaded = TreeLoaded(first.result())
            except Exception as exc:  # noqa: BLE001 - the banner says it, retries go on
                loaded = TreeLoaded(None, one_line(exc))
            self.tree_loaded(loaded)
        else:
            self.refresh_tree()

    _tree_read_at = 0.0          # when the last whole tree arrived (monotonic)
    _poll_every: float = POLL_SECONDS  # what the safety-net poll waits after it

    def _poll(self) -> None:
        """The safety net under the event streams: the whole tree read again, when the last
        whole read is older than its cost allows (any read resets the wait)."""
        if time.monotonic() - self._tree_read_at >= self._poll_every - 1:
            self.refresh_tree()

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def refresh_tree(self) -> None:
        first, self.first_tree = self.first_tree, None
        started = time.process_time()  # every thread's: the read is pipelined over many
        try:
            roots = first.result() if first is not None else self.engine.discover()
        except Exception as exc:  # noqa: BLE001 - any failure: the banner says it, retries go on
            self.post_message(TreeLoaded(None, one_line(exc)))
            return
        self.post_message(TreeLoaded(roots, cpu_seconds=None if first is not None
                                     else time.process_time() - started))

    @work(thread=True, exclusive=True, group="usage", exit_on_error=False)
    def measure_usage(self) -> None:
        # What the walk costs this machine: this thread (reading the daemons, waiting) and the
        # walker, a process of its own whose seconds this thread's clock does not count (at 64
        # levels ~4 s against ~0.1 s here: the walk came every 120 s, not every 800).
        started = time.thread_time()
        try:
            report = self.engine.measure()
        except Exception as exc:  # noqa: BLE001 - measured again at the next interval
            self.post_message(UsageMeasured(None, one_line(exc),
                                            cpu_seconds=time.thread_time() - started))
            return
        self.post_message(UsageMeasured(report, cpu_seconds=time.thread_time() - started
                                        + report.cpu_seconds))

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def load_details(self, level: Level) -> None:
        try:
            self.post_message(DetailsLoaded(self.engine.details(level)))
        except Exception:  # noqa: BLE001 - the pane keeps what it showed
            pass

    @work(thread=True, group="reread", exit_on_error=False)
    def reread(self, level: Level) -> None:
        try:
            self.post_message(SubtreeLoaded(self.engine.reread(level)))
        except Exception:  # noqa: BLE001 - the next poll reads the whole tree
            pass

    @on(TreeLoaded)
    def tree_loaded(self, message: TreeLoaded) -> None:
        first = self.model.roots is None and self.model.report is None
        self._tree_read_at = time.monotonic()
        if message.cpu_seconds is not None:
            self._poll_every = poll_interval(message.cpu_seconds)
        structure_changed = self.model.load(message.roots)
        if message.roots is None:
            self.main.show_unreachable(message.error or "no answer")
            self._retry_soon()
            return
        silent = [root for root in message.roots if root.state != levels.READY]
        if silent:  # several engines: those that answer are shown, the others retried
            self.main.show_banner("; ".join(f"{root.label}: {root.error or root.state}"
                                            for root in silent))
            self._retry_soon()
        else:
            self.main.clear_banner()
        self._tree_changed(structure_changed, first)
        if first:  # after the frame that draws the tree: its threads would slow that frame
            self.call_after_refresh(self.measure_usage)
        self.reload_selected()

    @on(SubtreeLoaded)
    def subtree_loaded(self, message: SubtreeLoaded) -> None:
        self._rereads.discard(message.fresh.path)
        structure_changed = self.model.graft(message.fresh)
        if structure_changed is not None:
            self._tree_changed(structure_changed)

    def _tree_changed(self, structure_changed: bool, first: bool = False) -> None:
        self.main.show_tree()
        moved_to = self.model.follow_selection()
        if moved_to is not None:
            # The selected level is gone (exited elsewhere, removed): its nearest ancestor
            # is shown instead of what the pane last said about it.
            self.main.select_path(moved_to)
        if self.model.roots is not None:
            self.engine.forget_gone(self.model.roots)
        if first:  # one event stream per daemon and the sampler: after the tree is on screen
            self.call_after_refresh(self.sync_event_streams)
            self.call_after_refresh(self.follow_stats)
        else:
            self.sync_event_streams()
            self.follow_stats()
        if structure_changed and self.model.report is not None:
            self.measure_usage_soon()
        for level in self.model.starting():  # a starting daemon sends no event when it answers
            self._schedule_reread(level, STARTING_PROBE)

    def go_to(self, hit: rows.Hit) -> None:
        """A find result: its level selected, its row under the cursor."""
        self.main.go_to(hit)

    def all_levels(self) -> list[Level]:
        return self.model.all_levels()

    def has_levels(self) -> bool:
        return self.model.has_levels()

    def _retry_soon(self) -> None:
        if not self._retry_pending:  # one retry chain, however many loads failed
            self._retry_pending = True
            self.set_timer(RETRY_SECONDS, self._retry)

    def _retry(self) -> None:
        self._retry_pending = False
        self.refresh_tree()

    def select(self, path: str) -> None:
        self.model.select(path)
        if self.model.roots is not None:
            self.reload_selected()

    def selected_level(self) -> Level | None:
        return self.model.selected_level()

    def cluster_manager(self, key: str) -> Level | None:
        return self.model.cluster_manager(key)

    def reload_selected(self) -> None:
        level = self.selected_level()
        if level is not None and self.has_levels():
            self.load_details(level)

    # ----------------------------------------------------------------- a swarm

    @work(thread=True, exclusive=True, group="swarm", exit_on_error=False)
    def load_swarm(self, level: Level) -> None:
        try:
            self.post_message(SwarmLoaded(level.label, self.engine.swarm(level)))
        except Exception as exc:  # noqa: BLE001 - the tab says it
            self.post_message(SwarmLoaded(level.label, None, one_line(exc)))

    def _poll_swarm(self) -> None:
        """Tasks move without an event on the manager (they are containers on the nodes): the
        swarm tab, while it is on screen, is read again every SWARM_SECONDS."""
        level = self.selected_level()
        if level is not None and self.main.swarm_on_screen():
            self.load_swarm(level)

    @on(SwarmLoaded)
    def swarm_loaded(self, message: SwarmLoaded) -> None:
        if self.model.is_selected(message.path):
            self.main.show_swarm(message.view, message.error or "")

    def set_availability(self, level: Level, node: str, availability: str) -> None:
        if self.start_task(f"{availability} node {node}"):
            self._swarm_task(lambda: self.engine.set_availability(level, node, availability),
                             level)

    def scale_service(self, level: Level, service: str, replicas: int) -> None:
        if self.start_task(f"scale {service} to {replicas}"):
            self._swarm_task(lambda: self.engine.scale_service(level, service, replicas),
                             level)

    @work(thread=True, group="task", exit_on_error=False)
    def _swarm_task(self, change: Callable[[], str], level: Level) -> None:
        def body() -> str:
            said = change()
            self.post_message(SwarmLoaded(level.label, self.engine.swarm(level)))
            return said

        self._run_task("swarm", body)

    def kill_level(self, level: Level) -> None:
        """A fault on purpose, after a yes: SIGKILL the level's container."""
        question = (f"Kill level [b]{escape(level.label)}[/b]? Its container gets SIGKILL and "
                    "everything inside it dies with it (its volume stays: v revives it).")

        def confirmed(yes: bool | None) -> None:
            if yes and self.start_task(f"kill {level.label}"):
                self._kill(level)

        self.push_screen(dialogs.ConfirmDialog(question, "Kill"), confirmed)

    @work(thread=True, group="task", exit_on_error=False)
    def _kill(self, level: Level) -> None:
        self._run_task("kill", lambda: self.engine.kill_level(level))

    @on(DetailsLoaded)
    def details_loaded(self, message: DetailsLoaded) -> None:
        self.main.show_details(message.details)
        selected = self.selected_level()
        if message.details.swarm and selected is not None and \
                self.model.is_selected(message.details.path):
            self.load_swarm(selected)
        if self.model.is_selected(message.details.path):
            self.model.shown_containers = message.details.containers
            self.follow_stats()
        for screen in self.screen_stack:
            if isinstance(screen, container.ContainerScreen) and \
                    screen.level.label == message.details.path:
                screen.show_row(next((row for row in message.details.containers
                                      if row.id == screen.row.id), None))

    # ----------------------------------------------------------------- resource use

    def follow_stats(self) -> None:
        """Tell the sampler what to read (`Model.stats_targets`), and which of it is on
        screen: the levels whose lines are, and the containers of the level shown (the rest
        is read rarely)."""
        if self.model.roots is None:
            return
        targets = self.model.stats_targets()
        paths = self.main.visible_paths() if self.main.is_attached else None
        visible = None if paths is None else {
            key for key in targets
            if not key.startswith("level:") or key[len("level:"):] in paths}
        self.sampler.follow(targets, visible)

    @on(LevelTree.Scrolled)
    def tree_scrolled(self) -> None:
        self.follow_stats()

    def level_usage(self) -> dict[str, Usage]:
        """Each level's CPU and memory history, by path."""
        return {key[len("level:"):]: usage for key, usage in list(self.sampler.usage.items())
                if key.startswith("level:")}

    def container_usage(self, path: str) -> dict[str, Usage]:
        """The CPU and memory history of the containers of one level, by short id."""
        prefix = f"{path}:"
        return {key[len(prefix):]: usage for key, usage in list(self.sampler.usage.items())
                if key.startswith(prefix)}

    @on(StatsRound)
    def stats_round(self, message: StatsRound) -> None:
        self.main.show_stats()
        screen = self.top_screen()
        if isinstance(screen, container.ContainerScreen):
            screen.show_usage(self.container_usage(screen.level.path).get(screen.row.id))

    _usage_timer: Timer | None = None

    def measure_usage_soon(self) -> None:
        """The tree changed: a walk in USAGE_SOON seconds (unless one comes sooner), not at
        once. A level that dies takes its children with it, a spawn comes with its pool: one
        walk for the burst, and not while the change is being drawn (at 64 levels a walk is
        4 s of CPU, which held the frame that drew a level's death by 200 ms)."""
        due = self._usage_due - time.monotonic()
        if due < 0:  # a walk is under way: it may have passed the change; one more after it
            self._usage_again = True
        elif self._usage_timer is None or due > USAGE_SOON:
            self._schedule_usage(USAGE_SOON)

    _usage_again = False

    _usage_due = 0.0  # when the timer walks (monotonic)

    def _schedule_usage(self, delay: float) -> None:
        if self._usage_timer is not None:
            self._usage_timer.stop()
        self._usage_due = time.monotonic() + delay
        self._usage_timer = self.set_timer(delay, self.measure_usage)

    @on(UsageMeasured)
    def usage_measured(self, message: UsageMeasured) -> None:
        # The next walk: after USAGE_SECONDS, or later when walks cost more (many levels).
        again, self._usage_again = self._usage_again, False
        self._schedule_usage(USAGE_SOON if again else usage_interval(message.cpu_seconds))
        if message.report is not None:
            self.model.record_usage(message.report, time.time())
            self.main.show_stats()
            self.main.show_tree()
        screen = self.top_screen()
        if isinstance(screen, usage_screen.UsageScreen):
            screen.show(message.report)

    # ----------------------------------------------------------------- live events

    def sync_event_streams(self) -> None:
        self.watcher.watch(self.model.sync_streams())

    @on(StreamState)
    def stream_state(self, message: StreamState) -> None:
        """A daemon's event stream connected or broke: its line says so. Many at once (every
        daemon's stream connecting after the first tree): one redraw for them all."""
        if self.model.stream_state(message.endpoint, message.state) and not self._redraw_due:
            self._redraw_due = True
            self.call_after_refresh(self._redraw_tree)

    _redraw_due = False

    def _redraw_tree(self) -> None:
        self._redraw_due = False
        self.main.show_tree()

    @on(DaemonEvent)
    def daemon_event(self, message: DaemonEvent) -> None:
        """Apply the event to the model now and draw it; confirm by reading that daemon's
        subtree again a moment later (never the whole tree)."""
        applied = self.model.apply_event(message.endpoint, message.event)
        if applied is None:
            return
        if applied.changed:
            self.main.show_tree()
        if applied.reread is not None:
            self._schedule_reread(applied.reread, REREAD_DELAY)
        selected = self.selected_level()
        if applied.contents_of is not None and selected is applied.contents_of:
            self.reload_selected()

    def _schedule_reread(self, level: Level, delay: float) -> None:
        if level.path in self._rereads:
            return
        self._rereads.add(level.path)
        self.set_timer(delay, lambda: self._reread_now(level.path))

    def _reread_now(self, path: str) -> None:
        level = self.model.find(path)
        if level is None or level.path != path:
            self._rereads.discard(path)
            return
        self.reread(level)

    # ----------------------------------------------------------------- tasks

    @work(thread=True, group="task", exit_on_error=False)
    def spawn_level(self, parent_path: str, name: str, store: str | None = None) -> None:
        def body() -> str:
            result = self.engine.spawn(parent_path, name, self._progress, store)
            how = ("images seeded" if result.strategy == spawn.SEED
                   else f"images streamed ({result.fallback_reason})")
            return f"level {result.level.path} ready in {result.usable_seconds:.1f}s, {how}"

        self._run_task("spawn", body)

    @work(thread=True, group="task", exit_on_error=False)
    def create_cluster(self, parent_path: str, request: ClusterRequest) -> None:
        def body() -> str:
            made = self.engine.create_cluster(parent_path, request.name, request.managers,
                                              request.workers, self._progress)
            return (f"cluster {request.name}: {len(made.cluster.nodes)} nodes Ready in "
                    f"{made.seconds:.1f}s (6 on its line in the tree shows its swarm)")

        self._run_task("cluster", body)

    def collapse_all(self, then_quit: bool = False) -> None:
        if not self.has_levels():
            if then_quit:
                self.exit(0)
            return
        if self.start_task("collapsing every level"):
            self._quitting = then_quit
            if self.animation:
                self.show_collapse("")
            self.exit_level("", "collapse")

    def show_collapse(self, path: str = "") -> None:
        """The collapse animation, with one frame per level that is about to exit ("": every
        level of every engine)."""
        level = self.model.find(path) if path else None
        exiting = ([level] if level is not None and level.depth
                   else [child for root in self.roots or [] for child in root.children])
        self.collapse_screen = CollapseScreen(exiting, spinning=self.spinning)
        self.push_screen(self.collapse_screen)

    @work(thread=True, group="task", exit_on_error=False)
    def exit_level(self, path: str, kind: str) -> None:
        def on_event(event: exiting.ExitEvent) -> None:
            self.post_message(LevelExited(event))
            self.post_message(TaskProgress(Progress("exit", f"{event.phase} {event.path}")))

        def body() -> str:
            exited = (self.engine.exit_level(path, on_event) if path
                      else self.engine.collapse(on_event))
            return f"exited {len(exited)} level(s); volumes kept (press c to free them)"

        self._run_task(kind, body)

    @on(LevelExited)
    def level_exited(self, message: LevelExited) -> None:
        if self.collapse_screen is not None and self.collapse_screen.is_attached:
            self.collapse_screen.add_event(message.event)

    def open_shell(self, level: Level) -> None:
        """Hand the terminal to a shell inside `level`; back here when it exits. Tests replace
        this one method (a headless app cannot suspend)."""
        with self.suspend():
            print(f"dindtui: shell in {level.path} (depth {level.depth}); exit to come back",
                  flush=True)
            try:
                code = self.engine.shell(level)
            except DindtuiError as exc:
                print(f"dindtui: error: {exc}", flush=True)
                code = 1
        self.notify(f"shell in {level.path} exited with status {code}")

    # ----------------------------------------------------------------- containers

    def open_container(self, level: Level, row: ContainerRow, tab: str = "logs") -> None:
        screen = container.ContainerScreen(level, row)
        self.push_screen(screen)
        self.follow_stats()
        if tab == "inspect":
            screen.call_after_refresh(screen.action_container_inspect)

    @work(thread=True, group="inspect", exit_on_error=False)
    def inspect_container(self, level: Level, container_id: str) -> None:
        key = stats.container_key(level, container_id)
        try:
            self.post_message(InspectLoaded(key, self.engine.inspect(level, container_id)))
        except Exception as exc:  # noqa: BLE001 - shown where the inspect would be
            self.post_message(InspectLoaded(key, None, one_line(exc)))

    @on(InspectLoaded)
    def inspect_loaded(self, message: InspectLoaded) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, container.ContainerScreen) and screen.key == message.key:
                if message.data is not None:
                    screen.show_inspect(message.data)
                else:
                    self.notify(message.error or "inspect failed", severity="error")

    def confirm_container_action(self, level: Level, row: ContainerRow, action: str) -> None:
        """start at once; stop, restart, kill and remove after a yes."""
        if row.is_level:
            self.notify(f"{row.name} is level {row.level_path}: exit it with x, which exits "
                        "the levels inside it first; v starts it again", severity="error",
                        markup=False)
            return
        if row.protected:  # a level of another namespace, a helper: the engine refuses it too
            self.notify(f"{row.name} is not touched from here: {row.protected}",
                        severity="error", markup=False)
            return
        if action not in rows.DESTRUCTIVE:
            if self.start_task(f"{action} {row.name} in {level.label}"):
                self.container_action(level, row, action)
            return
        what = {"stop": "Stop", "restart": "Restart", "kill": "Kill", "remove": "Remove"}[action]
        extra = {"remove": " Its own filesystem goes with it (named volumes stay).",
                 "kill": " It gets SIGKILL: no time to clean up.",
                 "stop": f" It gets SIGTERM, then SIGKILL after {rows.STOP_TIMEOUT}s.",
                 "restart": ""}[action]
        question = (f"{what} container [b]{escape(row.name)}[/b] ({escape(row.image)}, "
                    f"{escape(row.state)}) in level [b]{escape(level.label)}[/b]?{extra}")

        def confirmed(yes: bool | None) -> None:
            if yes and self.start_task(f"{action} {row.name} in {level.label}"):
                self.container_action(level, row, action)

        self.push_screen(dialogs.ConfirmDialog(question, what), confirmed)

    @work(thread=True, group="task", exit_on_error=False)
    def container_action(self, level: Level, row: ContainerRow, action: str) -> None:
        self._run_task("container", lambda: self.engine.act(level, row.id, action))

    @work(thread=True, group="task", exit_on_error=False)
    def remove_in_level(self, level: Level, kind: str, ref: str) -> None:
        self._run_task("container", lambda: (self.engine.remove_image(level, ref)
                                             if kind == "image"
                                             else self.engine.remove_volume(level, ref)))

    @work(thread=True, group="ask", exit_on_error=False)
    def ask_run(self, level: Level, image: str, tags: tuple[str, ...]) -> None:
        """The run dialog, offering the level's images and those of the levels above (asked
        for here, in a thread: one call per level above)."""
        try:
            above = self.engine.images_above(level)
        except Exception:  # noqa: BLE001 - the dialog still opens with the level's own
            above = {}
        self.call_from_thread(self._run_dialog, level, image, tags, above)

    def _run_dialog(self, level: Level, image: str, tags: tuple[str, ...],
                    above: dict[str, str]) -> None:
        def chosen(request: RunRequest | None) -> None:
            if request is not None and self.start_task(f"running {request.image} in "
                                                       f"{level.label}"):
                self.run_image(level, request)

        self.push_screen(dialogs.RunDialog(level.label, image, tags, above), chosen)

    @work(thread=True, group="ask", exit_on_error=False)
    def ask_bring(self, level: Level) -> None:
        """The images of the levels above that `level` lacks (read here, in a thread), offered
        to be brought down, several at once."""
        try:
            above = self.engine.images_above(level)
        except Exception as exc:  # noqa: BLE001 - said, nothing opened
            self.call_from_thread(self.notify, one_line(exc), severity="error")
            return
        if not above:
            self.call_from_thread(self.notify, f"{level.label} has every image of the levels "
                                  "above it: nothing to bring down")
            return

        def chosen(tags: list[str] | None) -> None:
            if tags and self.start_task(f"bringing {len(tags)} image(s) into {level.label}"):
                self.bring_images(level, tags)

        self.call_from_thread(self.push_screen, dialogs.BringDialog(level.label, above), chosen)

    @work(thread=True, group="task", exit_on_error=False)
    def bring_images(self, level: Level, tags: list[str]) -> None:
        def body() -> str:
            done = [self.engine.push(level, tag, self._progress) for tag in tags]
            moved = sum(result.bytes for result in done)
            return (f"{len(done)} image(s) brought into {level.label} "
                    f"({', '.join(tags)}; {human(moved)} moved)")

        self._run_task("images", body)

    @work(thread=True, group="task", exit_on_error=False)
    def run_image(self, level: Level, request: RunRequest) -> None:
        def body() -> str:
            if request.push_first:
                self.engine.push(level, request.image, self._progress)
            ran = self.engine.run(level, request.image, request.command, request.name)
            row = ran.row
            if ran.exit_code is None:
                return f"{row.name} ({row.image}) is {row.state} in {level.label}"
            said = f": {ran.last_line}" if ran.last_line else " (it wrote nothing)"
            if ran.exit_code == 0:
                return f"{row.name} ({row.image}) ran and ended at once in {level.label}{said}"
            raise DindtuiError(f"{row.name} ({row.image}) exited at once with status "
                               f"{ran.exit_code} in {level.label}{said}")

        self._run_task("container", body)

    def container_shell(self, level: Level, row: ContainerRow) -> None:
        """Hand the terminal to a shell inside one container of `level`; back here when it
        exits. Tests replace this one method (a headless app cannot suspend)."""
        if row.state != "running":
            self.notify(f"{row.name} is {row.state}: nothing to shell into (U starts it)",
                        severity="error")
            return
        with self.suspend():
            print(f"dindtui: shell in container {row.name} of {level.label}; exit to come back",
                  flush=True)
            try:
                code = self.engine.container_shell(level, row.id)
            except DindtuiError as exc:
                print(f"dindtui: error: {exc}", flush=True)
                self.notify(str(exc), severity="error", timeout=8)
                return
        self.notify(f"shell in {row.name} ({level.label}) exited with status {code}")

    @work(thread=True, group="task", exit_on_error=False)
    def plan_cleanup(self) -> None:
        def body() -> None:
            self.post_message(PlanReady(self.engine.plan_cleanup()))

        self._run_task("clean", body)

    @on(PlanReady)
    def plan_ready(self, message: PlanReady) -> None:
        self._busy = ""
        self.main.task_finished()
        self.main.confirm_cleanup(message.plan)

    @work(thread=True, group="task", exit_on_error=False)
    def apply_cleanup(self, plan: CleanupPlan) -> None:
        def body() -> str:
            result = self.engine.apply_cleanup(plan, self._progress)
            return cleanup_summary(len(result.removed), result.freed, len(result.kept),
                                   len(result.failed))

        self._run_task("clean", body)

    @work(thread=True, group="task", exit_on_error=False)
    def revive_level(self, path: str) -> None:
        def body() -> str:
            revived = self.engine.revive(path, self._progress)
            return (f"revived {len(revived)} level(s): {', '.join(revived)}" if revived
                    else "nothing to revive: no stopped level there")

        self._run_task("revive", body)

    def action_measure(self) -> None:
        self.measure_usage()

    def action_cleanup(self) -> None:
        self.main.action_cleanup()

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        main = self.main
        # A container's screen: its own keys. Otherwise the main screen's, and the container
        # keys acting on the row under the containers table's cursor.
        target = screen if isinstance(screen, container.ContainerScreen) else main
        offered = ([(a, "") for a in actions.palette(actions.CONTAINER_SCREEN)]
                   if target is not main else
                   [(a, "") for a in actions.palette(actions.MAIN + actions.PALETTE_ONLY)]
                   + [(a, "Container: ") for a in actions.palette(actions.CONTAINER)])
        for action, prefix in offered:
            title = prefix + action.label if prefix else action.label.capitalize()
            yield SystemCommand(title, action.does,
                                partial(self.run_action, action.action, target))



def wait_for(future: Future, seconds: float) -> bool:
    """True when `future` is done within `seconds` (a failure counts: it is done)."""
    try:
        future.exception(timeout=seconds)
    except (FuturesTimeout, CancelledError):
        return False
    return True


def one_line(exc: BaseException | None) -> str:
    if isinstance(exc, DindtuiError):
        return str(exc)
    text = " ".join(str(exc).split()) if exc is not None else "no detail"
    return f"unexpected error: {type(exc).__name__}: {text}"


def poll_interval(cpu_seconds: float) -> float:
    """Seconds from a whole tree read that cost `cpu_seconds` (of this process, all its
    threads) to the safety net's next one."""
    return min(POLL_MAX, max(POLL_SECONDS, cpu_seconds / POLL_CPU_SHARE))


def usage_interval(cpu_seconds: float) -> float:
    """Seconds to the next disk walk after one that cost `cpu_seconds` of this process."""
    return max(USAGE_SECONDS, cpu_seconds / USAGE_CPU_SHARE)


def run_app(engines: list[tuple[str, str]] | None = None, animation: bool = True,
            engine: Engine | None = None, first: "Future[list[Level]] | None" = None,
            collector_paused: bool = False) -> int:
    """The TUI on the engines of the command line (none: the default one), or on `engine`;
    `first`: its first tree, being read already; `collector_paused`: the caller disabled the
    garbage collector for the start, and the app enables it after its first frame."""
    app = DindtuiApp(animation=animation,
                     engine=engine or Engine.from_command_line(engines or []))
    app.first_tree = first
    app.collector_paused = collector_paused
    return app.run() or 0


def _implements_controls(app: DindtuiApp) -> Controls:
    return app  # mypy: the app has everything its screens may ask of it (controls.py)
