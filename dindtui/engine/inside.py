"""What runs inside one level's daemon: its containers, images, volumes and networks; a
container's logs, inspect, stats and lifecycle; running an image; and one search over every
level of the tree. The TUI's explore views and the CLI's `ps`, `logs` and `stats` use this.

A container that is itself a level (a child of this level, proven by `levels.recognise` during
discovery) is marked as one and is never stopped or removed from here: levels exit through
`spawn.exit_level`, which exits the levels inside them first."""

from __future__ import annotations

import json
import os
import shlex
import socket
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

from . import connect, gate, guard, levels
from .errors import DindtuiError
from .images import API_ERRORS
from .levels import Level
from .served import Frames

ACTIONS = ("start", "stop", "restart", "kill", "remove")
DESTRUCTIVE = ("stop", "restart", "kill", "remove")
STOP_TIMEOUT = 10  # seconds a stopped container gets before it is killed (docker's default)


@dataclass(frozen=True)
class ContainerRow:
    id: str                 # the short id (12 hex digits), as `docker ps` shows it
    name: str
    image: str
    state: str              # Docker's word: running, exited, paused, ...
    status: str             # Docker's line: "Up 5 minutes", "Exited (0) 2 hours ago"
    is_level: bool = False  # a dindtui level (a child of this level in the tree)
    level_path: str | None = None
    protected: str = ""     # why no action may touch it (a level of any namespace, a helper)
    ports: str = ""
    command: str = ""
    created: int = 0

    @property
    def uptime(self) -> str:
        return self.status[3:] if self.state == "running" and self.status.startswith("Up ") \
            else ""


@dataclass(frozen=True)
class ImageRow:
    id: str
    tags: tuple[str, ...]
    size: int
    used_by: int = 0        # containers of this level made from it
    created: int = 0


@dataclass(frozen=True)
class VolumeRow:
    name: str
    driver: str
    used_by: int = 0
    level_path: str | None = None  # the volume of a child level


@dataclass(frozen=True)
class NetworkRow:
    id: str
    name: str
    driver: str
    scope: str
    containers: int = 0


@dataclass
class Contents:
    containers: list[ContainerRow] = field(default_factory=list)
    images: list[ImageRow] = field(default_factory=list)
    volumes: list[VolumeRow] = field(default_factory=list)
    networks: list[NetworkRow] = field(default_factory=list)


def explanation(exc: BaseException) -> str:
    """A daemon's error as one line of harmless text."""
    text = getattr(exc, "explanation", None) or str(exc)
    return guard.text(" ".join(str(text).split()), 600)


def level_client(level: Level):
    """The SDK client of the level's own daemon; an error that says why when it cannot answer."""
    if level.state != levels.READY or not level.endpoint:
        raise DindtuiError(f"level {level.label} is {level.state}: its daemon cannot be asked"
                           + (" (`dindtui revive` starts it)" if level.state in levels.STOPPED
                              else ""))
    return connect.client(level.endpoint, check=False)


def _ports(summary: dict) -> str:
    seen: list[str] = []
    for port in summary.get("Ports") or []:
        inner = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
        text = (f"{port.get('IP') or '0.0.0.0'}:{port['PublicPort']}->{inner}"
                if port.get("PublicPort") else inner)
        if text not in seen and not (port.get("IP") == "::" and text.replace("::", "0.0.0.0")
                                     in seen):
            seen.append(text)
    return ", ".join(seen)


def _children_by_container(level: Level) -> dict[str, Level]:
    return {child.container_id: child for child in level.children if child.container_id}


