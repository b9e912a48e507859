"""What the TUI shows, apart from how: the trees (one per engine), the selection, the disk usage
and its history, the event streams' states and the containers of the selected level, with the
rules that change them (a tree loaded, a subtree grafted, an event applied, the selected level
gone). No Textual and no Docker here (a test checks): the app holds one `Model`, changes it
when a message arrives, and draws it; tests/test_model.py tests it without either."""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from .engine.errors import DindtuiError
from .engine.explore import stats
from .engine.explore.rows import ContainerRow
from .engine.tree import levels, live
from .engine.tree.levels import Level

DISK_HISTORY = 60  # readings of each level's volume size kept (two hours at one per 2 min)


def find_level(roots: list[Level] | None, path: str) -> Level | None:
    """The level at `path`; when it is gone, its nearest ancestor still there (or the first
    level 0)."""
    if not roots:
        return None
    while True:
        try:
            return levels.find_in(roots, path)
        except DindtuiError:
            if "/" not in path:
                return roots[0]
            path = path.rsplit("/", 1)[0]


def all_levels(roots: list[Level] | None) -> list[Level]:
    """Every level of every engine's tree (none before the first load)."""
    return list(levels.walk_all(roots or []))


def has_levels(roots: list[Level] | None) -> bool:
    """Some engine has a level below its level 0."""
    return any(root.children for root in roots or [])


def paths(roots: list[Level]) -> list[str]:
    return [level.path for level in levels.walk_all(roots)]


CLUSTER_MARK = "⎈"  # begins a cluster's key in the tree: no level's path can


def cluster_key(parent_path: str, name: str) -> str:
    """The tree's key of cluster `name` under the level at `parent_path`."""
    return f"{CLUSTER_MARK}{parent_path}{CLUSTER_MARK}{name}"


def parse_cluster_key(key: str) -> tuple[str, str] | None:
    """(parent path, cluster name) of a cluster's key; None for a level's path."""
    if not key.startswith(CLUSTER_MARK) or key.count(CLUSTER_MARK) != 2:
        return None
    parent_path, name = key[1:].split(CLUSTER_MARK)
    return parent_path, name


def cluster_nodes(parent: Level, name: str) -> list[Level]:
    """The levels under `parent` spawned as nodes of cluster `name`, managers first."""
    return sorted((child for child in parent.children
                   if child.cluster == name and child.role),
                  key=lambda child: (child.role != "manager", child.name))


def keep_children_of_stopped(old: list[Level] | None, new: list[Level]) -> None:
    """A level that stopped (killed, exited, its daemon silent) cannot list what is inside it:
    the levels last seen there stay in the tree, marked unreachable, with the reason and the
    key that brings them back, instead of vanishing."""
    keep_children_seen({level.path: level.children for level in levels.walk_all(old or [])
                        if level.children}, new)


def keep_children_seen(seen: dict[str, list[Level]], new: list[Level]) -> None:
    """`keep_children_of_stopped`, from the levels seen inside each path before."""
    for level in list(levels.walk_all(new)):
        inside = seen.get(level.path)
        if level.depth and not level.children and level.state != levels.READY and inside:
            level.children = [_unreachable(child, level, level) for child in inside]


def stopped_ancestor(level: Level) -> Level | None:
    """The nearest level above `level` whose daemon does not answer (what holds it
    unreachable), or None."""
    above = level.parent
    while above is not None and above.depth:
        if above.state != levels.READY:
            return above
        above = above.parent
    return None


def _unreachable(seen: Level, parent: Level, stopped: Level) -> Level:
    why = (f"inside {stopped.label}, which is {stopped.state}"
           + (f": v on {stopped.label} revives it and what was inside it"
              if stopped.state in levels.STOPPED else ""))
    kept = copy.copy(seen)
    kept.state, kept.endpoint, kept.error, kept.parent = levels.UNREACHABLE, None, why, parent
    kept.version, kept.ignored = None, []
    kept.children = [_unreachable(child, kept, stopped) for child in seen.children]
    return kept


