"""The tree of levels: depth, name, state, daemon version and volume size on each node."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree

from ..engine.levels import Level
from ..formatting import STATE_ICON, STATE_STYLE, human


def node_label(level: Level, size: int | None = None, stream: str | None = None) -> Text:
    if level.depth == 0:
        return Text.assemble(("◆ ", "bold"), ("0 ", "dim"), ("host", "bold"), "  ",
                             (level.version or "", "cyan"))
    style = STATE_STYLE.get(level.state, "white")
    parts: list[str | tuple[str, str]] = [
        (STATE_ICON.get(level.state, "·") + " ", style), (f"{level.depth} ", "dim"),
             (level.name, "bold"), "  ", (level.state, style)]
    if level.version:
        parts += ["  ", (level.version.split("+")[0], "cyan")]
    if size is not None:
        parts += ["  ", (human(size), "yellow")]
    if stream == "retrying":
        parts += ["  ", ("events: retrying", "magenta")]
    return Text.assemble(*parts)


class LevelTree(Tree[str]):
    """Fed plain Level data; rebuilds only when what it shows changed, keeping the cursor."""

    BINDINGS = [Binding("enter", "screen.shell", "shell", show=False)]
    DEFAULT_CSS = """
    LevelTree { width: 1fr; min-width: 40; border: round $primary; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("levels", data="", **kwargs)
        self.auto_expand = False
        self.show_root = True
        self.guide_depth = 3
        self._signature: tuple = ()
        self._restores = 0  # bumped by every rebuild and every explicit selection

    def show(self, root: Level, sizes: dict[str, int] | None = None,
             streams: dict[str, str] | None = None) -> None:
        sizes, streams = sizes or {}, streams or {}
        signature = tuple((lv.path, lv.state, lv.version, sizes.get(lv.path),
                           streams.get(lv.endpoint or "")) for lv in root.walk())
        if signature == self._signature:
            return
        self._signature = signature
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        self.root.set_label(node_label(root))
        self.root.data = ""

        def add(node, level: Level) -> None:
            for child in level.children:
                label = node_label(child, sizes.get(child.path),
                                   streams.get(child.endpoint or ""))
                if child.children:
                    branch = node.add(label, data=child.path, expand=True)
                    add(branch, child)
                else:
                    node.add_leaf(label, data=child.path)

        add(self.root, root)
        self.root.expand()
        self._restores += 1
        if selected:
            # The new nodes get their lines on the next refresh; move the cursor then, unless
            # a selection was made in between (it wins over the old position).
            self.call_after_refresh(self._restore, self._restores, selected)

    def _restore(self, token: int, path: str) -> None:
        if token == self._restores:
            self._select(path)

    def show_unreachable(self) -> None:
        self._signature = ()
        self.clear()
        self.root.set_label(Text.assemble(("◆ ", "bold"), ("0 ", "dim"), ("host", "bold"), "  ",
                                          ("unreachable", "red")))

    def select_path(self, path: str) -> None:
        self._restores += 1  # cancels a pending restore of an older position
        self._select(path)

    def _select(self, path: str) -> None:
        def find(node):
            if node.data == path:
                return node
            for child in node.children:
                found = find(child)
                if found is not None:
                    return found
            return None

        node = find(self.root)
        if node is None:
            return
        if node.line < 0:  # just rebuilt: its line exists after the next refresh
            self.call_after_refresh(self._restore, self._restores, path)
            return
        self.move_cursor(node)
