"""The dindtui terminal UI: the live tree of nested daemons and every action on it.

UI code never calls Docker: every engine call runs in a thread worker and comes back as a
message. Live updates come from each daemon's event stream (bursts collapse into one refresh),
with a slow poll as a safety net."""

from __future__ import annotations

import threading
import time

from typing import Callable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Footer, Header, Tree
from textual.worker import Worker, WorkerState

from .engine import levels, shell, spawn, usage
from .engine.details import LevelDetails, level_details
from .engine.errors import DindtuiError
from .engine.events import EventStream
from .engine.levels import Level
from .engine.progress import Progress
from .widgets.banner import Banner
from .widgets.cleanup_modal import CleanupModal
from .widgets.collapse import CollapseScreen
from .widgets.detail_pane import DetailPane
from .widgets.dialogs import ConfirmDialog, NameDialog, QuitDialog
from .widgets.greeting import Greeting
from .widgets.help_screen import HelpScreen
from .widgets.level_tree import LevelTree, human
from .widgets.task_bar import TaskBar
from .widgets.usage_view import UsageScreen

POLL_SECONDS = 10
USAGE_SECONDS = 60
EVENT_DEBOUNCE = 0.25
RETRY_SECONDS = 2


# --------------------------------------------------------------------------- messages

class TreeLoaded(Message):
    def __init__(self, root: Level | None, error: str | None = None) -> None:
        super().__init__()
        self.root, self.error = root, error


class DetailsLoaded(Message):
    def __init__(self, details: LevelDetails) -> None:
        super().__init__()
        self.details = details


class UsageMeasured(Message):
    def __init__(self, report: usage.UsageReport | None, error: str | None = None) -> None:
        super().__init__()
        self.report, self.error = report, error


