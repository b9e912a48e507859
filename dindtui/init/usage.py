"""`dindtui-init usage ID...`: CPU and memory of this level's containers read from its cgroup
files, for the engine's stats when this level's dockerd answers them with zeros.

That happens in a level that runs cgroup v2 where no controller is enabled (v2 forced on a v1
host: every controller stays bound to the host's v1 hierarchies). CPU time is still counted
per cgroup (`cpu.stat`'s usage_usec needs no controller); memory then is the resident memory
of every process in the container's cgroup and the ones below it (a nested level's), read from
/proc. One JSON object on stdout: {ID: {"cpu_ns", "memory", "processes"}, "_system_ns",
"_cpus"}; a container not found is left out."""

from __future__ import annotations

import json
import os
import re

from .common import CGROUP_ROOT, EXIT_BAD_INPUT, InitError

MAX_GROUPS = 10_000   # cgroups walked below one container, at the most
MAX_PROCESSES = 100_000


def _number(path: str, key: str | None = None) -> int | None:
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if key is None and parts:
                    return int(parts[0])
                if len(parts) == 2 and parts[0] == key:
                    return int(parts[1])
    except (OSError, ValueError):
        return None
    return None


def container_group(container_id: str, root: str = CGROUP_ROOT) -> str | None:
    """The v2 cgroup of one of this level's containers (cgroupfs or systemd driver)."""
    for group in (os.path.join(root, "docker", container_id),
                  os.path.join(root, "system.slice", f"docker-{container_id}.scope")):
        if os.path.isfile(os.path.join(group, "cgroup.procs")):
            return group
    return None


def resident_bytes(group: str) -> tuple[int, int]:
    """(resident memory, processes) of every process in `group` and the cgroups below it."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = processes = groups = 0
    for directory, subdirectories, _ in os.walk(group):
        groups += 1
        if groups > MAX_GROUPS:
            break
        subdirectories[:] = [d for d in subdirectories
                             if not os.path.islink(os.path.join(directory, d))]
        try:
            with open(os.path.join(directory, "cgroup.procs")) as f:
                pids = [line.strip() for line in f if line.strip().isdigit()]
        except OSError:
            continue
        for pid in pids:
            processes += 1
            if processes > MAX_PROCESSES:
                return total, processes
            total += _statm(pid) * page
    return total, processes


def _statm(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def system_ns() -> int:
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:8]
    return sum(int(x) for x in fields) * (1_000_000_000 // os.sysconf("SC_CLK_TCK"))


def usage_main(argv: list[str]) -> int:
    if not argv or not all(re.fullmatch(r"[0-9a-f]{12,64}", a) for a in argv):
        raise InitError("usage: dindtui-init usage CONTAINER-ID...", EXIT_BAD_INPUT)
    found: dict[str, object] = {"_system_ns": system_ns(), "_cpus": os.cpu_count() or 1}
    for container_id in argv[:256]:
        group = container_group(container_id)
        if group is None:
            continue
        usec = _number(os.path.join(group, "cpu.stat"), "usage_usec") or 0
        memory = _number(os.path.join(group, "memory.current"))
        resident, processes = resident_bytes(group)
        found[container_id] = {"cpu_ns": usec * 1000,
                               "memory": memory if memory is not None else resident,
                               "processes": processes}
    print(json.dumps(found))
    return 0
