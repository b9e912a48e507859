"""What a killed level leaves on a cgroup v1 host: the empty cgroups of the containers its daemon
ran.

A level mounts the whole v1 hierarchy (docs/architecture.md, "The init"), so the containers of
its daemon, at every depth below it, get their cgroups at the top of the host's `/docker`, beside
the level's own. A graceful exit removes them (each daemon stops its containers); a kill leaves
them behind, empty. dindtui removes them when it removes the level: only cgroups named after a
container id found in that level's own data root (its `containers/`, and those of the data
roots nested in its volumes), only when they hold no process and no cgroup, and only on this
machine's engine, as root. Nothing is removed on a cgroup v2 host: there, a level's containers
are inside its own cgroup already, and go with it."""

from __future__ import annotations

import os
import re

from . import connect, levels
from .images import API_ERRORS
from .levels import Level

CGROUP_ROOT = "/sys/fs/cgroup"
CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


def v1_hierarchies() -> list[str]:
    """The v1 hierarchies mounted on this machine (none on a v2 host)."""
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        return []  # cgroup v2
    try:
        entries = list(os.scandir(CGROUP_ROOT))
    except OSError:
        return []
    return [entry.path for entry in entries
            if entry.is_dir(follow_symlinks=False) and not os.path.islink(entry.path)
            and os.path.exists(os.path.join(entry.path, "cgroup.procs"))
            and not os.path.exists(os.path.join(entry.path, "cgroup.controllers"))]


def volume_on_host(daemon: Level, volume: str) -> str | None:
    """Where `volume` of `daemon`'s is on this machine: its mountpoint on level 0, else the
    same path inside the host path of the daemon's own volume. None when it cannot be told (a
    remote engine, a daemon that does not answer)."""
    if levels.is_remote(daemon) or daemon.endpoint is None:
        return None
    try:
        mountpoint = connect.client(daemon.endpoint, check=False).api.inspect_volume(
            volume)["Mountpoint"]
    except API_ERRORS + (KeyError,):
        return None
    if daemon.depth == 0:
        return mountpoint
    if daemon.parent is None or daemon.volume is None:
        return None
    outer = volume_on_host(daemon.parent, daemon.volume)
    return os.path.join(outer, os.path.relpath(mountpoint, levels.DATA_ROOT)) if outer else None


def container_ids(data_root: str) -> set[str]:
    """The ids of the containers a daemon with this data root made, and of those made by the
    daemons whose data roots are volumes inside it (nested levels), at any depth."""
    found: set[str] = set()
    pending = [data_root]
    while pending:
        root = pending.pop()
        try:
            found.update(name for name in os.listdir(os.path.join(root, "containers"))
                         if CONTAINER_ID.fullmatch(name))
            volumes = list(os.scandir(os.path.join(root, "volumes")))
        except OSError:
            continue
        for entry in volumes:
            inner = os.path.join(entry.path, "_data")
            if os.path.isdir(os.path.join(inner, "containers")):
                pending.append(inner)
    return found


def remove_leftovers_of(daemon: Level, volume: str) -> int:
    """Remove the empty cgroups that the containers of the level whose data root is `volume`
    (of `daemon`'s), and of the levels nested in it, left on this machine's v1 hierarchies.
    Returns how many were removed. Asks Docker nothing on a v2 host or when not root."""
    hierarchies = v1_hierarchies() if os.geteuid() == 0 else []
    data_root = volume_on_host(daemon, volume) if hierarchies else None
    if data_root is None:
        return 0
    removed = 0
    for container_id in container_ids(data_root):
        for hierarchy in hierarchies:
            path = os.path.join(hierarchy, "docker", container_id)
            if _empty(path):
                try:
                    os.rmdir(path)  # the kernel refuses a cgroup that is in use
                    removed += 1
                except OSError:
                    pass
    return removed


def _empty(path: str) -> bool:
    """A cgroup directory with no process and no cgroup inside."""
    try:
        with open(os.path.join(path, "cgroup.procs")) as procs:
            if procs.read().strip():
                return False
        return not any(entry.is_dir(follow_symlinks=False) for entry in os.scandir(path))
    except OSError:
        return False
