"""The tree of levels: depth, name, state, daemon version and volume size on each node."""

from __future__ import annotations

from itertools import islice

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from .. import actions
from ..actions import bindings
from ..engine.tree.levels import READY, Level, walk_all
from ..engine.explore.stats import Usage
from ..formatting import STATE_ICON, STATE_STYLE, human, short_size, spark
from ..model import cluster_key, cluster_nodes


def cluster_label(name: str, nodes: list[Level]) -> Text:
    """A cluster's line: its name, its managers and workers, how many of its levels run."""
    managers = sum(1 for n in nodes if n.role == "manager")
    up = sum(1 for n in nodes if n.state == READY)
    return Text.assemble(("⎈ ", "cyan"), (name, "bold cyan"), "  ",
                         (f"swarm {managers}+{len(nodes) - managers}", "dim"), "  ",
                         (f"{up}/{len(nodes)} up", "green" if up == len(nodes) else "yellow"))


CPU_STEADY = 1.5  # points a reading is off the CPU figure shown before the figure moves (the
# detail pane shows the reading itself)
SPARK_TOP = 50.0  # % of a CPU: the least a tree line's CPU bars are scaled to


def usage_figures(usage: Usage | None, cpu_shown: int | None = None,
                  compact: bool = False) -> tuple[str, str, str | None] | None:
    """What a line shows of a level's readings: its CPU figure, its memory, its CPU bars (none
    when `compact`). A line is made again only when these change, not at every reading."""
    if usage is None or not usage.memory:
        return None
    cpu = ("…" if usage.cpu_now is None else
           f"{usage.cpu_now if cpu_shown is None else cpu_shown:.0f}%")
    bars: str | None = None if compact else ""
    if not compact and usage.cpu:
        # A full bar is at least SPARK_TOP %: an idle daemon's noise (0.1-3 %) is one flat
        # line that does not change every round (each change draws the line again).
        last = list(islice(reversed(usage.cpu), 5))[::-1]
        bars = spark(last, 5, max(SPARK_TOP, *last))
    return cpu, short_size(usage.memory_now), bars


def node_label(level: Level, size: int | None = None, stream: str | None = None,
               usage: Usage | None = None, compact: bool = False,
               cpu_shown: int | None = None,
               figures: tuple[str, str, str | None] | None = None) -> Text:
    """A node's line; `compact` (a narrow terminal): the icon says the state, and neither the
    daemon's version nor the CPU sparkline is shown. `cpu_shown`: the CPU figure to show (a
    steady one, see `LevelTree.steady_cpu`), else the last reading's; `figures`: those of
    `usage_figures`, already made."""
    if level.depth == 0:
        return Text.assemble(("◆ ", "bold"), ("0 ", "dim"), (level.label, "bold"), "  ",
                             (level.version or "", "cyan") if level.state == READY
                             else (str(level.state), "red"),
                             *([("  " + level.status, "dim")] if level.status else []))
    style = STATE_STYLE.get(level.state, "white")
    parts: list[str | tuple[str, str]] = [
        (STATE_ICON.get(level.state, "·") + " ", style), (f"{level.depth} ", "dim"),
        (level.name, "bold")]
    if not compact or level.state != READY:
        parts += ["  ", (level.state, style)]
    if level.version and not compact:
        parts += ["  ", (level.version.split("+")[0], "cyan")]
    if size is not None:
        parts += ["  ", (human(size), "yellow")]
    if stream == "retrying":
        parts += ["  ", ("events: retrying", "magenta")]
    if figures is None:
        figures = usage_figures(usage, cpu_shown, compact)
    if figures is not None:
        cpu, memory, bars = figures
        parts += ["  ", (cpu, "green"), " ", (memory, "blue")]
        if bars is not None:
            parts += [" ", (bars, "green")]
    return Text.assemble(*parts)


