"""CPU and memory of containers: one-shot readings (the cgroup files on this machine when the
container is on its kernel, any level's; else the daemon's one-shot stats), the sampler thread
the TUI follows, and `docker stats --no-stream`'s two readings for the CLI."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import DindtuiError
from ..net import connect
from ..tree import levels
from ..tree.levels import Level
from .rows import FULL_ID


@dataclass(frozen=True)
class Sample:
    """One reading of a container's cgroup counters, as the daemon's one-shot stats give it."""

    at: float
    cpu_total: int          # ns of CPU used by the container since it started
    system_total: int       # ns of CPU of the whole machine
    online_cpus: int
    memory: int             # bytes, without the page cache the kernel can drop (as docker does)
    memory_limit: int
    running: bool = True


def _memory(stats: dict[str, Any]) -> tuple[int, int]:
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage") or 0
    counters = memory.get("stats") or {}
    cache = counters.get("inactive_file", counters.get("total_inactive_file", 0)) or 0
    return max(usage - cache, 0), memory.get("limit") or 0


CGROUP_ROOT = "/sys/fs/cgroup"
CPUS = os.cpu_count() or 1
MEMORY = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")  # the machine's, in bytes


def _read(path: str, size: int = 64) -> bytes | None:
    """A small kernel file's bytes, read with bare os.open/os.read, no Python file object (a
    round of readings opens four files per line on screen: buffered text files cost twice the
    CPU)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_int(path: str) -> int | None:
    data = _read(path)
    try:
        return int(data.split()[0]) if data is not None else None
    except (ValueError, IndexError):
        return None


def _stat_field(path: str, name: str) -> int:
    """One counter of a `key value` file (memory.stat, cpu.stat); 0 when it is not there."""
    data = _read(path, 16384)
    if data is None:
        return 0
    text, key = b"\n" + data, b"\n" + name.encode() + b" "
    at = text.find(key)
    if at < 0:
        return 0
    try:
        return int(text[at + len(key):].split(b"\n", 1)[0])
    except ValueError:
        return 0


