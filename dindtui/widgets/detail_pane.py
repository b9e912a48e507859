"""Everything about the selected level, in tabs: the level itself (its daemon, and its CPU,
memory and disk over the last minutes), then what runs inside it: containers, images, volumes
and networks, as live tables (widgets/tables.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import DataTable, Sparkline, Static, TabbedContent, TabPane
from textual.widgets._tabbed_content import ContentTab

from ..engine.explore.details import LevelDetails
from ..engine.explore.stats import SAMPLE_SECONDS, Usage
from ..formatting import STATE_STYLE, duration, human, percent
from .kept import Kept
from .swarm_panel import SwarmPanel
from .tables import ContainersTable, ImagesTable, NetworksTable, VolumesTable

if TYPE_CHECKING:  # no part of a first frame
    from ..engine.disk.usage import VolumeUsage
    from ..engine.swarm.view import SwarmView

TABS = ("level", "containers", "images", "volumes", "networks", "swarm")


def facts_table(details: LevelDetails, usage: VolumeUsage | None) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    style = STATE_STYLE.get(details.state, "white")
    table.add_row("level", Text.assemble((f"{details.depth} ", "dim"), (details.path, "bold")))
    table.add_row("state", Text(details.state, style=style))
    table.add_row("daemon", details.version or "-")
    table.add_row("storage", details.storage_driver or "-")
    table.add_row("cgroup", f"v{details.cgroup_version}" if details.cgroup_version else "-")
    if details.depth:
        table.add_row("privilege", details.privilege or "-")
        table.add_row("images by", details.strategy or "-")
        table.add_row("uptime", duration(details.uptime_seconds))
    table.add_row("socket", details.endpoint or "-")
    if details.port:
        table.add_row("tcp", f"127.0.0.1:{details.port} (TLS)")
    if details.volume:
        size = ""
        if usage is not None:
            size = f"  {human(usage.bytes)} own, {human(usage.shared_bytes)} linked"
        table.add_row("volume", details.volume + size)
    running = sum(1 for c in details.containers if c.state == "running")
    if details.state == "ready":
        table.add_row("inside", f"{running} running / {len(details.containers)} containers, "
                                f"{len(details.images)} images, {len(details.volumes)} volumes")
    else:  # its daemon cannot say: never "0 containers"
        table.add_row("inside", Text(
            f"not known while it is {details.state}"
            + ("; v revives it and the levels inside it" if details.state in ("exited", "dead")
               else ""), style="dim"))
    if details.swarm or details.cluster:
        table.add_row("swarm", Text.assemble(
            (details.swarm or "not answering", "cyan" if details.swarm else "red"),
            f" of cluster {details.cluster}" if details.cluster else " (made by hand)",
            ("  6: its swarm", "dim")))
    if details.error:
        table.add_row("error", Text(details.error, style="red"))
    return table


def axis(low: str, high: str, seconds: float) -> str:
    """A graph's scale and span: its lowest and highest readings and how far back it goes."""
    span = f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
    return f"{low} – {high} · {span}"


class Axis(Static):
    """A graph's axis, drawn only when its graph is at least Graph.AXIS_FROM columns wide
    (narrower, the sparkline keeps them). Decided as the graph is laid out, from its width:
    a Resize event toggling it came a frame or more late, and a loaded machine's picture
    caught the axis on a narrow pane (or missing on a wide one)."""

    def get_content_width(self, container: Size, viewport: Size) -> int:
        if container.width < Graph.AXIS_FROM:
            return 0
        return super().get_content_width(container, viewport)


