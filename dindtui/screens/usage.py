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
from ..widgets.footer import fit_footer

BAR_WIDTH = 30


def bar(value: int, largest: int, style: str, width: int = BAR_WIDTH) -> Text:
    filled = 0 if largest <= 0 else round(width * value / largest)
    if value and not filled:
        filled = 1
    return Text.assemble(("█" * filled, style), ("░" * (width - filled), "dim"))


def usage_table(report: UsageReport, width: int = 200) -> Table:
    """The volumes in tree order; the bars get what `width` columns leave after the names and
    the numbers (none on a narrow terminal), so that no name or number is cut."""
    rows = sorted(report.volumes, key=lambda v: tree_order(v.level))
    names = ["  " * (v.depth - 1) + v.level for v in rows]
    numbers = max(len("freeable"), *(len(human(v.bytes)) for v in rows),
                  *(len(human(v.shared_bytes)) for v in rows))
    # The cells, and a column's padding of one on each side (six columns with the bars).
    fixed = max(map(len, names), default=5) + len("orphan") + 3 * numbers + 2 * 6
    bar_width = max(0, min(BAR_WIDTH, width - fixed - 2))
    table = Table(expand=True, box=None, padding=(0, 1))
    table.add_column("level", no_wrap=True)
    table.add_column("state", no_wrap=True)
    if bar_width >= 5:
        table.add_column("", no_wrap=True)
    for column in ("own", "linked", "freeable"):
        table.add_column(column, justify="right", no_wrap=True, min_width=numbers)
    largest = max((v.bytes for v in report.volumes), default=0)
    for name, volume in zip(names, rows, strict=True):
        style = {"live": "green", "dead": "red", "exited": "red"}.get(volume.state, "yellow")
        cells: list[str | Text] = [name, Text(volume.state, style=style)]
        if bar_width >= 5:
            cells.append(bar(volume.bytes, largest, style, bar_width))
        table.add_row(*cells, human(volume.bytes), human(volume.shared_bytes),
                      human(volume.freeable) if volume.state in CLEANABLE else "-")
    return table


def usage_summary(report: UsageReport) -> Text:
    freeable = sum(v.freeable for v in report.volumes if v.state in CLEANABLE)
    linked = sum(v.shared_bytes for v in report.volumes)
    return Text.assemble(
        ("Total on disk ", "bold"), (human(report.total), "bold yellow"),
        f" (each hardlinked layer once)  ·  {len(report.volumes)} volume(s)  ·  as copies "
        f"the linked layers would take {human(linked)}  ·  freeable now ",
        (human(freeable), "bold"),
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
            grid.add_row(usage_table(report, self.app.size.width - 4))
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

    def on_resize(self) -> None:
        fit_footer(self, self.size.width)
        self.query_one(UsageView).show(self.report)

    def action_close(self) -> None:
        self.dismiss(None)
