"""A soak: a realistic session on a tree of 20 levels, with the TUI open the whole time (the real
`dindtui`, in a terminal of its own), for 30 minutes (--minutes for less). At random, one
action every second or two: spawns and exits (of levels the soak spawned), revives, container
runs, log views, `ls`, `ps`, and faults: a level's dockerd killed inside it (its init starts it
again), a level's container killed (revived later). What the "user" made at the start (the 20
levels, and in some of them a container writing into a named volume) must all be there at the
end; every level must answer; the TUI's memory, threads and open files, and the host's cgroups
must be flat (printed at start, middle and end). Before the end's figures the levels the soak
spawned are exited, so that the start and the end are measured on a tree of the same size.
Ends with: RESULT minutes=N levels_start=N levels_end=N actions=N faults=N lost=N
rss_mb_start=N rss_mb_end=N
threads_start=N threads_end=N fds_start=N fds_end=N cgroups_start=N cgroups_end=N

Usage: python bench/soak.py [--minutes 30] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import time

# A namespace of its own: the soak sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "soak-" + secrets.token_hex(3))

MAKE_TINY = r"""docker image inspect tiny >/dev/null 2>&1 || {
d=$(mktemp -d); mkdir -p $d/bin $d/lib/x86_64-linux-gnu $d/lib64
cp /usr/bin/sleep $d/bin/ && cp /lib/x86_64-linux-gnu/libc.so.6 $d/lib/x86_64-linux-gnu/ &&
cp /lib64/ld-linux-x86-64.so.2 $d/lib64/ && tar -C $d -c . | docker import - tiny >/dev/null; }
"""


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dindtui", *args], capture_output=True,
                          text=True, timeout=timeout)


def tree() -> dict:
    done = cli("ls", "--json")
    if done.returncode != 0:
        raise SystemExit(f"ls failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def walk(node: dict):
    for child in node["children"]:
        yield child
        yield from walk(child)


def host_cgroups() -> int:
    """Directories under the host's docker cgroups (a leak shows as growth)."""
    count = 0
    for top in ("/sys/fs/cgroup/memory/docker", "/sys/fs/cgroup/system.slice"):
        for _, dirs, _ in os.walk(top):
            count += len(dirs)
    return count


