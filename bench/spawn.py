"""Spawn benchmark: chains of levels on each image store (overlay2, containerd), seed vs stream,
and the plain `docker save | docker load` of the same image between the same daemons as the
baseline, all in one run.

Prints, per store and depth: time until the child daemon answers, time until the level image is
usable in it, bytes moved over the API, MB/s, and the host's disk growth (df on the engine's
data root). The seed chain uses `auto`: where seeding cannot work (a containerd-store level
under this host's overlay2 engine) it streams, and the table says so.
A last section runs the first level under a Docker-29-style level 0 (bench/packaged.py: a
system containerd at /var/lib/containerd): seeded, streamed, and `docker save | docker load`.
Usage: python bench/spawn.py [--depth 5] [--store overlay2|containerd|both] [--repeat 2]
       [--no-docker29]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import time

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

from dindtui.engine.net import connect  # noqa: E402
from dindtui.engine.tree import discovery  # noqa: E402
from dindtui.engine.lifecycle import exiting, images, spawn  # noqa: E402

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


def warm_push(parent_endpoint: str, child_endpoint: str) -> float:
    """dindtui's stream push into the child again, after removing the image there."""
    subprocess.run([docker_cli(), "-H", child_endpoint, "rmi", "-f", IMAGE],
                   capture_output=True, check=True)
    return images.push_image(parent_endpoint, child_endpoint, IMAGE).seconds


def chain(strategy: str, depth: int, data_root: str, prefix: str, with_baseline: bool,
          store: str, repeat: int = 1):
    rows, parent = [], discovery.discover()
    for d in range(1, depth + 1):
        before = used_bytes(data_root)
        result = spawn.spawn(parent, f"{prefix}{store[0]}{strategy[:2]}{d}", strategy=strategy,
                             store=store)
        grown = used_bytes(data_root) - before
        moved = sum(p.bytes for p in result.pushes or [])
        push_seconds = sum(p.seconds for p in result.pushes or [])
        row = {"depth": d, "store": store, "strategy": result.strategy,
               "ready": result.ready_seconds, "usable": result.usable_seconds, "moved": moved,
               "mbps": moved / 1e6 / push_seconds if push_seconds else 0.0, "disk": grown,
               "transfer": push_seconds if moved else (result.seed.seconds if result.seed
                                                        else 0.0)}
        if with_baseline:
            # The spawn's push met a daemon that had just started; the CLI pipe after it meets
            # a warm one. So the push is measured again, warm, between the same two daemons,
            # alternating with the CLI pipe; the best of each is kept.
            bases, warms = [], []
            for _ in range(repeat):
                bases.append(baseline(parent.endpoint, result.level.endpoint))
                warms.append(warm_push(parent.endpoint, result.level.endpoint))
            row["baseline"], row["warm"] = min(bases), min(warms)
        rows.append(row)
        parent = result.level
    return rows


def remove_own(prefix: str) -> None:
    """Exit the levels this benchmark made (and only those), volumes included."""
    for level in list(discovery.discover().children):
        if level.name.startswith(prefix):
            exiting.exit_level(level, rm_volume=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--store", choices=("overlay2", "containerd", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=2,
                        help="CLI pipe and warm push, alternately, this many times per depth")
    parser.add_argument("--no-docker29", action="store_true",
                        help="leave out the Docker-29-style level 0")
    args = parser.parse_args()
    stores = ("overlay2", "containerd") if args.store == "both" else (args.store,)
    host = connect.client()
    data_root = host.info()["DockerRootDir"]
    size = host.images.get(IMAGE).attrs["Size"]
    prefix = "b" + secrets.token_hex(2)
    print(f"image {IMAGE}: {size / 1e6:.0f} MB; depths 1..{args.depth}; stores "
          f"{', '.join(stores)}; engine data root {data_root}")
    results = {}
    try:
        for store in stores:
            seeded = chain(spawn.AUTO, args.depth, data_root, prefix, False, store)
            remove_own(prefix)
            streamed = chain(spawn.STREAM, args.depth, data_root, prefix, True, store,
                             args.repeat)
            remove_own(prefix)
            results[store] = (seeded, streamed)
    finally:
        remove_own(prefix)

    result = []
    for store, (seeded, streamed) in results.items():
        for name, rows in (("seed", seeded), ("stream", streamed)):
            result += [f"{store}_{name}_ready_s={statistics.mean(r['ready'] for r in rows):.3f}",
                       f"{store}_{name}_usable_s={statistics.mean(r['usable'] for r in rows):.3f}"]
    header = (f"{'store':>10} {'depth':>5} {'strategy':>8} {'daemon s':>9} {'usable s':>9} "
              f"{'moved MB':>9} {'MB/s':>6} {'disk +MB':>9} {'disk %img':>9}")
    print()
    print(header)
    print("-" * len(header))
    for seeded, streamed in results.values():
        for row in seeded + streamed:
            print(f"{row['store']:>10} {row['depth']:>5} {row['strategy']:>8} "
                  f"{row['ready']:>9.2f} {row['usable']:>9.2f} {row['moved'] / 1e6:>9.0f} "
                  f"{row['mbps']:>6.0f} {row['disk'] / 1e6:>9.1f} "
                  f"{100 * row['disk'] / size:>8.1f}%")
    print()
    print(f"{'store':>10} {'depth':>5} {'save|load s':>12} {'push at spawn s':>16} "
          f"{'push warm s':>12} {'warm/baseline':>14} {'seed s':>8} {'seed usable s':>14} "
          f"{'seed usable/baseline':>21}")
    for store, (seeded, streamed) in results.items():
        for seed_row, stream_row in zip(seeded, streamed, strict=True):
            base = stream_row["baseline"]
            print(f"{store:>10} {seed_row['depth']:>5} {base:>12.2f} "
                  f"{stream_row['transfer']:>16.2f} {stream_row['warm']:>12.2f} "
                  f"{stream_row['warm'] / base:>14.2f} {seed_row['transfer']:>8.2f} "
                  f"{seed_row['usable']:>14.2f} {seed_row['usable'] / base:>21.3f}")
    print()
    for store, (seeded, streamed) in results.items():
        linked = [r for r in seeded if r["strategy"] == "seed"]
        ratios = [r["warm"] / r["baseline"] for r in streamed]
        if linked:
            usable = sum(r["usable"] for r in linked) / len(linked)
            disk = sum(r["disk"] for r in linked) / len(linked)
            print(f"{store}: seeded levels: mean {usable:.2f} s (max "
                  f"{max(r['usable'] for r in linked):.2f}) from spawn to a usable image, mean "
                  f"disk growth {disk / 1e6:.1f} MB per level ({100 * disk / size:.1f} % of "
                  f"the image)")
        print(f"{store}: stream (warm) / save|load: max {max(ratios):.2f}, mean "
              f"{sum(ratios) / len(ratios):.2f}")
    if not args.no_docker29:
        result += docker29(size)
    print("\nRESULT " + " ".join(result))


