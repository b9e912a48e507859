"""TUI benchmark against the real engine, with 10 levels (depths 1-3) running 100 containers:
`dindtui ls` and `--help` wall time, time to first paint, time from a level's container being
killed to its line on screen saying so (at depths 1-3; beside the cost of one whole-tree
discovery, which is what every event cost before), and idle CPU over 30 s (beside a bare
Textual app idling in the same process). Ends with one line for scripts:
RESULT levels=N containers=N first_paint_ms=N event_ms=N idle_cpu_pct=N ls_ms=N help_ms=N

Usage: python bench/tui.py [--idle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import os
import resource
import secrets
import subprocess
import sys
import time

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

from textual.app import App  # noqa: E402
from textual.widgets import Footer, Header, Tree  # noqa: E402

from dindtui.app import DindtuiApp  # noqa: E402
from dindtui.engine import levels, shell, spawn  # noqa: E402

SIZE = (140, 40)
MAKE_TINY = r"""set -e
docker image inspect tiny >/dev/null 2>&1 && exit 0
d=$(mktemp -d); mkdir -p $d/bin $d/lib/x86_64-linux-gnu $d/lib64
cp /usr/bin/sleep $d/bin/
cp /lib/x86_64-linux-gnu/libc.so.6 $d/lib/x86_64-linux-gnu/
cp /lib64/ld-linux-x86-64.so.2 $d/lib64/
tar -C $d -c . | docker import - tiny >/dev/null
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Bare(App):
    def compose(self):
        yield Header()
        yield Tree("bare")
        yield Footer()


async def idle_cpu(app: App, seconds: float, ready) -> float:
    async with app.run_test(size=SIZE) as pilot:
        while not ready(app):
            await pilot.pause(0.1)
        await pilot.pause(2)
        start_cpu, start = cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        return 100 * (cpu_seconds() - start_cpu) / (time.monotonic() - start)


async def first_paint() -> tuple[float, float]:
    """From creating the app to it mounted, and to the tree drawn on screen."""
    started = time.monotonic()
    app = DindtuiApp(animation=False)
    async with app.run_test(size=SIZE) as pilot:
        mounted = time.monotonic() - started
        while app.root is None or not shown(app, app.root.children[0].path):
            await pilot.pause(0.005)
        return mounted, time.monotonic() - started


def shown(app: DindtuiApp, path: str, word: str = "") -> bool:
    """The tree on screen has a line for `path` (whose label contains `word`)."""
    from dindtui.widgets.level_tree import LevelTree
    for line in app.query_one(LevelTree)._tree_lines:
        if line.node.data == path:
            return word in str(line.node.label)
    return False


async def event_latency(paths: list[str]) -> tuple[list[float], list[float], list[float]]:
    """For each level, its container killed (from another thread, as Docker would be driven by
    anyone): from the daemon's `die` event (its own timestamp: every level shares the host's
    clock) to the frame that draws the level exited; and from the kill call to that frame."""
    app = DindtuiApp(animation=False)
    stamps: dict[str, float] = {}
    received: dict[str, float] = {}
    seen = app._event_seen

    def stamp(endpoint: str, event: dict) -> None:
        if event.get("action") == "die" and event.get("time_nano"):
            stamps[event["id"]] = event["time_nano"] / 1e9
            received[event["id"]] = time.time()
        seen(endpoint, event)

    app.watcher.on_event = stamp
    from_event, from_kill, in_ui = [], [], []
    async with app.run_test(size=SIZE) as pilot:
        while app.root is None or not all(shown(app, p, "ready") for p in paths):
            await pilot.pause(0.05)
        await pilot.pause(2)  # every event stream connected
        for path in paths:
            level = levels.find(app.root, path)
            client = levels.parent_client(level)
            started = time.monotonic()
            killing = asyncio.get_running_loop().run_in_executor(
                None, client.api.kill, level.container_id)
            while not shown(app, path, "exited"):
                assert time.monotonic() - started < 30, f"{path} never shown exited"
                await pilot.pause(0.001)
            await pilot.pause(0)  # the frame that draws it
            drawn_wall, drawn = time.time(), time.monotonic()
            await killing
            from_event.append(drawn_wall - stamps[level.container_id])
            in_ui.append(drawn_wall - received[level.container_id])
            from_kill.append(drawn - started)
    return from_event, from_kill, in_ui


