"""Shown instead of the detail pane while the tree has no level yet."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widgets import Static

from .spin_top import SpinTop


class Greeting(Vertical):
    DEFAULT_CSS = """
    Greeting { align: center middle; height: 1fr; }
    Greeting Static.message { width: auto; margin-top: 1; text-align: center; }
    """

    def __init__(self, *, spinning: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spinning = spinning

    def show(self, shown: bool) -> None:
        """Shown on an empty tree; hidden, its top stops turning (no timer while idle)."""
        self.set_class(not shown, "hidden")
        for top in self.query(SpinTop):
            top.resume() if shown else top.pause()

    def compose(self) -> ComposeResult:
        with Center():
            yield SpinTop(spinning=self.spinning)
        with Center():
            yield Static("No dream inside this one yet.\n"
                         "Press [b]n[/] to spawn a nested daemon, [b]?[/] for help.",
                         classes="message")