class DaemonChanged(Message):
    """Something happened on a daemon. A burst of these collapses into one."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DaemonChanged)


class StreamState(Message):
    def __init__(self, endpoint: str, state: str) -> None:
        super().__init__()
        self.endpoint, self.state = endpoint, state


class TaskProgress(Message):
    def __init__(self, report: Progress) -> None:
        super().__init__()
        self.report = report

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TaskProgress) and message.report.stage == self.report.stage


class TaskDone(Message):
    def __init__(self, kind: str, text: str, error: bool = False) -> None:
        super().__init__()
        self.kind, self.text, self.error = kind, text, error


class LevelExited(Message):
    def __init__(self, event: spawn.ExitEvent) -> None:
        super().__init__()
        self.event = event


class PlanReady(Message):
    def __init__(self, plan: usage.CleanupPlan) -> None:
        super().__init__()
        self.plan = plan


# --------------------------------------------------------------------------- the app

class DindtuiApp(App[int]):
    TITLE = "dindtui"
    SUB_TITLE = "docker in docker in docker…"
    CSS = """
    #main { height: 1fr; }
    Greeting { width: 2fr; border: round $secondary; }
    .hidden { display: none; }
    """
    BINDINGS = [
        Binding("n", "spawn", "spawn"),
        Binding("x", "exit_level", "exit"),
        Binding("s", "shell", "shell"),
        Binding("d", "usage", "disk"),
        Binding("c", "cleanup", "cleanup"),
        Binding("v", "revive", "revive"),
        Binding("r", "refresh", "refresh"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit_app", "quit"),
    ]

    def __init__(self, *, animation: bool = True) -> None:
        super().__init__()
        self.animation = animation  # the CLI reads --no-animation and DINDTUI_NO_ANIMATION
        self.spinning = True  # the spinning top turns (snapshot tests hold it still)
        self.root: Level | None = None
        self.report: usage.UsageReport | None = None
        self.selected_path = ""
        self.streams: dict[str, str] = {}          # endpoint -> live / retrying / connecting
        self._event_streams: dict[str, EventStream] = {}
        self._refresh_pending = False
        self._retry_pending = False
        self._busy = ""
        self._quitting = False
        self.collapse_screen: CollapseScreen | None = None
        self.tree_loads = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner()
        with Horizontal(id="main"):
            yield LevelTree(id="tree")
            yield DetailPane(id="detail", classes="hidden")
            yield Greeting(id="greeting", spinning=self.spinning)
        yield TaskBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LevelTree).focus()
        self.refresh_tree()
        self.measure_usage()
        self.set_interval(POLL_SECONDS, self.refresh_tree)
        self.set_interval(USAGE_SECONDS, self.measure_usage)

    def on_unmount(self) -> None:
        self.streams.clear()  # the watcher threads end when their endpoint is gone
        for stream in list(self._event_streams.values()):
            stream.close()
        self._event_streams.clear()

    # ----------------------------------------------------------------- loading

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def refresh_tree(self) -> None:
        try:
            self.post_message(TreeLoaded(levels.discover()))
        except Exception as exc:  # noqa: BLE001 - any failure: the banner says it, retries go on
            self.post_message(TreeLoaded(None, _one_line(exc)))

    @work(thread=True, exclusive=True, group="usage", exit_on_error=False)
    def measure_usage(self) -> None:
        try:
            self.post_message(UsageMeasured(usage.measure(levels.discover())))
        except Exception as exc:  # noqa: BLE001 - measured again at the next interval
            self.post_message(UsageMeasured(None, _one_line(exc)))

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def load_details(self, level: Level) -> None:
        self.post_message(DetailsLoaded(level_details(level)))

    @on(TreeLoaded)
    def tree_loaded(self, message: TreeLoaded) -> None:
        self.tree_loads += 1
        banner = self.query_one(Banner)
        if message.root is None:
            banner.show_error(message.error or "no answer")
            self.root = None
            self.query_one(LevelTree).show_unreachable()
            if not self._retry_pending:  # one retry chain, however many loads failed
                self._retry_pending = True
                self.set_timer(RETRY_SECONDS, self._retry)
            return
        banner.clear()
        structure_changed = self.root is None or [lv.path for lv in self.root.walk()] != [
            lv.path for lv in message.root.walk()]
        self.root = message.root
        self.show_tree()
        self.sync_event_streams()
        empty = not self.root.children
        self.query_one(Greeting).set_class(not empty, "hidden")
        self.query_one(DetailPane).set_class(empty, "hidden")
        if structure_changed and self.report is not None:
            self.measure_usage()
        self.reload_selected()

    def _retry(self) -> None:
        self._retry_pending = False
        self.refresh_tree()

    def show_tree(self) -> None:
        sizes = {v.level: v.bytes for v in self.report.volumes
                 if v.state == usage.LIVE} if self.report else {}
        self.query_one(LevelTree).show(self.root, sizes, self.streams)

    def reload_selected(self) -> None:
        level = self.selected_level()
        if level is not None and self.root.children:
            self.load_details(level)

    @on(DetailsLoaded)
    def details_loaded(self, message: DetailsLoaded) -> None:
        if message.details.path == (self.selected_path or "host"):
            volume = self.report.by_level().get(self.selected_path) if self.report else None
            self.query_one(DetailPane).show(message.details, volume)

    @on(UsageMeasured)
    def usage_measured(self, message: UsageMeasured) -> None:
        if message.report is not None:
            self.report = message.report
            if self.root is not None:
                self.show_tree()
        if isinstance(self.screen, UsageScreen):
            self.screen.show(message.report)

    @on(Tree.NodeHighlighted)
    def node_highlighted(self, message: Tree.NodeHighlighted) -> None:
        self.selected_path = message.node.data or ""
        if self.root is not None:
            self.reload_selected()

    def selected_level(self) -> Level | None:
        if self.root is None:
            return None
        try:
            return levels.find(self.root, self.selected_path)
        except DindtuiError:
            return self.root

    # ----------------------------------------------------------------- live events

    def sync_event_streams(self) -> None:
        wanted = {lv.endpoint for lv in self.root.walk()
                  if lv.state == levels.READY and lv.endpoint}
        for endpoint in wanted - set(self.streams):
            self.streams[endpoint] = "connecting"
            self.watch_events(endpoint)
        for endpoint in set(self.streams) - wanted:
            self.streams.pop(endpoint, None)
            stream = self._event_streams.pop(endpoint, None)
            if stream is not None:
                stream.close()

    def watch_events(self, endpoint: str) -> None:
        """One thread of its own per daemon: a stream waits for events indefinitely, so it
        must not hold one of the few shared worker threads that refreshes need."""
        threading.Thread(target=self._watch, args=(endpoint,), daemon=True,
                         name=f"events {endpoint}").start()

    def _watch(self, endpoint: str) -> None:
        while endpoint in self.streams and self.is_running:
            stream = EventStream(endpoint)
            self._event_streams[endpoint] = stream
            try:
                self.post_message(StreamState(endpoint, "live"))
                for _ in stream:
                    self.post_message(DaemonChanged(endpoint))
            except Exception:  # noqa: BLE001 - any broken stream: say so and reconnect
                pass
            if endpoint not in self.streams or not self.is_running:
                return
            self.post_message(StreamState(endpoint, "retrying"))
            time.sleep(RETRY_SECONDS)

    @on(StreamState)
    def stream_state(self, message: StreamState) -> None:
        if message.endpoint in self.streams and self.streams[message.endpoint] != message.state:
            self.streams[message.endpoint] = message.state
            if self.root is not None:
                self.show_tree()

    @on(DaemonChanged)
    def daemon_changed(self) -> None:
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(EVENT_DEBOUNCE, self._debounced_refresh)

    def _debounced_refresh(self) -> None:
        self._refresh_pending = False
        self.refresh_tree()

    # ----------------------------------------------------------------- actions

    def _target(self, doing: str, allow_root: bool = False) -> Level | None:
        level = self.selected_level()
        if level is None:
            self.notify("the tree is still loading", severity="warning")
            return None
        if level.depth == 0 and not allow_root:
            self.notify(f"select a level to {doing} (level 0 is the engine itself)",
                        severity="warning")
            return None
        return level

    def _start_task(self, title: str) -> bool:
        if self._busy:
            self.notify(f"wait: {self._busy} is still running", severity="warning")
            return False
        self._busy = title
        self.query_one(TaskBar).start(title)
        return True

    def _progress(self, report: Progress) -> None:
        self.post_message(TaskProgress(report))

    @on(TaskProgress)
    def task_progress(self, message: TaskProgress) -> None:
        self.query_one(TaskBar).report(message.report)

    @on(TaskDone)
    def task_done(self, message: TaskDone) -> None:
        self._busy = ""
        self.query_one(TaskBar).finish()
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
        self.measure_usage()

    def action_spawn(self) -> None:
        parent = self._target("spawn under", allow_root=True)
        if parent is None:
            return
        if parent.state != levels.READY:
            self.notify(f"level {parent.label} is {parent.state}: it cannot spawn",
                        severity="error")
            return

        def chosen(name: str | None) -> None:
            if name and self._start_task(f"spawning {name} under {parent.label}"):
                self.spawn_level(parent.path, name)

        self.push_screen(NameDialog(parent.label, spawn.default_name(parent)), chosen)

    def _run_task(self, kind: str, body: Callable[[], str | None]) -> None:
        """The one runner of every UI task (in a worker thread): whatever happens, the task
        ends with one TaskDone message, an error notification for any failure, and the UI is
        free again. `body` returns the success text (None: it reports by itself)."""
        try:
            text = body()
        except Exception as exc:  # noqa: BLE001 - never leave the app "busy" for good
            self.post_message(TaskDone(kind, _one_line(exc), error=True))
            return
        if text is not None:
            self.post_message(TaskDone(kind, text))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A safety net under _run_task: a task worker that died anyway frees the UI."""
        if event.worker.group == "task" and event.state == WorkerState.ERROR and self._busy:
            self.post_message(TaskDone("task", _one_line(event.worker.error), error=True))

    @work(thread=True, group="task", exit_on_error=False)
    def spawn_level(self, parent_path: str, name: str) -> None:
        def body() -> str:
            parent = levels.find(levels.discover(), parent_path)
            result = spawn.spawn(parent, name, progress=self._progress)
            how = ("images seeded" if result.strategy == spawn.SEED
                   else f"images streamed ({result.fallback_reason})")
            return f"level {result.level.path} ready in {result.usable_seconds:.1f}s, {how}"

        self._run_task("spawn", body)

    def action_exit_level(self) -> None:
        level = self._target("exit")
        if level is None:
            return
        below = sum(1 for _ in level.walk()) - 1
        question = (f"Exit level [b]{level.path}[/b]"
                    + (f" and the {below} level(s) below it" if below else "")
                    + "? Their volumes are kept until you clean them up.")

        def confirmed(yes: bool | None) -> None:
            if yes and self._start_task(f"exiting {level.path}"):
                if self.animation and level.children:
                    self._show_collapse()
                self.exit_level(level.path, "exit")

        self.push_screen(ConfirmDialog(question, "Exit"), confirmed)

    def action_collapse_all(self, then_quit: bool = False) -> None:
        if self.root is None or not self.root.children:
            if then_quit:
                self.exit(0)
            return
        if self._start_task("collapsing every level"):
            self._quitting = then_quit
            if self.animation:
                self._show_collapse()
            self.exit_level("", "collapse")

    def _show_collapse(self) -> None:
        self.collapse_screen = CollapseScreen(spinning=self.spinning)
        self.push_screen(self.collapse_screen)

    @work(thread=True, group="task", exit_on_error=False)
    def exit_level(self, path: str, kind: str) -> None:
        def on_event(event: spawn.ExitEvent) -> None:
            self.post_message(LevelExited(event))
            self.post_message(TaskProgress(Progress("exit", f"{event.phase} {event.path}")))

        def body() -> str:
            root = levels.discover()
            if path:
                exited = spawn.exit_level(levels.find(root, path), on_event=on_event)
            else:
                exited = spawn.collapse(root, on_event=on_event)
            return f"exited {len(exited)} level(s); volumes kept (press c to free them)"

        self._run_task(kind, body)

    @on(LevelExited)
    def level_exited(self, message: LevelExited) -> None:
        if self.collapse_screen is not None and self.collapse_screen.is_attached:
            self.collapse_screen.add_event(message.event)

    def action_shell(self) -> None:
        level = self._target("shell into")
        if level is None:
            return
        if level.state in levels.STOPPED or level.state == levels.PAUSED:
            self.notify(f"level {level.path} is {level.state}: nothing to shell into"
                        + (" (press v to revive it)" if level.state in levels.STOPPED else ""),
                        severity="error")
            return
        self.open_shell(level)
        self.refresh_tree()

    def open_shell(self, level: Level) -> None:
        """Hand the terminal to a shell inside `level`; back here when it exits. Tests replace
        this one method (a headless app cannot suspend)."""
        with self.suspend():
            print(f"dindtui: shell in {level.path} (depth {level.depth}); exit to come back",
                  flush=True)
            try:
                code = shell.interactive(level)
            except DindtuiError as exc:
                print(f"dindtui: error: {exc}", flush=True)
                code = 1
        self.notify(f"shell in {level.path} exited with status {code}")

    def action_usage(self) -> None:
        self.push_screen(UsageScreen(self.report))
        self.measure_usage()

    def action_measure(self) -> None:
        self.measure_usage()

    def action_cleanup(self) -> None:
        if self._start_task("planning cleanup"):
            self.plan_cleanup()

    @work(thread=True, group="task", exit_on_error=False)
    def plan_cleanup(self) -> None:
        def body() -> None:
            self.post_message(PlanReady(usage.plan_cleanup(levels.discover())))

        self._run_task("clean", body)

    @on(PlanReady)
    def plan_ready(self, message: PlanReady) -> None:
        self._busy = ""
        self.query_one(TaskBar).finish()

        def confirmed(yes: bool | None) -> None:
            if yes and self._start_task("cleaning up"):
                self.apply_cleanup(message.plan)

        self.push_screen(CleanupModal(message.plan), confirmed)

    @work(thread=True, group="task", exit_on_error=False)
    def apply_cleanup(self, plan: usage.CleanupPlan) -> None:
        def body() -> str:
            removed = usage.apply_cleanup(levels.discover(), plan, progress=self._progress)
            freed = sum(item.bytes for item in removed)
            return f"removed {len(removed)} volume(s), freed {human(freed)}"

        self._run_task("clean", body)

    def action_revive(self) -> None:
        level = self._target("revive", allow_root=True)
        if level is None:
            return
        what = "every stopped level" if level.depth == 0 else level.path
        if self._start_task(f"reviving {what}"):
            self.revive_level(level.path)

    @work(thread=True, group="task", exit_on_error=False)
    def revive_level(self, path: str) -> None:
        def body() -> str:
            revived = spawn.revive(levels.find(levels.discover(), path), self._progress)
            return (f"revived {len(revived)} level(s): {', '.join(revived)}" if revived
                    else "nothing to revive: no stopped level there")

        self._run_task("revive", body)

    def action_refresh(self) -> None:
        self.refresh_tree()
        self.measure_usage()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        if self.root is None or not self.root.children:
            self.exit(0)
            return

        def chosen(choice: str | None) -> None:
            if choice == "keep":
                self.exit(0)
            elif choice == "collapse":
                self.action_collapse_all(then_quit=True)

        self.push_screen(QuitDialog(sum(1 for _ in self.root.walk()) - 1), chosen)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand("Spawn level", "spawn a child under the selected level",
                            self.action_spawn)
        yield SystemCommand("Exit level", "exit the selected level and its subtree",
                            self.action_exit_level)
        yield SystemCommand("Shell", "open a shell in the selected level", self.action_shell)
        yield SystemCommand("Disk usage", "volume usage of every level", self.action_usage)
        yield SystemCommand("Cleanup", "free volumes of dead and exited levels",
                            self.action_cleanup)
        yield SystemCommand("Revive", "start the selected stopped level and the stopped levels "
                            "inside it (level 0: every one)", self.action_revive)
        yield SystemCommand("Collapse all", "exit every level, deepest first",
                            self.action_collapse_all)
        yield SystemCommand("Refresh", "reload the tree now", self.action_refresh)


def _one_line(exc: BaseException | None) -> str:
    if isinstance(exc, DindtuiError):
        return str(exc)
    text = " ".join(str(exc).split()) if exc is not None else "no detail"
    return f"unexpected error: {type(exc).__name__}: {text}"


def run_app(animation: bool = True) -> int:
    return DindtuiApp(animation=animation).run() or 0
