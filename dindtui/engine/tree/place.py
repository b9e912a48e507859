"""A level resolved once: where it lives, made where a path enters the engine and handed on.

Everything that follows from a level's place in its tree — the endpoint of its tree's level 0,
whether that engine is remote (its socket tree on another machine, its levels reached through
tunnels), the root of its socket tree, how its children's sockets are bound and reached — is
worked out here, once, instead of again from the path by every function that needs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..net import connect, tunnel
from .levels import (
    DATA_ROOT,
    LABEL_NAME,
    LABEL_OWNER,
    LABEL_POOL,
    LABEL_VOLUME,
    OWNER,
    POOL_SUFFIX,
    SOCKET_MOUNT,
    Level,
    container_name,
    name_problem,
    required,
    root_of,
)


@dataclass(frozen=True)
class Place:
    """Where `level` is: its tree's level 0 (`engine`, an endpoint), whether that engine is
    remote, and the root of that tree's socket directories on level 0's machine."""

    level: Level
    engine: str
    remote: bool
    tree_root: str

    @classmethod
    def of(cls, level: Level) -> "Place":
        engine = required(root_of(level).endpoint, "the endpoint of level 0")
        return cls(level, engine, connect.is_remote(engine), connect.level_tree_root(engine))

    # ------------------------------------------------------------- the level itself

    @property
    def endpoint(self) -> str:
        """This level's daemon (the level is ready: `levels.require_ready` said so)."""
        return required(self.level.endpoint, f"the endpoint of {self.level.label}")

    @property
    def names_taken(self) -> set[str]:
        """Every level name in this tree (a name is unique across a tree), with the names its
        warm pools hold for the levels they will become."""
        return {name for level in root_of(self.level).walk()
                for name in [level.name, *(member.name for member in level.pool)]}

    def child_path(self, name: str) -> str:
        return f"{self.level.path}/{name}" if self.level.path else name

    # ------------------------------------------------------------- its children's sockets

    def child_socket_dir(self, name: str) -> str:
        """Where the socket directory of this level's child `name` is on the machine of level
        0: always derived from the place in the tree, never read from a label."""
        level = self.level
        base = (os.path.join(required(level.socket_dir, f"the socket directory of {level.label}"),
                             "c") if level.depth else self.tree_root)
        return os.path.join(base, name)

    def child_socket_source(self, name: str) -> str:
        """The bind source of a child's socket directory, as this level's daemon sees it."""
        return (self.child_socket_dir(name) if self.level.depth == 0
                else f"{SOCKET_MOUNT}/c/{name}")

    def child_socket(self, name: str, container_id: str | None, socket_dir: str | None) -> str:
        """The unix socket this process opens for the daemon of this level's child `name`: its
        socket in the socket tree, or, on a remote engine, a tunnel through the depth-1 level
        above it (net/tunnel.py)."""
        if self.remote:
            chain = [name]
            top = self.level
            while top.parent is not None:
                chain.insert(0, top.name)
                top, container_id = top.parent, top.container_id
            return tunnel.socket_for(self.engine, required(container_id, "the level's container"),
                                     SOCKET_MOUNT + "".join(f"/c/{n}" for n in chain[1:]))
        return os.path.join(required(socket_dir, "the level's socket directory"), "docker.sock")

    @staticmethod
    def in_pool(labels: dict[str, Any], name_of_container: str) -> bool:
        """A recognised container is a warm pool level, not yet a level: still named so."""
        return labels.get(LABEL_POOL) == "1" and name_of_container.endswith(POOL_SUFFIX)

    def recognise(self, labels: dict[str, Any], name_of_container: str,
                  mounts: list[dict[str, Any]]) -> str | None:
        """Why a container carrying dindtui labels on this level's daemon is not one of our
        levels, or None when it is: the owner label, a valid name, the container name made from
        it, and its two mounts exactly where dindtui puts them. A label alone proves nothing."""
        if labels.get(LABEL_OWNER) != OWNER:
            return "no dindtui owner label"
        name = labels.get(LABEL_NAME, "")
        problem = name_problem(name)
        if problem:
            return problem
        if name_of_container != container_name(name) and not (
                labels.get(LABEL_POOL) == "1" and
                name_of_container == container_name(name) + POOL_SUFFIX):
            return f"container name {name_of_container!r} is not {container_name(name)!r}"
        binds = [m for m in mounts if m.get("Destination") == SOCKET_MOUNT]
        expected = self.child_socket_source(name)
        if len(binds) != 1 or binds[0].get("Type") != "bind" or \
                os.path.normpath(binds[0].get("Source") or "") != expected:
            return f"its {SOCKET_MOUNT} is not bound from {expected}"
        data = [m for m in mounts if m.get("Destination") == DATA_ROOT]
        if len(data) != 1 or data[0].get("Type") != "volume" or \
                data[0].get("Name") != labels.get(LABEL_VOLUME):
            return f"its {DATA_ROOT} is not the volume its labels name"
        return None


def of(level: Level) -> Place:
    return Place.of(level)


def socket_path(level: Level) -> str:
    """The unix socket this process opens for `level`'s daemon."""
    parent = required(level.parent, f"the parent of {level.label}")
    return Place.of(parent).child_socket(level.name, level.container_id, level.socket_dir)


def is_remote(level: Level) -> bool:
    """`level` is in the tree of a remote engine (tcp, ssh)."""
    return connect.is_remote(required(root_of(level).endpoint, "the endpoint of level 0"))
