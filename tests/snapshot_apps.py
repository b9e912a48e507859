"""The real app for snapshot tests, on a fake engine holding a fixed tree (pure rendering;
every behaviour behind these screens has its test against the real engine)."""

from __future__ import annotations

import time

from textual.widgets import Input

from fake_engine import (FakeEngine, fixed_forest, fixed_plan, fixed_report, fixed_tree,
                         fixed_usage)
from dindtui.app import DindtuiApp
from dindtui.engine.tree.levels import Level
from dindtui.engine.lifecycle.exiting import ExitEvent
from dindtui.screens.collapse import CollapseScreen
from dindtui.screens.dialogs import CleanupDialog
from dindtui.widgets.detail_pane import ResourceGraphs


_input_mounted = Input._on_mount


def _steady_input_mounted(self: Input, event) -> None:
    """In a snapshot an input's cursor does not blink: a blink is a 0.5-s timer, and a
    picture taken late on a loaded machine once caught the cursor off."""
    _input_mounted(self, event)
    if isinstance(self.app, SnapshotApp):
        self.cursor_blink = False  # shown, steadily


Input._on_mount = _steady_input_mounted  # type: ignore[method-assign]


class SnapshotApp(DindtuiApp):
    """The real app, still: no spinning, no timers that would change the screen."""

    def __init__(self, root: Level | None = None, error: str | None = None, select: str = "",
                 forest: list[Level] | None = None):
        super().__init__(animation=True, engine=FakeEngine(tree=root, forest=forest))
        self.spinning = False
        self.select_on_mount = select
        # A disk walk already made, and no other (_schedule_usage): the app walks again 3 s
        # after the tree changes, and a picture taken on a loaded machine can take longer
        # than that (one did: its disk graph had a second, real-time point).
        self.model.record_usage(fixed_report(), 1_800_000_000.0)

    def on_mount(self) -> None:
        self.refresh_tree()
        if self.select_on_mount:
            self.set_timer(0.05, lambda: self.query_one("#tree").select_path(
                self.select_on_mount))

    def _schedule_usage(self, delay: float) -> None:
        pass  # the fixed walk above is the only one

    def set_timer(self, delay, callback=None, **kwargs):
        if callback == self._retry:
            return None  # no retry loop in a snapshot
        return super().set_timer(delay, callback, **kwargs)


def feed_stats(app: SnapshotApp) -> None:
    """One round of fixed readings: every level of the fixed tree, and the running container
    of the deepest level."""
    usage = {f"level:{path}": fixed_usage(20 + 5 * n)
             for n, path in enumerate(("l1", "l1/l2", "l1/l2/l3"))}
    usage["l1/l2/l3:0a1b2c3d4e5f"] = fixed_usage()
    app.engine.stats.read(usage)


async def painted(pilot, timeout: float = 10) -> None:
    """Until the current screen has drawn everything it was given. Only the top screen
    repaints: a screen pushed over one with a change still waiting keeps it undrawn below
    (a collapse picture once showed empty graphs behind it on a loaded machine). Textual
    has no public word for this: its own flags are read."""
    screen = pilot.app.screen
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause()
        waiting = [node for node in (screen, *screen.walk_children())
                   if node._repaint_required or node._layout_required or node._scroll_required
                   or node._recompose_required]
        if not waiting and not screen._dirty_widgets:
            return
        await pilot.pause(0.02)
    raise TimeoutError(f"the screen was still drawing after {timeout:g} s")


async def readings_shown(pilot, timeout: float = 10) -> None:
    """One round of fixed readings, given once the level's graphs are there to take it, and
    drawn. A round that comes before them is kept for the next (the app reads every 2 s; a
    snapshot never does): a picture once caught the networks table built and the graphs
    not yet, fed them nothing, and showed empty lines."""
    app = pilot.app
    deadline = time.monotonic() + timeout

    def panes() -> list[ResourceGraphs]:
        return [pane for pane in app.query(ResourceGraphs) if pane.composed()]

    while not panes():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no level's graphs after {timeout:g} s")
        await pilot.pause(0.02)
    feed_stats(app)
    level = app.selected_level()
    usage = app.level_usage().get(level.path) if level is not None else None

    def drawn(pane: ResourceGraphs) -> bool:  # a graph draws two readings or more
        cpu, memory = pane.parts()[:2]
        return (pane._waiting is not None  # another tab: drawn when it shows
                or usage is None  # no readings for this level: nothing to wait for
                or (cpu.data == (list(usage.cpu) if len(usage.cpu) > 1 else [])
                    and memory.data == (list(usage.memory) if len(usage.memory) > 1 else [])))

    while not all(drawn(pane) for pane in panes()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the readings were not on the graphs after {timeout:g} s")
        await pilot.pause(0.02)
    await painted(pilot, max(0.5, deadline - time.monotonic()))


def collapse_frame() -> CollapseScreen:
    return CollapseScreen(fixed_tree().children, spinning=False)


COLLAPSE_EVENTS = [ExitEvent("l1/l2/l3", 3, "exiting", "e3f4a5b6c7d8"),
                   ExitEvent("l1/l2/l3", 3, "exited", "e3f4a5b6c7d8"),
                   ExitEvent("l1/l2", 2, "exiting", "d2e3f4a5b6c7")]
THE_REST = [ExitEvent("l1/l2", 2, "exited", "d2e3f4a5b6c7"),
            ExitEvent("l1/side", 2, "exiting", "f4a5b6c7d8e9"),
            ExitEvent("l1/side", 2, "exited", "f4a5b6c7d8e9"),
            ExitEvent("l1", 1, "exiting", "c1a2b3c4d5e6"),
            ExitEvent("l1", 1, "exited", "c1a2b3c4d5e6")]

__all__ = ["SnapshotApp", "feed_stats", "fixed_tree", "fixed_forest", "fixed_plan", "CleanupDialog",
           "collapse_frame", "COLLAPSE_EVENTS", "THE_REST", "painted",
           "readings_shown"]
