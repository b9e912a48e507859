"""One container of any level, up close: its logs (followed, bounded, filtered with `/`,
timestamps with `t`), its inspect (a collapsible tree) and its CPU and memory; and the keys
that act on it (shell, start, stop, restart, kill, remove). `escape` goes back to the tree."""

from __future__ import annotations

import re
import time
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import (Footer, Header, Input, Log, Static, TabbedContent, TabPane, Tree)

from .. import actions
from ..actions import bindings
from ..engine.api import LogFollowing
from ..engine.explore.rows import ContainerRow
from ..engine.explore.stats import Usage
from ..engine.explore.logs import split_timestamp
from ..engine.tree.levels import Level
from ..formatting import human, percent, safe_text
from ..messages import LogsReady
from ..widgets.detail_pane import Graph, cpu_axis, memory_axis
from ..widgets.footer import fit_footer
from ..widgets.tables import STATE_COLOURS

if TYPE_CHECKING:
    from ..controls import Controls

LOG_LINES = 5_000  # kept per container view: memory stays flat whatever the container writes
MATCH_CHARS = 4_096  # of each line, searched by the filter
LINE_CHARS = 66_000  # a line is at most 64 KB when it arrives (the engine cuts longer ones)
DRAINS_PER_SECOND = 20
STATUS_SECONDS = 15  # the title's status ("Up 5 minutes") read again this often


def short_stamp(stamp: str) -> str:
    """2026-11-29T09:41:39.962340313Z -> 09:41:39.962"""
    return stamp[11:23] if len(stamp) >= 23 else stamp


INSPECT_NODES = 20_000  # nodes of an inspect document shown at the most
INSPECT_DEPTH = 32


def add_json(node, data: Any, budget: list[int] | None = None, depth: int = 0) -> None:
    """The inspect document as tree nodes: objects and lists expand, the first level open.
    What the daemon sent is shown as text (controls visible) and bounded in size and depth."""
    budget = budget if budget is not None else [INSPECT_NODES]
    items = list(data.items()) if isinstance(data, dict) else list(enumerate(data))
    for key, value in items:
        budget[0] -= 1
        if budget[0] < 0:
            node.add_leaf(Text("… (more not shown)", style="dim"))
            return
        name = safe_text(key, 200)
        if isinstance(value, (dict, list)) and value and depth < INSPECT_DEPTH:
            size = f"{{{len(value)}}}" if isinstance(value, dict) else f"[{len(value)}]"
            child = node.add(Text.assemble((name, "bold"), " ", (size, "dim")),
                             expand=False)
            add_json(child, value, budget, depth + 1)
        else:
            shown = "null" if value is None else (repr(value) if isinstance(value, str)
                                                  else str(value).lower()
                                                  if isinstance(value, bool) else str(value))
            node.add_leaf(Text.assemble((name, "bold"), " = ",
                                        (safe_text(shown, 2000), "cyan")))


