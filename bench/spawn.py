"""Spawn benchmark: chains of levels, seed vs stream, and the plain `docker save | docker load`
of the same image between the same daemons as the baseline, all in one run.

Prints, per depth: time until the child daemon answers, time until the level image is usable
in it, bytes moved over the API, MB/s, and the host's disk growth (df on the engine's data
root). Usage: python bench/spawn.py [--depth 5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import time

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

from dindtui.engine import connect, images, levels, spawn  # noqa: E402

IMAGE = images.DEFAULT_IMAGE


def used_bytes(path: str) -> int:
    stat = os.statvfs(path)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def docker_cli() -> str:
    return shutil.which("docker") or "docker"


def baseline(parent_endpoint: str, child_endpoint: str) -> float:
    """`docker save IMAGE | docker load` into the child, after removing the image there."""
    subprocess.run([docker_cli(), "-H", child_endpoint, "rmi", "-f", IMAGE],
                   capture_output=True, check=True)
    started = time.monotonic()
    subprocess.run(f"{docker_cli()} -H {parent_endpoint} save {IMAGE} | "
                   f"{docker_cli()} -H {child_endpoint} load -q", shell=True, check=True,
                   capture_output=True)
    return time.monotonic() - started


def chain(strategy: str, depth: int, data_root: str, prefix: str, with_baseline: bool):
    rows, parent = [], levels.discover()
    for d in range(1, depth + 1):
        before = used_bytes(data_root)
        result = spawn.spawn(parent, f"{prefix}{strategy[:2]}{d}", strategy=strategy)
        grown = used_bytes(data_root) - before
        moved = sum(p.bytes for p in result.pushes or [])
        push_seconds = sum(p.seconds for p in result.pushes or [])
        row = {"depth": d, "strategy": result.strategy, "ready": result.ready_seconds,
               "usable": result.usable_seconds, "moved": moved,
               "mbps": moved / 1e6 / push_seconds if push_seconds else 0.0, "disk": grown,
               "transfer": push_seconds if moved else (result.seed.seconds if result.seed
                                                        else 0.0)}
        if with_baseline:
            row["baseline"] = baseline(parent.endpoint, result.level.endpoint)
        rows.append(row)
        parent = result.level
    return rows


def remove_own(prefix: str) -> None:
    """Exit the levels this benchmark made (and only those), volumes included."""
    for level in list(levels.discover().children):
        if level.name.startswith(prefix):
            spawn.exit_level(level, rm_volume=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=5)
    args = parser.parse_args()
    host = connect.client()
    data_root = host.info()["DockerRootDir"]
    size = host.images.get(IMAGE).attrs["Size"]
    prefix = "b" + secrets.token_hex(2)
    print(f"image {IMAGE}: {size / 1e6:.0f} MB; depths 1..{args.depth}; engine data root "
          f"{data_root}")
    try:
        seeded = chain("seed", args.depth, data_root, prefix, with_baseline=False)
        remove_own(prefix)
        streamed = chain("stream", args.depth, data_root, prefix, with_baseline=True)
    finally:
        remove_own(prefix)

    header = (f"{'depth':>5} {'strategy':>8} {'daemon s':>9} {'usable s':>9} {'moved MB':>9} "
              f"{'MB/s':>6} {'disk +MB':>9} {'disk %img':>9}")
    print()
    print(header)
    print("-" * len(header))
    for row in seeded + streamed:
        print(f"{row['depth']:>5} {row['strategy']:>8} {row['ready']:>9.2f} {row['usable']:>9.2f} "
              f"{row['moved'] / 1e6:>9.0f} {row['mbps']:>6.0f} {row['disk'] / 1e6:>9.1f} "
              f"{100 * row['disk'] / size:>8.1f}%")
    print()
    print(f"{'depth':>5} {'save|load s':>12} {'stream push s':>14} {'seed s':>8} "
          f"{'stream/baseline':>16} {'seed/baseline':>14} {'seed usable/baseline':>21}")
    for seed_row, stream_row in zip(seeded, streamed, strict=True):
        base = stream_row["baseline"]
        print(f"{seed_row['depth']:>5} {base:>12.2f} {stream_row['transfer']:>14.2f} "
              f"{seed_row['transfer']:>8.2f} {stream_row['transfer'] / base:>16.2f} "
              f"{seed_row['transfer'] / base:>14.3f} {seed_row['usable'] / base:>21.3f}")
    mean_usable = sum(r["usable"] for r in seeded) / len(seeded)
    mean_disk = sum(r["disk"] for r in seeded) / len(seeded)
    print(f"\nseed: mean {mean_usable:.2f} s from spawn to a usable image, mean disk growth "
          f"{mean_disk / 1e6:.1f} MB per level ({100 * mean_disk / size:.1f} % of the image)")


if __name__ == "__main__":
    main()
