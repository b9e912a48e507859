"""`dindtui`: the TUI with no arguments, and scriptable subcommands over the same engine.

Exit status: 0 success, 1 error (one line on stderr, never a traceback), 2 usage error (bad
arguments or a bad DINDTUI_* setting)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, Progress as Bar, SpinnerColumn, TaskID,
                           TaskProgressColumn, TextColumn, TimeElapsedColumn)
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from typing import TYPE_CHECKING

from .engine import config
from .engine.errors import DindtuiError, UnknownLevel
from .engine.progress import Progress
from .formatting import STATE_STYLE, human, percent, safe_text

if TYPE_CHECKING:
    from .engine import (certs, connect, images, inside, levels, privileges, reach, shell,
                         spawn, usage)


def load_engine() -> None:
    """Import the engine (and the docker SDK under it) only for the commands that use it, so
    that `dindtui --help` and usage errors answer at once."""
    global certs, connect, images, inside, levels, privileges, reach, shell, spawn, usage
    from .engine import (certs, connect, images, inside, levels, privileges, reach, shell,
                         spawn, usage)

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@contextlib.contextmanager
def progress_bar(quiet: bool = False):
    """A Rich progress display fed by engine Progress reports (one bar per stage)."""
    if quiet or not err.is_terminal:
        def plain(report: Progress) -> None:
            if not quiet and report.message and (report.done is None or report.done == report.total
                                                 or report.stage not in ("push", "build")):
                err.print(f"[dim]{shown(report.stage)}:[/] {shown(report.message)}")
        yield plain
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}", justify="left"), BarColumn(),
               TaskProgressColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn()]
    with Bar(*columns, console=err, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def update(report: Progress) -> None:
            if report.stage not in tasks:
                tasks[report.stage] = bar.add_task(report.stage, total=None, detail="")
            task = tasks[report.stage]
            detail = report.message[:60]
            if report.stage == "push" and report.done is not None:
                detail = f"{human(report.done)} / {human(report.total or 0)}"
            bar.update(task, completed=report.done or 0, total=report.total, detail=detail,
                       description=report.stage)
        yield update


def discover() -> levels.Level:
    return levels.discover()


def render_tree(root: levels.Level) -> Tree:
    tree = Tree(f"[bold]level 0[/] engine {shown(root.version or '')} "
                f"[dim]{shown(root.endpoint)}[/]")

    def add(node: Tree, level: levels.Level) -> None:
        style = STATE_STYLE.get(level.state, "white")
        extra = " ".join(x for x in (
            level.version and f"docker {level.version}",
            level.privilege, level.strategy, level.store and f"{level.store} store",
            level.port and f"port {level.port}") if x)
        branch = node.add(f"[bold]{level.depth}[/] {level.name} [{style}]{level.state}[/] "
                          f"[dim]{shown(extra)}[/]")
        for child in level.children:
            add(branch, child)

    for child in root.children:
        add(tree, child)
    for level in root.walk():
        for look_alike in level.ignored:
            tree.add(f"[dim]ignored on {level.label}: {shown(look_alike['container_name'])} "
                     f"({shown(look_alike['reason'])})[/]")
    return tree


# --------------------------------------------------------------------------- commands

def cmd_ls(args) -> int:
    root = discover()
    if args.json:
        print(json.dumps(root.to_dict() | {"namespace": config.namespace()}, indent=2))
    else:
        out.print(render_tree(root))
    return 0


def cmd_spawn(args) -> int:
    root = discover()
    parent = levels.find(root, args.parent)
    with progress_bar(args.json) as report:
        result = spawn.spawn(parent, args.name, port=args.port, image=args.image,
                             strategy=args.strategy, inherit_images=args.inherit_images,
                             store=args.store, progress=report)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    how = "seeded" if result.strategy == spawn.SEED else "streamed"
    out.print(f"level [bold]{result.level.path}[/] ready at depth {result.level.depth} "
              f"(daemon {result.ready_seconds:.1f}s, image {how}, usable "
              f"{result.usable_seconds:.1f}s)")
    if result.fallback_reason and result.strategy != spawn.SEED:
        out.print(f"[yellow]not seeded:[/] {shown(result.fallback_reason)}")
    return 0


def _print_exit(event: spawn.ExitEvent) -> None:
    if event.phase == "exited":
        out.print(f"{'  ' * (event.depth - 1)}root@{event.container_id}:/# exit  "
                  f"[dim]({event.path})[/]")


def cmd_exit(args) -> int:
    root = discover()
    level = levels.find(root, args.level)
    exited = spawn.exit_level(level, rm_volume=args.rm_volume, on_event=_print_exit)
    out.print(f"exited {len(exited)} level(s)" + ("" if args.rm_volume else
                                                  "; volumes kept (`dindtui clean` frees them)"))
    return 0


def cmd_collapse(args) -> int:
    root = discover()
    exited = spawn.collapse(root, rm_volume=args.rm_volume, on_event=_print_exit)
    out.print(f"collapsed {len(exited)} level(s)")
    return 0


def cmd_revive(args) -> int:
    root = discover()
    if args.all == bool(args.level):
        raise UsageError("revive needs a LEVEL or --all")
    with progress_bar(args.json) as report:
        if args.all:
            revived = spawn.revive(root, report)
        else:
            try:
                revived = spawn.revive(levels.find(root, args.level), report)
            except UnknownLevel:
                parent_ref, _, name = args.level.strip("/").rpartition("/")
                parent = levels.find(root, parent_ref or "host")
                revived, volume = spawn.revive_volume(parent, name, report)
                report(Progress("revive", f"{revived[0]} made again on its kept volume {volume}"))
    if args.json:
        print(json.dumps({"revived": revived}))
    elif revived:
        out.print(f"revived {len(revived)} level(s): {', '.join(revived)}")
    else:
        out.print("nothing to revive: no stopped level" + ("" if args.all else " there"))
    return 0


def cmd_shell(args) -> int:
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
    level = levels.find(discover(), args.level)
    if args.container:
        return shell.container_shell(level, args.container, args.command or None)
    return shell.interactive(level, args.command or None)


# --------------------------------------------------------------------------- inside levels

def cmd_ps(args) -> int:
    root = discover()
    if args.all_levels:
        if args.level:
            raise UsageError("ps takes a LEVEL or --all-levels, not both")
        chosen = [lv for lv in root.walk() if lv.state == levels.READY]
        skipped = [lv for lv in root.walk() if lv.state != levels.READY]
    else:
        chosen, skipped = [levels.find(root, args.level or "host")], []
    rows: list[tuple[levels.Level, inside.ContainerRow]] = []
    problems = [f"{lv.label} is {lv.state}" for lv in skipped]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for level, found in zip(chosen, pool.map(_rows_or_error, chosen), strict=True):
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
        for column in ("level", "container id", "name", "image", "status", "ports"):
            table.add_column(column, no_wrap=column != "ports")
        for level, row in rows:
            name = row.name + (f" (level {row.level_path})" if row.is_level else "")
            table.add_row(level.label, row.id, Text(name), Text(row.image),
                          Text(row.status, style="green" if row.state == "running" else "red"),
                          Text(row.ports))
        out.print(table)
    for problem in problems:
        err.print(f"[yellow]not asked:[/] {shown(problem)}")
    return 0


def _rows_or_error(level: levels.Level) -> list[inside.ContainerRow] | str:
    try:
        return inside.container_rows(level)
    except DindtuiError as exc:
        return str(exc)
    except images.API_ERRORS as exc:
        return f"{level.label}: {inside.explanation(exc)}"


def cmd_logs(args) -> int:
    level = levels.find(discover(), args.level)
    if args.tail is not None and args.tail < 0:
        raise UsageError(f"--tail must be 0 or more, not {args.tail}")
    for line in inside.log_lines(level, args.container, tail=args.tail, follow=args.follow,
                                 timestamps=args.timestamps):
        sys.stdout.write(line + "\n")
        if args.follow:
            sys.stdout.flush()
    return 0


def cmd_stats(args) -> int:
    root = discover()
    if args.level:
        level = levels.find(root, args.level)
        client_rows = inside.container_rows(level)
        endpoint = level.endpoint or ""  # container_rows answered: the level has one
        targets = {row.name: (endpoint, row.id) for row in client_rows
                   if row.state == "running"}
        what = "container"
    else:
        targets = {key[len("level:"):]: pair
                   for key, pair in inside.level_targets(root).items()}
        what = "level"  # its container, read on its parent
    if not targets:
        if args.json:
            print("[]")
        else:
            out.print(f"no running {what}")
        return 0
    while True:
        readings = inside.stats_once(targets)
        found = [(name, readings[name]) for name in targets if name in readings]
        if args.json:
            print(json.dumps([{"name": name, "cpu_percent": None if u.cpu_now is None
                               else round(u.cpu_now, 2), "memory_bytes": u.memory_now,
                               "memory_limit_bytes": u.memory_limit} for name, u in found],
                             indent=None if args.follow else 2), flush=True)
        else:
            table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
            for column in (what, "cpu", "memory", "limit"):
                table.add_column(column, justify="left" if column == what else "right")
            for name, u in found:
                table.add_row(name, percent(u.cpu_now), human(u.memory_now),
                              human(u.memory_limit))
            out.print(table)
        if not args.follow:
            return 0


def cmd_exec(args) -> int:
    level = levels.find(discover(), args.level)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError("exec needs a command: dindtui exec LEVEL -- CMD...")
    result = shell.exec_in(level, command)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.exit_code


def cmd_du(args) -> int:
    root = discover()
    report = usage.measure(root)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    table = Table(title=f"volume usage ({report.method})")
    for column in ("level", "state", "volume", "own", "shared (linked)", "freeable"):
        table.add_column(column, justify="right" if column in ("own", "shared (linked)",
                                                               "freeable") else "left")
    for v in sorted(report.volumes, key=lambda v: v.level):
        freeable = human(v.freeable) if v.state in usage.CLEANABLE else "-"
        table.add_row("  " * (v.depth - 1) + v.level, v.state, v.volume, human(v.bytes),
                      human(v.shared_bytes), freeable)
    out.print(table)
    out.print(f"total on disk: [bold]{human(report.total)}[/]")
    return 0


def cmd_clean(args) -> int:
    root = discover()
    plan = usage.plan_cleanup(root)
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
        out.print(f"would free [bold]{human(plan.total)}[/]")
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
        removed = usage.apply_cleanup(root, plan, progress=report)
    freed = sum(i.bytes for i in removed)
    if args.json:
        print(json.dumps({"removed": [i.to_dict() for i in removed], "freed": freed}))
    else:
        out.print(f"removed {len(removed)} volume(s), freed {human(freed)}")
    return 0 if len(removed) == len(plan.items) else 1


def cmd_push(args) -> int:
    root = discover()
    level = levels.find(root, args.level)
    levels.require_ready(level, "receive an image")
    if level.depth == 0:
        raise DindtuiError("level 0 is where images come from: push to a level below it")
    with progress_bar(args.json) as report:
        parent = levels.required(level.parent, "its parent")
        result = images.push_image(levels.required(parent.endpoint, "the parent's endpoint"),
                                   levels.required(level.endpoint, "its endpoint"), args.image,
                                   progress=report)
    if args.json:
        print(json.dumps(result.__dict__))
    elif result.action == "skipped":
        out.print(f"{args.image} is already in {level.path} (same id): nothing moved")
    else:
        out.print(f"{args.image} {result.action} into {level.path}: {human(result.bytes)} in "
                  f"{result.seconds:.1f}s ({result.mb_per_s:.0f} MB/s)")
    return 0


def cmd_certs(args) -> int:
    level = levels.find(discover(), args.level)
    directory = os.path.abspath(args.dir or reach.certs_dir(level))
    certs.fetch_client_certs(level, directory)
    if level.depth == 1:
        print(f"export DOCKER_HOST={shlex.quote(f'tcp://127.0.0.1:{level.port}')} "
              f"DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={shlex.quote(directory)}")
        return 0
    # Deeper levels publish their port on their parent level's loopback, which this machine
    # cannot reach: what works from here is the level's socket.
    err.print(f"dindtui: level {level.path} publishes TCP port {level.port} on 127.0.0.1 inside "
              f"{levels.required(level.parent, 'its parent').label}, not reachable from here; "
              "its certificates are in "
              f"{directory}, and this is its socket", markup=False, soft_wrap=True)
    levels.require_ready(level, "be reached")
    print(f"export DOCKER_HOST={shlex.quote(level.endpoint or '')}; "
          "unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH")
    return 0


def cmd_flags(args) -> int:
    client = connect.client()
    try:
        image = images.image_id(client, args.image) and args.image
    except DindtuiError:
        tagged = [t for i in client.images.list() for t in i.tags]
        if not tagged:
            raise DindtuiError("no local image to probe with: run `dindtui image build` "
                               "first") from None
        image = tagged[0]
    print(" ".join(privileges.cli_flags(privileges.decide(client, image))))
    return 0


def cmd_image_build(args) -> int:
    with progress_bar(args.json) as report:
        result = images.build_image(args.tag, args.base, force=args.force, progress=report)
    if args.json:
        print(json.dumps(result.__dict__))
    else:
        what = "built" if result.built else "up to date"
        out.print(f"{result.tag} {what} ({human(result.size)}, {result.seconds:.1f}s"
                  + (", base bootstrapped" if result.bootstrapped else "") + ")")
    return 0


def cmd_env(args) -> int:
    level = levels.find(discover(), args.level)
    if args.tcp:
        if not level.port:
            raise DindtuiError(f"level {level.label} has no TCP port (spawn it with --port)")
        if level.depth != 1:
            raise DindtuiError(f"level {level.path} publishes its port inside its parent "
                               "level, not on this machine: use its socket (no --tcp)")
        directory = os.path.abspath(args.dir or reach.certs_dir(level))
        certs.fetch_client_certs(level, directory)
        lines = reach.env_lines(level, tcp_directory=directory)
    else:
        lines = reach.env_lines(level)
    print("\n".join(lines))
    return 0


def cmd_context(args) -> int:
    if args.context_command == "ls":
        found = [c for c in reach.list_contexts() if c.ours]
        if args.json:
            print(json.dumps([asdict(c) for c in found], indent=2))
        else:
            for c in found:
                out.print(f"{c.name}  [dim]{c.path} ({c.namespace or 'no namespace'}) "
                          f"{c.host}[/]")
        return 0
    if args.context_command == "rm":
        removed = []
        for c in reach.list_contexts():
            if c.ours and c.namespace == config.namespace():
                reach.remove_context(c)
                removed.append(c.name)
        print(json.dumps({"removed": removed}) if args.json
              else f"removed {len(removed)} context(s)")
        return 0
    result = reach.sync_contexts(discover())
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        for name in result.created:
            out.print(f"created {name}")
        for name in result.updated:
            out.print(f"updated {name}")
        for name in result.removed:
            out.print(f"removed {name} (its level is gone)")
        for line in result.skipped:
            err.print(f"[yellow]skipped:[/] {shown(line)}")
        out.print("[dim]contexts now follow spawn and exit; `docker --context NAME ...` "
                  "reaches a level[/]")
    return 0


def cmd_serve(args) -> int:
    try:
        from .serve import serve
    except ImportError as exc:
        raise DindtuiError(f"dindtui serve needs textual-serve ({exc}): pip install "
                           "textual-serve") from None
    if args.public_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", args.public_url):
        raise UsageError(f"--public-url must be an http(s) URL, got {args.public_url!r}")
    return serve(args.host, args.port, animation=not args.no_animation,
                 engines=[part for engine in args.engines for part in engine]
                 if len(args.engines) > 1 else [], public_url=args.public_url)


def cmd_tui(args) -> int:
    from .app import run_app
    return run_app(animation=not args.no_animation)


# --------------------------------------------------------------------------- parser

class UsageError(Exception):
    pass


class EngineOption(argparse.Action):
    """--host and --context, in the order given: [(kind, value), ...] in `engines`."""

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        namespace.engines = [*(getattr(namespace, "engines", None) or []), (self.kind, values)]


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        fail(message)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dindtui", description="Run and explore Docker-in-Docker: nested "
                    "daemons at any depth. With no command, opens the terminal UI.")
    parser.add_argument("--version", action="version", version=f"dindtui {version()}")
    parser.add_argument("--context", metavar="NAME", action=EngineOption, kind="--context",
                        help="the docker CLI context that is level 0 (as DOCKER_CONTEXT); "
                             "repeated (and with --host), the TUI and `ls` show one tree "
                             "per engine")
    parser.add_argument("--host", "-H", metavar="ENDPOINT", action=EngineOption, kind="--host",
                        help="the engine that is level 0 (as DOCKER_HOST: unix://, tcp://, "
                             "ssh://); repeated (and with --context), the TUI and `ls` show "
                             "one tree per engine")
    parser.add_argument("--all-contexts", action="store_true",
                        help="one tree per docker CLI context (the default one too; not "
                             "dindtui's own, which name levels), in the TUI and `ls`")
    parser.set_defaults(engines=[])
    parser.add_argument("--no-animation", action="store_true",
                        default=os.environ.get("DINDTUI_NO_ANIMATION") == "1",
                        help="no collapse animation in the TUI")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)

    def command(name, func, help_text, json_flag=False):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    command("ls", cmd_ls, "show the tree of levels", True)
    p = command("spawn", cmd_spawn, "start a new level under PARENT (default: level 0)", True)
    p.add_argument("parent", nargs="?", default="host", help="parent level: name, path or host")
    p.add_argument("--name", help="name of the new level (default l<depth>)")
    p.add_argument("--port", type=port_number, help="also expose its daemon on 127.0.0.1:PORT "
                   "with TLS")
    p.add_argument("--image", default=config.image(), help="level image")
    p.add_argument("--strategy", choices=["auto", "seed", "stream"], default="auto",
                   help="how images reach the new level (auto: seed when possible)")
    p.add_argument("--inherit-images", action="store_true",
                   help="give the new level every image its parent has")
    p.add_argument("--store", choices=["overlay2", "containerd"],
                   help="the new level's image store (default: what its Docker defaults to)")
    p = command("exit", cmd_exit, "exit LEVEL and its whole subtree, deepest first")
    p.add_argument("level")
    p.add_argument("--rm-volume", action="store_true", help="also remove the levels' volumes")
    p = command("collapse", cmd_collapse, "exit every level, deepest first")
    p.add_argument("--rm-volume", action="store_true", help="also remove the levels' volumes")
    p = command("revive", cmd_revive, "start stopped levels again (after a crash, an engine "
                "restart or a reboot), and the stopped levels inside them; a level exited with "
                "its volume kept is made again on that volume", True)
    p.add_argument("level", nargs="?", help="a level, or a name whose volume was kept")
    p.add_argument("--all", action="store_true", help="every stopped level of the tree")
    p = command("shell", cmd_shell, "interactive shell in LEVEL")
    p.add_argument("level")
    p.add_argument("command", nargs=argparse.REMAINDER, help="a command instead of the shell")
    p.add_argument("--container", "-c", metavar="CONTAINER",
                   help="a container running inside LEVEL instead of the level itself")
    p = command("exec", cmd_exec, "run a command in LEVEL: dindtui exec LEVEL -- CMD...")
    p.add_argument("level")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = command("ps", cmd_ps, "the containers inside LEVEL (default: level 0), or inside "
                "every level", True)
    p.add_argument("level", nargs="?")
    p.add_argument("--all-levels", action="store_true", help="every level of the tree")
    p.add_argument("--all", "-a", action="store_true", help="stopped containers too")
    p = command("logs", cmd_logs, "the log of a container inside LEVEL")
    p.add_argument("level")
    p.add_argument("container", help="name or id")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    p.add_argument("--tail", "-n", type=int, help="only the last N lines")
    p.add_argument("--timestamps", "-t", action="store_true", help="Docker's time of each line")
    p = command("stats", cmd_stats, "CPU and memory of every level (its container, read on "
                "its parent), or of the containers inside LEVEL", True)
    p.add_argument("level", nargs="?")
    p.add_argument("--follow", "-f", action="store_true",
                   help="a new reading every second until interrupted (JSON: one line each)")
    p = command("serve", cmd_serve, "the TUI in a browser (textual-serve), on 127.0.0.1 by "
                "default, behind a random token that the printed URL carries")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8765, help="TCP port (default 8765)")
    p.add_argument("--public-url", help="where browsers reach it, when a proxy changes the "
                   "host (default: the host each request names)")
    p = command("env", cmd_env, "the environment that points docker (and any tool using "
                "DOCKER_HOST) at LEVEL: eval \"$(dindtui env LEVEL)\"")
    p.add_argument("level")
    p.add_argument("--tcp", action="store_true", help="through the level's TLS port (a level "
                   "spawned with --port), with its client certificates")
    p.add_argument("--dir", help="where --tcp puts the certificates (default "
                   "~/.dindtui/certs/<engine>/<namespace>/<level>)")
    p = command("context", cmd_context, "docker CLI contexts for the levels: `sync` makes one "
                "per live level (dindtui-l1.l2 for l1/l2) and keeps them in step with spawn "
                "and exit", True)
    p.add_argument("context_command", choices=["sync", "ls", "rm"], nargs="?", default="sync")
    command("du", cmd_du, "disk usage of every level's volume", True)
    p = command("clean", cmd_clean, "free the volumes of dead levels and orphaned volumes", True)
    p.add_argument("--dry-run", action="store_true", help="only show what would be freed")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p = command("push", cmd_push, "move a local image down into LEVEL", True)
    p.add_argument("level")
    p.add_argument("image")
    p = command("certs", cmd_certs, "fetch a level's TLS client certificates and print the "
                "environment that uses them: eval $(dindtui certs LEVEL)")
    p.add_argument("level")
    p.add_argument("--dir", help="where to put them (default "
                   "~/.dindtui/certs/<engine>/<namespace>/<level>)")
    p = command("flags", cmd_flags, "print the `docker run` flags a level needs on this engine")
    p.add_argument("--image", default=config.image(), help="image to probe with")
    p = command("image", None, "the level image")
    image_sub = p.add_subparsers(dest="image_command", parser_class=Parser, required=True)
    b = image_sub.add_parser("build", help="build the level image (bootstraps a base if needed)")
    b.set_defaults(func=cmd_image_build)
    b.add_argument("--tag", default=config.image())
    b.add_argument("--base", help="base image (default debian:trixie-slim, bootstrapped if "
                   "it cannot be pulled)")
    b.add_argument("--force", action="store_true", help="build even when up to date")
    b.add_argument("--json", action="store_true")
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed
    try:
        return installed("dindtui")
    except PackageNotFoundError:
        return "(not installed)"


def port_number(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port number: {value!r}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    try:
        config.validate()
    except config.BadSetting as exc:
        fail(str(exc))
        return 2
    args = build_parser().parse_args(argv)
    engines = args.engines + (every_context(args.engines) if args.all_contexts else [])
    args.engines = engines  # serve passes them on to every tab's app
    func = getattr(args, "func", None) or cmd_tui
    if len(engines) > 1:
        if func is cmd_ls:
            return ls_engines(engines, args.json)
        if func not in (cmd_tui, cmd_serve):
            fail(f"{len(engines)} engines given: the TUI, `serve` and `ls` show several "
                 "engines together; give one --host or --context for this command")
            return 2
    elif engines and engines[0][0] == "--host":
        os.environ["DOCKER_HOST"] = engines[0][1]  # as the docker CLI: the flag wins
        os.environ.pop("DOCKER_CONTEXT", None)
    elif engines:
        os.environ["DOCKER_CONTEXT"] = engines[0][1]
        os.environ.pop("DOCKER_HOST", None)
    try:
        load_engine()
        if len(engines) > 1:
            connect.set_origins(engines)
        return func(args)
    except UsageError as exc:
        fail(str(exc))
        return 2
    except DindtuiError as exc:
        fail(str(exc))
        return 1
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug or an unexpected daemon answer: one line
        if config.flag("DINDTUI_DEBUG"):
            raise
        fail(f"{type(exc).__name__}: {exc} (DINDTUI_DEBUG=1 shows the traceback)")
        return 1


def every_context(given: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """--all-contexts: the docker CLI's default engine (DOCKER_HOST, else its socket) and every
    stored context but dindtui's own, each once, after those given."""
    from .engine import connect as connecting
    from .engine import reach as reaching
    default = os.environ.get("DOCKER_HOST") or f"unix://{connecting.DEFAULT_SOCKET}"
    found, hosts = [("--host", default)], {default}
    for context in reaching.list_contexts():
        if not context.ours and context.host not in hosts:  # one engine, one tree
            found.append(("--context", context.name))
            hosts.add(context.host)
    return [engine for engine in found if engine not in given]


