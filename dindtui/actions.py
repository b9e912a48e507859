"""Every action of the TUI and the keys that start it: the one registry the screens' bindings,
the footer, the help screen, the command palette and the README's key tables are made from
(harlequin's actions and keymap, lazydocker's keybindings and cheatsheet check are the models).

A screen or a widget takes its bindings with `bindings(SCOPE)`; nothing else binds a key. No
Textual at import time: the README's tables are made and checked without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.binding import BindingType


@dataclass(frozen=True)
class Action:
    """One thing a user can do: the Textual action it runs, the keys bound to it, the footer's
    word, and what it does (the help, the palette, the README say it in these words)."""

    action: str            # "spawn", "show_tab('level')", "screen.run_image", "app.measure"
    keys: str              # "n", "escape,d"
    label: str             # the footer's word
    does: str = ""         # what it does; empty: a key too plain to explain (a dialog's escape)
    show: bool = True      # in the footer
    palette: bool = True   # in the command palette (when `does` says what it does)
    bound: bool = True     # False: a key a widget handles itself, listed for the help only

    @property
    def name(self) -> str:
        """The action without its namespace ("screen.run_image" → "run_image")."""
        return self.action.split(".", 1)[1] if self.action.startswith(
            ("screen.", "app.")) else self.action


def _on_table(actions: tuple[Action, ...]) -> tuple[Action, ...]:
    """The same actions bound on a table of the main screen: they act through the screen."""
    return tuple(Action("screen." + a.action, a.keys, a.label, a.does, a.show, a.palette,
                        a.bound) for a in actions)


# --------------------------------------------------------------------------- the main screen

MAIN = (
    Action("spawn", "n", "spawn", "spawn a child level under the selected one"),
    Action("exit_level", "x", "exit", "exit the selected level and everything below it"),
    Action("shell", "s", "shell", "shell into the selected level (exit the shell to come back)"),
    Action("run_image", "r", "run", "run an image in the selected level (image, command, name)"),
    Action("bring_images", "b", "bring", "bring images down into the selected level from the "
           "levels above (any of them, several at once)", show=False),
    Action("cluster", "w", "cluster", "a Docker Swarm of sibling levels under the selected one "
           "(asks name, managers, workers)", show=False),
    Action("find", "slash", "find", "find a container or an image in every level"),
    Action("usage", "d", "disk", "disk usage of every level's volume"),
    Action("cleanup", "c", "cleanup", "cleanup: free the volumes of dead and exited levels"),
    Action("revive", "v", "revive",
           "revive the selected stopped level and the stopped ones inside it (level 0: all)"),
    Action("show_tab('level')", "1", "level",
           "the level: its daemon, CPU, memory and disk over time", show=False),
    Action("show_tab('containers')", "2", "containers",
           "the containers inside the level (enter opens one)", show=False),
    Action("show_tab('images')", "3", "images", "the images inside the level (r runs one)",
           show=False),
    Action("show_tab('volumes')", "4", "volumes", "the volumes inside the level", show=False),
    Action("show_tab('networks')", "5", "networks", "the networks inside the level", show=False),
    Action("show_tab('swarm')", "6", "swarm", "the swarm the level is a node of: nodes, "
           "services, tasks by node (on a cluster's line in the tree: its swarm)", show=False),
    Action("refresh", "ctrl+r", "refresh", "read everything again now", show=False),
    Action("help", "question_mark", "help", "this help", palette=False),
    Action("quit_app", "q", "quit", "quit (levels keep running unless you collapse them)"),
)
# Only in the palette: too final for a single key.
PALETTE_ONLY = (
    Action("collapse_all", "", "collapse all", "exit every level, deepest first"),
)
def _moves(first: str, last: str) -> tuple[Action, ...]:
    """vi-style movement, as lazydocker and k9s have it; `first`/`last`: the widget's own
    actions for its first and last line."""
    return (Action("cursor_down", "j", "down", "down one line (j/k as the arrows)", show=False,
                   palette=False),
            Action("cursor_up", "k", "up", "up one line", show=False, palette=False),
            Action(first, "g", "first", "to the first line", show=False, palette=False),
            Action(last, "G", "last", "to the last line", show=False, palette=False))


TREE_MOVES = _moves("scroll_home", "scroll_end")
TABLE_MOVES = _moves("scroll_top", "scroll_bottom")
LEVEL_TREE = (
    Action("screen.drill_in", "enter", "into", "into the level: its containers (tab 2)",
           show=False, palette=False),
    Action("screen.copy_path", "y", "copy", "copy the level's path (to the terminal's "
           "clipboard)", show=False, palette=False),
    *TREE_MOVES,
)

# --------------------------------------------------------------------------- containers

CONTAINER = (
    Action("container_logs", "l", "logs", "the container's logs, followed"),
    Action("container_inspect", "i", "inspect", "inspect the container"),
    Action("container_shell", "s", "shell",
           "a shell inside the container (bash, else sh; exit it to come back)"),
    Action("container_act('start')", "U", "start", "start the container"),
    Action("container_act('stop')", "S", "stop", "stop the container (asks first)"),
    Action("container_act('restart')", "R", "restart", "restart the container (asks first)"),
    Action("container_act('kill')", "K", "kill", "kill the container (asks first)"),
    Action("container_act('remove')", "D", "remove", "remove the container (asks first)"),
)
OPEN_ROW = Action("open", "enter", "open", "open the container (logs, inspect, stats); on a "
                  "level's own container: that level in the tree", bound=False, palette=False)
BACK = Action("screen.back_to_tree", "escape", "tree", "back to the tree of levels", show=False,
              palette=False)
COPY_ROW = Action("copy_row", "y", "copy", "copy the row's id (Y: its name)", show=False,
                  palette=False)
COPY_NAME = Action("copy_row('name')", "Y", "copy name", "", show=False, palette=False)
SORT = Action("sort_next", "o", "sort", "sort by the next column (O: reverse; or click a "
              "header)", show=False, palette=False)
SORT_REVERSE = Action("sort_reverse", "O", "reverse", "", show=False, palette=False)
ROW_KEYS = (COPY_ROW, COPY_NAME, SORT, SORT_REVERSE, *TABLE_MOVES)
CONTAINERS_TABLE = (BACK, *_on_table(CONTAINER), *ROW_KEYS)
IMAGES_TABLE = (
    BACK,
    Action("screen.run_image", "r", "run",
           "run the selected image in this level (asks name, command)", palette=False),
    Action("screen.remove_image", "D", "remove", "remove the image (asks first; one a "
           "container uses stays)", palette=False),
    *ROW_KEYS,
)
VOLUMES_TABLE = (
    BACK, COPY_ROW, COPY_NAME,
    Action("screen.remove_volume", "D", "remove", "remove the volume (asks first; one in use, "
           "or a level's data root, stays)", palette=False),
    *TABLE_MOVES,
)
PLAIN_TABLE = (BACK, COPY_ROW, COPY_NAME, *TABLE_MOVES)

# --------------------------------------------------------------------------- a swarm (tab 6)

SWARM_NODES_TABLE = (
    BACK,
    Action("screen.node_availability", "a", "drain/activate",
           "drain the node (its tasks move to the others), or make it active again",
           palette=False),
    Action("screen.kill_node", "K", "kill level", "kill the node's level: a fault on purpose "
           "(asks first; its tasks move; v revives it and it rejoins)", palette=False),
    Action("screen.revive_node", "v", "revive", "revive the node's level (it rejoins)",
           palette=False),
    COPY_ROW, COPY_NAME, *TABLE_MOVES,
)
SWARM_SERVICES_TABLE = (
    BACK,
    Action("screen.scale_service(1)", "plus", "scale +1", "one replica more of the service",
           palette=False),
    Action("screen.scale_service(-1)", "minus", "scale -1", "one replica fewer", palette=False),
    COPY_ROW, COPY_NAME, *TABLE_MOVES,
)

CONTAINER_SCREEN = (
    Action("back", "escape", "back", "back to the tree (or close the filter)", palette=False),
    Action("filter", "slash", "filter",
           "filter the log: the lines a regex matches (any case), and how many"),
    Action("timestamps", "t", "timestamps", "show or hide timestamps"),
    Action("follow", "f", "follow", "follow the end of the log, or stop there"),
    Action("log_top", "g", "top", "the log's first line kept (G: its end, followed)",
           show=False),
    Action("log_end", "G", "end", "", show=False),
    Action("stats", "m", "stats", "the container's CPU and memory"),
    *CONTAINER,
)

# --------------------------------------------------------------------------- other screens

USAGE = (
    Action("close", "escape,d", "back"),
    Action("app.cleanup", "c", "cleanup"),
    Action("app.measure", "r", "refresh"),
)
SEARCH = (
    Action("close", "escape", "close"),
    Action("down", "down", "next", show=False),
    Action("up", "up", "previous", show=False),
)
HELP = (Action("close", "escape,q,question_mark", "close"),)
CONFIRM = (Action("cancel", "escape", "cancel"), Action("confirm", "y", "yes"))
CANCEL = (Action("cancel", "escape", "cancel"),)
QUIT = (Action("stay", "escape", "stay"), Action("keep", "q", "quit"))
CLEANUP = (Action("confirm", "y", "free"),)

# What `?` and the README show, section by section.
SECTIONS: tuple[tuple[str, tuple[Action, ...]], ...] = (
    ("The tree and the level", MAIN + LEVEL_TREE),
    ("A level's containers (tab 2) and a container's screen",
     (OPEN_ROW, *(a for a in CONTAINERS_TABLE + IMAGES_TABLE + VOLUMES_TABLE
                  if a not in TABLE_MOVES),
      *(a for a in CONTAINER_SCREEN if a not in CONTAINER))),
    ("A swarm (tab 6): its nodes and services",
     tuple(a for a in SWARM_NODES_TABLE + SWARM_SERVICES_TABLE
           if a not in TABLE_MOVES and a not in (BACK, COPY_ROW, COPY_NAME))),
)
KEY_NAMES = {"question_mark": "?", "slash": "/", "plus": "+", "minus": "-"}


def bindings(actions: tuple[Action, ...]) -> list["BindingType"]:
    """Textual's bindings of `actions` (what a screen's or a widget's BINDINGS is)."""
    from textual.binding import Binding

    made: list[BindingType] = [Binding(a.keys, a.action, a.label, show=a.show, tooltip=a.does)
                               for a in actions if a.bound]
    return made