def container_rows(level: Level, client=None,
                   summaries: list[dict] | None = None) -> list[ContainerRow]:
    """The level's containers (`summaries`: the daemon's list, when already asked for)."""
    if summaries is None:
        summaries = (client or level_client(level)).api.containers(all=True)
    children = _children_by_container(level)
    rows = []
    for summary in summaries:
        if not isinstance(summary, dict) or not isinstance(summary.get("Id"), str):
            continue  # not a container a daemon could list: nothing to show or act on
        child = children.get(summary["Id"]) or children.get(summary["Id"][:12])
        try:
            ports = _ports(summary)
        except (AttributeError, KeyError, TypeError):
            ports = "?"
        names = summary.get("Names")
        created = summary.get("Created")
        rows.append(ContainerRow(
            guard.text(summary["Id"][:12], 12),
            guard.text(names[0] if isinstance(names, list) and names else "/?", 128)[1:],
            guard.text(summary.get("Image"), 200), guard.text(summary.get("State"), 20),
            guard.text(summary.get("Status"), 80),
            is_level=child is not None, level_path=child.path if child else None,
            protected=("it is level " + child.path) if child else (
                guard.shape_of_summary(summary) or ""),
            ports=guard.text(ports, 200), command=guard.text(summary.get("Command"), 300),
            created=created if isinstance(created, int) else 0))
    rows.sort(key=lambda r: (r.state != "running", r.name))
    return rows


def _number(value: object) -> int:
    return value if isinstance(value, int) else 0


def contents(level: Level) -> Contents:
    """Everything the level's daemon holds, in four lists (what `docker ps -a`, `images`,
    `volume ls` and `network ls` would show there)."""
    client = level_client(level)
    summaries = client.api.containers(all=True)  # asked once: rows, image use, volume use
    result = Contents(containers=container_rows(level, summaries=summaries))
    by_image: dict[str, int] = {}
    for summary in summaries:
        by_image[summary.get("ImageID", "")] = by_image.get(summary.get("ImageID", ""), 0) + 1
    for image in client.api.images():
        tags = image.get("RepoTags") if isinstance(image.get("RepoTags"), list) else None
        result.images.append(ImageRow(guard.text(str(image.get("Id")).split(":")[-1][:12]),
                                      tuple(guard.text(t, 200) for t in (tags or ["<none>"])),
                                      _number(image.get("Size")),
                                      by_image.get(image.get("Id"), 0),
                                      _number(image.get("Created"))))
    used: dict[str, int] = {}
    for summary in summaries:
        for mount in summary.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                used[mount["Name"]] = used.get(mount["Name"], 0) + 1
    child_volumes = {child.volume: child.path for child in level.children if child.volume}
    for volume in client.api.volumes().get("Volumes") or []:
        result.volumes.append(VolumeRow(guard.text(volume.get("Name"), 255),
                                        guard.text(volume.get("Driver"), 40),
                                        used.get(volume.get("Name"), 0),
                                        child_volumes.get(volume.get("Name"))))
    result.volumes.sort(key=lambda v: (v.level_path is None, v.name))
    for network in client.api.networks():
        result.networks.append(NetworkRow(guard.text(str(network.get("Id"))[:12]),
                                          guard.text(network.get("Name"), 255),
                                          guard.text(network.get("Driver"), 40),
                                          guard.text(network.get("Scope"), 20),
                                          len(network.get("Containers") or {})))
    result.networks.sort(key=lambda n: n.name)
    return result


# ----------------------------------------------------------------------------- one container

def resolve(level: Level, ref: str, client=None) -> dict:
    """The container `ref` (a name, an id, or an id prefix) of this level, inspected."""
    client = client or level_client(level)
    ref = ref.strip()
    if not ref:
        raise DindtuiError("no container named: give a name or an id")
    try:
        return client.api.inspect_container(ref)
    except API_ERRORS as exc:
        if getattr(exc, "status_code", None) == 404 or "No such container" in str(exc):
            raise DindtuiError(f"no container {ref!r} in level {level.label} "
                               f"(`dindtui ps {level.path or 'host'}` lists them)") from None
        raise DindtuiError(f"level {level.label} did not answer: {explanation(exc)}") from None


def inspect(level: Level, ref: str) -> dict:
    return resolve(level, ref)


def _the_level_it_is(level: Level, info: dict) -> Level | None:
    return _children_by_container(level).get(info["Id"])


