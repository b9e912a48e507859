"""One-key cleanup: exactly what would be freed (levels, volumes, bytes), then confirm."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from ..engine.usage import CleanupPlan
from .dialogs import DIALOG_CSS, ConfirmDialog
from .level_tree import human


def plan_table(plan: CleanupPlan) -> Table:
    table = Table(expand=True, box=None, padding=(0, 1))
    for column, justify in (("level", "left"), ("state", "left"), ("on", "left"),
                            ("volume", "left"), ("frees", "right")):
        table.add_column(column, justify=justify, no_wrap=True)
    for item in plan.items:
        table.add_row(item.level, Text(item.state, style="red" if item.state in ("dead", "exited")
                                       else "yellow"), item.daemon or "host", item.volume,
                      human(item.bytes))
    return table


class CleanupModal(ConfirmDialog):
    """The confirmation of a cleanup, with the plan it would carry out."""

    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "CleanupModal") + """
    CleanupModal > Vertical { width: 100; }
    CleanupModal VerticalScroll { height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("y", "confirm", "free")]

    def __init__(self, plan: CleanupPlan) -> None:
        super().__init__("", f"Free {human(plan.total)}")
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical():
            if not self.plan.items:
                yield Static("Nothing to clean: every dindtui volume belongs to a live level.")
                with Horizontal():
                    yield Button("Close", id="cancel", variant="primary")
                return
            yield Static(f"Cleanup will remove {len(self.plan.items)} volume(s) of dead or "
                         "exited levels. Live levels are never touched.")
            with VerticalScroll():
                yield Static(plan_table(self.plan))
            yield Static(Text.assemble("Frees ", (human(self.plan.total), "bold"), " on disk."))
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error")

    def on_mount(self) -> None:
        self.query_one("#cancel" if not self.plan.items else "#confirm", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(bool(self.plan.items))