def ls_engines(engines: list[tuple[str, str]], as_json: bool) -> int:
    """`ls` of several engines: each one's tree, read at the same time, each in a dindtui
    process of its own (an engine is a whole level 0: its own connection settings, its own
    socket tree or tunnels). An engine that cannot be read gets its one line; the others are
    shown."""
    def one(engine: tuple[str, str]) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        if not as_json and sys.stdout.isatty():
            env["FORCE_COLOR"] = "1"
            env["COLUMNS"] = str(out.width)
        return subprocess.run([sys.executable, "-m", "dindtui", engine[0], engine[1], "ls",
                               *(["--json"] if as_json else [])], capture_output=True,
                              text=True, env=env, timeout=300)

    with ThreadPoolExecutor(max_workers=len(engines)) as pool:
        results = list(pool.map(one, engines))
    failed = 0
    shown = []
    for (_, name), result in zip(engines, results, strict=True):
        error = result.stderr.strip().splitlines()[-1] if result.returncode else None
        if error:
            failed += 1
            fail(f"engine {name}: {error.removeprefix('dindtui: error: ')}")
        if as_json:
            shown.append({"engine": name, "error": error} if error else
                         {"engine": name} | json.loads(result.stdout))
        elif not error:
            out.print(f"[bold]engine {name}[/]")
            sys.stdout.write(result.stdout)
            sys.stdout.flush()
    if as_json:
        print(json.dumps({"engines": shown}, indent=2))
    return 1 if failed else 0


def shown(value: object) -> str:
    """A value that came from a daemon or a level, inside markup: harmless text, escaped."""
    return escape(safe_text(value, 2000))


def fail(message: str) -> None:
    # A daemon's words may be in it: shown as text, its terminal controls never sent.
    err.print(f"dindtui: error: {safe_text(message, 2000)}", markup=False, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