class Graph(Horizontal):
    """A labelled sparkline: what, the latest value, the recent history, and its axis (the
    lowest and highest readings it draws, and the time it spans)."""

    DEFAULT_CSS = """
    Graph { height: 1; }
    Graph > .label { width: 28; color: $text-muted; }
    Graph > Sparkline { width: 1fr; }
    Graph > Axis { width: auto; color: $text-muted; }
    """

    def __init__(self, label: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.label = label
        self.value: str = ""
        self.data: list[float] = []

    scale = ""
    AXIS_FROM = 70  # columns from which the axis shows (narrower: the sparkline keeps them)

    def compose(self) -> ComposeResult:
        yield Static(f"{self.label} {self.value}", classes="label")
        yield Sparkline(self.data, min_color="green", max_color="red")
        yield Axis(" " + self.scale if self.scale else "")

    def show(self, value: str, data: Sequence[float], scale: str = "") -> None:
        """Kept, and drawn now or when composed (a reading can come first)."""
        # Fewer than two readings draw nothing: one value alone would fill the line.
        # A Static's update lays the screen out again: only a text that changed is given
        # (a round of readings on 64 levels laid it out every two seconds).
        new_data = list(data) if len(data) > 1 else []
        new_scale = scale if new_data else ""
        if value != self.value:
            for label in self.query(".label").results(Static):
                label.update(f"{self.label} {value}")
        if new_data != self.data:
            for line in self.query(Sparkline):
                line.data = new_data
        if new_scale != self.scale:
            for shown in self.query(Axis):
                shown.update(" " + new_scale if new_scale else "")
        self.value, self.data, self.scale = value, new_data, new_scale


def cpu_axis(usage: Usage) -> str:
    readings = list(usage.cpu)
    return axis(percent(min(readings)), percent(max(readings)),
                len(readings) * SAMPLE_SECONDS) if len(readings) > 1 else ""


def memory_axis(usage: Usage) -> str:
    readings = list(usage.memory)
    return axis(human(min(readings)), human(max(readings)),
                len(readings) * SAMPLE_SECONDS) if len(readings) > 1 else ""


class ResourceGraphs(Vertical):
    """The level's CPU and memory (its container, read on the parent's daemon; with cgroup v2
    the containers inside it count too, with v1 they have cgroups of their own) and the
    growth of its volume."""

    DEFAULT_CSS = """
    ResourceGraphs { height: auto; margin-top: 1; }
    ResourceGraphs > .note { color: $text-muted; }
    """

    _note: str | None = None

    def compose(self) -> ComposeResult:
        yield Graph("cpu", id="cpu-graph")
        yield Graph("memory", id="memory-graph")
        yield Graph("disk", id="disk-graph")
        yield Static("", classes="note")

    _parts: tuple[Graph, Graph, Graph, Static] | None = None

    def parts(self) -> tuple[Graph, Graph, Graph, Static] | None:
        """Its graphs and its note, once they are there (a reading can arrive between this
        widget's mounting and its children's: a stats round just as the pane is built); found
        once, not by queries every round of readings."""
        if self._parts is None or not all(part.is_attached for part in self._parts):
            graphs = {graph.id: graph for graph in self.query(Graph)}
            notes = self.query(".note").results(Static)
            note = next(iter(notes), None)
            if note is None or {"cpu-graph", "memory-graph", "disk-graph"} - set(graphs):
                return None
            self._parts = (graphs["cpu-graph"], graphs["memory-graph"], graphs["disk-graph"],
                           note)
        return self._parts

    def composed(self) -> bool:
        return self.parts() is not None

    _waiting: tuple[int, Usage | None, Sequence[tuple[float, int]]] | None = None

    def show(self, depth: int, usage: Usage | None,
             disk: Sequence[tuple[float, int]]) -> None:
        parts = self.parts()
        if parts is None:
            return  # the next round (2 s) draws them
        if not self.is_on_screen:  # another tab: drawn when this one shows
            self._waiting = (depth, usage, disk)
            return
        self._waiting = None
        cpu, memory, disk_graph, _ = parts
        if usage is not None:
            cpu.show(percent(usage.cpu_now) or "…", usage.cpu, cpu_axis(usage))
            limit = f" / {human(usage.memory_limit)}" if usage.memory_limit else ""
            memory.show(human(usage.memory_now) + limit, usage.memory, memory_axis(usage))
        else:
            cpu.show("-", [])
            memory.show("-", [])
        values = [b for _, b in disk]
        growth = ""
        if len(disk) > 1:
            delta, minutes = disk[-1][1] - disk[0][1], (disk[-1][0] - disk[0][0]) / 60
            growth = f" ({'+' if delta >= 0 else ''}{human(delta)} in {minutes:.0f}m)"
        disk_graph.show(
            (human(values[-1]) + growth) if values else "-", values,
            axis(human(min(values)), human(max(values)), disk[-1][0] - disk[0][0])
            if len(values) > 1 else "")
        self.show_depth(depth)

    def on_show(self) -> None:
        if self._waiting is not None:
            self.show(*self._waiting)

    def show_depth(self, depth: int) -> None:
        """Level 0 has no container of its own to read: a note instead of the graphs."""
        parts = self.parts()
        if parts is None:
            self.call_after_refresh(self.show_depth, depth)
            return
        for graph in parts[:3]:
            if graph.display != (depth > 0):
                graph.display = depth > 0
        note = ("" if depth else "level 0 is the engine itself: each level below it has its "
                                 "CPU, memory and disk graphs here")
        if note != self._note:
            self._note = note
            parts[3].update(note)


class LevelTabs(Vertical):
    """The tabs of the detail pane (composed when the pane builds them)."""

    DEFAULT_CSS = """
    LevelTabs { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with TabbedContent(id="tabs"):
            with TabPane("level", id="level"):
                with VerticalScroll():
                    yield Static(id="facts")
                    yield ResourceGraphs()
            with TabPane("containers", id="containers"):
                yield ContainersTable(id="containers-table")
            with TabPane("images", id="images"):
                yield ImagesTable(id="images-table")
            with TabPane("volumes", id="volumes"):
                yield VolumesTable(id="volumes-table")
            with TabPane("networks", id="networks"):
                yield NetworksTable(id="networks-table")
            with TabPane("swarm", id="swarm"):
                yield SwarmPanel()

    def on_mount(self) -> None:
        self.call_after_refresh(self._hide_swarm)

    def _hide_swarm(self, tries: int = 50) -> None:
        """Shown only for a level that is a swarm node (DetailPane.show); the pane may be gone
        already (an engine that stopped answering)."""
        if not tabs_ready(self):
            if tries and self.is_attached:
                self.call_after_refresh(self._hide_swarm, tries - 1)
            return
        if not getattr(self.parent, "in_swarm", False):
            self.query_one(TabbedContent).hide_tab("swarm")


def tabs_ready(widget: Widget) -> bool:
    """True once the tabs under `widget` can be read and changed. Textual composes the tab
    strip's tabs a step after the panes, so a pane's tables can exist while its tab does not;
    the last tab (swarm) and the last table tell that both are there."""
    return bool(widget.query(TabbedContent) and widget.query("#networks-table") and
                widget.query(f"#{ContentTab.add_prefix('swarm')}"))


class DetailPane(Vertical):
    DEFAULT_CSS = """
    DetailPane { width: 3fr; border: round $secondary; padding: 0 1; }
    DetailPane TabbedContent { height: 1fr; }
    DetailPane TabPane { padding: 0; }
    DetailPane DataTable { height: 1fr; }
    """

    _pending: tuple[LevelDetails, VolumeUsage | None] | None = None
    _pending_tab: str | None = None
    details: LevelDetails | None = None
    built = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._kept = Kept(self)

    def on_mount(self) -> None:
        self.border_title = "level"

    def build(self) -> None:
        """The tabs and tables, made once, after the first tree is drawn (they double the cost
        of the first frame, and nothing shows them before a level is selected). Not once
        the pane is gone: the app can quit between the first frame and the next."""
        if not self.is_attached:
            return
        if not self.built:
            self.built = True
            self.mount(LevelTabs())
        self._wait_for_tabs()

    _waiting = False

    def _wait_for_tabs(self) -> None:
        """Show what came before the tabs were there once they are (one wait at a time)."""
        if not self._waiting:
            self._waiting = True
            self.call_after_refresh(self._show_pending)

    def _show_pending(self, tries: int = 50) -> None:
        if not tabs_ready(self):
            if tries and self.is_attached:
                self.call_after_refresh(self._show_pending, tries - 1)
            else:
                self._waiting = False
            return
        self._waiting = False
        if self._pending is not None:
            self.show(*self._pending)
        if self._pending_activate is not None:
            tab, self._pending_activate = self._pending_activate, None
            self.activate(tab)
        if self._pending_tab is not None:
            tab, self._pending_tab = self._pending_tab, None
            self.show_tab(tab)

    def show(self, details: LevelDetails, usage: VolumeUsage | None = None,
             container_usage: dict[str, Usage] | None = None) -> None:
        if not tabs_ready(self) or not self.query("#facts"):
            self._pending = (details, usage)  # details can come before the pane is composed
            if self.built:
                self._wait_for_tabs()
            return
        self._pending = None
        self.details = details
        self.border_title = details.path
        self.query_one("#facts", Static).update(facts_table(details, usage))
        self.query_one(ResourceGraphs).show_depth(details.depth)
        path = "" if details.depth == 0 else details.path
        self.query_one(ContainersTable).show(path, details.containers, container_usage)
        self.query_one(ImagesTable).show(details.images)
        self.query_one(VolumesTable).show(details.volumes)
        self.query_one(NetworksTable).show(details.networks)
        self.in_swarm = bool(details.swarm)
        tabs = self.query_one(TabbedContent)
        if self.in_swarm:
            tabs.show_tab("swarm")
            self.query_one(SwarmPanel).show(self.swarm_view)  # read before the pane was built
        else:
            if tabs.active == "swarm":
                tabs.active = "level"
            tabs.hide_tab("swarm")
        self._label_tabs()

    narrow = False
    SHORT = {"level": "lvl", "containers": "ctr", "images": "img", "volumes": "vol",
             "networks": "net", "swarm": "swm"}
    in_swarm = False

    def set_narrow(self, narrow: bool) -> None:
        """A narrow pane: the tabs' short names, so that every tab and its count shows."""
        if narrow != self.narrow:
            self.narrow = narrow
            self._label_tabs()

    def _label_tabs(self) -> None:
        if not tabs_ready(self):
            return  # labelled by show() once the tabs are there
        tabs = self.query_one(TabbedContent)
        details = self.details
        counts: dict[str, str] = {"level": ""}
        if details is not None:
            running = sum(1 for c in details.containers if c.state == "running")
            counts |= {"containers": f" {running}/{len(details.containers)}",
                       "images": f" {len(details.images)}",
                       "volumes": f" {len(details.volumes)}",
                       "networks": f" {len(details.networks)}"}
        swarm = self.swarm_view
        if swarm is not None and swarm.manager:
            counts["swarm"] = f" {swarm.ready}/{len(swarm.nodes)}"
        if self.narrow and self.in_swarm:  # six tabs in a narrow pane: fewer figures
            for tab in ("volumes", "networks", "swarm"):
                counts.pop(tab, None)
        for tab in self.SHORT:
            name = self.SHORT[tab] if self.narrow else tab
            tabs.get_tab(tab).label = name + counts.get(tab, "")

    def show_usage(self, depth: int, level_usage: Usage | None,
                   container_usage: dict[str, Usage],
                   disk: Sequence[tuple[float, int]]) -> None:
        # Every round of readings (2 s): found once, not by a query of the whole pane each time
        # (at 64 levels those queries were half of the idle rounds' CPU).
        graphs, table = self._kept.one(ResourceGraphs), self._kept.one(ContainersTable)
        if self._kept.one(NetworksTable) is None or graphs is None or table is None:
            return
        graphs.show(depth, level_usage, disk)
        table.show_usage(container_usage)


    swarm_view: SwarmView | None = None

    def show_swarm(self, view: SwarmView | None, note: str = "") -> None:
        """A fresh reading of the selected level's swarm (None: it is in none)."""
        self.swarm_view = view
        if self.query(SwarmPanel):
            self.query_one(SwarmPanel).show(view, note)
        self._label_tabs()

    _pending_activate: str | None = None

    def activate(self, tab: str) -> None:
        """Show `tab` without taking the focus (the tree keeps the keys)."""
        if tabs_ready(self):
            self.query_one(TabbedContent).active = tab
        else:
            self._pending_activate = tab
            if self.built:
                self._wait_for_tabs()

    def show_tab(self, tab: str) -> None:
        if not tabs_ready(self):
            self._pending_tab = tab
            self.build()
            return
        self.query_one(TabbedContent).active = tab
        if tab == "swarm":
            self.query_one("#swarm-nodes", DataTable).focus()
        elif tab != "level":
            self.query_one(f"#{tab}-table", DataTable).focus()

    @property
    def active_tab(self) -> str:
        tabs = self.query(TabbedContent)
        return tabs.first().active if tabs else ""
