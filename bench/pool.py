"""The warm pool against a cold spawn, in the same run, on the same parent (level 0): a level
counts when its daemon answers and its image is usable. Timed two ways, alternating:
- `cli`: the whole `dindtui spawn` command, process start included, as a user feels it;
- `api`: the Engine's spawn alone (what the TUI's key waits for, before the redraw).
With the pool, each spawn adopts a warm level filled beforehand (not timed: a refill runs behind
a spawn, while the user does something else). Also: the CPU a dozing pool level uses, idle.
Goal: a level usable <= 0.3 s after `spawn` (CLI included), <= 100 ms from the TUI's key.
Ends with: RESULT runs=N cold_cli_s=N pool_cli_s=N cold_api_ms=N pool_api_ms=N ratio=N
pool_idle_cpu_pct=N

Usage: python bench/pool.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))
os.environ.pop("DINDTUI_POOL", None)  # the benchmark fills the pool itself, never behind

from dindtui.engine.facade import Engine  # noqa: E402
from dindtui.engine.lifecycle import pool  # noqa: E402
from dindtui.engine.net import connect  # noqa: E402
from dindtui.engine.progress import no_progress  # noqa: E402


def cli_spawn(name: str) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "dindtui", "spawn", "--name", name],
                          capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"spawn {name} failed: {done.stderr.strip()}")
    return seconds


def api_spawn(engine: Engine, name: str) -> float:
    started = time.monotonic()
    engine.spawn("host", name, no_progress)
    return time.monotonic() - started


def warm_one(engine: Engine) -> str:
    """One dozing pool level under level 0; its name (the next spawn asks for it)."""
    root = engine.tree()
    pool.fill(root, 1)
    return engine.tree().pool[0].name


def idle_cpu(container: str, seconds: float = 10) -> float:
    """CPU used by a container over `seconds`, in % of one CPU (cgroup cpuacct, from the
    daemon's one-shot stats)."""
    client = connect.client()

    def used() -> int:
        return int(client.api.stats(container, stream=False)["cpu_stats"]["cpu_usage"]
                   ["total_usage"])

    first, started = used(), time.monotonic()
    time.sleep(seconds)
    return (used() - first) / 1e9 / (time.monotonic() - started) * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = Engine()
    rows: dict[str, list[float]] = {"cold_cli": [], "pool_cli": [], "cold_api": [],
                                    "pool_api": []}
    try:
        member = warm_one(engine)
        container = engine.tree().pool[0].container_id or ""
        idle = idle_cpu(container)
        pool.drain(engine.tree())
        for run in range(args.runs):
            rows["cold_cli"].append(cli_spawn(f"cc{run}"))
            rows["cold_api"].append(api_spawn(engine, f"ca{run}"))
            member = warm_one(engine)
            rows["pool_cli"].append(cli_spawn(member))
            member = warm_one(engine)
            rows["pool_api"].append(api_spawn(engine, member))
            print(f"run {run + 1}: cold cli {rows['cold_cli'][-1]:.2f}s api "
                  f"{rows['cold_api'][-1] * 1000:.0f}ms | pool cli {rows['pool_cli'][-1]:.2f}s "
                  f"api {rows['pool_api'][-1] * 1000:.0f}ms", flush=True)
    finally:
        engine.collapse(None, rm_volume=True, timeout=0)
    median = {key: statistics.median(values) for key, values in rows.items()}
    print(f"{'spawn':<10}{'median':>10}{'min':>10}{'max':>10}")
    for key, values in rows.items():
        scale, unit = (1, "s") if key.endswith("cli") else (1000, "ms")
        print(f"{key:<10}{median[key] * scale:>9.2f}{unit}{min(values) * scale:>9.2f}{unit}"
              f"{max(values) * scale:>9.2f}{unit}")
    print(f"a dozing pool level, idle: {idle:.2f}% of one CPU")
    print(f"RESULT runs={args.runs} cold_cli_s={median['cold_cli']:.2f} "
          f"pool_cli_s={median['pool_cli']:.2f} cold_api_ms={median['cold_api'] * 1000:.0f} "
          f"pool_api_ms={median['pool_api'] * 1000:.0f} "
          f"ratio={median['cold_api'] / median['pool_api']:.1f} pool_idle_cpu_pct={idle:.2f}")


if __name__ == "__main__":
    main()
