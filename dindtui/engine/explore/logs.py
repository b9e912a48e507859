"""A container's log: read from its daemon in large pieces (frames passed on piece by piece),
as lines of at most 64 KB, and followed in a thread of its own for the TUI (a bounded buffer)."""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..net import connect
from .. import guard
from ..errors import DindtuiError
from ..net.served import Frames
from ..tree.levels import Level
from .inside import explanation, level_client, resolve
from ..lazy import LazyModule

if TYPE_CHECKING:
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")


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

    def __init__(self, client: DockerClient, container: dict[str, Any], *, follow: bool,
                 timestamps: bool, tail: int | str) -> None:
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
    except connect.API_ERRORS as exc:
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