def cli_seconds(*args: str, runs: int = 5) -> float:
    """Best wall time of `dindtui ARGS` over a few runs (what a script waits)."""
    best = float("inf")
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "dindtui", *args], capture_output=True, check=True)
        best = min(best, time.monotonic() - started)
    return best


async def main(idle: float) -> None:
    print("building the tree: 10 levels (depths 1-3), 100 containers…", flush=True)
    try:
        shape = [("host", "a1"), ("a1", "a2"), ("a1/a2", "a3"), ("host", "b1"), ("host", "b2"),
                 ("host", "b3"), ("host", "b4"), ("b1", "c1"), ("b2", "c2"), ("b3", "c3")]
        for parent, name in shape:
            made = spawn.spawn(levels.find(levels.discover(), parent), name).level
            ran = shell.exec_in(made, ["sh", "-c", MAKE_TINY + "for i in $(seq 10); do "
                                       "docker run -d tiny /bin/sleep 100000 >/dev/null;"
                                       " done"])
            assert ran.exit_code == 0, f"could not start the containers in {made.path}: " \
                                       f"{(ran.stderr or ran.stdout).strip()[-300:]}"
        started = time.monotonic()
        levels.discover()
        discover_ms = (time.monotonic() - started) * 1000
        ls_s, help_s = cli_seconds("ls"), cli_seconds("--help")
        print(f"dindtui ls (10 levels, depth 3):  {ls_s * 1000:7.0f} ms wall (best of 5)")
        print(f"dindtui --help:                   {help_s * 1000:7.0f} ms wall (best of 5)")
        paints = sorted([await first_paint() for _ in range(5)], key=lambda pair: pair[1])
        mounted, painted = paints[2]  # the median run of five (this VM is noisy)
        print(f"first paint (app mounted):        {mounted * 1000:7.0f} ms (median of 5)")
        print(f"first paint (tree drawn):         {painted * 1000:7.0f} ms (median of 5; "
              f"range {paints[0][1] * 1000:.0f}-{paints[-1][1] * 1000:.0f})")
        from_event, from_kill, in_ui = await event_latency(["a1/a2/a3", "b3/c3", "b4"])
        event_ms = max(from_event) * 1000
        print("die event -> drawn, per level:    "
              + ", ".join(f"{x * 1000:.0f}" for x in from_event) + " ms (depths 3, 2, 1)")
        print("  of which in dindtui (received -> drawn): "
              + ", ".join(f"{x * 1000:.0f}" for x in in_ui) + " ms; the rest is the daemon "
              "delivering its event")
        print("kill call -> drawn (Docker's own kill and event included): "
              + ", ".join(f"{x * 1000:.0f}" for x in from_kill) + " ms")
        before = 250 + discover_ms  # the debounce, then a whole-tree discovery
        print(f"  baseline, what an event cost before this design (250 ms debounce + one "
              f"whole-tree discovery of {discover_ms:.0f} ms): {before:.0f} ms; "
              f"ratio {event_ms / before:.2f}")
        bare = await idle_cpu(Bare(), idle, lambda app: True)
        # Idle: the tree drawn and its first disk-usage walk done (start-up work, not idling).
        ours = await idle_cpu(DindtuiApp(animation=False), idle,
                              lambda app: app.root is not None and len(app.root.children) >= 5
                              and app.report is not None)
        print(f"idle CPU over {idle:.0f} s, bare Textual app: {bare:5.2f} %")
        print(f"idle CPU over {idle:.0f} s, dindtui (10 levels, 100 containers): {ours:5.2f} %"
              f"  (ratio {ours / bare if bare else float('inf'):.2f})")
        print(f"RESULT levels=10 containers=100 first_paint_ms={painted * 1000:.0f} "
              f"event_ms={event_ms:.0f} idle_cpu_pct={ours:.2f} ls_ms={ls_s * 1000:.0f} "
              f"help_ms={help_s * 1000:.0f} event_in_ui_ms={max(in_ui) * 1000:.0f}")
    finally:
        spawn.collapse(levels.discover(), rm_volume=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=30)
    faulthandler.register(__import__("signal").SIGUSR1)  # kill -USR1 shows where it waits
    asyncio.run(main(parser.parse_args().idle))
