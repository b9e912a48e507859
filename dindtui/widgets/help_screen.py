"""The `?` screen: every key, what a level is, and where the sockets live."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# dindtui

Each **level** is a Docker daemon running inside a container of its parent's daemon.
Level 0 is the engine dindtui talks to (`DOCKER_HOST` or the default socket).

| key | does |
|---|---|
| `n` | spawn a child level under the selected one |
| `x` | exit the selected level and everything below it |
| `enter` / `s` | shell into the selected level (exit the shell to come back) |
| `d` | disk usage of every level's volume |
| `c` | cleanup: free the volumes of dead and exited levels |
| `v` | revive the selected stopped level and the stopped ones inside it (level 0: all) |
| `r` | refresh now |
| `ctrl+p` | command palette (every action, by name) |
| `?` | this help |
| `q` | quit (levels keep running unless you collapse them) |

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
    BINDINGS = [Binding("escape,q,question_mark", "close", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
