"""Disk usage of the levels' /var/lib/docker volumes at every depth, and their cleanup.

Measured by inode (init/du.py's measure_volumes), so that a layer hardlinked into several levels
counts once for the whole tree, and a volume's "freeable" bytes are only those whose every link
lies inside what would be removed: on this machine when this process can read a local engine's
data root (root), or on a remote engine's machine by a helper container of the level image.
Otherwise the daemons' own figures are used (`docker system df`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .. import config, gate, guard
from ..errors import DindtuiError
from ..net import connect
from ..progress import Progress, ProgressCallback, no_progress
from ..tree import discovery, levels, place
from ..tree.levels import Level
from . import cgroups
from ..lazy import LazyModule

if TYPE_CHECKING:
    import docker.errors
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")

LIVE, EXITED, DEAD, ORPHAN, IN_USE = "live", "exited", "dead", "orphan", "in use"
NEW = "new"  # no container uses it yet, made moments ago: a spawn's (gate.newly_made)
POOL = "pool"  # a warm pool's level that no spawn adopted (lifecycle/pool.py)
CLEANABLE = (EXITED, DEAD, ORPHAN, POOL)  # live, paused, starting, ... and "in use" never are
DU_TIMEOUT = 600   # seconds a walk of the volumes (here, or a remote engine's helper) may take
LINE_LIMIT = 64 << 20  # characters of the walker's answer read at the most


@dataclass
class VolumeUsage:
    volume: str
    daemon: str            # path of the level whose daemon holds the volume; "" for level 0
    level: str             # path of the level the volume belongs (or belonged) to
    depth: int
    state: str             # live; exited or dead (its level's container stopped); orphan (no
                           # container at all uses it); in use (by a container not a level);
                           # new (unused, made moments ago: a spawn's)
    container_id: str | None = None
    bytes: int = 0         # bytes counted here; each inode is counted once in the whole tree
    shared_bytes: int = 0  # bytes in files hardlinked with other places (seeded layers)
    freeable: int = 0      # bytes that removing this volume (and what nests in it) frees
    host_path: str | None = None
    nested: list[str] = field(default_factory=list)  # volumes that live inside this one

    @property
    def cleanable(self) -> bool:
        """`clean` may free it: its level is stopped, or nothing uses it."""
        return self.state in CLEANABLE

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "volume", "daemon", "level", "depth", "state", "container_id", "bytes",
            "shared_bytes", "freeable")}


@dataclass
class UsageReport:
    volumes: list[VolumeUsage]
    total: int               # distinct bytes on disk for all the volumes of the tree
    method: str              # "inode" or "daemon"
    unmeasured: list[str] = field(default_factory=list)  # engines that did not answer, why
    # CPU seconds this machine spent measuring in processes apart from the caller's (the
    # walker; the kernel's count): what the caller's own clock does not see of the cost.
    cpu_seconds: float = 0.0

    def by_level(self) -> dict[str, VolumeUsage]:
        return {v.level: v for v in self.volumes if v.state == LIVE}

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "total": self.total,
                "volumes": [v.to_dict() for v in self.volumes]} | (
                    {"unmeasured": self.unmeasured} if self.unmeasured else {})


def _list_volumes(root: Level) -> list[tuple[Level, dict[str, Any]]]:
    """(daemon level, volume inspect) for every volume of this namespace's levels on every
    reachable daemon; each volume dict gets "_users": the containers that mount it."""
    found = []
    for daemon in root.walk():
        if daemon.state != levels.READY or daemon.endpoint is None:
            continue
        try:
            client = connect.client(daemon.endpoint, check=False)
            listed = client.api.volumes(filters={
                "label": f"{levels.LABEL_OWNER}={levels.OWNER}"}).get("Volumes") or []
            containers = client.api.containers(all=True)
        except connect.API_ERRORS:
            continue
        for volume in listed:
            if levels.is_level_volume(volume):
                volume["_users"] = [c for c in containers if any(
                    m.get("Name") == volume["Name"] for m in c.get("Mounts") or [])]
                found.append((daemon, volume))
    return found


def _classify(daemon: Level, volume: dict[str, Any]) -> VolumeUsage:
    labels = volume.get("Labels") or {}
    name = labels.get(levels.LABEL_NAME, "?")
    path = f"{daemon.path}/{name}" if daemon.path else name
    owner = next((c for c in daemon.children if c.volume == volume["Name"]), None)
    member = next((m for m in daemon.pool if m.volume == volume["Name"]), None)
    container = owner.container_id if owner else member.container_id if member else None
    if member is not None:
        state = POOL
    elif owner is not None:
        state = owner.state if owner.state in levels.STOPPED else LIVE
    elif volume.get("_users"):
        state = IN_USE  # a container that is not a level (or a spawn not yet listed) holds it
    elif gate.newly_made(volume):
        state = NEW
    else:
        state = ORPHAN
    return VolumeUsage(volume["Name"], daemon.path, path, daemon.depth + 1, state, container)


def measure(root: Level, progress: ProgressCallback = no_progress) -> UsageReport:
    """Usage of every dindtui volume in the tree (levels must come from a fresh discover())."""
    listed = _list_volumes(root)
    usages = [_classify(daemon, volume) for daemon, volume in listed]
    remote = place.is_remote(root)
    if not remote and os.geteuid() != 0:
        return _measure_daemon(root, usages)  # this machine's files, but not ours to read
    data_root = _data_paths(root, listed, usages)
    if data_root is not None and not remote and \
            all(u.host_path and os.path.isdir(u.host_path) for u in usages):
        return _measure_inodes(usages, progress)
    if data_root is not None and remote and usages:
        # The files are on the engine's machine: measured there, by a helper container.
        try:
            return _measure_on_engine(root, data_root, usages, progress)
        except (DindtuiError,) + connect.API_ERRORS + (ValueError, KeyError):
            pass
    return _measure_daemon(root, usages)


def measure_all(roots: list[Level]) -> UsageReport:
    """`measure` of every tree that answers, as one report (each engine by its own method)."""
    reports = [(root, measure(root)) for root in roots if root.state == levels.READY]
    for root, report in reports:
        holder = discovery.held_by(root, roots)
        if holder is None:
            continue
        # An engine that is a level of another tree: the volumes on its daemon are that
        # level's inner volumes too. They are listed once, under this engine's paths.
        mine = {v.volume for v in report.volumes if v.daemon == root.path}
        for other_root, other in reports:
            twice = [v for v in other.volumes if other_root is not root
                     and v.daemon == holder.path and v.volume in mine]
            other.volumes = [v for v in other.volumes if v not in twice]
            other.total -= sum(v.bytes for v in twice)
    methods = {report.method for _, report in reports}
    cpu = sum(report.cpu_seconds for _, report in reports)
    method = (methods.pop() if len(methods) == 1 else
              ", ".join(f"{root.label}: {report.method}" for root, report in reports))
    return UsageReport([v for _, report in reports for v in report.volumes],
                       sum(report.total for _, report in reports), method or "inode",
                       [f"engine {root.label}: {root.error or root.state}" for root in roots
                        if root.state != levels.READY], cpu)


def _data_paths(root: Level, listed: list[tuple[Level, dict[str, Any]]],
                usages: list[VolumeUsage]) -> str | None:
    """Fill each volume's path on the engine's machine (its data root, then each level's
    volume inside its parent's); level 0's data root, or None when unknown."""
    data_roots: dict[str, str] = {}  # daemon path -> path of its data root on that machine
    try:
        data_roots[root.path] = connect.client(root.endpoint,
                                               check=False).info()["DockerRootDir"]
    except (connect.API_ERRORS + (KeyError,)):
        return None
    pending = list(zip(listed, usages, strict=True))
    while pending:
        progressed = False
        for item in list(pending):
            (daemon, volume), usage = item
            if daemon.path not in data_roots:
                continue
            inner_root = data_roots[root.path] if daemon.depth == 0 else "/var/lib/docker"
            usage.host_path = os.path.join(data_roots[daemon.path],
                                           os.path.relpath(volume["Mountpoint"], inner_root))
            if usage.state == LIVE:
                data_roots[usage.level] = usage.host_path
            pending.remove(item)
            progressed = True
        if not progressed:
            return None
    for usage in usages:
        usage.nested = [o.volume for o in usages if o is not usage and o.host_path and
                        o.host_path.startswith((usage.host_path or "").rstrip("/") + "/")]
    return data_roots[root.path]


def _items(usages: list[VolumeUsage],
           path_of: Callable[[str | None], str | None]) -> list[dict[str, Any]]:
    return [{"volume": u.volume, "path": path_of(u.host_path), "depth": u.depth,
             "nested": u.nested} for u in usages]


def _apply(usages: list[VolumeUsage], results: dict[str, Any], total: int) -> UsageReport:
    for usage in usages:
        result = results[usage.volume]
        usage.bytes, usage.shared_bytes = result["bytes"], result["shared_bytes"]
        usage.freeable = result["freeable"]
    return UsageReport(usages, total, "inode")


def _measure_inodes(usages: list[VolumeUsage], progress: ProgressCallback) -> UsageReport:
    """On this machine: every volume walked by init/du.py's measure_volumes, in a process of
    its own at a lower priority (`python -m dindtui.init.du`): a walk of 64 levels is 4 s of
    CPU and a dictionary of every inode, which in this process held the TUI's interpreter
    lock (a level's death drawn 200 ms late) and kept ~150 MB."""
    level_of = {u.volume: u.level for u in usages}
    walker = subprocess.Popen([sys.executable, "-m", "dindtui.init.du"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    overdue = threading.Timer(DU_TIMEOUT, walker.kill)  # every wait has its deadline
    overdue.start()
    answer: Any = None
    try:
        assert walker.stdin is not None and walker.stdout is not None
        walker.stdin.write(json.dumps(_items(usages, lambda path: path)))
        walker.stdin.close()
        for line in walker.stdout:
            try:
                said = json.loads(line[:LINE_LIMIT])
            except ValueError:
                continue
            if isinstance(said, dict) and isinstance(said.get("walking"), int):
                level = level_of.get(str(said.get("volume")), "?")
                progress(Progress("du", f"measuring {level}", said["walking"],
                                  len(usages)))
            elif isinstance(said, dict) and "volumes" in said:
                answer = said
        errors = walker.stderr.read(4096) if walker.stderr is not None else ""
        status, cpu = _reap(walker)
    finally:
        overdue.cancel()
        if walker.poll() is None:
            walker.kill()
            walker.wait()
    if status != 0 or not isinstance(answer, dict) or not isinstance(answer.get("volumes"), dict):
        raise DindtuiError("measuring the volumes failed" + (
            f" (after {DU_TIMEOUT} s)" if status == -9 else f": {guard.text(errors, 300)}"))
    results, total = answer["volumes"], answer.get("total")
    if set(results) != set(level_of) or not isinstance(total, int):
        raise DindtuiError("measuring the volumes failed: an answer that does not fit")
    progress(Progress("du", "measured", len(usages), len(usages)))
    report = _apply(usages, results, total)
    report.cpu_seconds = cpu
    return report


def _reap(process: subprocess.Popen[str]) -> tuple[int, float]:
    """Wait for `process`: its exit code (as Popen's: -N for signal N) and the CPU it spent
    (user and system, as the kernel counted it at its end)."""
    _, raw, spent = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(raw)
    return process.returncode, spent.ru_utime + spent.ru_stime


def _measure_on_engine(root: Level, data_root: str, usages: list[VolumeUsage],
                       progress: ProgressCallback) -> UsageReport:
    """On a remote engine's machine: a short-lived container of the level image, its data root
    mounted read-only at /hostroot, runs the same measurement (`dindtui-init du`)."""
    progress(Progress("du", f"measuring {len(usages)} volume(s) on {root.label}'s machine"))
    client = connect.client(root.endpoint, check=False)
    items = _items(usages, lambda path: "/hostroot/" + os.path.relpath(path or "", data_root))
    helper = client.api.create_container(
        config.image(), entrypoint=["dindtui-init"], command=["du", json.dumps(items)],
        labels={"dindtui.helper": "du"},
        host_config=client.api.create_host_config(
            network_mode="none", binds={data_root: {"bind": "/hostroot", "mode": "ro"}}))["Id"]
    try:
        client.api.start(helper)
        status = client.api.wait(helper, timeout=DU_TIMEOUT).get("StatusCode")
        output = client.api.logs(helper, stderr=False).decode(errors="replace")
    finally:
        client.api.remove_container(helper, force=True, v=True)
    if status != 0:
        raise DindtuiError(f"measuring on {root.label} failed (exit {status})")
    answer = json.loads(output.strip().splitlines()[-1])
    progress(Progress("du", "measured", len(usages), len(usages)))
    return _apply(usages, answer["volumes"], answer["total"])


def _measure_daemon(root: Level, usages: list[VolumeUsage]) -> UsageReport:
    sizes: dict[tuple[str, str], int] = {}
    for daemon in {u.daemon for u in usages}:
        level = levels.find(root, daemon)
        try:
            df = connect.client(level.endpoint, check=False).api.df()
        except connect.API_ERRORS:
            continue
        for volume in df.get("Volumes") or []:
            size = (volume.get("UsageData") or {}).get("Size", -1)
            sizes[(daemon, volume["Name"])] = max(size, 0)
    for usage in usages:
        usage.bytes = usage.freeable = sizes.get((usage.daemon, usage.volume), 0)
    # A level's volume holds its children's volumes: report each level's own share.
    for usage in usages:
        inner = [u for u in usages if u.daemon == usage.level]
        usage.bytes = max(usage.bytes - sum(u.bytes for u in inner), 0)
    return UsageReport(usages, sum(u.bytes for u in usages), "daemon")


# --------------------------------------------------------------------------- cleanup

@dataclass
class CleanupItem:
    volume: str
    daemon: str
    level: str
    state: str          # dead or orphan
    container_id: str | None
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CleanupPlan:
    items: list[CleanupItem]

    @property
    def total(self) -> int:
        return sum(item.bytes for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "items": [i.to_dict() for i in self.items]}


@dataclass
class CleanupResult:
    """What `apply_cleanup` did with each item of a plan: removed; kept, because re-read just
    before it was no longer what the plan saw (taken by a level, gone already: the gate doing its
    work, not a failure); or failed (the engine refused or did not answer)."""
    removed: list[CleanupItem] = field(default_factory=list)
    kept: list[tuple[CleanupItem, str]] = field(default_factory=list)
    failed: list[tuple[CleanupItem, str]] = field(default_factory=list)

    @property
    def freed(self) -> int:
        return sum(item.bytes for item in self.removed)

    def extend(self, other: "CleanupResult") -> None:
        self.removed += other.removed
        self.kept += other.kept
        self.failed += other.failed

    def to_dict(self) -> dict[str, Any]:
        return {"removed": [i.to_dict() for i in self.removed], "freed": self.freed,
                "kept": [{"volume": i.volume, "level": i.level, "reason": why}
                         for i, why in self.kept],
                "failed": [{"volume": i.volume, "level": i.level, "reason": why}
                           for i, why in self.failed]}


def plan_cleanup(root: Level, report: UsageReport | None = None) -> CleanupPlan:
    """What cleanup would remove: volumes of dead levels and orphaned volumes, never a volume of
    a live level (nor one nested inside what is removed anyway, which goes with it)."""
    report = report or measure(root)
    removable = [u for u in report.volumes if u.state in CLEANABLE]
    nested = {name for u in removable for name in u.nested}
    return CleanupPlan([CleanupItem(u.volume, u.daemon, u.level, u.state, u.container_id,
                                    u.freeable) for u in removable if u.volume not in nested])


def plan_cleanup_all(roots: list[Level]) -> CleanupPlan:
    """`plan_cleanup` of every tree that answers, as one plan."""
    return plan_cleanup(roots[0], measure_all(roots))


def apply_cleanup_all(roots: list[Level], plan: CleanupPlan,
                      progress: ProgressCallback = no_progress) -> CleanupResult:
    """`apply_cleanup`, each item in the tree its daemon's path names."""
    result = CleanupResult()
    for root in roots:
        mine = [item for item in plan.items if levels.root_for(roots, item.daemon) is root]
        if mine:
            result.extend(apply_cleanup(root, CleanupPlan(mine), progress))
    return result


def apply_cleanup(root: Level, plan: CleanupPlan,
                  progress: ProgressCallback = no_progress) -> CleanupResult:
    """Remove what `plan` lists, re-reading each volume and its users just before: still ours,
    and used by nothing but stopped levels of ours (removed with it)."""
    result = CleanupResult()

    def keep(item: CleanupItem, why: str) -> None:
        result.kept.append((item, why))
        progress(Progress("clean", f"kept {item.volume}: {why}"))

    for index, item in enumerate(plan.items):
        progress(Progress("clean", f"removing {item.volume} ({item.level})", index,
                          len(plan.items)))
        try:
            daemon = levels.find(root, item.daemon)
        except DindtuiError:
            keep(item, f"its daemon {item.daemon} is gone")
            continue
        client = connect.client(daemon.endpoint, check=False)
        member = next((m for m in daemon.pool if m.volume == item.volume), None)
        if item.state == POOL:
            try:
                if member is not None and gate.remove_pool_member(daemon, member):
                    result.removed.append(item)
                else:
                    keep(item, "no longer a pool level (adopted or drained meanwhile)")
            except DindtuiError as exc:
                result.failed.append((item, str(exc)))
                progress(Progress("clean", str(exc)))
            continue
        try:
            name, users = gate.level_volume(client, item.volume, daemon)
            for user in users:
                client.api.remove_container(user["Id"], v=True)
            cgroups.remove_leftovers_of(daemon, item.volume)
            client.api.remove_volume(item.volume)  # never forced: Docker refuses one in use
        except gate.Refused as refused:
            keep(item, str(refused))
            continue
        except docker.errors.NotFound:
            keep(item, "gone already")
            continue
        except connect.API_ERRORS as exc:
            result.failed.append((item, f"could not remove {item.volume}: {exc}"))
            progress(Progress("clean", f"could not remove {item.volume}: {exc}"))
            continue
        if not gate.name_in_use(client, name):
            daemon_place = place.Place.of(daemon)
            gate.remove_socket_dir(daemon_place.child_socket_dir(name), daemon_place)
        result.removed.append(item)
    progress(Progress("clean", f"removed {len(result.removed)} volume(s)", len(plan.items),
                      len(plan.items)))
    return result