def act(level: Level, ref: str, action: str) -> str:
    """start, stop, restart, kill or remove one container of the level; the line to show.
    A container that is a level is refused: it exits with `dindtui exit`, deepest first."""
    if action not in ACTIONS:
        raise DindtuiError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    client = level_client(level)
    info = resolve(level, ref, client)
    name = guard.text(info.get("Name"), 128).lstrip("/")
    child = _the_level_it_is(level, info)
    if child is not None:
        raise DindtuiError(f"{name} is level {child.path}: exit it with x (or `dindtui exit "
                           f"{child.path}`), which exits the levels inside it first; v "
                           "(`dindtui revive`) starts it again")
    gate.container(info, action, f"level {level.label}")  # no level of any namespace
    try:
        if action == "start":
            client.api.start(info["Id"])
        elif action == "stop":
            client.api.stop(info["Id"], timeout=STOP_TIMEOUT)
        elif action == "restart":
            client.api.restart(info["Id"], timeout=STOP_TIMEOUT)
        elif action == "kill":
            client.api.kill(info["Id"])
        else:
            client.api.remove_container(info["Id"], force=True)
    except API_ERRORS as exc:
        raise DindtuiError(f"{action} {name} in {level.label} failed: {explanation(exc)}") \
            from None
    past = {"start": "started", "stop": "stopped", "restart": "restarted", "kill": "killed",
            "remove": "removed"}[action]
    return f"{name} {past} in {level.label}"


def run(level: Level, image: str, command: str = "", name: str = "") -> ContainerRow:
    """`docker run -d` in the level: create and start; the new container's row."""
    client = level_client(level)
    image = image.strip()
    if not image:
        raise DindtuiError("no image given")
    try:
        argv = shlex.split(command) if command.strip() else None
    except ValueError as exc:
        raise DindtuiError(f"the command cannot be read: {exc}") from None
    try:
        client.api.inspect_image(image)
    except API_ERRORS:
        raise DindtuiError(f"level {level.label} has no image {image!r} (no registry is "
                           "pulled from here: `dindtui push` brings one down)") from None
    try:
        created = client.api.create_container(image, command=argv, name=name.strip() or None,
                                              detach=True)
        client.api.start(created["Id"])
    except API_ERRORS as exc:
        raise DindtuiError(f"run {image} in {level.label} failed: {explanation(exc)}") from None
    for row in container_rows(level, client):
        if created["Id"].startswith(row.id):
            return row
    raise DindtuiError(f"the container of {image} vanished from {level.label} at once")


# ----------------------------------------------------------------------------- logs

def _line(pending: bytearray, cut: int) -> str:
    line = pending.rstrip(b"\r").decode(errors="replace")
    return line + (f" … [{cut} more bytes of this line not shown]" if cut else "")


def _lines_of(chunks: Iterator[bytes], limit: int = guard.LINE_LIMIT) -> Iterator[str]:
    """Lines of a byte stream, each at most `limit` bytes: the rest of a longer one is dropped
    and counted, so a container that never prints a newline costs `limit` bytes of memory
    and a look at each byte once."""
    pending, cut = bytearray(), 0
    for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            room = limit - len(pending)
            pending += piece[:room]
            cut += max(len(piece) - room, 0)
            if end < 0:
                break
            yield _line(pending, cut)
            pending, cut, start = bytearray(), 0, end + 1
    if pending or cut:
        yield _line(pending, cut)


class LogStream:
    """A container's log as the daemon sends it, read in large pieces: a non-TTY container's
    log is frames (an 8-byte header, then the data), one per line Docker logged, and reading
    them one by one (as the SDK does) costs two reads per line, too slow for a container
    writing 10,000 lines a second. `close()` from another thread ends the reading."""

    def __init__(self, client, container: dict, *, follow: bool, timestamps: bool,
                 tail: int | str):
        api = client.api
        params = {"stdout": 1, "stderr": 1, "follow": int(follow),
                  "timestamps": int(timestamps), "tail": tail}
        self.response = api._get(api._url("/containers/{0}/logs", container["Id"]),
                                 params=params, stream=True)
        api._raise_for_status(self.response)
        self.tty = bool((container.get("Config") or {}).get("Tty"))

    def chunks(self) -> Iterator[bytes]:
        """The log's bytes as they come, frame headers taken out (stdout and stderr)."""
        raw = self.response.raw
        frames = None if self.tty else Frames(streams=(1, 2))
        while True:
            try:
                data = raw.read1(65536)
            except Exception:  # noqa: BLE001 - closed from another thread, or the daemon left
                return
            if not data:
                return
            piece = data if frames is None else frames.unpack(data)
            if piece:
                yield piece

    def lines(self) -> Iterator[str]:
        return _lines_of(self.chunks())

    def close(self) -> None:
        try:
            self.response.close()
        except Exception:  # noqa: BLE001 - already closed
            pass