def _system_ns() -> int:
    """The machine's CPU time (all CPUs), as the daemon reports system_cpu_usage."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:8]
    return sum(int(x) for x in fields) * (1_000_000_000 // os.sysconf("SC_CLK_TCK"))


def cgroup_sample(container_id: str, root: str = CGROUP_ROOT,
                  system_ns: int | None = None) -> Sample | None:
    """A reading straight from the cgroup files of a container on this machine's kernel (level
    0's, or any level's where their cgroups sit beside it), the same counters the daemon
    reads — and the only ones where it answers zeros ("no metrics received": Docker 20.10
    here). cgroup v1 (cgroupfs driver) and v2 (cgroupfs or systemd driver)."""
    v1_memory = os.path.join(root, "memory", "docker", container_id)
    if os.path.isdir(v1_memory):
        cpu = _read_int(os.path.join(root, "cpuacct", "docker", container_id, "cpuacct.usage"))
        usage = _read_int(os.path.join(v1_memory, "memory.usage_in_bytes"))
        if cpu is None or usage is None:
            return None
        cache = _stat_field(os.path.join(v1_memory, "memory.stat"), "total_inactive_file")
        limit = _read_int(os.path.join(v1_memory, "memory.limit_in_bytes")) or 0
    else:
        for group in (os.path.join(root, "system.slice", f"docker-{container_id}.scope"),
                      os.path.join(root, "docker", container_id)):
            if os.path.isfile(os.path.join(group, "memory.current")):
                break
        else:
            return None
        usec = _stat_field(os.path.join(group, "cpu.stat"), "usage_usec")
        cpu, usage = usec * 1000, _read_int(os.path.join(group, "memory.current"))
        if usage is None:
            return None
        cache = _stat_field(os.path.join(group, "memory.stat"), "inactive_file")
        limit = _read_int(os.path.join(group, "memory.max")) or 0
    system = _system_ns() if system_ns is None else system_ns  # a round reads it once
    return Sample(time.time(), cpu, system, CPUS, max(usage - cache, 0), min(limit, MEMORY))


# A level's daemon -> (its parent's endpoint, its container): where `dindtui-init usage` runs
# when that daemon answers zeros (cgroup v2 with no controller enabled: v2 forced on v1).
_inside: dict[str, tuple[str, str]] = {}
_inside_lock = threading.Lock()


def exec_sample(endpoint: str, container_id: str) -> Sample | None:
    """A reading of a container of the level whose daemon is `endpoint`, taken inside that
    level from its cgroup files (dindtui-init usage); None when it cannot be."""
    with _inside_lock:
        where = _inside.get(endpoint)
    if where is None or not re.fullmatch(r"[0-9a-f]{12,64}", container_id):
        return None
    try:
        api = connect.client(where[0], check=False).api
        made = api.exec_create(where[1], ["dindtui-init", "usage", container_id],
                               stdout=True, stderr=False)
        output = api.exec_start(made["Id"])
        found = json.loads(output[:65536]) if isinstance(output, bytes) else {}
    except (ValueError, *connect.API_ERRORS):
        return None
    reading = found.get(container_id) if isinstance(found, dict) else None
    if not isinstance(reading, dict):
        return None
    numbers = [reading.get("cpu_ns"), reading.get("memory"), found.get("_system_ns"),
               found.get("_cpus")]
    if not all(isinstance(n, int) and 0 <= n < 1 << 62 for n in numbers):
        return None
    cpu_ns, memory, system, cpus = (int(n) for n in numbers)  # type: ignore[arg-type]
    return Sample(time.time(), cpu_ns, system, max(cpus, 1), memory, 0)


JSON_LIMIT = 4 << 20  # bytes of one stats answer read at the most


def _get_json(endpoint: str, path: str, timeout: float = 5) -> dict[str, Any]:
    """GET `path` from a daemon (connect.read_json: on a local unix socket a bare HTTP/1.0
    request, a tenth of the SDK's CPU: the sampler asks every level on screen every two
    seconds; on a tunnel or a TCP engine, the kept-alive client)."""
    parsed = connect.read_json(endpoint, path, timeout, JSON_LIMIT)
    if not isinstance(parsed, dict):
        raise DindtuiError(f"{path}: the answer is not a JSON object")
    return parsed


def sample(endpoint: str, container_id: str) -> Sample | None:
    """One reading, at once (one-shot: the daemon does not wait for a second reading); None
    when the container is not running or the daemon does not answer."""
    if FULL_ID.fullmatch(container_id):
        # A container of this machine's kernel, at any depth, has its cgroup here (a nested
        # level's daemon makes its containers' cgroups beside its own on a cgroup v1 host, as
        # level 0's): its files are the daemon's own source, read for a tenth of a request's
        # CPU. An id is 256 random bits: a cgroup named by it is that container's. Elsewhere
        # (a remote engine, a v2 level's private tree) nothing is found and the daemon is asked.
        reading = cgroup_sample(container_id)
        if reading is not None:
            return reading
    return daemon_sample(endpoint, container_id)


def daemon_sample(endpoint: str, container_id: str) -> Sample | None:
    """One reading from the daemon's one-shot stats (the cgroup files where it answers
    zeros); None when the container is not running or the daemon does not answer."""
    local = connect.is_level0(endpoint) and not connect.is_remote(endpoint)
    try:
        stats = _get_json(endpoint, f"/containers/{container_id}/stats?stream=false"
                                    "&one-shot=true")
    except (OSError, ValueError, DindtuiError, *connect.READ_ERRORS):
        return None
    cpu = stats.get("cpu_stats") or {}
    usage = (cpu.get("cpu_usage") or {}).get("total_usage")
    if not usage and not (stats.get("memory_stats") or {}).get("usage"):
        # Zeros: a stopped container, or a daemon that cannot read its metrics ("no metrics
        # received": Docker 20.10 here). A container of level 0's on this machine is then
        # read from its cgroup files (`sample` tries them first; this is for a short id).
        if local and FULL_ID.fullmatch(str(stats.get("id") or "")):
            return cgroup_sample(stats["id"])
        stopped = str(stats.get("read") or "0001").startswith("0001")  # no reading at all
        if not stopped:  # a level's daemon with no metrics: read inside that level
            return exec_sample(endpoint, str(stats.get("id") or container_id))
        return None
    memory, limit = _memory(stats)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage")
                                         or []) or 1
    return Sample(time.time(), usage or 0, cpu.get("system_cpu_usage") or 0, cpus, memory,
                  limit)


def cpu_percent(before: Sample, after: Sample) -> float | None:
    """CPU use between two readings, as `docker stats` computes it (100 % = one CPU busy)."""
    system = after.system_total - before.system_total
    used = after.cpu_total - before.cpu_total
    if system <= 0 or used < 0:
        return None
    return used / system * after.online_cpus * 100


@dataclass
class Usage:
    """A container's recent resource use: one point per reading, oldest first."""

    cpu: "deque[float]" = field(default_factory=lambda: deque(maxlen=HISTORY))     # percent
    memory: "deque[int]" = field(default_factory=lambda: deque(maxlen=HISTORY))  # bytes
    memory_limit: int = 0
    last: Sample | None = None

    @property
    def cpu_now(self) -> float | None:
        return self.cpu[-1] if self.cpu else None

    @property
    def memory_now(self) -> int | None:
        return self.memory[-1] if self.memory else None

    def add(self, reading: Sample) -> None:
        if self.last is not None:
            percent = cpu_percent(self.last, reading)
            if percent is not None:
                self.cpu.append(percent)
        self.memory.append(reading.memory)
        self.memory_limit = reading.memory_limit
        self.last = reading


