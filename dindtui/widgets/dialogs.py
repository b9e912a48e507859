"""Small modal dialogs: a yes/no confirmation, the new level's name, and the way out."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

DIALOG_CSS = """
NAME { align: center middle; }
NAME > Vertical { width: 70; height: auto; border: thick $primary; background: $surface;
                    padding: 1 2; }
NAME Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
NAME Button { margin-left: 1; }
"""


class ConfirmDialog(ModalScreen[bool]):
    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "ConfirmDialog")
    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("y", "confirm", "yes")]

    def __init__(self, question: str, confirm: str = "Yes") -> None:
        super().__init__()
        self.question, self.confirm_label = question, confirm

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)


class NameDialog(ModalScreen[str | None]):
    """Asks for the new level's name, with a default ready to accept."""

    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "NameDialog")
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, parent_label: str, default: str) -> None:
        super().__init__()
        self.parent_label, self.default = parent_label, default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Spawn a level under [b]{self.parent_label}[/b]. Its name:")
            yield Input(value=self.default, id="name", restrict=r"[a-z0-9_.-]*", max_length=24)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Spawn", id="spawn", variant="primary")

    @on(Input.Submitted)
    @on(Button.Pressed, "#spawn")
    def accept(self) -> None:
        self.dismiss(self.query_one(Input).value.strip() or self.default)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class QuitDialog(ModalScreen[str | None]):
    """Leaving with levels alive: keep them running (the default) or collapse them all."""

    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "QuitDialog")
    BINDINGS = [Binding("escape", "stay", "stay"), Binding("q", "keep", "quit")]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.count} level(s) are running. They keep running after you quit "
                         "unless you collapse them.")
            with Horizontal():
                yield Button("Stay", id="stay")
                yield Button("Collapse all and quit", id="collapse", variant="error")
                yield Button("Quit, keep levels", id="keep", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "stay" else event.button.id)

    def action_stay(self) -> None:
        self.dismiss(None)

    def action_keep(self) -> None:
        self.dismiss("keep")
