"""Levels and the tree: level 0 is the engine dindtui talks to; each deeper level is a container
of our image whose daemon runs inside its parent's daemon.

Labels on a level's container describe it; the socket tree is derived from its place:
the host path of level l1/l2's socket is STATE_DIR/c/l1/c/l2/docker.sock (docs/architecture.md).
A container is a level only when it is provably one (`Place.recognise`, tree/place.py);
look-alikes are listed as ignored, never acted on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Iterator, TypeVar

from .. import config
from ..errors import DindtuiError, LevelNotReady, UnknownLevel
from ..net import connect

if TYPE_CHECKING:
    from docker import DockerClient

LABEL_NAME = "dindtui.name"
LABEL_DEPTH = "dindtui.level"
LABEL_PARENT = "dindtui.parent"
LABEL_PRIVILEGE = "dindtui.privilege"
LABEL_VOLUME = "dindtui.volume"
LABEL_SOCKETDIR = "dindtui.socketdir"  # written for people reading `docker inspect`; never read
LABEL_OWNER = "dindtui.owner"
LABEL_STRATEGY = "dindtui.strategy"
LABEL_NAMESPACE = "dindtui.namespace"
LABEL_PORT = "dindtui.port"
LABEL_STORE = "dindtui.store"      # the image store asked for at spawn (none: Docker's default)
LABEL_CLUSTER = "dindtui.cluster"  # the swarm cluster a level was spawned as a node of
LABEL_ROLE = "dindtui.role"        # its role there: manager or worker
ROLES = ("manager", "worker")
LABEL_LIMITS = "dindtui.limits"    # "NOFILE:NPROC" its container asked for (lifecycle/limits.py)
LABEL_POOL = "dindtui.pool"        # "1": started in a warm pool (lifecycle/pool.py)
# A pool level's container is named as its level will be, plus this; adoption renames it. No
# level's container can be so named (a level name has no capital letter).
POOL_SUFFIX = ".POOL"
OWNER = "dindtui"
CONTAINER_PREFIX = "dindtui-"
SOCKET_MOUNT = "/run/dindtui"      # where a level sees its socket directory
DATA_ROOT = "/var/lib/docker"      # where a level's volume is mounted
STARTING_GRACE = 90  # seconds a running level may stay silent before it counts as unreachable

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,23}")
RESERVED_NAMES = {"host", "0"}  # how level 0 is named on the command line

class State(StrEnum):
    """A level's state: the truth about its container first, then about its daemon. A StrEnum,
    so it prints, compares and serialises as its word."""

    READY = "ready"              # running, its daemon answers
    STARTING = "starting"        # running, its daemon not answering yet
    UNREACHABLE = "unreachable"  # running, its daemon silent past the grace period
    PAUSED = "paused"
    RESTARTING = "restarting"
    CREATED = "created"          # being spawned
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"


READY, STARTING, UNREACHABLE = State.READY, State.STARTING, State.UNREACHABLE
PAUSED, RESTARTING, CREATED, REMOVING = (State.PAUSED, State.RESTARTING, State.CREATED,
                                         State.REMOVING)
EXITED, DEAD = State.EXITED, State.DEAD
STOPPED = (EXITED, DEAD)       # the only states whose volume may be freed, and that revive starts
CONTAINER_STATES = {"paused": PAUSED, "restarting": RESTARTING, "created": CREATED,
                    "removing": REMOVING, "exited": EXITED, "dead": DEAD}


@dataclass
class Level:
    """One daemon of the tree. Level 0 has no container; every other level is one container."""

    name: str
    path: str                      # "l1/l2"; "" for level 0
    depth: int
    state: str                     # a State (a StrEnum); a plain word compares equal
    endpoint: str | None           # how to reach this level's daemon, when it can be reached
    socket_dir: str | None = None  # host directory bound at /run/dindtui inside the level
    container_id: str | None = None
    container_name: str | None = None
    container_state: str | None = None  # Docker's word: running, paused, exited, ...
    volume: str | None = None
    privilege: str | None = None   # how this level's container was started
    strategy: str | None = None    # how its images arrived: seed or stream
    store: str | None = None       # the image store asked for: overlay2, containerd (None: default)
    port: int | None = None
    cluster: str | None = None     # the cluster it was spawned as a node of (engine/swarm)
    role: str | None = None        # manager or worker, in that cluster
    limits: str | None = None      # "NOFILE:NPROC" its container was started with
    version: str | None = None
    started_at: str | None = None
    status: str | None = None      # the container's own status line
    error: str | None = None
    children: list["Level"] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)  # look-alikes on this daemon
    pool: list["Level"] = field(default_factory=list)  # warm levels waiting here, not yet levels
    parent: "Level | None" = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.path or "host"

    @property
    def tree_path(self) -> str:
        """The path inside its engine's tree ("l1/l2"), without the engine's label that begins
        `path` when several engines are shown."""
        names: list[str] = []
        level = self
        while level.parent is not None:
            names.insert(0, level.name)
            level = level.parent
        return "/".join(names)

    def walk(self) -> Iterator[Level]:
        """This level and every level below it, parents before children."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "path": self.path, "depth": self.depth, "state": self.state,
            "container_state": self.container_state,
            "endpoint": self.endpoint, "container_id": self.container_id,
            "volume": self.volume, "privilege": self.privilege, "strategy": self.strategy,
            "store": self.store, "cluster": self.cluster, "role": self.role,
            "port": self.port, "version": self.version, "started_at": self.started_at,
            "error": self.error, "ignored": self.ignored,
            "children": [c.to_dict() for c in self.children],
            "pool": [{"name": m.name, "state": m.state, "container_state": m.container_state,
                      "container_id": m.container_id, "volume": m.volume} for m in self.pool],
        }


