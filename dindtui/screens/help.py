"""The `?` screen: the keys, generated from the real bindings of the screens and tables
(their tooltips say what each does), then what a level is."""

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

    def action_of(binding: Binding) -> str:
        return binding.action.split(".", 1)[-1] if binding.action.startswith(
            ("screen.", "app.")) else binding.action

    for binding in bindings:
        if isinstance(binding, Binding):
            keys.setdefault(action_of(binding), [])
            for key in binding.key.split(","):
                key = {"question_mark": "?", "slash": "/"}.get(key, key)
                if key not in keys[action_of(binding)]:
                    keys[action_of(binding)].insert(
                        0 if not binding.tooltip else len(keys[action_of(binding)]), key)
    rows = ["| key | does |", "|---|---|"]
    done = set()
    for binding in bindings:
        if isinstance(binding, Binding) and binding.tooltip and action_of(binding) not in done:
            done.add(action_of(binding))
            shown = " / ".join(f"`{key}`" for key in keys[action_of(binding)])
            rows.append(f"| {shown} | {binding.tooltip} |")
    return "\n".join(rows)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 84; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "close", "close")]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        text = INTRO + "\n" + markdown(self.sections)
        text += "\n`ctrl+p` opens the command palette: every action by name, and every " \
                "container and image of the tree.\n"
        with VerticalScroll():
            yield Markdown(text + OUTRO)

    def action_close(self) -> None:
        self.dismiss(None)


def markdown(sections: list[tuple[str, list[BindingType]]], level: str = "##") -> str:
    """The key tables as Markdown (the README's section is this, for `###`)."""
    return "\n".join(f"{level} {title}\n\n{key_table(bindings)}\n"
                     for title, bindings in sections)
