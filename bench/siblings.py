"""Parallel trees: N sibling levels spawned at once (`spawn --count N`, one Engine call) against
the same N spawned one after another, in the same run, on the same parent (level 0). A level
counts when its daemon answers and its image is usable (seeded). Goal: 16 siblings ready in
at most 6 s on this 2-core machine.
Ends with: RESULT siblings=N parallel_s=N sequential_s=N ratio=N

It is CPU-bound here (about 13.6 CPU-s for 16 levels, both cores busy throughout). On an ext4
without a journal, as this machine's disk is, a new inode skips those freed in the last minutes
(the kernel's `recently_deleted`), and a seed's mkdirs cost 290-400 us each instead of 25 us
for five minutes after levels were removed: measure after five quiet minutes, or expect a
second or more on top.

Usage: python bench/siblings.py [--count 16]
"""

from __future__ import annotations

import argparse
import os
import secrets
import time

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

from dindtui.engine.errors import DindtuiError  # noqa: E402
from dindtui.engine.facade import Engine  # noqa: E402
from dindtui.engine.lifecycle import exiting  # noqa: E402
from dindtui.engine.progress import no_progress  # noqa: E402
from dindtui.engine.tree import discovery  # noqa: E402


def remove_own(prefix: str) -> None:
    for child in list(discovery.discover().children):  # exit_level takes it out of the list
        if child.name.startswith(prefix):
            exiting.exit_level(child, rm_volume=True, timeout=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16)
    args = parser.parse_args()
    engine = Engine()
    prefix = "p" + secrets.token_hex(2)
    try:
        started = time.monotonic()
        outcomes = engine.spawn_many("host", args.count, f"{prefix}a", no_progress)
        parallel = time.monotonic() - started
        failed = [o for o in outcomes if isinstance(o, DindtuiError)]
        if failed:
            raise SystemExit(f"{len(failed)} of {args.count} failed: {failed[0]}")
        slowest = max(o.usable_seconds for o in outcomes if not isinstance(o, DindtuiError))
        remove_own(prefix)
        started = time.monotonic()
        for n in range(1, args.count + 1):
            engine.spawn("host", f"{prefix}b-{n}", no_progress)
        sequential = time.monotonic() - started
    finally:
        remove_own(prefix)
    print(f"{args.count} siblings at once:        {parallel:6.2f} s (the slowest alone "
          f"{slowest:.2f} s)")
    print(f"{args.count} siblings one by one:     {sequential:6.2f} s "
          f"({sequential / args.count:.2f} s each)")
    print(f"at once / one by one:      {parallel / sequential:6.2f}")
    print(f"\nRESULT siblings={args.count} parallel_s={parallel:.2f} "
          f"sequential_s={sequential:.2f} ratio={parallel / sequential:.2f}")


if __name__ == "__main__":
    main()