def docker29(size: int) -> list[str]:
    """The first level under a Docker-29-style level 0: seeded (the system containerd's
    content and snapshots hardlinked), streamed, and save|load of the image between the same
    two daemons; its own disk, each inode counted once."""
    import json
    from packaged import PackagedHost, cli
    rows = {}
    host = PackagedHost()
    env = host.__enter__()
    try:
        # The first seeded level also pays what a new engine costs once (the privilege probe,
        # the limits it allows, both remembered): the second is what every next one takes.
        for name, strategy in (("first", "seed"), ("seed", "seed"), ("stream", "stream")):
            made = cli("spawn", "--name", f"d29{name}", "--strategy", strategy,
                       "--store", "containerd", "--json", env=env)
            if made.returncode != 0:
                raise SystemExit(made.stderr)
            rows[name] = json.loads(made.stdout)["usable_seconds"]
        sizes = host.sh("du -s /var/lib/containerd /var/lib/docker/volumes/*d29seed*/_data")
        own = int(sizes.split()[-2]) * 1024
        # The baseline: the streamed level's image removed, then save | load into it.
        children = json.loads(cli("ls", "--json", env=env).stdout)["children"]
        streamed = next(c for c in children if c["name"] == "d29stream")["endpoint"]
        subprocess.run([docker_cli(), "-H", streamed, "rmi", "-f", IMAGE], check=True,
                       capture_output=True, timeout=60)
        started = time.monotonic()
        save = subprocess.Popen([docker_cli(), "-H", env["DOCKER_HOST"], "save", IMAGE],
                                stdout=subprocess.PIPE)
        subprocess.run([docker_cli(), "-H", streamed, "load", "-q"], stdin=save.stdout,
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
        save.wait(timeout=60)
        rows["save|load"] = time.monotonic() - started
        cli("collapse", "-t", "0", "--rm-volume", env=env)
    finally:
        host.__exit__()
    print("\nDocker-29-style level 0 (system containerd at /var/lib/containerd, containerd "
          "store), the first level:")
    print(f"  seeded   usable in {rows['seed']:.2f} s (the first on that engine "
          f"{rows['first']:.2f} s), its own disk {own / 1e6:.1f} MB "
          f"({100 * own / size:.2f} % of the image)")
    print(f"  streamed usable in {rows['stream']:.2f} s "
          f"(seed / stream {rows['seed'] / rows['stream']:.2f})")
    print(f"  docker save | docker load of the image between the same daemons: "
          f"{rows['save|load']:.2f} s (seed / save|load {rows['seed'] / rows['save|load']:.2f})")
    return [f"docker29_seed_usable_s={rows['seed']:.3f}",
            f"docker29_first_seed_usable_s={rows['first']:.3f}",
            f"docker29_stream_usable_s={rows['stream']:.3f}",
            f"docker29_saveload_s={rows['save|load']:.3f}",
            f"docker29_seed_disk_pct={100 * own / size:.2f}"]


if __name__ == "__main__":
    main()
