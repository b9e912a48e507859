"""Level 0 over SSH (`DOCKER_HOST=ssh://[user@]host[:port]`), the way the docker CLI does it:
every connection runs `ssh ... -- host docker system dial-stdio` and carries the bytes of one
HTTP connection through its standard input and output. The user's own ssh (its config, keys,
agent, known hosts, ProxyJump, ControlMaster) does the rest; the other machine needs the docker
CLI. dindtui serves this as a unix socket of its own process, so that everything above (the
SDK, the bare HTTP readers, the tunnels to deeper levels, a docker CLI started for a shell)
talks to an ordinary socket. Standard library only: the docker SDK's own SSH support needs
paramiko and reads a subprocess in a way that stalls streams."""

from __future__ import annotations

import atexit
import hashlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
from urllib.parse import urlsplit

_proxies: dict[str, str] = {}
_lock = threading.Lock()
_directory: list[str] = []


def ssh_argv(endpoint: str) -> list[str]:
    """`ssh` for an ssh:// endpoint, as the docker CLI builds it."""
    parts = urlsplit(endpoint)
    if not parts.hostname:
        raise ValueError(f"no host in {endpoint!r}")
    argv = ["ssh", "-o", "ConnectTimeout=20"]
    if parts.username:
        argv += ["-l", parts.username]
    if parts.port:
        argv += ["-p", str(parts.port)]
    return argv + ["--", parts.hostname, "docker", "system", "dial-stdio"]


def socket_for(endpoint: str) -> str:
    """The local unix socket standing for the ssh:// engine `endpoint` (made on first use)."""
    with _lock:
        path = _proxies.get(endpoint)
        if path is None:
            if not _directory:
                _directory.append(tempfile.mkdtemp(prefix="dindtui-ssh-"))   # 0700
                atexit.register(shutil.rmtree, _directory[0], True)
            name = hashlib.sha1(endpoint.encode()).hexdigest()[:16] + ".sock"
            path = os.path.join(_directory[0], name)
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(path)
            os.chmod(path, 0o600)
            server.listen(64)
            argv = ssh_argv(endpoint)
            threading.Thread(target=_accept, args=(server, argv), daemon=True,
                             name="ssh-proxy").start()
            _proxies[endpoint] = path
    return path


def _accept(server: socket.socket, argv: list[str]) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        threading.Thread(target=_carry, args=(conn, argv), daemon=True,
                         name="ssh-conn").start()


def _carry(conn: socket.socket, argv: list[str]) -> None:
    try:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        conn.close()  # no ssh here: the client sees the connection closed
        return
    assert process.stdin is not None and process.stdout is not None
    out, into = process.stdout.fileno(), process.stdin.fileno()
    client = conn.fileno()
    reading_client = True
    try:
        while True:
            ready = select.select([client, out] if reading_client else [out], [], [])[0]
            if out in ready:
                data = os.read(out, 1 << 16)
                if not data:
                    return
                conn.sendall(data)
            if client in ready:
                data = conn.recv(1 << 16)
                if data:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(into, view):]
                else:
                    reading_client = False
                    process.stdin.close()  # dial-stdio sees the end of input
    except OSError:
        pass
    finally:
        conn.close()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
