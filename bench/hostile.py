"""Hostile benchmark: one level whose containers do every nasty thing at once, then every
command a user runs on it, timed, and a check that nothing outside the attacking level moved.

The attacks, all inside level `evil` (a namespace of the benchmark's own):
- a volume of symlink loops (`volumes/a -> ../..`) and a forged data root naming a foreign
  container id, where the cgroup walk of exit and clean looks;
- a look-alike of a level, labels absurd: a port of `²`, a 60 KB label, terminal escapes;
- a container writing without a newline, forever, escape sequences between the megabytes;
- its parent's data root rewritten under a seed: the containerd database of `evil` (a
  containerd-store level) gets branch pages pointing at themselves, then a level is spawned
  from it (the seeder reads that database).
Then `ls`, `du`, `clean --dry-run`, `ps --all-levels`, the TUI open on the level's containers
and the flood's log for 10 s (responsiveness: the worst key-to-screen time), the spawn from the
corrupted parent, and `exit`. One row per command: finished or not, seconds, and the worst
case; ending with
RESULT attacks=N survived=N max_seconds=N outside_touched=N tui_worst_key_ms=N
Every command must finish within 10 s (its bound here is 60 s, then it counts as hung).

Usage: python bench/hostile.py
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time

NAMESPACE = "hostile-" + secrets.token_hex(2)
os.environ["DINDTUI_NAMESPACE"] = NAMESPACE

from dindtui.engine.net import connect  # noqa: E402
from dindtui.engine.tree import discovery, levels  # noqa: E402
from dindtui.engine.explore import shell  # noqa: E402
from dindtui.engine.lifecycle import spawn  # noqa: E402

BOUND = 60     # seconds before a command counts as hung
GOAL = 10      # seconds every command must finish within
KEY_GOAL_MS = 1000  # the TUI, open on the flood: a key takes effect within this
IMAGE = "dindtui:latest"

ATTACKS = {
    "symlink loops and a forged data root in a volume": f"""set -e
docker run --rm -v evil-data:/d --entrypoint sh {IMAGE} -c '
mkdir -p /d/containers /d/volumes/dindtui-x-abcdef/_data/containers/{'f' * 64}
touch /d/volumes/dindtui-x-abcdef/_data/containers/{'f' * 64}/config.v2.json
ln -s ../.. /d/volumes/a; ln -s ../.. /d/volumes/b; ln -s / /d/volumes/root
ln -s ../../.. /d/volumes/dindtui-x-abcdef/_data/volumes'
""",
    "a look-alike level with absurd labels": f"""set -e
big=$(head -c 60000 /dev/zero | tr '\\0' L)
docker create --name dindtui-{NAMESPACE}.fake --label dindtui.owner=dindtui \
  --label dindtui.name=fake --label dindtui.port=² --label dindtui.volume=fakevol \
  --label dindtui.namespace={NAMESPACE} --label "dindtui.strategy=$(printf '\\033]0;owned\\007')" \
  --label "huge=$big" -v /run/dindtui/c/fake:/run/dindtui -v fakevol:/var/lib/docker \
  {IMAGE} >/dev/null
""",
    "a log without a newline, with escapes": f"""set -e
docker run -d --name flood --entrypoint sh {IMAGE} -c 'while :; do head -c 1000000 /dev/zero \
 | tr "\\000" x; printf "\\033[2J\\033]52;c;aGk=\\007\\033]0;owned\\007"; sleep 0.2; done' \
 >/dev/null
""",
}

# Run inside `evil` (as a container of it could, with the data root mounted): every branch
# page of containerd's metadata database points at itself, its leaves claim 65535 elements.
CORRUPT = r"""
import struct, sys
path = "/var/lib/docker/containerd/daemon/io.containerd.metadata.v1.bolt/meta.db"
data = bytearray(open(path, "rb").read())
size = struct.unpack_from("<I", data, 24)[0]
for pgid in range(2, len(data) // size):
    at = pgid * size
    flags = struct.unpack_from("<H", data, at + 8)[0]
    if flags & 0x01:
        struct.pack_into("<Q", data, at + 16 + 8, pgid)
    elif flags & 0x02:
        struct.pack_into("<H", data, at + 10, 0xFFFF)
open(path, "r+b").write(data)
"""


def outside() -> dict[str, set]:
    """What exists on the host engine outside this benchmark's namespace."""
    client = connect.client()
    ours = f"dindtui-{NAMESPACE}."
    return {"containers": {c["Id"] for c in client.api.containers(all=True)
                           if not any(n.lstrip("/").startswith(ours) for n in c["Names"])},
            "volumes": {v["Name"] for v in client.api.volumes().get("Volumes") or []
                        if not v["Name"].startswith(ours)}}


def timed(argv: list[str]) -> tuple[bool, float, str]:
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "dindtui", *argv], capture_output=True,
                              text=True, timeout=BOUND)
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - started, f"hung past {BOUND}s"
    seconds = time.monotonic() - started
    escape = "\x1b" in done.stdout + done.stderr and argv[0] != "logs"
    line = (done.stderr.strip().splitlines() or [""])[-1][:100]
    ok = not escape and "Traceback" not in done.stderr
    return ok, seconds, f"status {done.returncode}" + (f": {line}" if line else "") + (
        " (an escape reached the terminal)" if escape else "")