RARE_SECONDS = 30.0  # how often a level or container not on screen is read
SAMPLE_SECONDS = 2.0


HISTORY = 150  # readings kept: five minutes at one every two seconds


class StatsSampler:
    """Reads the stats of a set of containers in a thread of its own (readings of one round in
    parallel) and keeps each one's recent history. The TUI says what to follow (`follow`: key
    -> (endpoint, container id)): every level's container on its parent, and the containers of
    the level on screen; and which of them are on screen (`visible`): those are read every
    SAMPLE_SECONDS, the others every RARE_SECONDS (the first time too: a tree of 64 levels
    is not read whole at start), so that the cost follows the screen, not the size of the
    tree. `on_round` is called after each round with the keys that got a
    reading."""

    def __init__(self, on_round: Callable[[set[str]], None], interval: float = SAMPLE_SECONDS,
                 rare: float = RARE_SECONDS) -> None:
        self.on_round = on_round
        self.interval, self.rare = interval, rare
        self.usage: dict[str, Usage] = {}
        self._targets: dict[str, tuple[str, str]] = {}
        self._visible: set[str] | None = None  # None: every target is on screen
        self._read_at: dict[str, float] = {}  # key -> when it was last read (monotonic)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stats")
        self._thread: threading.Thread | None = None

    def follow(self, targets: dict[str, tuple[str, str]],
               visible: set[str] | None = None) -> None:
        with self._lock:
            shown = set(targets) if visible is None else visible & set(targets)
            new = set(targets) - set(self._targets)
            # A target that comes on screen without a recent reading gets one now.
            before = set(self._targets) if self._visible is None else self._visible
            new |= {key for key in shown - before
                    if time.monotonic() - self._read_at.get(key, 0) > self.interval}
            now = time.monotonic()
            for key in set(targets) - set(self._targets) - shown:
                self._read_at[key] = now  # off screen: its first reading in RARE_SECONDS
            new -= set(targets) - shown
            self._targets = dict(targets)
            self._visible = None if visible is None else set(visible)
            for key in list(self.usage):
                if key not in targets:
                    del self.usage[key]
            for key in list(self._read_at):
                if key not in targets:
                    del self._read_at[key]
        if self._thread is None and targets:
            self._thread = threading.Thread(target=self._run, daemon=True, name="stats")
            self._thread.start()
        elif new:
            self._wake.set()  # a new container gets its first reading now

    def due(self, now: float) -> dict[str, tuple[str, str]]:
        """The targets to read this round: those on screen, and the others not read for
        RARE_SECONDS (or never)."""
        with self._lock:
            return {key: target for key, target in self._targets.items()
                    if self._visible is None or key in self._visible
                    or now - self._read_at.get(key, -self.rare) >= self.rare - 0.01}

    def _run(self) -> None:
        while not self._closed.is_set():
            now = time.monotonic()
            targets = self.due(now)
            with self._lock:
                for key in targets:
                    self._read_at[key] = now
            # The cgroup files of this machine here, in this thread (a few small files each:
            # handing them to the pool cost more than reading them); the daemons' answers,
            # waits of ~250 ms each, in parallel.
            # A container is read once a round: a level's is also a row of its parent's
            # table (level 0's lists the levels at depth 1).
            system = _system_ns()
            readings: dict[str, Sample | None] = {}
            by_id: dict[str, Sample | None] = {}
            for key, (_, container_id) in targets.items():
                if FULL_ID.fullmatch(container_id):
                    if container_id not in by_id:
                        by_id[container_id] = cgroup_sample(container_id, system_ns=system)
                    readings[key] = by_id[container_id]
            asked = {key: target for key, target in targets.items()
                     if readings.get(key) is None}
            try:
                readings.update(zip(asked, self._pool.map(
                    lambda target: daemon_sample(*target), asked.values()), strict=True))
            except Exception:  # noqa: BLE001 - closed meanwhile (its futures cancelled)
                if self._closed.is_set():
                    return
            got = set()
            with self._lock:
                for key, reading in readings.items():
                    if key not in self._targets:
                        continue
                    if reading is None:
                        self.usage.pop(key, None)
                        continue
                    self.usage.setdefault(key, Usage()).add(reading)
                    got.add(key)
            if not self._closed.is_set():
                self.on_round(got)
            self._wake.wait(self.interval)
            self._wake.clear()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def level_key(level: Level) -> str:
    return f"level:{level.path}"


