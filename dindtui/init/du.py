"""Disk usage of level volumes by inode (hardlinked layers counted once): used by the engine
on this machine and by `dindtui-init du` in a helper container on a remote engine's."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

from .common import EXIT_BAD_INPUT, InitError

Inode = tuple[int, int]  # (st_dev, st_ino)


def measure_volumes(volumes: list[dict[str, Any]], on_volume: Callable[..., object] | None = None
                    ) -> tuple[dict[str, dict[str, int]], int]:
    """Disk usage of level volumes by inode, so that a layer hardlinked into several levels
    counts once. `volumes`: [{"volume", "path", "depth", "nested": [names of the volumes that
    live inside it]}]. Returns ({volume: {"bytes", "shared_bytes", "freeable"}}, total bytes):
    a file's bytes are counted in the shallowest volume that links it, and only when every
    link to it lies inside the volumes (one also linked from the engine's own image store
    costs nothing); "freeable" counts the files whose every link is inside the volume and
    what nests in it. Used by the engine on this machine, and by `dindtui-init du` in a
    helper container on a remote engine's."""
    by_path = {item["path"]: item for item in volumes}
    inodes: dict[Inode, tuple[int, int]] = {}  # (dev, ino) -> (bytes, links it has)
    links_in: dict[str, dict[Inode, int]] = {}  # volume -> (dev, ino) -> links inside it
    ordered = sorted(volumes, key=lambda item: (item["depth"], item["volume"]))
    for index, item in enumerate(ordered):
        if on_volume is not None:
            on_volume(index, len(ordered), item)
        links_in[item["volume"]] = _count_links(item["path"], by_path, inodes)
    in_tree: dict[Inode, int] = {}
    for counts in links_in.values():
        for key, count in counts.items():
            in_tree[key] = in_tree.get(key, 0) + count
    results = {item["volume"]: {"bytes": 0, "shared_bytes": 0, "freeable": 0}
               for item in volumes}
    counted: set[Inode] = set()
    for item in ordered:
        result = results[item["volume"]]
        for key in links_in[item["volume"]]:
            size, links = inodes[key]
            if links > 1:
                result["shared_bytes"] += size
            if key not in counted and in_tree[key] >= links:
                counted.add(key)
                result["bytes"] += size
    for item in volumes:
        union: dict[Inode, int] = {}
        for name in [item["volume"]] + list(item.get("nested") or []):
            for key, count in links_in.get(name, {}).items():
                union[key] = union.get(key, 0) + count
        results[item["volume"]]["freeable"] = sum(inodes[key][0] for key, count in union.items()
                                                  if count >= inodes[key][1])
    return results, sum(inodes[key][0] for key in counted)


def _count_links(top: str, skip: dict[str, Any],
                 inodes: dict[Inode, tuple[int, int]]) -> dict[Inode, int]:
    """The links to each inode under `top`, not descending into other volumes (`skip`).

    A file's inode number is in its directory entry, and a file lies on its directory's
    device (a mount point is a directory): a file is stat'ed only when its inode is not known
    yet. A layer seeded into 64 levels is stat'ed once, not 64 times. Where the entry's
    number is not the inode's (a file system that says otherwise), the stat's is the key, and
    every such file is stat'ed, as before."""
    counts: dict[Inode, int] = {}
    try:
        stack = [(top, os.lstat(top).st_dev)]
    except OSError:
        return counts
    while stack:
        path, dev = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.path in skip:
                        continue  # another level's volume: measured on its own
                    st = entry.stat(follow_symlinks=False)
                    stack.append((entry.path, st.st_dev))
                    key = (st.st_dev, st.st_ino)
                    if key not in inodes:
                        inodes[key] = (st.st_blocks * 512, 1)
                else:
                    key = (dev, entry.inode())
                    if key not in inodes:
                        st = entry.stat(follow_symlinks=False)
                        key = (st.st_dev, st.st_ino)
                        if key not in inodes:
                            inodes[key] = (st.st_blocks * 512, st.st_nlink)
            except OSError:
                continue
            counts[key] = counts.get(key, 0) + 1
    return counts


def du_main(argv: list[str]) -> int:
    """`dindtui-init du JSON`: measure_volumes of the volumes the JSON lists; prints one JSON
    line ({"volumes": {...}, "total": N})."""
    try:
        volumes = json.loads(argv[0]) if len(argv) == 1 else None
    except ValueError:
        volumes = None
    if not isinstance(volumes, list):
        raise InitError("usage: dindtui-init du '[{\"volume\": ..., \"path\": ..., \"depth\": "
                        "..., \"nested\": [...]}, ...]'", EXIT_BAD_INPUT)
    results, total = measure_volumes(volumes)
    print(json.dumps({"volumes": results, "total": total}), flush=True)
    return 0


def walk_here() -> int:
    """`python -m dindtui.init.du`: the same measurement in a process of its own, for the
    engine on this machine (engine/disk/usage.py): the volumes' JSON on stdin; one line per
    volume as it is walked ({"walking": I, "of": N, "volume": NAME}), then the result line.
    The walk of a big tree is seconds of CPU and a dictionary of every inode: apart, at a
    lower priority, it neither holds the TUI's interpreter lock nor keeps that memory."""
    os.nice(10)
    try:
        volumes = json.loads(sys.stdin.read(64 << 20))
    except ValueError:
        volumes = None
    if not isinstance(volumes, list):
        print("expected the volumes as a JSON list on stdin", file=sys.stderr)
        return EXIT_BAD_INPUT

    def walking(index: int, count: int, item: dict[str, Any]) -> None:
        print(json.dumps({"walking": index, "of": count, "volume": item.get("volume")}),
              flush=True)

    results, total = measure_volumes(volumes, walking)
    print(json.dumps({"volumes": results, "total": total}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(walk_here())
