"""The dream is collapsing: `root@<id>:/# exit` lines cascade one level up at a time as each
level really exits, while the spinning top turns. Any key skips it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Static

from ..engine.spawn import ExitEvent
from ..widgets.spin_top import SpinTop


class CollapseScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    CollapseScreen { align: center middle; background: $background 85%; }
    CollapseScreen > Horizontal { width: 90; height: auto; border: thick $accent;
                                  background: $surface; padding: 1 2; }
    CollapseScreen #lines { width: 1fr; height: auto; min-height: 10; margin-left: 3; }
    """

    def __init__(self, title: str = "The dream is collapsing…", *, spinning: bool = True):
        super().__init__()
        self.title_text = title
        self.spinning = spinning
        self.lines: list[Text] = []
        self.done = False

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield SpinTop(spinning=self.spinning)
            with Vertical(id="lines"):
                yield Static(Text(self.title_text, style="bold"), id="title")
                yield Static(id="log")

    def add_event(self, event: ExitEvent) -> None:
        """One real step of the exit: the level is exiting, or has exited."""
        indent = "  " * max(event.depth - 1, 0)
        if event.phase == "exiting":
            self.lines.append(Text.assemble(indent, (f"root@{event.container_id}", "green"),
                                            ":/# ", ("exit", "bold"), "  ",
                                            (f"({event.path})", "dim")))
        else:
            if self.lines:
                self.lines[-1].append("  ✓", style="dim green")
        self.query_one("#log", Static).update(Text("\n").join(self.lines[-12:]))

    def finish(self, message: str = "…and you wake up.") -> None:
        self.done = True
        self.query_one("#title", Static).update(Text(message, style="bold"))
        self.set_timer(1.2, self._close)

    def _close(self) -> None:
        if self.is_attached and self.app.screen is self:
            self.dismiss(None)

    def on_key(self, event: Key) -> None:
        event.stop()
        self.dismiss(None)  # skip: the exit itself goes on in its worker