class TUI:
    """The real dindtui in a pty, its output drained in the background."""

    def __init__(self) -> None:
        import pty
        import threading
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm-256color"
            os.execvp(sys.executable, [sys.executable, "-m", "dindtui", "--no-animation"])
        import fcntl
        import struct
        import termios
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
        self.alive = True
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while self.alive:
            try:
                if not os.read(self.fd, 1 << 16):
                    break
            except OSError:
                break

    def figures(self) -> tuple[float, int, int]:
        """RSS (MB), threads, open files of the TUI's process."""
        status = open(f"/proc/{self.pid}/status").read()
        rss = int(next(line.split()[1] for line in status.splitlines()
                       if line.startswith("VmRSS:"))) / 1000
        threads = int(next(line.split()[1] for line in status.splitlines()
                           if line.startswith("Threads:")))
        return rss, threads, len(os.listdir(f"/proc/{self.pid}/fd"))

    def close(self) -> None:
        self.alive = False
        try:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print("building the user's tree: 5 levels at depth 1, 3 below each…", flush=True)
    made = cli("spawn", "--count", "5", "--name", "u")
    assert made.returncode == 0, made.stderr
    for n in range(1, 6):
        below = cli("spawn", f"u-{n}", "--count", "3", "--name", f"u{n}")
        assert below.returncode == 0, below.stderr
    user = {level["path"] for level in walk(tree())}
    precious = sorted(user)[::4]  # a container writing into a named volume in some of them
    for path in precious:
        ran = cli("exec", path, "--", "sh", "-c", MAKE_TINY + "docker volume create keep "
                  ">/dev/null && docker run -d --name keeper -v keep:/data tiny /bin/sleep "
                  "100000 >/dev/null")
        assert ran.returncode == 0, ran.stdout + ran.stderr
    tui = TUI()
    time.sleep(5)
    def levels_now() -> int:
        return sum(1 for _ in walk(tree()))

    figures = {"start": (*tui.figures(), host_cgroups(), levels_now())}
    print(f"start: {figures['start'][4]} levels; TUI rss {figures['start'][0]:.0f} MB, "
          f"{figures['start'][1]} threads, {figures['start'][2]} open files; host cgroups "
          f"{figures['start'][3]}", flush=True)
    actions = faults = 0
    spawned: list[str] = []
    killed: list[str] = []
    counter = 0
    started = time.monotonic()
    middle_done = False
    try:
        while time.monotonic() - started < args.minutes * 60:
            if not middle_done and time.monotonic() - started > args.minutes * 30:
                figures["middle"] = (*tui.figures(), host_cgroups(), levels_now())
                middle_done = True
            ready = [lv["path"] for lv in walk(tree()) if lv["state"] == "ready"
                     and lv["depth"] < 3]
            choice = rng.choice(["spawn", "exit", "run", "logs", "ls", "ps", "dockerd",
                                 "kill", "revive"])
            counter += 1
            if choice == "spawn" and ready and len(spawned) < 12:
                name = f"s{counter}"
                if cli("spawn", rng.choice(ready), "--name", name).returncode == 0:
                    spawned.append(next(lv["path"] for lv in walk(tree())
                                        if lv["name"] == name))
            elif choice == "exit" and spawned:
                path = spawned.pop(rng.randrange(len(spawned)))
                if path in killed:
                    killed.remove(path)
                cli("exit", path, "--rm-volume", "-t", "2")
            elif choice == "run" and ready:
                cli("exec", rng.choice(ready), "--", "sh", "-c", MAKE_TINY + "docker run --rm "
                    "tiny /bin/sleep 1 >/dev/null")
            elif choice == "logs" and precious:
                cli("logs", rng.choice(precious), "keeper", "--tail", "5")
            elif choice == "ls":
                cli("ls")
            elif choice == "ps" and ready:
                cli("ps", rng.choice(ready))
            elif choice == "dockerd" and ready:
                faults += 1  # the init starts its dockerd again; live-restore keeps containers
                cli("exec", rng.choice(ready), "--", "sh", "-c",
                    "kill -9 $(cat /var/run/docker.pid)")
            elif choice == "kill" and spawned:
                faults += 1
                path = rng.choice(spawned)
                if cli("kill", path).returncode == 0:
                    killed.append(path)
            elif choice == "revive" and killed:
                cli("revive", killed.pop(0))
            else:
                continue
            actions += 1
            time.sleep(rng.uniform(0.5, 1.5))
        figures.setdefault("middle", (*tui.figures(), host_cgroups(), levels_now()))
        # The end is measured on the tree the start was: the levels the soak spawned go, so
        # that the TUI's figures compare like with like (a leak shows; a bigger tree does not).
        for path in spawned:
            cli("exit", path, "--rm-volume", "-t", "2")
        cli("revive", "--all")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            silent = [lv["path"] for lv in walk(tree()) if lv["state"] != "ready"]
            if not silent:
                break
            time.sleep(2)
        time.sleep(5)  # the TUI has seen the last changes
        figures["end"] = (*tui.figures(), host_cgroups(), levels_now())
        final = tree()
        paths = {lv["path"] for lv in walk(final)}
        lost = sorted(user - paths)
        for path in precious:
            kept = cli("exec", path, "--", "sh", "-c", "docker inspect -f '{{.State.Running}}' "
                       "keeper && docker volume inspect keep >/dev/null")
            if kept.returncode != 0 or "true" not in kept.stdout:
                lost.append(f"{path}:keeper")
        silent = [lv["path"] for lv in walk(final) if lv["state"] != "ready"]
    finally:
        tui.close()
        cli("collapse", "--rm-volume", "-t", "5", timeout=600)
    for when in ("start", "middle", "end"):
        rss, threads, fds, cgroups, count = figures[when]
        print(f"{when:>6}: {count} levels; TUI rss {rss:.0f} MB, {threads} threads, {fds} open "
              f"files; host cgroups {cgroups}")
    print(f"{actions} actions, {faults} faults in {args.minutes:g} min; lost: {lost or 'none'}; "
          f"levels not answering at the end: {silent or 'none'}")
    start, end = figures["start"], figures["end"]
    print(f"RESULT minutes={args.minutes:g} levels_start={start[4]} levels_end={end[4]} "
          f"actions={actions} faults={faults} "
          f"lost={len(lost) + len(silent)} rss_mb_start={start[0]:.0f} rss_mb_end={end[0]:.0f} "
          f"threads_start={start[1]} threads_end={end[1]} fds_start={start[2]} "
          f"fds_end={end[2]} cgroups_start={start[3]} cgroups_end={end[3]}")


if __name__ == "__main__":
    main()