def log_lines(level: Level, ref: str, *, tail: int | None = None, follow: bool = False,
              timestamps: bool = False) -> Iterator[str]:
    """A container's log as lines (stdout and stderr together, as `docker logs` prints them)."""
    client = level_client(level)
    info = resolve(level, ref, client)
    try:
        stream = LogStream(client, info, follow=follow, timestamps=timestamps,
                           tail="all" if tail is None else tail)
    except API_ERRORS as exc:
        raise DindtuiError(f"logs of {ref} in {level.label}: {explanation(exc)}") from None
    try:
        yield from stream.lines()
    finally:
        stream.close()


BUFFER_CHARS = 8 << 20  # what a follower holds between two drains, at the most


class LogFollower:
    """Follows one container's log in a thread of its own. Lines collect in a bounded buffer
    (the oldest are dropped past `limit`, so memory stays flat under any flood); `on_ready` is
    called when the buffer goes from empty to not empty, and the reader takes everything with
    `drain()`. Each line keeps Docker's timestamp in front ("2026-11-29T09:00:00.123Z text"),
    so timestamps can be shown or hidden on lines already read."""

    def __init__(self, level: Level, ref: str, on_ready: Callable[[], None], *,
                 tail: int = 500, limit: int = 10_000):
        self.level, self.ref, self.on_ready = level, ref, on_ready
        self.tail, self.limit = tail, limit
        self._buffer: deque[str] = deque()
        self._bytes = 0  # characters held: at most BUFFER_CHARS, whatever the lines' length
        self._lock = threading.Lock()
        self._stream: LogStream | None = None
        self._closed = threading.Event()
        self.error: str | None = None
        self.ended = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"logs {level.label}/{ref}")

    def start(self) -> "LogFollower":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            client = level_client(self.level)
            info = resolve(self.level, self.ref, client)
            stream = LogStream(client, info, follow=True, timestamps=True, tail=self.tail)
            self._stream = stream
            if self._closed.is_set():
                stream.close()
                return
            for line in stream.lines():
                with self._lock:
                    was_empty = not self._buffer
                    self._buffer.append(line)
                    self._bytes += len(line)
                    while len(self._buffer) > self.limit or self._bytes > BUFFER_CHARS:
                        self._bytes -= len(self._buffer.popleft())
                if was_empty:
                    self.on_ready()
        except Exception as exc:  # noqa: BLE001 - told to the reader, never raised in a thread
            if not self._closed.is_set():
                self.error = explanation(exc) if not isinstance(exc, DindtuiError) else str(exc)
        finally:
            self.ended = True
            if not self._closed.is_set():
                self.on_ready()

    def drain(self) -> list[str]:
        with self._lock:
            lines = list(self._buffer)
            self._buffer.clear()
            self._bytes = 0
        return lines

    def close(self) -> None:
        self._closed.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a dead stream
                pass


def split_timestamp(line: str) -> tuple[str, str]:
    """("2026-11-29T09:00:00.123456789Z", "text") from a line Docker timestamped."""
    stamp, _, text = line.partition(" ")
    if len(stamp) >= 20 and stamp[4:5] == "-" and stamp[10:11] == "T":
        return stamp, text
    return "", line


# ----------------------------------------------------------------------------- stats

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


def _memory(stats: dict) -> tuple[int, int]:
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage") or 0
    counters = memory.get("stats") or {}
    cache = counters.get("inactive_file", counters.get("total_inactive_file", 0)) or 0
    return max(usage - cache, 0), memory.get("limit") or 0


