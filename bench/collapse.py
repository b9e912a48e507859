"""Collapse benchmark: exit and collapse with one budget, on trees whose every level runs a
container that ignores SIGTERM (the worst case: every stop waits for its kill).

Measured in one run: a chain of DEPTH levels exited with budgets 0, 3 and the default (10); S
sibling levels collapsed with a budget of 3; and, as the baseline, the same chain stopped the
way it was before budgets (one level after another, deepest first, each with `docker stop`'s
own 10 s). Goal: any tree exits within its budget + 1 s; budget 0 within 1 s.
Ends with: RESULT depth=N siblings=N t0_s=N t3_s=N t10_s=N siblings_t3_s=N baseline_s=N

With --wide N: instead, a tree of N levels (a quarter at depth 1, three below each) running
--containers sleeping containers (a sleep as a container's first process ignores SIGTERM)
is built (minutes) and collapsed with --rm-volume and a budget of 5 s: when its last level
was said exited, and when its volumes were removed after that (no part of the budget).
When each depth was said exiting and exited is printed before it.
Ends with: RESULT wide=N containers=N budget_s=5 exit_s=N volumes_s=N within=yes|no

Usage: python bench/collapse.py [--depth 3] [--siblings 8]
       python bench/collapse.py --wide 64 [--containers 1000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

from dindtui.engine.disk import usage  # noqa: E402
from dindtui.engine.explore import shell  # noqa: E402
from dindtui.engine.lifecycle import exiting, spawn  # noqa: E402
from dindtui.engine.tree import discovery, levels  # noqa: E402

STUBBORN = r"""set -e
if ! docker image inspect tinysh >/dev/null 2>&1; then
  d=$(mktemp -d); mkdir -p $d/bin $d/lib/x86_64-linux-gnu $d/lib64
  cp /usr/bin/sleep $d/bin/; cp /bin/dash $d/bin/sh
  cp /lib/x86_64-linux-gnu/libc.so.6 $d/lib/x86_64-linux-gnu/
  cp /lib64/ld-linux-x86-64.so.2 $d/lib64/
  tar -C $d -c . | docker import - tinysh >/dev/null
fi
docker run -d tinysh sh -c 'trap "" TERM; while :; do sleep 1; done' >/dev/null
"""


def stubborn(level: levels.Level) -> None:
    ran = shell.exec_in(level, ["sh", "-c", STUBBORN])
    if ran.exit_code != 0:
        raise SystemExit(f"could not start a stubborn container in {level.path}: {ran.stderr}")


def chain(prefix: str, depth: int) -> levels.Level:
    parent = discovery.discover()
    top = None
    for d in range(1, depth + 1):
        made = spawn.spawn(parent, f"{prefix}{d}").level
        stubborn(made)
        top = top or made
        parent = made
    assert top is not None
    return levels.find(discovery.discover(), top.path)


def timed(call) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def baseline_exit(top: levels.Level) -> None:
    """Before budgets: deepest first, one level after another, each given docker stop's 10 s."""
    for level in reversed(list(top.walk())):
        levels.parent_client(level).api.stop(level.container_id, timeout=10)
    exiting.exit_level(levels.find(discovery.discover(), top.path), timeout=0, rm_volume=True)


def remove_own(prefix: str) -> None:
    root = discovery.discover()
    for level in list(root.children):
        if level.name.startswith(prefix):
            exiting.exit_level(level, rm_volume=True, timeout=0)
    root = discovery.discover()
    plan = usage.plan_cleanup(root)
    plan.items = [i for i in plan.items if i.level.rsplit("/", 1)[-1].startswith(prefix)]
    usage.apply_cleanup(root, plan)


