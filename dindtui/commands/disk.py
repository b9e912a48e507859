"""Disk: du and clean, over every engine given."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from rich.table import Table

from ..engine.order import tree_order
from ..formatting import cleanup_summary, human
from . import Command, UsageError
from .output import fail, out, print_table, progress_bar

if TYPE_CHECKING:
    from ..engine.facade import Engine


def du(engine: "Engine", args: argparse.Namespace) -> int:
    report = engine.measure()
    for problem in report.unmeasured:
        fail(f"not measured: {problem}")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 1 if report.unmeasured else 0
    table = Table(title=f"volume usage ({report.method})")
    for column in ("level", "state", "volume", "own", "shared (linked)", "freeable"):
        table.add_column(column, justify="right" if column in ("own", "shared (linked)",
                                                               "freeable") else "left")
    for v in sorted(report.volumes, key=lambda v: tree_order(v.level)):  # l1, l1/l2, l1-4
        freeable = human(v.freeable) if v.cleanable else "-"
        table.add_row("  " * (v.depth - 1) + v.level, v.state, v.volume, human(v.bytes),
                      human(v.shared_bytes), freeable)
    print_table(table)
    linked = sum(v.shared_bytes for v in report.volumes)
    out.print(f"total on disk: [bold]{human(report.total)}[/] (each hardlinked layer counted "
              f"once; copied into every level instead, the linked layers alone would take "
              f"{human(linked)})")
    return 1 if report.unmeasured else 0


def clean(engine: "Engine", args: argparse.Namespace) -> int:
    plan = engine.plan_cleanup()
    if args.json and (args.dry_run or not plan.items):
        print(json.dumps(plan.to_dict(), indent=2))
        return 0
    if not plan.items:
        out.print("nothing to clean: every dindtui volume belongs to a live level")
        return 0
    if not args.json:
        for item in plan.items:
            out.print(f"  {item.level} [dim]({item.state}, on {item.daemon or 'host'})[/] "
                      f"{item.volume}  {human(item.bytes)}")
        out.print(f"{'will free' if args.yes else 'would free'} [bold]{human(plan.total)}[/]")
    if args.dry_run:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("clean needs --yes when not run from a terminal")
        if args.json:
            raise UsageError("clean --json needs --yes (or --dry-run)")
        if input("remove these volumes? [y/N] ").strip().lower() not in ("y", "yes"):
            out.print("nothing removed")
            return 0
    with progress_bar(args.json) as report:
        result = engine.apply_cleanup(plan, report)
    for item, why in result.kept:
        fail(f"kept {item.volume} ({item.level}): {why}")
    for item, why in result.failed:
        fail(f"not removed: {item.volume} ({item.level}): {why}")
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        out.print(cleanup_summary(len(result.removed), result.freed, len(result.kept),
                                  len(result.failed)))
    # What changed since the plan and was kept is the gate at work, not a failure.
    return 1 if result.failed else 0


def _clean_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="only show what would be freed")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")


COMMANDS = [
    Command("du", "disk usage of every level's volume", du, json=True),
    Command("clean", "free the volumes of dead levels and orphaned volumes", clean,
            _clean_arguments, json=True),
]
