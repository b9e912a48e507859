"""The tree and its levels: ls, spawn, exit, collapse, revive. With several engines, `ls`,
`collapse` and `revive --all` cover every tree, and a path begins with its engine's label."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ..engine import config
from ..engine.errors import DindtuiError, UnknownLevel
from ..engine.progress import Progress
from ..formatting import safe_text
from . import Command, UsageError, port_number
from .output import err, fail, out, progress_bar, render_tree, shown

if TYPE_CHECKING:
    from ..engine.facade import Engine
    from ..engine.lifecycle.exiting import ExitEvent


def ls(engine: "Engine", args: argparse.Namespace) -> int:
    roots = engine.discover()
    if not engine.several:
        if args.json:
            print(json.dumps(roots[0].to_dict() | {"namespace": config.namespace()}, indent=2))
        else:
            out.print(render_tree(roots[0], args.all))
        return 0
    # Each engine as it was given: its context's name, or its address.
    given = [origin.context or origin.endpoint for origin in engine.origins]
    failed = [root for root in roots if root.state != "ready"]
    for name, root in zip(given, roots, strict=True):
        if root in failed:
            fail(f"engine {name}: {root.error or root.state}")
    if args.json:
        print(json.dumps({"engines": [
            {"engine": name, "error": root.error} if root in failed else
            {"engine": name} | root.to_dict() | {"namespace": config.namespace()}
            for name, root in zip(given, roots, strict=True)]}, indent=2))
    else:
        for name, root in zip(given, roots, strict=True):
            if root not in failed:
                out.print(f"[bold]engine {shown(name)}[/]")
                out.print(render_tree(root, args.all))
    return 1 if failed else 0


def spawn(engine: "Engine", args: argparse.Namespace) -> int:
    if args.name is not None and not args.name:
        raise UsageError("--name is empty: give a name, or leave --name out for l<depth>")
    if args.count != 1:
        return _spawn_many(engine, args)
    with progress_bar(args.json) as report:
        result = engine.spawn(args.parent, args.name, report, store=args.store, port=args.port,
                              image=args.image, strategy=args.strategy,
                              inherit_images=args.inherit_images, engine_version=args.docker,
                              cgroup=args.cgroup)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    how = "seeded" if result.strategy == "seed" else "streamed"
    out.print(f"level [bold]{result.level.path}[/] ready at depth {result.level.depth} "
              f"(daemon {result.ready_seconds:.1f}s, image {how}, usable "
              f"{result.usable_seconds:.1f}s)")
    if result.fallback_reason and result.strategy != "seed":
        out.print(f"[yellow]not seeded:[/] {shown(result.fallback_reason)}")
    return 0


def _spawn_many(engine: "Engine", args: argparse.Namespace) -> int:
    if not 1 <= args.count <= 64:
        raise UsageError(f"--count must be 1 to 64, not {args.count}")
    if args.port is not None:
        raise UsageError("--port names one level's port: it cannot go with --count")
    with progress_bar(args.json) as report:
        outcomes = engine.spawn_many(args.parent, args.count, args.name, report,
                                     store=args.store, image=args.image,
                                     strategy=args.strategy,
                                     inherit_images=args.inherit_images,
                                     engine_version=args.docker, cgroup=args.cgroup)
    failed = [o for o in outcomes if isinstance(o, DindtuiError)]
    if args.json:
        print(json.dumps([{"error": str(o)} if isinstance(o, DindtuiError) else o.to_dict()
                          for o in outcomes], indent=2))
        return 1 if failed else 0
    for outcome in outcomes:
        if isinstance(outcome, DindtuiError):
            fail(str(outcome))
        else:
            out.print(f"level [bold]{outcome.level.path}[/] ready (daemon "
                      f"{outcome.ready_seconds:.1f}s, usable {outcome.usable_seconds:.1f}s)")
    return 1 if failed else 0


def _print_exit(event: "ExitEvent") -> None:
    indent = "  " * (event.depth - 1)
    if event.phase == "exited":
        out.print(f"{indent}exited {event.path}  [dim](container {event.container_id})[/]")
    elif event.phase == "freed" and event.note:  # asked to go and kept: on stderr, as text
        err.print(f"{indent}{safe_text(event.note, 400)}", markup=False)
    elif event.phase == "freed":
        out.print(f"{indent}removed the volume of {event.path}")


def exit_level(engine: "Engine", args: argparse.Namespace) -> int:
    exited = engine.exit_level(args.level, _print_exit, rm_volume=args.rm_volume,
                               timeout=args.timeout)
    out.print(f"exited {len(exited)} level(s)" + ("" if args.rm_volume else
                                                  "; volumes kept (`dindtui clean` frees them)"))
    return 0


def collapse(engine: "Engine", args: argparse.Namespace) -> int:
    exited = engine.collapse(_print_exit, rm_volume=args.rm_volume, timeout=args.timeout)
    out.print(f"collapsed {len(exited)} level(s)")
    return 0


def revive(engine: "Engine", args: argparse.Namespace) -> int:
    if args.all == bool(args.level):
        raise UsageError("revive needs a LEVEL or --all")
    with progress_bar(args.json) as report:
        if args.all:
            revived = engine.revive_all(report)
        else:
            try:
                revived = engine.revive(args.level, report)
            except UnknownLevel:
                revived, volume = engine.revive_kept(args.level, report)
                report(Progress("revive", f"{revived[0]} made again on its kept volume {volume}"))
    if args.json:
        print(json.dumps({"revived": revived}))
    elif revived:
        out.print(f"revived {len(revived)} level(s): {', '.join(revived)}")
    else:
        out.print("nothing to revive: no stopped level" + ("" if args.all else " there"))
    return 0


def _ls_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", "-a", action="store_true",
                   help="also the warm pool levels (DINDTUI_POOL), each under its parent")


def _spawn_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("parent", nargs="?", default="host", help="parent level: name, path or host")
    p.add_argument("--name", help="name of the new level (default l<depth>); with --count, "
                   "their names are NAME-1 .. NAME-N")
    p.add_argument("--count", "-n", type=int, default=1, metavar="N",
                   help="N sibling levels at once (1-64), started side by side")
    p.add_argument("--port", type=port_number, help="also expose its daemon on 127.0.0.1:PORT "
                   "with TLS")
    p.add_argument("--image", default=None, help=f"level image (default {config.image()})")
    p.add_argument("--cgroup", choices=["v1", "v2"], default=None,
                   help="the cgroup version inside the new level (default: its parent's)")
    p.add_argument("--docker", choices=list(config.DOCKER_VERSIONS), default=None,
                   metavar="VERSION", help="the Docker engine of the new level: 20.10, 26 (the "
                   "default) or 28; its image (dindtui:docker-VERSION, built by `dindtui "
                   "image build --docker VERSION`) is brought from the nearest level above")
    p.add_argument("--strategy", choices=["auto", "seed", "stream"], default="auto",
                   help="how images reach the new level (auto: seed when possible)")
    p.add_argument("--inherit-images", action="store_true",
                   help="give the new level every image its parent has")
    p.add_argument("--store", choices=["overlay2", "containerd"],
                   help="the new level's image store (default: what its Docker defaults to)")


def seconds(value: str) -> float:
    """A budget in seconds: 0 or more."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 86400:
        raise argparse.ArgumentTypeError(f"not a number of seconds (0-86400): {value!r}")
    return number


def _budget_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rm-volume", action="store_true", help="also remove the levels' volumes")
    p.add_argument("--timeout", "-t", type=seconds, default=None, metavar="SECONDS",
                   help="one budget for the whole tree, as `docker stop -t`: each level stops "
                        "gracefully within its share and is killed when it ends (default 10; "
                        "0: kill at once)")


def _exit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level")
    _budget_arguments(p)


def _revive_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level", nargs="?", help="a level, or a name whose volume was kept")
    p.add_argument("--all", action="store_true", help="every stopped level of every tree")


COMMANDS = [
    Command("ls", "show the tree of levels (of every engine given)", ls, _ls_arguments,
            json=True),
    Command("spawn", "start a new level under PARENT (default: level 0)", spawn,
            _spawn_arguments, json=True),
    Command("exit", "exit LEVEL and its whole subtree, deepest first", exit_level,
            _exit_arguments),
    Command("collapse", "exit every level of every engine given, deepest first", collapse,
            _budget_arguments),
    Command("revive", "start stopped levels again (after a crash, an engine restart or a "
            "reboot), and the stopped levels inside them; a level exited with its volume kept "
            "is made again on that volume", revive, _revive_arguments, json=True),
]
