"""The warm pool (engine/lifecycle/pool.py): levels started and paused ahead of the spawns that
will adopt them. `DINDTUI_POOL=N` keeps N under each parent a spawn was made under; these
commands fill, list and drain a pool by hand."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ..engine import config
from . import Command, UsageError
from .output import out, progress_bar, shown

if TYPE_CHECKING:
    from ..engine.facade import Engine


def fill(engine: "Engine", args: argparse.Namespace) -> int:
    count = args.count if args.count is not None else (config.pool_size() or 1)
    if not 0 <= count <= config.POOL_MAX:
        raise UsageError(f"--count must be 0 to {config.POOL_MAX}, not {count}")
    with progress_bar(args.json) as report:
        made = engine.pool_fill(args.level, count, report)
    if args.json:
        print(json.dumps({"level": args.level, "started": made}))
    else:
        out.print(f"the pool of {shown(args.level)} holds {count} warm level(s)"
                  + (f"; started {', '.join(made)}" if made else ""))
    return 0


def ls(engine: "Engine", args: argparse.Namespace) -> int:
    rows = [(level.label, member) for root in engine.discover() for level in root.walk()
            for member in level.pool]
    if args.json:
        print(json.dumps([{"parent": parent, "name": m.name, "state": m.container_state,
                           "container_id": m.container_id, "volume": m.volume}
                          for parent, m in rows], indent=2))
        return 0
    if not rows:
        out.print("no warm pool level" + ("" if config.pool_size() else
                                          " (DINDTUI_POOL is not set)"))
    for parent, member in rows:
        state = "warm" if member.container_state == "running" else member.container_state
        out.print(f"{shown(parent)}  {shown(member.name)}  {shown(state)}  "
                  f"[dim]{(member.container_id or '')[:12]}[/]")
    return 0


def drain(engine: "Engine", args: argparse.Namespace) -> int:
    removed = engine.pool_drain(args.level)
    out.print(f"removed {len(removed)} pool level(s)"
              + (f": {', '.join(removed)}" if removed else ""))
    return 0


def _level(p: argparse.ArgumentParser) -> None:
    p.add_argument("level", nargs="?", default="host", help="the parent level (default host)")


def _fill_arguments(p: argparse.ArgumentParser) -> None:
    _level(p)
    p.add_argument("--count", "-n", type=int, default=None, metavar="N",
                   help=f"warm levels to keep there (0-{config.POOL_MAX}; default DINDTUI_POOL,"
                        " else 1)")


COMMANDS = [
    Command("pool fill", "start warm levels under LEVEL ahead of its spawns (paused until "
            "a spawn adopts one: usable in tens of milliseconds)", fill, _fill_arguments,
            json=True),
    Command("pool ls", "the warm levels of every pool, by parent", ls, json=True),
    Command("pool drain", "remove the warm levels under LEVEL", drain, _level),
]