async def tui(path: str, seconds: float = 10) -> tuple[bool, float, str]:
    """The TUI on the attacking level: its containers, then the flood's log for `seconds`;
    the worst time from a key to its effect on screen."""
    from textual import events

    from dindtui.app import DindtuiApp
    from dindtui.screens.container import ContainerScreen
    from dindtui.widgets.level_tree import LevelTree
    from dindtui.widgets.tables import ContainersTable

    app = DindtuiApp(animation=False)
    worst = 0.0
    started = time.monotonic()
    async with app.run_test(size=(120, 36)) as pilot:
        async def until(predicate, what: str, limit: float = 20) -> float:
            begun = time.monotonic()
            while not predicate():
                if time.monotonic() - begun > limit:
                    raise TimeoutError(what)
                await asyncio.sleep(0.01)
            return time.monotonic() - begun

        try:
            await until(lambda: app.roots is not None and app.tree_loads > 0, "the tree")
            app.query_one(LevelTree).select_path(path)
            await until(lambda: bool(app.query(ContainersTable)), "the detail pane")
            table = app.query_one(ContainersTable)
            await until(lambda: any(r.name == "flood" for r in table.by_key.values()),
                        "the flood's row")
            row = next(r for r in table.by_key.values() if r.name == "flood")
            app.open_container(levels.find_in(app.roots, path), row)
            await until(lambda: isinstance(app.screen, ContainerScreen), "the log view")
            screen = app.screen
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                want = not screen.timestamps
                app._driver.send_message(events.Key("t", "t"))
                worst = max(worst, await until(lambda want=want: screen.timestamps == want,
                                               "a key to take effect", 5))
                await asyncio.sleep(0.3)
            lines = list(screen.query_one("Log").lines)
            escaped = any("\x1b" in line for line in lines)
        except TimeoutError as exc:
            return False, time.monotonic() - started, f"waited for {exc}"
        await pilot.press("escape")
    return (not escaped, time.monotonic() - started,
            f"worst key {worst * 1000:.0f} ms" + (", an escape reached the log" if escaped
                                                  else ""))


def main() -> int:
    before = outside()
    root = discovery.discover()
    print(f"namespace {NAMESPACE}: spawning the attacking level…", file=sys.stderr)
    evil = spawn.spawn(root, "evil", store="containerd").level
    rows: list[tuple[str, bool, float, str]] = []
    try:
        for name, script in ATTACKS.items():
            done = shell.exec_in(evil, ["sh", "-c", script])
            if done.exit_code != 0:
                raise SystemExit(f"attack {name!r} could not be set up: {done.stderr.strip()}")
        time.sleep(2)  # the flood writes its first megabytes
        for argv in (["ls"], ["ls", "--json"], ["du"], ["clean", "--dry-run"],
                     ["ps", "--all-levels"], ["logs", "evil", "flood", "--tail", "3"]):
            rows.append((" ".join(argv), *timed(argv)))
        rows.append(("the TUI on it, 10 s", *asyncio.run(tui(evil.path))))
        corrupt = shell.exec_in(evil, ["python3", "-c", CORRUPT])
        note = "" if corrupt.exit_code == 0 else f" (corruption failed: {corrupt.stderr[:80]})"
        ok, seconds, what = timed(["spawn", "evil", "--name", "child", "--store", "containerd",
                                   "--json"])
        rows.append(("spawn from it, its containerd database corrupted" + note, ok, seconds,
                     what))
        rows.append(("exit evil (its whole subtree)", *timed(["exit", "evil"])))
    finally:
        for argv in (["collapse", "--rm-volume"], ["clean", "--yes"]):  # `exit` kept its volume
            leftover = subprocess.run([sys.executable, "-m", "dindtui", *argv],
                                      capture_output=True, text=True, timeout=300)
            if leftover.returncode != 0:
                print(f"{argv[0]}: {leftover.stderr.strip()}", file=sys.stderr)
    after = outside()
    touched = len(before["containers"] ^ after["containers"]) + len(
        before["volumes"] ^ after["volumes"])
    print("\n| command on the attacking level | finished | seconds | what it said |")
    print("|---|---|---|---|")
    def fine(name: str, ok: bool, seconds: float, what: str) -> bool:
        if name.startswith("the TUI"):  # open for 10 s on purpose: it must answer keys
            return ok and "worst key" in what and float(
                what.split("worst key ")[1].split(" ms")[0]) <= KEY_GOAL_MS
        return ok and seconds <= GOAL

    for row in rows:
        print(f"| {row[0]} | {'yes' if fine(*row) else 'NO'} | {row[2]:.2f} | {row[3]} |")
    survived = sum(1 for row in rows if fine(*row))
    worst_key = next((what for name, _, _, what in rows if name.startswith("the TUI")), "")
    key_ms = worst_key.split("worst key ")[-1].split(" ms")[0] if "worst key" in worst_key \
        else "-1"
    print(f"\nRESULT attacks={len(rows)} survived={survived} "
          f"max_seconds={max(r[2] for r in rows if not r[0].startswith('the TUI')):.2f} "
          f"outside_touched={touched} "
          f"tui_worst_key_ms={key_ms}")
    print(json.dumps({"outside_before": {k: len(v) for k, v in before.items()},
                      "outside_after": {k: len(v) for k, v in after.items()}}),
          file=sys.stderr)
    return 0 if survived == len(rows) and touched == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
