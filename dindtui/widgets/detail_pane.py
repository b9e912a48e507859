"""Everything about the selected level: its daemon, containers, images and volume usage."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from ..engine.details import LevelDetails
from ..engine.usage import VolumeUsage
from ..formatting import STATE_STYLE, duration, human


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
    if details.error:
        table.add_row("error", Text(details.error, style="red"))
    return table


class DetailPane(VerticalScroll):
    DEFAULT_CSS = """
    DetailPane { width: 2fr; border: round $secondary; padding: 0 1; }
    DetailPane .heading { margin-top: 1; text-style: bold; color: $accent; }
    DetailPane DataTable { height: auto; max-height: 14; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="facts")
        yield Static("Containers", classes="heading")
        yield DataTable(id="containers", cursor_type="row", zebra_stripes=True)
        yield Static("Images", classes="heading")
        yield DataTable(id="images", cursor_type="row", zebra_stripes=True)

    _pending: tuple[LevelDetails, VolumeUsage | None] | None = None

    def on_mount(self) -> None:
        self.border_title = "level"
        self.call_after_refresh(self._show_pending)

    def _show_pending(self) -> None:
        if self._pending is not None:
            self.show(*self._pending)

    def _columns(self) -> None:
        """Made once, whichever comes first: the mount, or the first details to show."""
        containers = self.query_one("#containers", DataTable)
        if not containers.columns:
            containers.add_columns("id", "name", "image", "status")
        images = self.query_one("#images", DataTable)
        if not images.columns:
            images.add_columns("id", "tags", "size")

    def show(self, details: LevelDetails, usage: VolumeUsage | None = None) -> None:
        if not self.query("#images"):  # details can come before this pane is composed
            self._pending = (details, usage)
            return
        self._pending = None
        self._columns()
        self.border_title = details.path
        self.query_one("#facts", Static).update(facts_table(details, usage))
        containers = self.query_one("#containers", DataTable)
        containers.clear()
        for row in details.containers:
            name = Text(row.name, style="bold" if row.is_level else "")
            if row.is_level:
                name.append(" (level)", style="dim")
            containers.add_row(row.id, name, row.image,
                               Text(row.status, style="green" if row.state == "running"
                                    else "red"))
        images = self.query_one("#images", DataTable)
        images.clear()
        for image in details.images:
            images.add_row(image.id, ", ".join(image.tags), human(image.size))
