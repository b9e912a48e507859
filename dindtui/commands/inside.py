"""What runs inside the levels: shell, exec, ps, logs, stats. `ps --all-levels` and `stats`
cover every tree when several engines are given."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import TYPE_CHECKING

from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..engine.errors import DindtuiError
from ..formatting import human, percent
from . import Command, UsageError
from .output import err, out, print_table, shown

if TYPE_CHECKING:
    from ..engine.facade import Engine
    from ..engine.explore.inside import ContainerRow
    from ..engine.tree.levels import Level


def shell(engine: "Engine", args: argparse.Namespace) -> int:
    # `shell LEVEL -c NAME [CMD...]`: the option after LEVEL lands in the remainder.
    while args.command[:1] in (["-c"], ["--container"]) or \
            (args.command[:1] and args.command[0].startswith("--container=")):
        first = args.command.pop(0)
        if "=" in first:
            args.container = first.split("=", 1)[1]
        elif args.command:
            args.container = args.command.pop(0)
        else:
            raise UsageError(f"{first} needs a container name")
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    level = engine.find(args.level)
    if args.container:
        return engine.container_shell(level, args.container, args.command or None)
    return engine.shell(level, args.command or None)


def exec_in(engine: "Engine", args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError("exec needs a command: dindtui exec LEVEL -- CMD...")
    result = engine.exec(engine.find(args.level), command)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.exit_code


def ps(engine: "Engine", args: argparse.Namespace) -> int:
    if args.all_levels:
        if args.level:
            raise UsageError("ps takes a LEVEL or --all-levels, not both")
        every = [level for root in engine.discover() for level in root.walk()]
        chosen = [lv for lv in every if lv.state == "ready"]
        skipped = [lv for lv in every if lv.state != "ready"]
    else:
        chosen, skipped = [engine.find(args.level or "host")], []
    rows: list[tuple["Level", "ContainerRow"]] = []
    problems = [f"{lv.label} is {lv.state}" for lv in skipped]

    def rows_or_error(level: "Level") -> "list[ContainerRow] | str":
        try:
            return engine.rows(level)
        except DindtuiError as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for level, found in zip(chosen, pool.map(rows_or_error, chosen), strict=True):
            if isinstance(found, str):
                if not args.all_levels:
                    raise DindtuiError(found)
                problems.append(found)
            else:
                rows += [(level, row) for row in found if args.all or row.state == "running"]
    if args.json:
        print(json.dumps([{"level": level.path, "depth": level.depth} | asdict(row)
                          for level, row in rows], indent=2))
    else:
        table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
        widest = max((len(level.label) for level, _ in rows), default=5)
        for column in ("level", "container id", "name", "image", "status", "ports"):
            # The level and the id are never cut; the other columns give way on a terminal.
            table.add_column(column, no_wrap=column != "ports",
                             min_width={"level": widest, "container id": 12}.get(column))
        for level, row in rows:
            name = row.name + (f" (level {row.level_path})" if row.is_level else "")
            table.add_row(level.label, row.id, Text(name), Text(row.image),
                          Text(row.status, style="green" if row.state == "running" else "red"),
                          Text(row.ports))
        print_table(table)
    for problem in problems:
        err.print(f"[yellow]not asked:[/] {shown(problem)}")
    return 0


def logs(engine: "Engine", args: argparse.Namespace) -> int:
    if args.tail is not None and args.tail < 0:
        raise UsageError(f"--tail must be 0 or more, not {args.tail}")
    level = engine.find(args.level)
    for line in engine.log_lines(level, args.container, tail=args.tail, follow=args.follow,
                                 timestamps=args.timestamps):
        sys.stdout.write(line + "\n")
        if args.follow:
            sys.stdout.flush()
    return 0


def stats(engine: "Engine", args: argparse.Namespace) -> int:
    level = engine.find(args.level) if args.level else None
    what = "container" if level is not None else "level"  # a level: its container, on its parent
    # Followed on a terminal, the table is drawn again in place, as `docker stats` does; piped
    # (or as JSON), each reading is printed after the last, for a script to read.
    live = Live(console=out, auto_refresh=False) if args.follow and out.is_terminal \
        and not args.json else None
    with live or contextlib.nullcontext():
        while True:
            readings = engine.stats(level)
            if not readings:
                if args.json:
                    print("[]")
                else:
                    out.print(f"no running {what}")
                return 0
            if args.json:
                print(json.dumps([{"name": name, "cpu_percent": None if u.cpu_now is None
                                   else round(u.cpu_now, 2), "memory_bytes": u.memory_now,
                                   "memory_limit_bytes": u.memory_limit}
                                  for name, u in readings.items()],
                                 indent=None if args.follow else 2), flush=True)
            else:
                table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
                for column in (what, "cpu", "memory", "limit"):
                    table.add_column(column, justify="left" if column == what else "right")
                for name, u in readings.items():
                    table.add_row(name, percent(u.cpu_now), human(u.memory_now),
                                  human(u.memory_limit) if u.memory_limit else "-")
                if live is not None:
                    live.update(table, refresh=True)
                else:
                    print_table(table)
            if not args.follow:
                return 0


def _shell_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level")
    p.add_argument("command", nargs=argparse.REMAINDER, help="a command instead of the shell")
    p.add_argument("--container", "-c", metavar="CONTAINER",
                   help="a container running inside LEVEL instead of the level itself")


def _exec_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level")
    p.add_argument("command", nargs=argparse.REMAINDER)


def _ps_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level", nargs="?")
    p.add_argument("--all-levels", action="store_true", help="every level of every tree")
    p.add_argument("--all", "-a", action="store_true", help="stopped containers too")


def _logs_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level")
    p.add_argument("container", help="name or id")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    p.add_argument("--tail", "-n", type=int, help="only the last N lines")
    p.add_argument("--timestamps", "-t", action="store_true", help="Docker's time of each line")


def _stats_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level", nargs="?")
    p.add_argument("--follow", "-f", action="store_true",
                   help="a new reading every second until interrupted (JSON: one line each)")


COMMANDS = [
    Command("shell", "interactive shell in LEVEL", shell, _shell_arguments),
    Command("exec", "run a command in LEVEL: dindtui exec LEVEL -- CMD...", exec_in,
            _exec_arguments),
    Command("ps", "the containers inside LEVEL (default: level 0), or inside every level",
            ps, _ps_arguments, json=True),
    Command("logs", "the log of a container inside LEVEL", logs, _logs_arguments),
    Command("stats", "CPU and memory of every level (its container, read on its parent), or "
            "of the containers inside LEVEL", stats, _stats_arguments, json=True),
]
