"""The `?` screen: the keys, from the registry every binding is made from (actions.py), then
what a level is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from .. import actions
from ..actions import bindings

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


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 84; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS = bindings(actions.HELP)

    def compose(self) -> ComposeResult:
        text = INTRO + "\n" + actions.markdown()
        text += "\n`ctrl+p` opens the command palette: every action by name, and every " \
                "container and image of the tree.\n"
        with VerticalScroll():
            yield Markdown(text + OUTRO)

    def action_close(self) -> None:
        self.dismiss(None)

