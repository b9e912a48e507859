"""Tunnels to the levels of a remote level 0.

When level 0 is reached over TCP or SSH, the socket tree is a directory on the other machine:
nothing here can open it. Each level is then reached through its parent's API instead. A tunnel
is a unix socket in a private directory of this process; every connection made to it becomes an
exec of `docker system dial-stdio` in the level's container (the docker CLI is in the level
image), started through the parent's own endpoint, which for a level deeper than 1 is the
parent's tunnel. The exec's input is the connection's bytes; its output, multiplexed by Docker
into frames, is unpacked back into a plain byte stream. Everything above (the SDK, the bare
HTTP readers, the docker CLI started for a shell) sees an ordinary daemon socket.

The tunnels live as long as this process: they serve it and the commands it starts."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import socket
import tempfile
import threading

import docker.errors
import requests.exceptions

from . import connect

DIAL = ["docker", "system", "dial-stdio"]
ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)

_tunnels: dict[tuple[str, str], Tunnel] = {}
_lock = threading.Lock()
_directory: list[str] = []


def remote() -> bool:
    """Level 0 is not a unix socket of this machine: its socket tree is out of reach."""
    return not connect.level0_endpoint().startswith("unix://")


def _private_directory() -> str:
    if not _directory:
        _directory.append(tempfile.mkdtemp(prefix="dindtui-t-"))   # 0700
        atexit.register(shutil.rmtree, _directory[0], True)
    return _directory[0]


def socket_for(parent_endpoint: str, container_id: str) -> str:
    """The path of the tunnel to the daemon inside `container_id`, a container of the daemon at
    `parent_endpoint`; made on first use."""
    key = (parent_endpoint, container_id)
    with _lock:
        tunnel = _tunnels.get(key)
        if tunnel is None:
            name = hashlib.sha1(f"{parent_endpoint} {container_id}".encode()).hexdigest()[:16]
            tunnel = Tunnel(parent_endpoint, container_id,
                            os.path.join(_private_directory(), name + ".sock"))
            _tunnels[key] = tunnel
    return tunnel.path


def close_all() -> None:
    with _lock:
        tunnels = list(_tunnels.values())
        _tunnels.clear()
    for tunnel in tunnels:
        tunnel.close()


class Tunnel:
    def __init__(self, parent_endpoint: str, container_id: str, path: str):
        self.parent_endpoint, self.container_id, self.path = parent_endpoint, container_id, path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        os.chmod(path, 0o600)
        self.server.listen(64)
        threading.Thread(target=self._accept, daemon=True, name="tunnel").start()

    def close(self) -> None:
        try:
            self.server.close()
            os.unlink(self.path)
        except OSError:
            pass

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._carry, args=(conn,), daemon=True,
                             name="tunnel-conn").start()

    def _open(self):
        """An exec of dial-stdio in the level's container, its hijacked socket."""
        api = connect.client(self.parent_endpoint, check=False).api
        exec_id = api.exec_create(self.container_id, DIAL, stdin=True, stdout=True,
                                  stderr=False, tty=False)["Id"]
        hijacked = api.exec_start(exec_id, socket=True, tty=False)
        return getattr(hijacked, "_sock", hijacked)

    def _carry(self, conn: socket.socket) -> None:
        try:
            upstream = self._open()
        except ERRORS:
            conn.close()  # the client sees a closed connection: the daemon does not answer
            return

        def send_up() -> None:
            try:
                while data := conn.recv(1 << 16):
                    upstream.sendall(data)
                if isinstance(upstream, socket.socket) and not hasattr(upstream, "context"):
                    upstream.shutdown(socket.SHUT_WR)  # dial-stdio sees the end of input
            except OSError:
                pass

        threading.Thread(target=send_up, daemon=True, name="tunnel-up").start()
        try:
            while header := _read_exactly(upstream, 8):
                payload = _read_exactly(upstream, int.from_bytes(header[4:8], "big"))
                if payload is None:
                    break
                if header[0] == 1:  # stdout: the daemon's bytes
                    conn.sendall(payload)
        except OSError:
            pass
        finally:
            for end in (conn, upstream):
                try:
                    end.close()
                except OSError:
                    pass


def _read_exactly(sock, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 16))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
