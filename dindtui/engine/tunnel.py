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
import os
import select
import socket
import threading

import docker.errors
import requests.exceptions

from . import connect

DIAL = ["docker", "system", "dial-stdio"]
ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)

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
            name = hashlib.sha1(" ".join(key).encode()).hexdigest()[:16]
            tunnel = Tunnel(level0, top_container, directory,
                            os.path.join(connect.private_directory(), name + ".sock"))
            _tunnels[key] = tunnel
    return tunnel.path


class Tunnel:
    def __init__(self, level0: str, container_id: str, directory: str, path: str):
        self.level0, self.container_id, self.directory = level0, container_id, directory
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        os.chmod(path, 0o600)
        self.server.listen(64)
        threading.Thread(target=self._accept, daemon=True, name="tunnel").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._carry, args=(conn,), daemon=True,
                             name="tunnel-conn").start()

    def _open(self):
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
        except ERRORS:
            conn.close()  # the client sees a closed connection: the daemon does not answer
            return
        try:
            _pump(conn, upstream)
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


def _pump(conn: socket.socket, upstream) -> None:
    """Carry bytes both ways in one thread until the exec's stream ends. One thread, because a
    TLS socket must never be read and written by two threads at once (OpenSSL's state is not
    shared safely). Docker frames the exec's output (8-byte headers): only stdout's payload
    goes to the client."""
    frames = bytearray()
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