T = TypeVar("T")


def required(value: T | None, what: str) -> T:
    """`value`, which the caller's state says is known; a clear error when it is not."""
    if value is None:
        raise DindtuiError(f"{what} is not known")
    return value


def container_name(name: str) -> str:
    ns = config.namespace()
    return CONTAINER_PREFIX + (f"{ns}.{name}" if ns else name)


def root_of(level: Level) -> Level:
    """Level 0 of the tree `level` is in."""
    while level.parent is not None:
        level = level.parent
    return level


def name_problem(name: str) -> str | None:
    if not NAME_RE.fullmatch(name):
        return (f"invalid level name {name!r}: use 1-24 lowercase letters, digits, '-', '_' or "
                "'.', starting with a letter or digit")
    if name in RESERVED_NAMES:
        return f"invalid level name {name!r}: it names level 0 on the command line"
    return None


def is_level_volume(volume: dict[str, Any]) -> bool:
    """A level volume of this namespace: our labels, a valid level name, and the name dindtui
    gives such a volume (dindtui-[namespace.]NAME-xxxxxx). Labels alone are not enough."""
    labels = volume.get("Labels") or {}
    name = labels.get(LABEL_NAME, "")
    if labels.get(LABEL_OWNER) != OWNER or not in_namespace(labels) or name_problem(name):
        return False
    return re.fullmatch(re.escape(container_name(name)) + r"-[0-9a-f]{6}",
                        volume.get("Name", "")) is not None


def in_namespace(labels: dict[str, Any]) -> bool:
    return bool(labels.get(LABEL_NAMESPACE, "") == config.namespace())


def validate_name(name: str) -> None:
    problem = name_problem(name)
    if problem:
        raise DindtuiError(problem)


def docker_time(value: str | None) -> float | None:
    """A Docker timestamp ("2026-11-28T07:24:06.88Z") as epoch seconds; None when unset."""
    if not value or value.startswith("0001"):
        return None
    try:
        return datetime.fromisoformat(value[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return None


def _engine_index(path: str, labels: list[str]) -> int:
    """Which engine a path names (several engines: a path begins with its engine's label)."""
    head = path.strip("/").split("/", 1)[0]
    if head not in labels:
        raise UnknownLevel(f"unknown level {path!r}: a path begins with its engine ("
                           + ", ".join(labels) + ")")
    return labels.index(head)


def walk_all(roots: list[Level]) -> Iterator[Level]:
    """Every level of every tree, each tree's parents before its children."""
    for root in roots:
        yield from root.walk()


def root_for(roots: list[Level], path: str) -> Level:
    """The root of the tree a path belongs to: the only one, or the one whose label begins
    the path."""
    if len(roots) == 1:
        return roots[0]
    return roots[_engine_index(path, [root.path for root in roots])]


def find_in(roots: list[Level], ref: str) -> Level:
    """A level of one of the trees (`find` in the tree the path names)."""
    return find(root_for(roots, ref), ref)


def find(root: Level, ref: str) -> Level:
    """A level by path ("l1/l2"), by name ("l2", unique across the tree), or "host"/"0"."""
    ref = ref.strip("/")
    if ref in ("", "host", "0"):
        return root
    for level in root.walk():
        if level.path == ref:
            return level
    matches = [level for level in root.walk() if level.depth and level.name == ref]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UnknownLevel(f"level name {ref!r} is ambiguous: use a path, one of "
                           + ", ".join(m.path for m in matches))
    known = ", ".join(level.path for level in root.walk() if level.depth) or "none yet"
    raise UnknownLevel(f"unknown level {ref!r} (levels: {known})")


def require_ready(level: Level, doing: str) -> None:
    if level.state != READY or level.endpoint is None:
        raise LevelNotReady(f"level {level.label} is {level.state}: cannot {doing}"
                            + (f" ({level.error})" if level.error else ""))


def parent_client(level: Level) -> DockerClient:
    """The SDK client of the daemon that runs `level`'s container."""
    if level.parent is None or level.parent.endpoint is None:
        raise LevelNotReady(f"the parent of level {level.label} cannot be reached")
    return connect.client(level.parent.endpoint, check=False)