class LevelTree(Tree[str]):
    """Fed plain Level data; rebuilds only when what it shows changed, keeping the cursor. One
    engine: its level 0 is the tree's root. Several: one top node per engine (the root of the
    widget is hidden)."""

    BINDINGS = bindings(actions.LEVEL_TREE)
    DEFAULT_CSS = """
    LevelTree { width: 2fr; min-width: 40; border: round $primary; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("levels", data="", **kwargs)
        self.auto_expand = False
        self.show_root = True
        self.guide_depth = 3
        self._signature: tuple = ()
        self._structure: tuple = ()
        self._by_path: dict[str, TreeNode] = {}
        self._levels: dict[str, Level] = {}
        self._sizes: dict[str, int] = {}
        self._streams: dict[str, str] = {}
        self._usage: dict[str, Usage] = {}
        self._inputs: dict[str, tuple] = {}  # path -> what its line was last made from
        self._clusters: dict[str, tuple[Level, str]] = {}  # key -> (parent, name)
        self._cpu_shown: dict[str, int] = {}  # path -> the CPU figure its line shows
        self._restores = 0  # bumped by every rebuild and every explicit selection

    class Scrolled(Message):
        """The lines on screen changed (a scroll, a resize, a branch folded or unfolded): what
        the stats sampler reads often follows them (`visible_paths`)."""

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if int(old_value) != int(new_value):
            self.post_message(self.Scrolled())

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Scrolled())

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        self.post_message(self.Scrolled())

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed) -> None:
        self.post_message(self.Scrolled())

    def visible_paths(self) -> set[str]:
        """The paths (and cluster keys) of the lines on screen now."""
        top = int(self.scroll_offset.y)
        paths: set[str] = set()
        for line in range(top, top + max(self.scrollable_content_region.height, 1)):
            node = self.get_node_at_line(line)
            if node is None:
                break
            if isinstance(node.data, str):
                paths.add(node.data)
        return paths

    def show(self, roots: list[Level], sizes: dict[str, int] | None = None,
             streams: dict[str, str] | None = None) -> None:
        sizes, streams = sizes or {}, streams or {}
        self._levels = {lv.path: lv for lv in walk_all(roots)}
        self._sizes, self._streams = sizes, streams
        signature = tuple((lv.path, lv.state, lv.version, sizes.get(lv.path),
                           streams.get(lv.endpoint or "")) for lv in walk_all(roots))
        if signature == self._signature:
            return
        structure = tuple((lv.path, lv.cluster) for lv in walk_all(roots))
        self._signature = signature
        if structure == self._structure:  # the same levels: new labels, same nodes
            self._relabel()
            return
        self._structure = structure
        self._cpu_shown = {path: cpu for path, cpu in self._cpu_shown.items()
                           if path in self._levels}  # the figures of levels gone go too
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        self._inputs = {}
        self._clusters = {}

        def add(node, level: Level) -> None:
            # A cluster's nodes under one line of their own, where its first node would be.
            clusters: dict[str, TreeNode] = {}
            for child in level.children:
                under = node
                if child.cluster and child.role:
                    key = cluster_key(level.path, child.cluster)
                    if key not in clusters:
                        clusters[key] = node.add(
                            cluster_label(child.cluster, cluster_nodes(level, child.cluster)),
                            data=key, expand=True)
                        self._by_path[key] = clusters[key]
                        self._clusters[key] = (level, child.cluster)
                    under = clusters[key]
                label = self._label(child)
                if child.children:
                    branch = under.add(label, data=child.path, expand=True)
                    add(branch, child)
                else:
                    branch = under.add_leaf(label, data=child.path)
                self._by_path[child.path] = branch

        if len(roots) == 1:
            self.show_root = True
            self.root.set_label(node_label(roots[0]))
            self.root.data = roots[0].path
            self._by_path = {roots[0].path: self.root}
            add(self.root, roots[0])
        else:
            self.show_root = False
            self.root.set_label("engines")
            self.root.data = ""
            self._by_path = {}
            for root in roots:
                top = self.root.add(node_label(root), data=root.path, expand=True,
                                    allow_expand=bool(root.children))
                self._by_path[root.path] = top
                add(top, root)
        self.root.expand()
        self._restores += 1
        if selected:
            # The new nodes get their lines on the next refresh; move the cursor then, unless
            # a selection was made in between (it wins over the old position).
            self.call_after_refresh(self._restore, self._restores, selected)

    compact = False

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            self._relabel()

    def _label(self, level: Level, figures: tuple[str, str, str | None] | None = None) -> Text:
        if figures is None:
            usage = self._usage.get(level.path)
            figures = usage_figures(usage, self.steady_cpu(level.path, usage), self.compact)
        return node_label(level, self._sizes.get(level.path),
                          self._streams.get(level.endpoint or ""), compact=self.compact,
                          figures=figures)

    def steady_cpu(self, path: str, usage: Usage | None) -> int | None:
        """The whole percent a line shows for a level's CPU: the last reading rounded, kept
        while the readings stay within CPU_STEADY of it. An idle daemon's readings wander
        around a figure (0.4, 1.3, 0.7 %): rounded afresh they flipped between two figures on
        a third of the lines every round, and each flip draws the line and those below it
        again; held, the figure moves when the use does."""
        if usage is None or usage.cpu_now is None:
            self._cpu_shown.pop(path, None)
            return None
        now, shown = usage.cpu_now, self._cpu_shown.get(path)
        if shown is None or abs(now - shown) >= CPU_STEADY:
            shown = self._cpu_shown[path] = round(now)
        return shown

    def show_usage(self, usage: dict[str, Usage]) -> None:
        """New CPU and memory readings: only the labels change."""
        self._usage = usage
        self._relabel()

    def _relabel(self) -> None:
        for path, node in self._by_path.items():
            level = self._levels.get(path)
            if path in self._clusters:
                parent, name = self._clusters[path]
                parent = self._levels.get(parent.path, parent)
                label = cluster_label(name, cluster_nodes(parent, name))
                if label != node.label:
                    node.set_label(label)
            elif level is not None and level.depth:
                # Only a line whose figures changed is made again: a round of readings
                # comes for every line on screen, and most of them show the same figures
                # (making 47 lines' labels every 2 s to find them equal was a third of the
                # idle TUI's main thread at 64 levels).
                usage = self._usage.get(level.path)
                figures = usage_figures(usage, self.steady_cpu(path, usage), self.compact)
                inputs = (level, level.state, self._sizes.get(level.path),
                          self._streams.get(level.endpoint or ""), figures, self.compact)
                if self._inputs.get(path) == inputs:
                    continue
                self._inputs[path] = inputs
                label = self._label(level, figures)
                if label != node.label:
                    node.set_label(label)
            elif level is not None:
                # Level 0's line only when it changed: Textual draws again every line below a
                # node whose label is set (its cache key holds each ancestor's updates), so
                # setting the root's label drew the whole tree every round of readings.
                said = (level, level.label, level.state, level.version, level.status)
                if self._inputs.get(path) == said:
                    continue
                self._inputs[path] = said
                label = node_label(level)
                if label != node.label:
                    node.set_label(label)

    def _restore(self, token: int, path: str) -> None:
        if token == self._restores:
            self._select(path)

    def show_unreachable(self) -> None:
        self._signature = ()
        self._structure = ()
        self._by_path = {}
        self.clear()
        self._inputs = {}
        self.show_root = True
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