def wide(count: int, containers: int, budget: float = 5.0) -> None:
    import tui  # bench/tui.py: the same wide tree its --levels mode draws

    started = time.monotonic()
    tui.build_wide(count, containers)
    print(f"built {count} levels with {containers} containers in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    phases: dict[str, list[float]] = {"exited": [], "freed": []}
    by_depth: dict[tuple[str, int], list[float]] = {}
    kept: list[str] = []

    def on_event(event: exiting.ExitEvent) -> None:
        at = time.monotonic() - began
        by_depth.setdefault((event.phase, event.depth), []).append(at)
        if event.phase in phases:
            phases[event.phase].append(at)
        if event.note:
            kept.append(event.note)

    began = time.monotonic()
    exited = exiting.collapse(discovery.discover(), rm_volume=True, timeout=budget,
                              on_event=on_event)
    whole = time.monotonic() - began
    exit_s = max(phases["exited"], default=0.0)
    print("\nwhen the levels were said exiting / exited, by depth (s after the collapse began):")
    for (phase, depth), times in sorted(by_depth.items(), key=lambda item: (item[0][1],
                                                                             item[0][0])):
        print(f"  depth {depth} {phase:<8} {len(times):>3} levels  first {min(times):6.2f}  "
              f"last {max(times):6.2f}")
    print(f"\n{len(exited)} levels exited in {exit_s:.2f} s (budget {budget:g} s); "
          f"{len(phases['freed'])} volumes removed after that, all gone at {whole:.2f} s"
          + "".join(f"\n  kept: {note}" for note in kept))
    print(f"\nRESULT wide={count} containers={containers} budget_s={budget:g} "
          f"exit_s={exit_s:.2f} volumes_s={whole:.2f} "
          f"within={'yes' if exit_s <= budget + 1 else 'no'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--siblings", type=int, default=8)
    parser.add_argument("--wide", type=int, default=0, metavar="N")
    parser.add_argument("--containers", type=int, default=1000)
    args = parser.parse_args()
    if args.wide:
        try:
            wide(args.wide, args.containers)
        finally:
            remove_own("s")  # build_wide's names: s1.. at depth 1
        return
    prefix = "c" + secrets.token_hex(2)
    rows = []
    try:
        for budget in (0.0, 3.0, None):
            top = chain(f"{prefix}b{int(budget if budget is not None else 10)}x", args.depth)
            seconds = timed(lambda top=top, budget=budget: exiting.exit_level(
                top, timeout=budget))
            rows.append((f"chain of {args.depth}, budget "
                         f"{budget if budget is not None else exiting.EXIT_TIMEOUT:g} s", seconds,
                         budget if budget is not None else exiting.EXIT_TIMEOUT))
        root = discovery.discover()
        with ThreadPoolExecutor(max_workers=4) as pool:
            made = list(pool.map(lambda n: spawn.spawn(root, f"{prefix}s{n}").level,
                                 range(args.siblings)))
            list(pool.map(stubborn, made))
        seconds = timed(lambda: exiting.collapse(discovery.discover(), timeout=3))
        rows.append((f"{args.siblings} siblings (collapse), budget 3 s", seconds, 3.0))
        top = chain(f"{prefix}base", args.depth)
        rows.append((f"chain of {args.depth}, before budgets (baseline)",
                     timed(lambda: baseline_exit(top)), None))
    finally:
        remove_own(prefix)
    print(f"\n{'tree':<44} {'seconds':>8} {'budget':>7} {'within +1 s':>12}")
    for what, seconds, budget in rows:
        within = "" if budget is None else ("yes" if seconds <= budget + 1 else "NO")
        print(f"{what:<44} {seconds:>8.2f} {'' if budget is None else f'{budget:g}':>7} "
              f"{within:>12}")
    base = rows[-1][1]
    print(f"\ndefault budget / baseline: {rows[2][1] / base:.2f}")
    print(f"\nRESULT depth={args.depth} siblings={args.siblings} t0_s={rows[0][1]:.2f} "
          f"t3_s={rows[1][1]:.2f} t10_s={rows[2][1]:.2f} siblings_t3_s={rows[3][1]:.2f} "
          f"baseline_s={base:.2f}")


if __name__ == "__main__":
    main()
