"""Shells and commands inside a level, through the Docker API alone (no docker CLI needed):
an interactive shell with a raw TTY and window-size changes forwarded, and a plain exec."""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass


from . import levels
from .errors import DindtuiError
from .images import API_ERRORS
from .levels import Level

# The login shell from /etc/passwd when it exists, else bash, else sh; printed, not run.
FIND_SHELL = r"""
s=$(while IFS=: read -r u x uid g c h sh; do
      [ "$uid" = "$(id -u 2>/dev/null || echo 0)" ] && { echo "$sh"; break; }; done < /etc/passwd)
for c in "$s" /bin/bash /usr/bin/bash /bin/sh; do
  case "$c" in ''|*nologin|*false) continue;; esac
  [ -x "$c" ] && { echo "$c"; exit 0; }
done
exit 1
"""


@dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def _container(level: Level):
    if level.depth == 0:
        raise DindtuiError("level 0 is the engine itself, not a container: open a shell on "
                           "that machine instead")
    if level.state in levels.STOPPED or level.container_id is None:
        raise DindtuiError(f"level {level.path} is {level.state}: nothing runs in it "
                           "(`dindtui revive` starts it again)")
    if level.state == levels.PAUSED:
        raise DindtuiError(f"level {level.path} is paused: `docker unpause "
                           f"{level.container_name}` first")
    return levels.parent_client(level), level.container_id


def exec_in(level: Level, argv: list[str]) -> ExecResult:
    """Run `argv` inside the level's container; its output and exit status."""
    client, container = _container(level)
    try:
        exec_id = client.api.exec_create(container, argv, stdout=True, stderr=True)["Id"]
        out, err = client.api.exec_start(exec_id, demux=True)
        code = client.api.exec_inspect(exec_id).get("ExitCode")
    except API_ERRORS as exc:
        raise DindtuiError(f"exec in {level.path} failed: "
                           f"{getattr(exc, 'explanation', None) or exc}") from None
    if code is None:
        code = 126
    return ExecResult(code, (out or b"").decode(errors="replace"),
                      (err or b"").decode(errors="replace"))


def login_shell(level: Level) -> str:
    result = exec_in(level, ["/bin/sh", "-c", FIND_SHELL])
    shell = result.stdout.strip().splitlines()[-1:] if result.exit_code == 0 else []
    if not shell:
        raise DindtuiError(f"no shell found in level {level.path} (tried the login shell, "
                           "bash and sh)")
    return shell[0]


def interactive(level: Level, argv: list[str] | None = None, stdin=None, stdout=None) -> int:
    """Attach this process's standard streams to a shell (or `argv`) in the level; its exit
    status. On a terminal: a raw TTY with window-size changes forwarded. Otherwise (a pipe, a
    file): no TTY, the output streams kept apart, and the end of input passed on, so that
    `echo 'echo hi' | dindtui shell l1` ends."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    client, container = _container(level)
    argv = argv or [login_shell(level), "-l"]
    is_tty = os.isatty(stdin.fileno())
    environment = {"TERM": os.environ.get("TERM", "xterm")}
    try:
        exec_id = client.api.exec_create(container, argv, stdin=True, tty=is_tty,
                                         environment=environment)["Id"]
        conn = client.api.exec_start(exec_id, tty=is_tty, socket=True)
    except API_ERRORS as exc:
        raise DindtuiError(f"shell in {level.path} failed: "
                           f"{getattr(exc, 'explanation', None) or exc}") from None
    sock = getattr(conn, "_sock", conn)

    def resize(*_):
        if not is_tty:
            return
        size = os.get_terminal_size(stdin.fileno())
        try:
            client.api.exec_resize(exec_id, height=size.lines, width=size.columns)
        except API_ERRORS:
            pass

    previous_winch = signal.getsignal(signal.SIGWINCH)
    saved = None
    if is_tty:
        import termios
        import tty
        saved = termios.tcgetattr(stdin.fileno())
        tty.setraw(stdin.fileno())
    try:
        signal.signal(signal.SIGWINCH, resize)
        resize()
        output = _Raw(stdout.fileno()) if is_tty else _Demux(stdout.fileno(), sys.stderr.fileno())
        _pump(sock, stdin.fileno(), output)
    finally:
        signal.signal(signal.SIGWINCH, previous_winch)
        if saved is not None:
            import termios
            termios.tcsetattr(stdin.fileno(), termios.TCSADRAIN, saved)
        try:
            sock.close()
        except OSError:
            pass
    return _exit_code(client, exec_id, level)


def _exit_code(client, exec_id: str, level: Level, timeout: float = 10) -> int:
    """The exec's own exit status, waited for (the stream may end a moment before the daemon
    records it); an error, never a made-up status, when it cannot be had."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = client.api.exec_inspect(exec_id)
        except API_ERRORS as exc:
            raise DindtuiError(f"the shell in {level.path} ended, but its exit status could "
                               f"not be read: {exc}") from None
        if not info.get("Running") and info.get("ExitCode") is not None:
            return info["ExitCode"]
        if time.monotonic() > deadline:
            raise DindtuiError(f"the shell in {level.path} ended, but the daemon reported no "
                               f"exit status within {timeout:.0f}s")
        time.sleep(0.05)


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _Raw:
    """A TTY exec's output: one stream, as it comes."""

    def __init__(self, fd: int):
        self.fd = fd

    def feed(self, data: bytes) -> None:
        _write_all(self.fd, data)


class _Demux:
    """A non-TTY exec's output: frames of an 8-byte header (stream, 0, 0, 0, length) and data,
    written to our stdout or stderr."""

    def __init__(self, out_fd: int, err_fd: int):
        self.fds = {1: out_fd, 2: err_fd}
        self.buffer = b""

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 8:
            stream, length = self.buffer[0], int.from_bytes(self.buffer[4:8], "big")
            if len(self.buffer) < 8 + length:
                return
            _write_all(self.fds.get(stream, self.fds[1]), self.buffer[8:8 + length])
            self.buffer = self.buffer[8 + length:]


def _pump(sock, in_fd: int, output) -> None:
    """Copy our input to the exec socket and its output back until the exec ends; at the end
    of our input, half-close the socket so the command sees its end of input too."""
    reading_input = True
    while True:
        watched = [sock] + ([in_fd] if reading_input else [])
        try:
            ready, _, _ = select.select(watched, [], [])
        except InterruptedError:
            continue
        if sock in ready:
            try:
                data = sock.recv(65536)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return
            output.feed(data)
        if reading_input and in_fd in ready:
            data = os.read(in_fd, 65536)
            if not data:
                reading_input = False
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            try:
                sock.sendall(data)
            except OSError:
                return
