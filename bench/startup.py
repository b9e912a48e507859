"""Start as a user feels it: a TUI started in a terminal of its own (a pty, 140x40), from the
process's start to the first frame that shows a given name (a level's, or its container's in a
peer), then its memory (RSS of the process and its children) and its idle CPU. Used by
bench/tui.py for dindtui and, in the same run, for the peers (lazydocker, dtop) when a venv
holding them is given.

Usage (alone): python bench/startup.py NAME -- COMMAND...   (NAME: what must appear on screen)
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from dataclasses import dataclass

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Started:
    start_ms: float      # process start to the name on screen
    rss_mb: float        # memory then (the process and its children)
    rss_idle_mb: float   # after the idle period
    idle_cpu_pct: float  # CPU over the idle period, % of one core


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e6


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            # its own, and that of its children it waited for (a helper that ended within
            # the window: without it, the sum fell when it ended)
            total += sum(int(x) for x in fields[11:15])
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


def measure(command: list[str], name: str, idle: float = 10, timeout: float = 30,
            env: dict[str, str] | None = None, size: tuple[int, int] = (140, 40)) -> Started:
    """Start `command` in a pty; wait until `name` is on its screen (escape sequences
    removed); then its memory, and its CPU over `idle` seconds while its output is drained."""
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env or {})
        os.environ["TERM"] = "xterm-256color"
        os.execvp(command[0], command)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    seen = b""
    wanted = name.encode()
    try:
        while True:
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{command[0]}: {name!r} not on screen within {timeout:.0f}s; "
                                 f"it showed: {ANSI.sub(b'', seen)[-300:]!r}")
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError:
                    raise SystemExit(f"{command[0]} ended before {name!r} was on screen: "
                                     f"{ANSI.sub(b'', seen)[-300:]!r}") from None
                seen += chunk
                if wanted in ANSI.sub(b"", seen[-200_000:]):
                    break
        shown = (time.monotonic() - started) * 1000
        pids = _tree(pid)
        rss = _rss_mb(pids)
        until = time.monotonic() + 2  # settling: what the first seconds load is not idling
        cpu_before = 0.0
        measuring = False
        while True:
            now = time.monotonic()
            if not measuring and now >= until:
                measuring, cpu_before, begun = True, _cpu_seconds(_tree(pid)), now
                until = now + idle
            elif measuring and now >= until:
                break
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    os.read(fd, 1 << 16)
                except OSError:
                    break
        pids = _tree(pid)
        cpu = (_cpu_seconds(pids) - cpu_before) / (time.monotonic() - begun) * 100
        return Started(shown, rss, _rss_mb(pids), cpu)
    finally:
        for target in reversed(_tree(pid)):
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
        os.close(fd)


if __name__ == "__main__":
    if len(sys.argv) < 4 or "--" not in sys.argv:
        raise SystemExit(__doc__)
    result = measure(sys.argv[sys.argv.index("--") + 1:], sys.argv[1])
    print(result)
