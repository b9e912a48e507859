"""The `?` screen: the keys, generated from the main screen's real bindings (their tooltips
say what each does), then what a level is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

INTRO = """\
# dindtui

Each **level** is a Docker daemon running inside a container of its parent's daemon.
Level 0 is the engine dindtui talks to (`DOCKER_HOST` or the default socket).
"""

OUTRO = """
New levels get their images **seeded**: layers hardlinked from the parent, about a second
and almost no disk. Exiting a level keeps its volume, as `docker rm` does; `c` frees it.

Press `escape` to close.
"""


def key_table(bindings: list[BindingType]) -> str:
    """A Markdown table of keys: one row per action that has a tooltip, with every key bound to
    that action anywhere in `bindings` (a widget's `enter` and the screen's `s`, say)."""
    keys: dict[str, list[str]] = {}
    for binding in bindings:
        if isinstance(binding, Binding):
            action = binding.action.split(".", 1)[-1]
            keys.setdefault(action, [])
            for key in binding.key.split(","):
                keys[action].insert(0 if not binding.tooltip else len(keys[action]),
                                    "?" if key == "question_mark" else key)
    rows = ["| key | does |", "|---|---|"]
    for binding in bindings:
        if isinstance(binding, Binding) and binding.tooltip:
            shown = " / ".join(f"`{key}`" for key in keys[binding.action])
            rows.append(f"| {shown} | {binding.tooltip} |")
    rows.append("| `ctrl+p` | command palette (every action, by name) |")
    return "\n".join(rows)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 84; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "close", "close")]

    def __init__(self, bindings: list[BindingType]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(INTRO + "\n" + key_table(self.bindings) + "\n" + OUTRO)

    def action_close(self) -> None:
        self.dismiss(None)
