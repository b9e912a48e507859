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
import socket
import subprocess
import threading
from urllib.parse import urlsplit

from .served import Listener, private_directory, pump

MUX_LIMIT = 8   # sessions at once over the shared connection (sshd's MaxSessions is 10)
_proxies: dict[str, str] = {}
_lock = threading.Lock()


class _Mux:
    """One SSH connection shared by the short-lived ones (OpenSSH's ControlMaster): a new
    connection costs a channel, not a handshake. At most MUX_LIMIT at once use it, the others
    get their own connection; a server that refuses shared sessions turns it off."""

    def __init__(self, argv: list[str], control_path: str):
        self.argv, self.control_path = argv, control_path
        self.active, self.broken, self.used = 0, False, False
        self.lock = threading.Lock()

    def take(self) -> list[str]:
        with self.lock:
            if self.broken or self.active >= MUX_LIMIT:
                return _with_options(self.argv, ["-o", "ControlPath=none"])
            self.active += 1
            self.used = True
        return _with_options(self.argv, ["-o", "ControlMaster=auto", "-o",
                                         f"ControlPath={self.control_path}", "-o",
                                         "ControlPersist=30"])

    def give_back(self, argv: list[str], refused: bool) -> None:
        if "ControlMaster=auto" not in argv:
            return
        with self.lock:
            self.active -= 1
            self.broken = self.broken or refused

    def close(self) -> None:
        """Stop the shared connection, so that nothing of dindtui's outlives it."""
        if self.used:
            subprocess.run(_with_options(self.argv[:self.argv.index("--") + 2],
                                         ["-o", f"ControlPath={self.control_path}", "-O",
                                          "exit"]),
                           capture_output=True, timeout=5, check=False)


def _with_options(argv: list[str], options: list[str]) -> list[str]:
    split = argv.index("--")
    return argv[:split] + options + argv[split:]


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
            name = "ssh-" + hashlib.sha1(endpoint.encode()).hexdigest()[:16]
            mux = _Mux(ssh_argv(endpoint), os.path.join(private_directory(), name + ".cm"))
            atexit.register(mux.close)   # registered after the directory's removal: runs first
            path = Listener(name, lambda conn: _carry(conn, mux), "ssh-proxy").path
            _proxies[endpoint] = path
    return path


class ProcessEnd:
    """The far end of a proxied connection: an `ssh ... docker system dial-stdio` process."""

    def __init__(self, process: "subprocess.Popen[bytes]") -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process, self.out, self.into = process, process.stdout.fileno(), \
            process.stdin.fileno()
        self.answered = False

    def fileno(self) -> int:
        return self.out

    def pending(self) -> bool:
        return False

    def receive(self) -> bytes | None:
        data = os.read(self.out, 1 << 16)
        self.answered = self.answered or bool(data)
        return data or None

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.into, view):]

    def end_input(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # dial-stdio sees the end of input


def _carry(conn: socket.socket, mux: _Mux) -> None:
    argv = mux.take()
    try:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        mux.give_back(argv, False)
        conn.close()  # no ssh here: the client sees the connection closed
        return
    far = ProcessEnd(process)
    try:
        pump(conn, far)
    except OSError:
        pass
    finally:
        conn.close()
        for stream in (process.stdin, process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
        # ssh's own failure (255) before a byte came back: a server refusing shared sessions.
        mux.give_back(argv, not far.answered and process.returncode == 255)
