"""Shells and commands inside a level, through the Docker API alone (no docker CLI needed):
an interactive shell with a raw TTY and window-size changes forwarded, and a plain exec."""

from __future__ import annotations

import os
import select
import signal
import sys
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
    if level.state == levels.DEAD:
        raise DindtuiError(f"level {level.path} is dead: nothing runs in it")
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
    """Attach the current terminal to a shell (or `argv`) in the level; its exit status."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    client, container = _container(level)
    argv = argv or [login_shell(level), "-l"]
    is_tty = os.isatty(stdin.fileno())
    environment = {"TERM": os.environ.get("TERM", "xterm")}
    try:
        exec_id = client.api.exec_create(container, argv, stdin=True, tty=True,
                                         environment=environment)["Id"]
        conn = client.api.exec_start(exec_id, tty=True, socket=True)
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
        _pump(sock, stdin.fileno(), stdout.fileno())
    finally:
        signal.signal(signal.SIGWINCH, previous_winch)
        if saved is not None:
            import termios
            termios.tcsetattr(stdin.fileno(), termios.TCSADRAIN, saved)
        try:
            sock.close()
        except OSError:
            pass
    try:
        code = client.api.exec_inspect(exec_id).get("ExitCode")
    except API_ERRORS:
        code = None
    return 0 if code is None else code


def _pump(sock, in_fd: int, out_fd: int) -> None:
    """Copy the terminal to the exec socket and back until the exec ends."""
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
            view = memoryview(data)
            while view:
                view = view[os.write(out_fd, view):]
        if reading_input and in_fd in ready:
            data = os.read(in_fd, 65536)
            if not data:
                reading_input = False
                continue
            try:
                sock.sendall(data)
            except OSError:
                return