def container_key(level: Level, container_id: str) -> str:
    return f"{level.path}:{container_id[:12]}"


def level_targets(root: Level) -> dict[str, tuple[str, str]]:
    """Every running level's container, read on its parent's daemon (and, for each level,
    where a reading can be taken inside it when its daemon cannot give one)."""
    targets = {}
    for level in root.walk():
        if level.depth and level.endpoint and level.container_id and level.parent is not None \
                and level.parent.endpoint:
            with _inside_lock:
                if len(_inside) > 4096:
                    _inside.clear()
                _inside[level.endpoint] = (level.parent.endpoint, level.container_id)
        if (level.depth and level.parent is not None and level.parent.endpoint
                and level.container_id
                and level.state in (levels.READY, levels.STARTING, levels.UNREACHABLE)):
            targets[level_key(level)] = (level.parent.endpoint, level.container_id)
    return targets


def stats_once(pairs: dict[str, tuple[str, str]], gap: float = 1.0) -> dict[str, Usage]:
    """Two readings `gap` seconds apart for every target, read in parallel: what one
    `docker stats --no-stream` line shows (CPU needs two readings)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = dict(zip(pairs, pool.map(lambda t: sample(*t), pairs.values()), strict=True))
        time.sleep(gap)
        second = dict(zip(pairs, pool.map(lambda t: sample(*t), pairs.values()), strict=True))
    result = {}
    for key in pairs:
        usage = Usage()
        for reading in (first[key], second[key]):
            if reading is not None:
                usage.add(reading)
        if usage.memory:
            result[key] = usage
    return result
