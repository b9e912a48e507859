"""A/B: one benchmark run against two versions of dindtui in the same session, alternating.

The benchmark script is always this checkout's (so both sides are measured the same way); the
package it imports (and every `dindtui` command it starts) is the base revision's for A and this
checkout's for B. Each run's last `RESULT key=value ...` line is read; the table gives each
number's median for A and B and the ratio B/A.

Usage: python bench/compare.py [--base REF] [--rounds 2] -- SCRIPT [ARGS...]
   e.g. python bench/compare.py --base 47b5251 -- bench/spawn.py --depth 3 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(tree: str, script: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": tree}
    done = subprocess.run([sys.executable, *script], cwd=HERE, env=env, capture_output=True,
                          text=True, timeout=3600)
    sys.stdout.write(done.stdout[-2000:])
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{script[0]} failed on {tree} (status {done.returncode}): "
                         f"{done.stderr.strip().splitlines()[-1:] or ['no RESULT line']}")
    found = {}
    for key, value in re.findall(r"(\w+)=(-?[0-9.]+)", " ".join(lines)):
        found[key] = float(value)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="origin/main")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("script", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    script = [a for a in args.script if a != "--"]
    if not script:
        parser.error("give the benchmark script after --")
    base = tempfile.mkdtemp(prefix="dindtui-base-")
    subprocess.run(["git", "-C", HERE, "worktree", "add", "--detach", "-q", base, args.base],
                   check=True)
    sides: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    try:
        for n in range(args.rounds):
            for side, tree in (("A", base), ("B", HERE)) if n % 2 == 0 else \
                    (("B", HERE), ("A", base)):
                print(f"--- round {n + 1}, {side} ({args.base if side == 'A' else 'this tree'})",
                      flush=True)
                sides[side].append(run(tree, script))
    finally:
        subprocess.run(["git", "-C", HERE, "worktree", "remove", "--force", base])
    keys = [k for k in sides["B"][0] if all(k in r for r in sides["A"] + sides["B"])]
    print(f"\n{' '.join(script)}: A = {args.base}, B = this tree, medians of {args.rounds}")
    print(f"{'measure':>26} {'A':>10} {'B':>10} {'B/A':>7}")
    for key in keys:
        a = statistics.median(r[key] for r in sides["A"])
        b = statistics.median(r[key] for r in sides["B"])
        print(f"{key:>26} {a:>10.3f} {b:>10.3f} {b / a if a else float('nan'):>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