class ContainerScreen(Screen[None]):
    DEFAULT_CSS = """
    ContainerScreen #title { height: auto; padding: 0 1; background: $boost; }
    ContainerScreen TabbedContent { height: 1fr; }
    ContainerScreen Log { height: 1fr; border: round $secondary; }
    ContainerScreen #filter { dock: bottom; display: none; }
    ContainerScreen #filter.shown { display: block; }
    ContainerScreen #log-status { height: 1; color: $text-muted; padding: 0 1; }
    ContainerScreen Tree { height: 1fr; }
    ContainerScreen #stats Graph { height: 3; }
    """
    BINDINGS = bindings(actions.CONTAINER_SCREEN)

    def __init__(self, level: Level, row: ContainerRow) -> None:
        super().__init__()
        self.level = level
        self.row = row
        self.lines: deque[str] = deque(maxlen=LOG_LINES)
        self.pattern = ""
        self.regex: re.Pattern[str] | None = None
        self.regex_note = ""
        self.timestamps = False
        self.follower: LogFollowing | None = None
        self.inspected = False
        self.received = 0

    @property
    def dindtui(self) -> "Controls":
        return cast("Controls", self.app)

    @property
    def key(self) -> str:
        return f"{self.level.path}:{self.row.id}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._title(), id="title")
        with TabbedContent(id="container-tabs"):
            with TabPane("logs", id="logs"):
                yield Log(max_lines=LOG_LINES, id="log")
                yield Static("", id="log-status")
                yield Input(placeholder="filter: a regex, any case (enter keeps it, escape "
                            "clears it)", id="filter")
            with TabPane("inspect", id="inspect"):
                yield Tree("container", id="inspect-tree")
            with TabPane("stats", id="stats"):
                yield Graph("cpu", id="cpu-graph")
                yield Graph("memory", id="memory-graph")
        yield Footer()

    def _title(self) -> Text:
        row = self.row
        return Text.assemble((row.name, "bold"), "  in ", (self.level.label, "bold cyan"),
                             (f" (depth {self.level.depth})", "dim"), "  ",
                             (row.state, STATE_COLOURS.get(row.state, "")), "  ",
                             (row.image, "yellow"), "  ", (row.status_at(time.time()), "dim"),
                             ("  " + row.ports) if row.ports else "")

    def on_mount(self) -> None:
        self.sub_title = f"{self.row.name} in {self.level.label}"
        self._follow(tail=500)
        log = self.query_one(Log)
        log.focus()
        # Scrolling away from the end pauses the view; back at the end (End, the wheel, `f`)
        # it follows again, and the status line says which, always.
        self.watch(log, "scroll_y", self._scrolled, init=False)
        # Events say when the container changes state; its status line ages without one.
        self.set_interval(STATUS_SECONDS, lambda: self.dindtui.load_details(self.level))
        self.set_interval(1.0, self._age)

    def _age(self) -> None:
        """The running time in the title moves on between readings."""
        if self.row.up_since is not None and self.is_current:
            title = self._title()
            if title != self._shown_title:
                self._shown_title = title
                self.query_one("#title", Static).update(title)

    _shown_title: Text | None = None

    def on_resize(self, event: events.Resize) -> None:
        fit_footer(self, event.size.width)

    def on_unmount(self) -> None:
        if self.follower is not None:
            self.follower.close()

    # ------------------------------------------------------------------ logs

    def _follow(self, tail: int) -> None:
        if self.follower is not None:
            self.follower.close()
        holder: list[LogFollowing] = []

        def ready() -> None:  # the follower's thread
            if holder:
                self.post_message(LogsReady(holder[0]))

        follower = self.dindtui.engine.follow_logs(self.level, self.row.id, ready)
        holder.append(follower)
        self.follower = follower
        self.post_message(LogsReady(follower))  # lines that came before `holder` was filled
        self._status()

    _last_drain = 0.0
    _drain_pending = False

    @on(LogsReady)
    def logs_ready(self, message: LogsReady) -> None:
        """New lines: drawn at once, but at most DRAINS_PER_SECOND times a second, so a
        flooding container costs a few large appends instead of thousands of small ones."""
        if message.follower is not self.follower or self._drain_pending:
            return
        wait = self._last_drain + 1 / DRAINS_PER_SECOND - time.monotonic()
        if wait > 0:
            self._drain_pending = True
            self.set_timer(wait, self._drain)
            return
        self._drain()

    def _drain(self) -> None:
        self._drain_pending = False
        self._last_drain = time.monotonic()
        if self.follower is None or not self.is_attached:
            return
        # What the container wrote is shown as text: its escape sequences never reach the
        # terminal (ESC is drawn as ␛).
        batch = [safe_text(line, LINE_CHARS, tabs=True) for line in self.follower.drain()]
        self.received += len(batch)
        self.lines.extend(batch)
        shown = [self._line_text(line) for line in batch if self._matches(line)]
        if shown:
            self.query_one(Log).write_lines(shown)
        self._status()

    def _matches(self, line: str) -> bool:
        # The first MATCH_CHARS of a line: a pattern that backtracks badly stays bounded.
        return self.regex is None or self.regex.search(line, 0, MATCH_CHARS) is not None

    def set_filter(self, text: str) -> None:
        """A regular expression, case-insensitive; one that does not compile is matched as
        plain text, and the status says so."""
        self.pattern, self.regex_note = text, ""
        if not text:
            self.regex = None
            return
        try:
            self.regex = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            self.regex = re.compile(re.escape(text), re.IGNORECASE)
            self.regex_note = f" (not a regex: {exc.msg}; matched as text)"

    def _line_text(self, line: str) -> str:
        stamp, text = split_timestamp(line)
        return f"{short_stamp(stamp)} {text}" if self.timestamps and stamp else text

    def _redraw(self) -> None:
        log = self.query_one(Log)
        log.clear()
        log.write_lines([self._line_text(line) for line in self.lines if self._matches(line)])

    def _status(self) -> None:
        parts = []
        follower = self.follower
        if follower is not None and follower.ended:
            parts.append(f"log ended: {follower.error}" if follower.error
                         else "log ended (the container stopped; it follows again on start)")
        else:
            parts.append("following" if self.query_one(Log).auto_scroll else "paused here "
                         "(f or End follows)")
        parts.append(f"{len(self.lines)} lines kept of {self.received}")
        if self.pattern:
            parts.append(f"filter /{self.pattern}/: {self.query_one(Log).line_count} of "
                         f"{len(self.lines)} lines match{self.regex_note}")
        parts.append("timestamps on" if self.timestamps else "t: timestamps")
        self.query_one("#log-status", Static).update("  ·  ".join(parts))

    def action_filter(self) -> None:
        self.query_one(TabbedContent).active = "logs"
        field = self.query_one("#filter", Input)
        field.add_class("shown")
        field.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.set_filter(event.value.strip())
        self._redraw()
        self._status()

    @on(Input.Submitted, "#filter")
    def filter_kept(self) -> None:
        self.query_one(Log).focus()

    def action_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._redraw()
        self._status()

    def action_log_top(self) -> None:
        self.query_one(TabbedContent).active = "logs"
        self.query_one(Log).scroll_home(animate=False, immediate=True)  # paused there

    def action_log_end(self) -> None:
        self.query_one(TabbedContent).active = "logs"
        log = self.query_one(Log)
        log.auto_scroll = True
        log.scroll_end(animate=False, immediate=True)
        self._status()

    def _scrolled(self, _old: float, _new: float) -> None:
        log = self.query_one(Log)
        following = log.is_vertical_scroll_end
        if following != log.auto_scroll:
            log.auto_scroll = following
            self._status()

    def action_follow(self) -> None:
        """Follow the end again, or stop where the view is."""
        log = self.query_one(Log)
        if log.auto_scroll:
            log.auto_scroll = False  # the view stays; new lines arrive below it
        else:
            log.auto_scroll = True
            log.scroll_end(animate=False, immediate=True)
        self._status()

    def action_back(self) -> None:
        field = self.query_one("#filter", Input)
        if field.has_focus or field.has_class("shown"):
            field.value = ""
            field.remove_class("shown")
            self.query_one(Log).focus()
            return
        self.dismiss(None)

    # ------------------------------------------------------------------ tabs

    def action_container_logs(self) -> None:
        self.query_one(TabbedContent).active = "logs"
        self.query_one(Log).focus()

    def action_container_inspect(self) -> None:
        self.query_one(TabbedContent).active = "inspect"
        self.query_one("#inspect-tree", Tree).focus()
        if not self.inspected:
            self.inspected = True
            self.dindtui.inspect_container(self.level, self.row.id)

    def action_stats(self) -> None:
        self.query_one(TabbedContent).active = "stats"

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "inspect" and not self.inspected:
            self.inspected = True
            self.dindtui.inspect_container(self.level, self.row.id)

    def show_inspect(self, data: dict) -> None:
        if not self._composed():
            return
        tree = self.query_one("#inspect-tree", Tree)
        tree.clear()
        tree.root.set_label(Text.assemble((self.row.name, "bold"), " ",
                                          (safe_text(str(data.get("Id") or "")[:12]), "dim")))
        add_json(tree.root, data)
        tree.root.expand()

    # ------------------------------------------------------------------ live

    def _composed(self) -> bool:
        """The app hands this screen the level's details, readings and inspect data as they
        come: one can come after the screen is pushed and before it is composed (seen on a
        loaded machine: the app died of a query for #title), or after it is torn down."""
        return bool(self.query("#title"))

    def show_row(self, row: ContainerRow | None) -> None:
        """The container as the level's newest details have it (None: it is gone)."""
        if not self._composed():
            if row is not None:
                self.row = row  # the title is composed from it
            return
        if row is None:
            self.query_one("#title", Static).update(
                Text.assemble(self._title(), ("  — removed", "bold red")))
            return
        was = self.row.state
        self.row = row
        self.query_one("#title", Static).update(self._title())
        if row.state == "running" and was != "running" and self.follower is not None \
                and self.follower.ended:
            self._follow(tail=0)  # started again: follow from now on

    def show_usage(self, usage: Usage | None) -> None:
        if not self._composed():
            return  # the next round of readings (2 s) draws them
        cpu, memory = self.query_one("#cpu-graph", Graph), self.query_one("#memory-graph", Graph)
        if usage is None:
            cpu.show("-", [])
            memory.show("-", [])
            return
        cpu.show(percent(usage.cpu_now) or "…", usage.cpu, cpu_axis(usage))
        memory.show(human(usage.memory_now), usage.memory, memory_axis(usage))

    # ------------------------------------------------------------------ actions

    def action_container_shell(self) -> None:
        self.dindtui.container_shell(self.level, self.row)

    def action_container_act(self, action: str) -> None:
        self.dindtui.confirm_container_action(self.level, self.row, action)