CGROUP_ROOT = "/sys/fs/cgroup"


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _stat_field(path: str, names: tuple[str, ...]) -> int:
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key in names:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _system_ns() -> int:
    """The machine's CPU time (all CPUs), as the daemon reports system_cpu_usage."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:8]
    return sum(int(x) for x in fields) * (1_000_000_000 // os.sysconf("SC_CLK_TCK"))


def cgroup_sample(container_id: str, root: str = CGROUP_ROOT) -> Sample | None:
    """A reading straight from the cgroup files of a container of level 0's daemon, for the
    hosts whose daemon answers stats with zeros ("no metrics received": seen with Docker
    20.10 here). cgroup v1 (cgroupfs driver) and v2 (cgroupfs or systemd driver)."""
    v1_memory = os.path.join(root, "memory", "docker", container_id)
    if os.path.isdir(v1_memory):
        cpu = _read_int(os.path.join(root, "cpuacct", "docker", container_id, "cpuacct.usage"))
        usage = _read_int(os.path.join(v1_memory, "memory.usage_in_bytes"))
        if cpu is None or usage is None:
            return None
        cache = _stat_field(os.path.join(v1_memory, "memory.stat"), ("total_inactive_file",))
        limit = _read_int(os.path.join(v1_memory, "memory.limit_in_bytes")) or 0
    else:
        for group in (os.path.join(root, "system.slice", f"docker-{container_id}.scope"),
                      os.path.join(root, "docker", container_id)):
            if os.path.isfile(os.path.join(group, "memory.current")):
                break
        else:
            return None
        usec = _stat_field(os.path.join(group, "cpu.stat"), ("usage_usec",))
        cpu, usage = usec * 1000, _read_int(os.path.join(group, "memory.current"))
        if usage is None:
            return None
        cache = _stat_field(os.path.join(group, "memory.stat"), ("inactive_file",))
        limit = _read_int(os.path.join(group, "memory.max")) or 0
    cpus = os.cpu_count() or 1
    return Sample(time.time(), cpu, _system_ns(), cpus, max(usage - cache, 0),
                  min(limit, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")))


_no_metrics: set[str] = set()  # endpoints whose daemon answered stats with zeros


JSON_LIMIT = 4 << 20  # bytes of one stats answer read at the most


def _get_json(endpoint: str, path: str, timeout: float = 5) -> dict:
    """GET `path` from a daemon. On a unix socket, a bare HTTP/1.0 request (a tenth of the
    SDK's CPU: the sampler asks every level's container every two seconds)."""
    if not endpoint.startswith("unix://"):
        client = connect.client(endpoint, check=False)
        return client.api._result(client.api._get(client.api._url(path)), json=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(endpoint[len("unix://"):])
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        answer = guard.read_capped(iter(lambda: sock.recv(65536), b""), JSON_LIMIT,
                                   f"the answer to {path}")
    head, _, body = answer.partition(b"\r\n\r\n")
    if head.split(b" ", 2)[1:2] != [b"200"]:
        raise DindtuiError(f"{path}: {head.splitlines()[0].decode(errors='replace')}")
    return json.loads(body)


def sample(endpoint: str, container_id: str) -> Sample | None:
    """One reading, at once (one-shot: the daemon does not wait for a second reading); None
    when the container is not running or the daemon does not answer."""
    local = connect.origin_of(endpoint) is not None and not connect.is_remote(endpoint)
    if local and endpoint in _no_metrics and len(container_id) == 64:
        reading = cgroup_sample(container_id)
        if reading is not None:
            return reading
    try:
        stats = _get_json(endpoint, f"/containers/{container_id}/stats?stream=false"
                                    "&one-shot=true")
    except (OSError, ValueError, DindtuiError, *API_ERRORS):
        return None
    cpu = stats.get("cpu_stats") or {}
    usage = (cpu.get("cpu_usage") or {}).get("total_usage")
    if not usage and not (stats.get("memory_stats") or {}).get("usage"):
        # Zeros: a stopped container, or a daemon that cannot read its metrics ("no metrics
        # received": Docker 20.10 here). Level 0's own containers are then read from their
        # cgroup files on this machine, directly from now on.
        if local and stats.get("id"):
            reading = cgroup_sample(stats["id"])
            if reading is not None:
                _no_metrics.add(endpoint)
            return reading
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

    cpu: deque = field(default_factory=lambda: deque(maxlen=HISTORY))     # percent
    memory: deque = field(default_factory=lambda: deque(maxlen=HISTORY))  # bytes
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


SAMPLE_SECONDS = 2.0
HISTORY = 150  # readings kept: five minutes at one every two seconds


class StatsSampler:
    """Reads the stats of a set of containers every SAMPLE_SECONDS in a thread of its own
    (readings of one round in parallel) and keeps each one's recent history. The TUI says
    what to follow (`follow`: key -> (endpoint, container id)): every level's container on
    its parent, and the containers of the level on screen. `on_round` is called after each
    round with the keys that got a reading."""

    def __init__(self, on_round: Callable[[set[str]], None], interval: float = SAMPLE_SECONDS):
        self.on_round = on_round
        self.interval = interval
        self.usage: dict[str, Usage] = {}
        self._targets: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stats")
        self._thread: threading.Thread | None = None

    def follow(self, targets: dict[str, tuple[str, str]]) -> None:
        with self._lock:
            new = set(targets) - set(self._targets)
            self._targets = dict(targets)
            for key in list(self.usage):
                if key not in targets:
                    del self.usage[key]
        if self._thread is None and targets:
            self._thread = threading.Thread(target=self._run, daemon=True, name="stats")
            self._thread.start()
        elif new:
            self._wake.set()  # a new container gets its first reading now

    def _run(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                targets = dict(self._targets)
            try:
                readings = dict(zip(targets, self._pool.map(
                    lambda target: sample(*target), targets.values()), strict=True))
            except Exception:  # noqa: BLE001 - closed meanwhile (its futures cancelled)
                if self._closed.is_set():
                    return
                readings = {}
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
    """Every running level's container, read on its parent's daemon."""
    targets = {}
    for level in root.walk():
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


# ----------------------------------------------------------------------------- the whole tree

@dataclass(frozen=True)
class Hit:
    """One thing found somewhere in the tree: a container or an image of a level."""

    level: str          # the level's path ("" for level 0)
    kind: str           # container or image
    name: str           # container name, or the image's first tag
    id: str
    detail: str         # image and state of a container; every tag and size of an image
    text: str           # what a query is matched against

    @property
    def where(self) -> str:
        return self.level or "host"

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("text")
        return data


def _hits(level: Level) -> list[Hit]:
    hits = []
    found = contents(level)
    for row in found.containers:
        detail = f"{row.image}  {row.state}" + ("  (a level)" if row.is_level else "")
        hits.append(Hit(level.path, "container", row.name, row.id, detail,
                        f"{row.name} {row.image} {row.id} {row.command}".lower()))
    for image in found.images:
        tags = ", ".join(image.tags)
        hits.append(Hit(level.path, "image", image.tags[0], image.id, tags,
                        f"{tags} {image.id}".lower()))
    return hits


def index(root: Level) -> tuple[list[Hit], list[str]]:
    """Every container and image of every level that answers, asked in parallel; and a line
    for each level that could not be asked."""
    ready = [lv for lv in root.walk() if lv.state == levels.READY and lv.endpoint]
    hits: list[Hit] = []
    problems = [f"{lv.label}: {lv.state}" for lv in root.walk()
                if lv.state != levels.READY and lv.depth]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [(lv, pool.submit(_hits, lv)) for lv in ready]
        for lv, future in futures:
            try:
                hits.extend(future.result())
            except (DindtuiError, *API_ERRORS) as exc:
                problems.append(f"{lv.label}: {exc}")
    return hits, problems


def search(hits: list[Hit], query: str) -> list[Hit]:
    """Hits whose name, image, id, tags or command contain every word of the query."""
    words = query.lower().split()
    found = [hit for hit in hits if all(word in hit.text or word in hit.where
                                        for word in words)]
    return sorted(found, key=lambda h: (h.kind != "container", h.level.count("/"), h.level,
                                        h.name))
