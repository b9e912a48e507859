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
import stat
import time

from ..net import connect
from ..tree import levels, place
from ..tree.levels import Level

CGROUP_ROOT = "/sys/fs/cgroup"
CONTAINER_ID = re.compile(r"[0-9a-f]{64}")
# The name dindtui gives a level's volume (levels.is_level_volume): a nested level's data root
# is one of these; any other volume is a container's data, not a daemon's.
LEVEL_VOLUME = re.compile(r"dindtui-[a-z0-9][a-z0-9_.-]*-[0-9a-f]{6}")


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
    remote engine, a daemon that does not answer, a mountpoint outside the daemon's own
    `volumes/`: a level's daemon answers what it likes)."""
    if place.is_remote(daemon) or daemon.endpoint is None:
        return None
    try:
        mountpoint = connect.client(daemon.endpoint, check=False).api.inspect_volume(
            volume)["Mountpoint"]
    except connect.API_ERRORS + (KeyError, TypeError):
        return None
    if not isinstance(mountpoint, str):
        return None
    if daemon.depth == 0:
        return mountpoint
    if daemon.parent is None or daemon.volume is None:
        return None
    inside = os.path.relpath(os.path.normpath(mountpoint), levels.DATA_ROOT)
    if not inside.startswith("volumes/") or ".." in inside.split("/"):
        return None
    outer = volume_on_host(daemon.parent, daemon.volume)
    return os.path.join(outer, inside) if outer else None


MAX_NESTING = 12          # data roots inside data roots followed at the most
MAX_ENTRIES = 100_000     # directory entries looked at in one walk
WALK_SECONDS = 5.0


def _real_dir(path: str) -> tuple[int, int] | None:
    """(device, inode) of a directory that is not a symlink, else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def container_ids(data_root: str, *, deadline: float | None = None) -> set[str]:
    """The ids of the containers a daemon with this data root made, and of those made by the
    daemons whose data roots are volumes inside it (nested levels), at any depth.

    The tree is written by the level's containers, so it is walked as hostile input: never
    through a symlink, each directory once, at most MAX_NESTING data roots deep, MAX_ENTRIES
    entries and WALK_SECONDS in all (what is past a bound is left, not waited for); nested data
    roots only in volumes named as dindtui names a level's (a container's own volume is its
    data, whatever it holds); an id counts only as a directory `containers/<64 hex>` holding a
    regular `config.v2.json`, as dockerd writes it. Last, the kernel removes only an empty
    cgroup: a running container's never goes."""
    deadline = deadline if deadline is not None else time.monotonic() + WALK_SECONDS
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    budget = MAX_ENTRIES
    pending = [(data_root, 0)]
    while pending and budget > 0 and time.monotonic() < deadline:
        root, nesting = pending.pop()
        key = _real_dir(root)
        if key is None or key in seen:
            continue
        seen.add(key)
        for part, keep in (("containers", True), ("volumes", False)):
            directory = os.path.join(root, part)
            if _real_dir(directory) is None:
                continue
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        budget -= 1
                        if budget <= 0 or time.monotonic() >= deadline:
                            break
                        if not entry.is_dir(follow_symlinks=False):
                            continue
                        if keep:
                            if CONTAINER_ID.fullmatch(entry.name) and stat.S_ISREG(
                                    _lstat_mode(os.path.join(entry.path, "config.v2.json"))):
                                found.add(entry.name)
                        elif nesting < MAX_NESTING and LEVEL_VOLUME.fullmatch(entry.name):
                            inner = os.path.join(entry.path, "_data")
                            if _real_dir(os.path.join(inner, "containers")) is not None:
                                pending.append((inner, nesting + 1))
            except OSError:
                continue
    return found


def _lstat_mode(path: str) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


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
