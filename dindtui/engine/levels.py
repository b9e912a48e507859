"""Levels and the tree: level 0 is the engine dindtui talks to; each deeper level is a container
of our image whose daemon runs inside its parent's daemon.

Labels on a level's container carry the truth (DESIGN.md section 3); the socket tree is derived:
the host path of level l1/l2's socket is STATE_DIR/c/l1/c/l2/docker.sock.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import docker.errors
import requests.exceptions

from . import connect
from .errors import DindtuiError, LevelNotReady, UnknownLevel

LABEL_NAME = "dindtui.name"
LABEL_DEPTH = "dindtui.level"
LABEL_PARENT = "dindtui.parent"
LABEL_PRIVILEGE = "dindtui.privilege"
LABEL_VOLUME = "dindtui.volume"
LABEL_SOCKETDIR = "dindtui.socketdir"
LABEL_OWNER = "dindtui.owner"
LABEL_STRATEGY = "dindtui.strategy"
OWNER = "dindtui"
CONTAINER_PREFIX = "dindtui-"
STARTING_GRACE = 90  # seconds a running level may stay silent before it counts as unreachable

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,23}$")

STARTING, READY, DEAD, UNREACHABLE = "starting", "ready", "dead", "unreachable"


@dataclass
class Level:
    """One daemon of the tree. Level 0 has no container; every other level is one container."""

    name: str
    path: str                      # "l1/l2"; "" for level 0
    depth: int
    state: str
    endpoint: str | None           # how to reach this level's daemon, when it can be reached
    socket_dir: str | None = None  # host directory bound at /run/dindtui inside the level
    container_id: str | None = None
    container_name: str | None = None
    volume: str | None = None
    privilege: str | None = None   # how this level's container was started
    strategy: str | None = None    # how its images arrived: seed or stream
    port: int | None = None
    version: str | None = None
    started_at: str | None = None
    status: str | None = None      # the container's own status line
    error: str | None = None
    children: list["Level"] = field(default_factory=list)
    parent: "Level | None" = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.path or "host"

    def walk(self):
        """This level and every level below it, parents before children."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict:
        return {
            "name": self.name, "path": self.path, "depth": self.depth, "state": self.state,
            "endpoint": self.endpoint, "container_id": self.container_id,
            "volume": self.volume, "privilege": self.privilege, "strategy": self.strategy,
            "port": self.port, "version": self.version, "started_at": self.started_at,
            "error": self.error, "children": [c.to_dict() for c in self.children],
        }


def child_socket_dir(parent: Level, name: str) -> str:
    base = parent.socket_dir if parent.depth else connect.STATE_DIR
    return os.path.join(base, "c", name)


def socket_path(level: Level) -> str:
    return os.path.join(level.socket_dir, "docker.sock")


def validate_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise DindtuiError(f"invalid level name {name!r}: use 1-24 lowercase letters, digits, "
                           "'-', '_' or '.', starting with a letter or digit")


def docker_time(value: str | None) -> float | None:
    """A Docker timestamp ("2026-11-28T07:24:06.88Z") as epoch seconds; None when unset."""
    if not value or value.startswith("0001"):
        return None
    try:
        return datetime.fromisoformat(value[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return None


def root_level(check: bool = True) -> Level:
    endpoint = connect.level0_endpoint()
    client = connect.client(endpoint, check=check)
    try:
        version = client.version().get("Version")
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise connect.describe_connection_error(endpoint, exc) from None
    return Level(name="host", path="", depth=0, state=READY, endpoint=endpoint, version=version)


def discover(root: Level | None = None) -> Level:
    """The whole tree below level 0, one depth at a time, every daemon of a depth in parallel.
    Never hangs: every call has a timeout, and a level that does not answer is marked, not
    waited for."""
    root = root or root_level()
    frontier = [root]
    with ThreadPoolExecutor(max_workers=8) as pool:
        while frontier:
            pairs = [pair for found in pool.map(_list_children, frontier) for pair in found]
            ready = list(pool.map(_probe, pairs))
            frontier = [child for (child, _), ok in zip(pairs, ready) if ok]
    return root


def _list_children(level: Level) -> list[tuple[Level, str]]:
    """Read `level`'s labelled containers into its children; (child, container state) pairs."""
    level.children = []
    try:
        containers = connect.client(level.endpoint, check=False).api.containers(
            all=True, filters={"label": LABEL_NAME})
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        if level.depth:
            level.state = UNREACHABLE
        level.error = f"listing containers failed: {exc}"
        return []
    pairs = []
    for summary in containers:
        labels = summary.get("Labels") or {}
        name = labels.get(LABEL_NAME, "")
        socket_dir = labels.get(LABEL_SOCKETDIR) if level.depth == 0 else None
        child = Level(
            name=name, path=f"{level.path}/{name}" if level.path else name,
            depth=level.depth + 1, state=DEAD, endpoint=None,
            socket_dir=socket_dir or child_socket_dir(level, name),
            container_id=summary["Id"], container_name=(summary.get("Names") or ["/"])[0][1:],
            volume=labels.get(LABEL_VOLUME), privilege=labels.get(LABEL_PRIVILEGE),
            strategy=labels.get(LABEL_STRATEGY), status=summary.get("Status"), parent=level)
        for port in summary.get("Ports") or []:
            if port.get("PublicPort"):
                child.port = port["PublicPort"]
        pairs.append((child, summary.get("State")))
    pairs.sort(key=lambda pair: pair[0].name)
    level.children = [child for child, _ in pairs]
    return pairs


def _probe(item) -> bool:
    level, container_state = item
    if container_state != "running":
        level.state = DEAD
        return False
    path = socket_path(level)
    answer = connect.ping_socket(path)
    if answer.ok:
        level.state, level.version = READY, answer.version
        level.endpoint = connect.endpoint_for_socket(path)
        return True
    try:
        info = connect.client(level.parent.endpoint, check=False).api.inspect_container(
            level.container_id)
        level.started_at = info["State"].get("StartedAt")
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        pass
    started = docker_time(level.started_at) or time.time()
    level.state = STARTING if time.time() - started < STARTING_GRACE else UNREACHABLE
    level.error = f"daemon socket silent: {answer.error}"
    return False


def find(root: Level, ref: str) -> Level:
    """A level by path ("l1/l2"), by name ("l2", unique across the tree), or "host"/"0"."""
    ref = ref.strip().strip("/")
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


def parent_client(level: Level):
    """The SDK client of the daemon that runs `level`'s container."""
    if level.parent is None or level.parent.endpoint is None:
        raise LevelNotReady(f"the parent of level {level.label} cannot be reached")
    return connect.client(level.parent.endpoint, check=False)
