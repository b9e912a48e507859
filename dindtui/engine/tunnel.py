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
import select
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
        """An exec of dial-stdio in the level's container: (its socket, bytes already read
        past the HTTP answer, what must be closed with it)."""
        api = connect.client(self.parent_endpoint, check=False).api
        exec_id = api.exec_create(self.container_id, DIAL, stdin=True, stdout=True,
                                  stderr=False, tty=False)["Id"]
        if self.parent_endpoint.startswith("unix://"):
            return _start_on_unix(self.parent_endpoint[len("unix://"):], api._version,
                                  exec_id)
        # TLS or SSH: the SDK's own hijack. Its HTTP response hangs on the object it returns
        # and must live as long as the socket (collected, it closes the connection), and be
        # closed with it (else its pool may hand the dead connection out again).
        hijacked = api.exec_start(exec_id, socket=True, tty=False)
        return getattr(hijacked, "_sock", hijacked), b"", hijacked

    def _carry(self, conn: socket.socket) -> None:
        try:
            upstream, early, keep = self._open()
        except ERRORS:
            conn.close()  # the client sees a closed connection: the daemon does not answer
            return
        try:
            _pump(conn, upstream, early)
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


def _pump(conn: socket.socket, upstream, early: bytes) -> None:
    """Carry bytes both ways in one thread until the exec's stream ends. One thread, because a
    TLS socket must never be read and written by two threads at once (OpenSSL's state is not
    shared safely). Docker frames the exec's output (8-byte headers): only stdout's payload
    goes to the client."""
    frames = bytearray(early)
    tls = hasattr(upstream, "pending")
    reading_client = True
    while True:
        while len(frames) >= 8 and len(frames) >= 8 + int.from_bytes(frames[4:8], "big"):
            size = int.from_bytes(frames[4:8], "big")
            if frames[0] == 1:
                conn.sendall(frames[8:8 + size])
            del frames[:8 + size]
        if tls and upstream.pending():
            ready = [upstream]
        else:
            ready = select.select([conn, upstream] if reading_client else [upstream], [],
                                  [])[0]
        if upstream in ready:
            data = upstream.recv(1 << 16)
            if not data:
                return
            frames += data
        if conn in ready:
            data = conn.recv(1 << 16)
            if data:
                upstream.sendall(data)
            else:
                reading_client = False
                if not tls:
                    upstream.shutdown(socket.SHUT_WR)  # dial-stdio sees the end of input


def _start_on_unix(path: str, api_version: str, exec_id: str):
    """POST /exec/ID/start with an upgrade, on a connection of its own (never one of the SDK's
    pooled ones): (socket, bytes read past the answer's headers, None)."""
    body = b'{"Detach": false, "Tty": false}'
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(connect.API_TIMEOUT)
        sock.connect(path)
        sock.sendall(f"POST /v{api_version}/exec/{exec_id}/start HTTP/1.1\r\nHost: docker\r\n"
                     "Content-Type: application/json\r\nConnection: Upgrade\r\n"
                     f"Upgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise OSError("the daemon closed the connection before it answered")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" " and b" 200 " not in status + b" ":
            raise OSError(f"exec start answered {status.decode(errors='replace')}")
        sock.settimeout(None)
        return sock, rest, None
    except BaseException:
        sock.close()
        raise
