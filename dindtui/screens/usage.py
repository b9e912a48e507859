"""The disk-usage view: one bar per level's volume, nested by depth, with totals."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from .. import actions
from ..actions import bindings
from ..engine.disk.usage import CLEANABLE, UsageReport
from ..engine.order import tree_order
from ..formatting import human

BAR_WIDTH = 30


def bar(value: int, largest: int, style: str) -> Text:
    filled = 0 if largest <= 0 else round(BAR_WIDTH * value / largest)
    if value and not filled:
        filled = 1
    return Text.assemble(("█" * filled, style), ("░" * (BAR_WIDTH - filled), "dim"))


def usage_table(report: UsageReport) -> Table:
    table = Table(expand=True, box=None, padding=(0, 1))
    table.add_column("level", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("own", justify="right", no_wrap=True)
    table.add_column("linked", justify="right", no_wrap=True)
    table.add_column("freeable", justify="right", no_wrap=True)
    largest = max((v.bytes for v in report.volumes), default=0)
    for volume in sorted(report.volumes, key=lambda v: tree_order(v.level)):
        style = {"live": "green", "dead": "red", "exited": "red"}.get(volume.state, "yellow")
        table.add_row("  " * (volume.depth - 1) + volume.level, Text(volume.state, style=style),
                      bar(volume.bytes, largest, style), human(volume.bytes),
                      human(volume.shared_bytes),
                      human(volume.freeable) if volume.state in CLEANABLE else "-")
    return table


def usage_summary(report: UsageReport) -> Text:
    freeable = sum(v.freeable for v in report.volumes if v.state in CLEANABLE)
    linked = sum(v.shared_bytes for v in report.volumes)
    return Text.assemble(
        ("Total on disk ", "bold"), (human(report.total), "bold yellow"),
        f"  ·  {len(report.volumes)} volume(s)  ·  hardlinked layers {human(linked)} "
        "(counted once)  ·  freeable now ", (human(freeable), "bold"),
        f"  ·  measured by {report.method}")


class UsageView(Static):
    DEFAULT_CSS = "UsageView { height: auto; padding: 1 2; }"

    def show(self, report: UsageReport | None) -> None:
        if report is None:
            self.update("measuring…")
        elif not report.volumes:
            self.update("No dindtui volume yet.")
        else:
            grid = Table.grid()
            grid.add_row(usage_table(report))
            grid.add_row(Text(""))
            grid.add_row(usage_summary(report))
            self.update(grid)


class UsageScreen(Screen[None]):
    """Starts with the last report (if any) and shows each new one as it is measured."""

    BINDINGS = bindings(actions.USAGE)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield UsageView()
        yield Footer()

    def __init__(self, report: UsageReport | None = None) -> None:
        super().__init__()
        self.report = report

    def on_mount(self) -> None:
        self.title = "disk usage"
        self.query_one(UsageView).show(self.report)

    def show(self, report: UsageReport | None) -> None:
        self.report = report
        if self.is_mounted:
            self.query_one(UsageView).show(report)

    def action_close(self) -> None:
        self.dismiss(None)
