"""PID 1's loop: child processes started, reaped and stopped; signals waited for."""

from __future__ import annotations

import os
import signal
import socket
import time

from . import api
from .common import FORWARDED_SIGNALS


def spawn(argv: list[str], stdout_path: str | None = None, env: dict[str, str] | None = None,
          session: bool = False) -> int:
    """Start a child with a clean signal mask (ours blocks the signals we wait for); `session`
    puts it in a session of its own, out of reach of the terminal's ^C and ^Z."""
    actions = []
    if stdout_path:
        actions = [(os.POSIX_SPAWN_OPEN, 1, stdout_path,
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
    return os.posix_spawnp(argv[0], argv, env if env is not None else os.environ,
                           file_actions=actions, setsigmask=(), setsigdef=FORWARDED_SIGNALS,
                           setsid=session)


def ping(path: str = "/var/run/docker.sock", timeout: float = 1.0) -> bool:
    try:
        return api.request("GET", "/_ping", timeout, path)[0] == 200
    except api.ApiError:
        return False


def tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, errors="replace") as handle:
            return " | ".join(line.strip() for line in handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


class Supervisor:
    """PID 1's loop: reaps every child, forwards signals, remembers the children it cares about."""

    def __init__(self) -> None:
        self.status: dict[int, int] = {}
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD, *FORWARDED_SIGNALS})

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.status[pid] = os.waitstatus_to_exitcode(status)

    def wait(self, timeout: float) -> signal.struct_siginfo | None:
        """Wait for a signal up to `timeout` seconds; reap; return a signal to act on, if any."""
        info = signal.sigtimedwait({signal.SIGCHLD, *FORWARDED_SIGNALS}, max(timeout, 0.01))
        self.reap()
        if info is None or info.si_signo == signal.SIGCHLD:
            return None
        return info

    def alive(self, pid: int) -> bool:
        return pid not in self.status

    def stop(self, pid: int, grace: float, sig: int = signal.SIGTERM) -> None:
        if not self.alive(pid):
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while self.alive(pid) and time.monotonic() < deadline:
            self.wait(deadline - time.monotonic())
        if self.alive(pid):
            os.kill(pid, signal.SIGKILL)
            while self.alive(pid):
                self.wait(1)


class Stopping(Exception):
    """SIGTERM/SIGINT/SIGQUIT arrived while the init was busy (starting or restarting)."""

    def __init__(self, signo: int):
        super().__init__(signo)
        self.signo = signo


def connects(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(path)
            return True
    except OSError:
        return False