class Model:
    """The TUI's state. Every method runs in the UI thread; none blocks."""

    def __init__(self) -> None:
        self.roots: list[Level] | None = None      # one tree per engine; None: none loaded
        self.loads = 0                             # trees loaded (or failed) so far
        self.selected_path = ""
        self.report: Any = None                    # the last disk-usage report (UsageReport)
        self.disk_history: dict[str, deque[tuple[float, int]]] = {}
        self.streams: dict[str, str] = {}          # endpoint -> connecting / live / retrying
        self.shown_containers: list[ContainerRow] = []  # the selected level's, as last read

    # ------------------------------------------------------------- the trees

    def load(self, roots: list[Level] | None) -> bool:
        """A whole reading of every tree (None: the only engine did not answer). True when the
        tree's shape changed (levels came or went)."""
        self.loads += 1
        if roots is not None:
            keep_children_of_stopped(self.roots, roots)
        changed = roots is None or self.roots is None or paths(self.roots) != paths(roots)
        self.roots = roots
        return changed

    def graft(self, fresh: Level) -> bool | None:
        """One daemon's subtree read again, put in place. None when it no longer fits (its
        engine or its level is gone); else whether the tree's shape changed."""
        if self.roots is None:
            return None
        before = paths(self.roots)
        keep_children_of_stopped(self.roots, [fresh])
        try:
            root = levels.root_for(self.roots, fresh.path)
        except DindtuiError:
            return None
        if not live.graft(root, fresh):
            return None
        return paths(self.roots) != before

    def apply_event(self, endpoint: str, event: dict[str, Any]) -> live.Applied | None:
        """A daemon's event applied to its tree, in place; None when no shown daemon has that
        endpoint."""
        root = next((root for root in self.roots or []
                     if live.daemon_of(root, endpoint) is not None), None)
        if root is None:
            return None
        inside = {level.path: level.children for level in root.walk() if level.children}
        applied = live.apply_event(root, endpoint, event)
        if applied.changed:
            # A level that stopped keeps what was last seen inside it, unreachable, as a read
            # does: the tree's shape stays, its lines are relabelled (at 64 levels a rebuild of
            # the tree cost 150 ms of a die event, twice: when its children went and when the
            # read 0.3 s later brought them back).
            keep_children_seen(inside, [root])
        return applied

    def all_levels(self) -> list[Level]:
        return all_levels(self.roots)

    def has_levels(self) -> bool:
        return has_levels(self.roots)

    def find(self, path: str) -> Level | None:
        return find_level(self.roots, path)

    def starting(self) -> list[Level]:
        """Levels whose daemon is still starting (it sends no event when it answers)."""
        return [level for level in self.all_levels()
                if level.state == levels.STARTING and level.parent is not None]

    # ------------------------------------------------------------- the selection

    def select(self, path: str) -> None:
        self.selected_path = path
        self.shown_containers = []

    def selected_level(self) -> Level | None:
        return find_level(self.roots, self.selected_path)

    def cluster_manager(self, key: str) -> Level | None:
        """The level that speaks for the cluster the tree's `key` names: its first manager
        that answers, else its first manager."""
        parsed = parse_cluster_key(key)
        parent = self.find(parsed[0]) if parsed else None
        if parsed is None or parent is None or parent.path != parsed[0]:
            return None
        managers = [n for n in cluster_nodes(parent, parsed[1]) if n.role == "manager"]
        return next((m for m in managers if m.state == levels.READY),
                    managers[0] if managers else None)

    def follow_selection(self) -> str | None:
        """After the tree changed: when the selected level is gone, its nearest ancestor is
        selected instead; its path then (None: the selection stands)."""
        level = self.selected_level()
        if level is None or level.path == self.selected_path:
            return None
        self.select(level.path)
        return level.path

    def is_selected(self, path: str) -> bool:
        return (path or "host") == (self.selected_path or "host")

    # ------------------------------------------------------------- disk, streams, stats

    def record_usage(self, report: Any, now: float) -> None:
        """A disk-usage report: kept, and each live level's volume size added to its history
        (bounded)."""
        self.report = report
        for volume in report.volumes:
            if volume.state == "live" and volume.level:
                self.disk_history.setdefault(volume.level, deque(maxlen=DISK_HISTORY)).append(
                    (now, volume.bytes))

    def sync_streams(self) -> set[str]:
        """The endpoints whose events should be followed (every ready daemon), with the streams'
        states brought in line: new ones connecting, gone ones dropped."""
        wanted = {level.endpoint for level in self.all_levels()
                  if level.state == levels.READY and level.endpoint}
        for endpoint in wanted - set(self.streams):
            self.streams[endpoint] = "connecting"
        for endpoint in set(self.streams) - wanted:
            self.streams.pop(endpoint, None)
        return wanted

    def stream_state(self, endpoint: str, state: str) -> bool:
        """A stream's new state; True when it changed (and should be drawn)."""
        if endpoint not in self.streams or self.streams[endpoint] == state:
            return False
        self.streams[endpoint] = state
        return True

    def stats_targets(self) -> dict[str, tuple[str, str]]:
        """What the sampler reads: every level's container (on its parent), and the running
        containers of the selected level."""
        targets = {key: target for root in self.roots or []
                   for key, target in stats.level_targets(root).items()}
        level = self.selected_level()
        if level is not None and level.state == levels.READY and level.endpoint:
            for row in self.shown_containers:
                if row.state == "running":
                    targets[stats.container_key(level, row.id)] = (level.endpoint,
                                                                    row.full_id or row.id)
        return targets
