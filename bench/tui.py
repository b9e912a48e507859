"""TUI benchmark against the real engine: time to first paint, time from a level's state change
to the tree showing it, and idle CPU over 30 s with 5 levels and 50 containers (beside a bare
Textual app idling in the same process, as the baseline).

Usage: python bench/tui.py [--idle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import os
import resource
import secrets
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
    started = time.monotonic()
    app = DindtuiApp(animation=False)
    async with app.run_test(size=SIZE) as pilot:
        mounted = time.monotonic() - started
        while app.root is None:
            await pilot.pause(0.01)
        return mounted, time.monotonic() - started


async def state_change_latency(level: levels.Level) -> float:
    app = DindtuiApp(animation=False)
    async with app.run_test(size=SIZE) as pilot:
        while app.root is None or level.path not in [lv.path for lv in app.root.walk()]:
            await pilot.pause(0.05)
        await pilot.pause(1)
        started = time.monotonic()
        levels.parent_client(level).api.kill(level.container_id)
        while levels.find(app.root, level.path).state not in levels.STOPPED:
            if time.monotonic() - started > 60:
                return float("nan")
            await pilot.pause(0.01)
        return time.monotonic() - started


async def main(idle: float) -> None:
    prefix = "u" + secrets.token_hex(2)
    print("building the tree: 5 levels, 50 containers…", flush=True)
    made = []
    try:
        root = levels.discover()
        for index in range(5):
            result = spawn.spawn(root, f"{prefix}-{index}")
            made.append(result.level)
            code = shell.exec_in(result.level, ["sh", "-c", MAKE_TINY + "for i in $(seq 10); do "
                                                "docker run -d tiny /bin/sleep 100000 >/dev/null;"
                                                " done"]).exit_code
            assert code == 0, "could not start the containers"
        mounted, painted = await first_paint()
        print(f"first paint (app mounted):        {mounted * 1000:7.0f} ms")
        print(f"first paint (tree of 5 levels):   {painted * 1000:7.0f} ms")
        latency = await state_change_latency(made[-1])
        print(f"level killed -> tree shows it:   {latency * 1000:7.0f} ms")
        bare = await idle_cpu(Bare(), idle, lambda app: True)
        ours = await idle_cpu(DindtuiApp(animation=False), idle,
                              lambda app: app.root is not None and len(app.root.children) >= 5)
        print(f"idle CPU over {idle:.0f} s, bare Textual app: {bare:5.2f} %")
        print(f"idle CPU over {idle:.0f} s, dindtui (5 levels, 50 containers): {ours:5.2f} %"
              f"  (ratio {ours / bare if bare else float('inf'):.2f})")
    finally:
        root = levels.discover()
        for level in list(root.children):
            if level.name.startswith(prefix):
                spawn.exit_level(level, rm_volume=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=30)
    faulthandler.register(__import__("signal").SIGUSR1)  # kill -USR1 shows where it waits
    asyncio.run(main(parser.parse_args().idle))
