"""Unix sockets this process serves, for the daemons it reaches through something else: the
tunnels to a remote engine's levels (engine/tunnel.py) and the ssh proxy (engine/sshproxy.py).

Both are the same mechanism, kept here once: a socket in a private directory of this process
(0700, removed at exit), one thread per connection, and a pump that carries bytes both ways in
that one thread with `select` (never two threads on one TLS socket: OpenSSL's state is not
shared safely). What differs is the far end, a `FarEnd`: how it is read and written."""

from __future__ import annotations

import atexit
import os
import select
import shutil
import socket
import tempfile
import threading
from typing import Any, Callable, Protocol

_private: list[str] = []
_lock = threading.Lock()


def private_directory() -> str:
    """A directory of this process alone (0700, removed at exit), for the sockets it serves."""
    with _lock:
        if not _private:
            _private.append(tempfile.mkdtemp(prefix="dindtui-"))
            atexit.register(shutil.rmtree, _private[0], True)
    return _private[0]


def served_here(endpoint: str) -> bool:
    """A unix socket this process serves: each new connection to it costs an exec or an ssh
    session on the remote engine."""
    return bool(_private) and endpoint.startswith(f"unix://{_private[0]}/")


class Listener:
    """A unix socket (0600) in the private directory whose every connection is handed to
    `carry` in a thread of its own."""

    def __init__(self, name: str, carry: Callable[[socket.socket], None], thread_name: str):
        self.path = os.path.join(private_directory(), name + ".sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        os.chmod(self.path, 0o600)
        self.server.listen(64)
        self.carry, self.thread_name = carry, thread_name
        threading.Thread(target=self._accept, daemon=True, name=thread_name).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self.carry, args=(conn,), daemon=True,
                             name=self.thread_name + "-conn").start()


class FarEnd(Protocol):
    """What a connection is carried to."""

    def fileno(self) -> int: ...

    def pending(self) -> bool:
        """Bytes already read and buffered (a TLS record), that select would not see."""
        ...

    def receive(self) -> bytes | None:
        """What the far end said for the client (b"": nothing yet); None: it ended."""
        ...

    def send(self, data: bytes) -> None: ...

    def end_input(self) -> None:
        """The client sent its last byte."""
        ...


def pump(conn: socket.socket, far: FarEnd) -> None:
    """Carry bytes both ways, in this one thread, until the far end ends."""
    reading_client = True
    while True:
        watched: list[Any] = [conn, far] if reading_client else [far]
        ready = [far] if far.pending() else select.select(watched, [], [])[0]
        if far in ready:
            data = far.receive()
            if data is None:
                return
            if data:
                conn.sendall(data)
        if conn in ready:
            data = conn.recv(1 << 16)
            if data:
                far.send(data)
            else:
                reading_client = False
                far.end_input()


class Frames:
    """Docker's framed stream of a container's or an exec's output (8-byte headers: stream,
    3 zeros, length): the payload of `streams` (1 stdout, 2 stderr), passed on piece by piece
    as it arrives, whatever length a header claims (memory stays flat)."""

    def __init__(self, streams: tuple[int, ...] = (1,)) -> None:
        self.streams = streams
        self.header = b""
        self.remaining = 0
        self.kept = False

    def unpack(self, data: bytes) -> bytes:
        out, at = [], 0
        while at < len(data):
            if self.remaining:
                piece = data[at:at + self.remaining]
                if self.kept:
                    out.append(piece)
                self.remaining -= len(piece)
                at += len(piece)
                continue
            taken = data[at:at + 8 - len(self.header)]
            self.header += taken
            at += len(taken)
            if len(self.header) == 8:
                self.kept = self.header[0] in self.streams
                self.remaining = int.from_bytes(self.header[4:8], "big")
                self.header = b""
        return b"".join(out)
