"""A banner across the top when the engine cannot be reached (hidden otherwise)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Banner(Static):
    DEFAULT_CSS = """
    Banner { display: none; background: $error; color: $text; padding: 0 1; height: auto; }
    Banner.visible { display: block; }
    """

    def show_error(self, message: str) -> None:
        self.update(Text.assemble(("engine unreachable: ", "bold"), message,
                                  " — retrying every 2 s"))
        self.add_class("visible")

    def clear(self) -> None:
        self.remove_class("visible")