def palette(actions: tuple[Action, ...]) -> list[Action]:
    """The actions of `actions` the command palette offers (each says what it does)."""
    return [a for a in actions if a.palette and a.does]


def key_table(actions: tuple[Action, ...]) -> str:
    """A Markdown table of keys: one row per action that says what it does, with every key
    bound to that action anywhere in `actions` (a widget's `enter` and the screen's `s`)."""
    keys: dict[str, list[str]] = {}
    for a in actions:
        keys.setdefault(a.name, [])
        for key in a.keys.split(","):
            key = KEY_NAMES.get(key, key)
            if key not in keys[a.name]:
                keys[a.name].insert(0 if not a.does else len(keys[a.name]), key)
    rows = ["| key | does |", "|---|---|"]
    done: set[str] = set()
    for a in actions:
        if a.does and a.name not in done and a.keys:
            done.add(a.name)
            rows.append(f"| {' / '.join(f'`{key}`' for key in keys[a.name])} | {a.does} |")
    return "\n".join(rows)


def markdown(level: str = "##") -> str:
    """The key tables as Markdown (the help screen's; the README's section is this, for
    `###`)."""
    return "\n".join(f"{level} {title}\n\n{key_table(actions)}\n" for title, actions in SECTIONS)


SCOPES: dict[str, tuple[Action, ...]] = {
    "main screen": MAIN, "level tree": LEVEL_TREE, "containers table": CONTAINERS_TABLE,
    "images table": IMAGES_TABLE, "volumes table": VOLUMES_TABLE,
    "networks table": PLAIN_TABLE, "swarm nodes table": SWARM_NODES_TABLE,
    "swarm services table": SWARM_SERVICES_TABLE,
    "container screen": CONTAINER_SCREEN, "disk screen": USAGE, "find": SEARCH, "help": HELP,
    "confirm dialog": CONFIRM, "name and run dialogs": CANCEL, "quit dialog": QUIT,
    "cleanup dialog": CLEANUP, "cluster dialog": CANCEL,
}


def clashes() -> list[str]:
    """Keys bound to two actions in one scope, as lines (none is the rule a test holds). A
    focused widget's key may shadow its screen's on purpose (`s` on a container row is the
    container's shell, elsewhere the level's): those are two scopes."""
    found = []
    for scope, actions in SCOPES.items():
        seen: dict[str, str] = {}
        for a in actions:
            for key in a.keys.split(",") if a.keys and a.bound else []:
                if seen.setdefault(key, a.action) != a.action:
                    found.append(f"{scope}: {key} is both {seen[key]} and {a.action}")
    return found
