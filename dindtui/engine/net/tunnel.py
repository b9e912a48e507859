"""Tunnels to the levels of a remote level 0.

When level 0 is reached over TCP or SSH, the socket tree is a directory on the other machine:
nothing here can open it. But each depth-1 level has the socket tree of its whole subtree under
its own /run/dindtui (a child's socket directory is bound inside its parent's). So any level
is one exec away: a tunnel is a unix socket in a private directory of this process, and every
connection made to it becomes an exec, through level 0's own API, of `docker system
dial-stdio` in the depth-1 level above it (the docker CLI is in the level image), working in
the level's socket directory there and dialing `docker.sock` relatively (a deep path would
not fit in a socket address). The exec's input is the connection's bytes; its output, framed
by Docker, is unpacked back into a plain byte stream. Everything above (the SDK, the bare HTTP
readers, the docker CLI started for a shell) sees an ordinary daemon socket.

The tunnels live as long as this process: they serve it and the commands it starts."""

from __future__ import annotations

import hashlib
import socket
import threading
from typing import Any

from . import connect
from .served import Frames, Listener, pump

DIAL = ["docker", "system", "dial-stdio"]

_tunnels: dict[tuple[str, str, str], Tunnel] = {}
_lock = threading.Lock()


def socket_for(level0: str, top_container: str, directory: str) -> str:
    """The path of the tunnel to a level: `level0` is the endpoint of its tree's level 0,
    `top_container` the container of its depth-1 ancestor (or its own, at depth 1),
    `directory` the level's socket directory as that container sees it. Made on first use."""
    key = (level0, top_container, directory)
    with _lock:
        tunnel = _tunnels.get(key)
        if tunnel is None:
            tunnel = Tunnel(level0, top_container, directory,
                            hashlib.sha1(" ".join(key).encode()).hexdigest()[:16])
            _tunnels[key] = tunnel
    return tunnel.listener.path


class Tunnel:
    def __init__(self, level0: str, container_id: str, directory: str, name: str):
        self.level0, self.container_id, self.directory = level0, container_id, directory
        self.listener = Listener(name, self._carry, "tunnel")

    def _open(self) -> tuple[Any, Any]:
        """An exec of dial-stdio in the depth-1 level's container: (its socket, the SDK's
        object for it). The second hangs the HTTP response, which must live as long as the
        socket (collected, it closes the connection) and be closed with it (else the SDK's
        pool may hand the dead connection out again)."""
        api = connect.client(self.level0, check=False).api
        exec_id = api.exec_create(self.container_id, DIAL, stdin=True, stdout=True,
                                  stderr=False, tty=False, workdir=self.directory,
                                  environment={"DOCKER_HOST": "unix://docker.sock"})["Id"]
        hijacked = api.exec_start(exec_id, socket=True, tty=False)
        return getattr(hijacked, "_sock", hijacked), hijacked

    def _carry(self, conn: socket.socket) -> None:
        try:
            upstream, keep = self._open()
        except (*connect.SDK_ERRORS, OSError):
            conn.close()  # the client sees a closed connection: the daemon does not answer
            return
        try:
            pump(conn, ExecEnd(upstream))
        except OSError:
            pass
        finally:
            response = getattr(keep, "_response", None)
            if response is not None:
                response.close()
            for end in (conn, upstream):
                try:
                    end.close()
                except OSError:
                    pass


class ExecEnd:
    """The far end of a tunnel: an exec's hijacked socket (TLS on a TLS engine), its output
    framed by Docker, stdout's payload alone going to the client."""

    def __init__(self, upstream: Any) -> None:
        self.upstream = upstream
        self.tls = hasattr(upstream, "pending")
        self.frames = Frames()

    def fileno(self) -> int:
        return int(self.upstream.fileno())

    def pending(self) -> bool:
        return self.tls and bool(self.upstream.pending())

    def receive(self) -> bytes | None:
        data = self.upstream.recv(1 << 16)
        return self.frames.unpack(data) if data else None

    def send(self, data: bytes) -> None:
        self.upstream.sendall(data)

    def end_input(self) -> None:
        if not self.tls:
            self.upstream.shutdown(socket.SHUT_WR)  # dial-stdio sees the end of input
