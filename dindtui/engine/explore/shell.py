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
from typing import TYPE_CHECKING, Any, cast

from ..net import connect
from ..errors import DindtuiError
from ..tree import levels
from ..tree.levels import Level
from . import inside
from ..lazy import LazyModule

if TYPE_CHECKING:
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")

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


@dataclass(frozen=True)
class Target:
    """Where a shell or a command runs: one container, on the daemon that runs it."""

    client: object
    container: str
    label: str  # how messages name it: "level l1/l2", "container web in l1/l2"


def _container(level: Level) -> Target:
    if level.depth == 0:
        raise DindtuiError("level 0 is the engine itself, not a container: open a shell on "
                           "that machine instead")
    if level.state in levels.STOPPED or level.container_id is None:
        raise DindtuiError(f"level {level.path} is {level.state}: nothing runs in it "
                           "(`dindtui revive` starts it again)")
    if level.state == levels.PAUSED:
        raise DindtuiError(f"level {level.path} is paused: `docker unpause "
                           f"{level.container_name}` first")
    return Target(levels.parent_client(level), level.container_id, f"level {level.path}")


def container_target(level: Level, ref: str) -> Target:
    """A container running inside `level` (not the level's own container)."""
    client = inside.level_client(level)
    info = inside.resolve(level, ref, client)
    name = info["Name"].lstrip("/")
    state = (info.get("State") or {})
    if not state.get("Running") or state.get("Paused"):
        word = "paused" if state.get("Paused") else state.get("Status", "not running")
        raise DindtuiError(f"container {name} in {level.label} is {word}: nothing to shell "
                           "into" + (" (start it first)" if not state.get("Paused") else ""))
    return Target(client, info["Id"], f"container {name} in {level.label}")


def exec_in(level: Level, argv: list[str]) -> ExecResult:
    """Run `argv` inside the level's container; its output and exit status."""
    return exec_at(_container(level), argv)


def exec_at(target: Target, argv: list[str]) -> ExecResult:
    client = cast(Any, target.client)
    try:
        exec_id = client.api.exec_create(target.container, argv, stdout=True,
                                         stderr=True)["Id"]
        out, err = client.api.exec_start(exec_id, demux=True)
        code = client.api.exec_inspect(exec_id).get("ExitCode")
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"exec in {target.label} failed: "
                           f"{getattr(exc, 'explanation', None) or exc}") from None
    if code is None:
        code = 126
    return ExecResult(code, (out or b"").decode(errors="replace"),
                      (err or b"").decode(errors="replace"))


def login_shell(level: Level) -> str:
    return find_shell(_container(level))


def find_shell(target: Target) -> str:
    """The login shell, else bash, else sh; a clear error when the image has none."""
    try:
        result = exec_at(target, ["/bin/sh", "-c", FIND_SHELL])
    except DindtuiError as exc:
        if "executable file not found" in str(exc) or "no such file" in str(exc).lower():
            raise DindtuiError(f"no shell in {target.label}: its image has neither bash nor "
                               "sh") from None
        raise
    shell = result.stdout.strip().splitlines()[-1:] if result.exit_code == 0 else []
    if not shell:
        raise DindtuiError(f"no shell in {target.label}: its image has neither bash nor sh "
                           "(tried the login shell too)")
    return shell[0]


def interactive(level: Level, argv: list[str] | None = None, stdin: Any = None,
                stdout: Any = None) -> int:
    """Attach this process's standard streams to a shell (or `argv`) in the level; its exit
    status (see `interactive_at`)."""
    return interactive_at(_container(level), argv, stdin, stdout)


def container_shell(level: Level, ref: str, argv: list[str] | None = None,
                    stdin: Any = None, stdout: Any = None) -> int:
    """A shell (or `argv`) inside container `ref` of the level: bash, else sh."""
    return interactive_at(container_target(level, ref), argv, stdin, stdout)


def interactive_at(target: Target, argv: list[str] | None = None,
                   stdin: Any = None, stdout: Any = None) -> int:
    """Attach this process's standard streams to a shell (or `argv`) in the target; its exit
    status. On a terminal: a raw TTY with window-size changes forwarded. Otherwise (a pipe, a
    file): no TTY, the output streams kept apart, and the end of input passed on, so that
    `echo 'echo hi' | dindtui shell l1` ends."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    client, container = cast(Any, target.client), target.container
    argv = argv or [find_shell(target), "-l"]
    is_tty = os.isatty(stdin.fileno())
    environment = {"TERM": os.environ.get("TERM", "xterm")}
    try:
        exec_id = client.api.exec_create(container, argv, stdin=True, tty=is_tty,
                                         environment=environment)["Id"]
        conn = client.api.exec_start(exec_id, tty=is_tty, socket=True)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"shell in {target.label} failed: "
                           f"{getattr(exc, 'explanation', None) or exc}") from None
    sock = getattr(conn, "_sock", conn)

    def resize(*_: object) -> None:
        if not is_tty:
            return
        size = os.get_terminal_size(stdin.fileno())
        try:
            client.api.exec_resize(exec_id, height=size.lines, width=size.columns)
        except connect.API_ERRORS:
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
    return _exit_code(client, exec_id, target.label)


def _exit_code(client: DockerClient, exec_id: str, label: str, timeout: float = 10) -> int:
    """The exec's own exit status, waited for (the stream may end a moment before the daemon
    records it); an error, never a made-up status, when it cannot be had."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = client.api.exec_inspect(exec_id)
        except connect.API_ERRORS as exc:
            raise DindtuiError(f"the shell in {label} ended, but its exit status could "
                               f"not be read: {exc}") from None
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        if time.monotonic() > deadline:
            raise DindtuiError(f"the shell in {label} ended, but the daemon reported no "
                               f"exit status within {timeout:.0f}s")
        time.sleep(0.05)


def _write_all(fd: int, data: bytes) -> None:
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


def _pump(sock: socket.socket, in_fd: int, output: "_Raw | _Demux") -> None:
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
