"""A level for other tools: env, certs, docker CLI contexts, and the TUI in a browser."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..engine import config
from ..engine.errors import DindtuiError
from . import Command, UsageError, port_number
from .output import err, out, shown

if TYPE_CHECKING:
    from ..engine.facade import Engine


def env(engine: "Engine", args: argparse.Namespace) -> int:
    level = engine.find(args.level)
    directory = None
    if args.tcp:
        if not level.port:
            raise DindtuiError(f"level {level.label} has no TCP port (spawn it with --port)")
        if level.depth != 1:
            raise DindtuiError(f"level {level.path} publishes its port inside its parent "
                               "level, not on this machine: use its socket (no --tcp)")
        directory = os.path.abspath(args.dir or engine.certs_dir(level))
    print("\n".join(engine.env_lines(level, directory)))
    return 0


def certs(engine: "Engine", args: argparse.Namespace) -> int:
    level = engine.find(args.level)
    directory = engine.fetch_certs(level, os.path.abspath(args.dir) if args.dir else None)
    if level.depth == 1:
        print(f"export DOCKER_HOST={shlex.quote(f'tcp://127.0.0.1:{level.port}')} "
              f"DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={shlex.quote(directory)}")
        return 0
    # Deeper levels publish their port on their parent level's loopback, which this machine
    # cannot reach: what works from here is the level's socket.
    parent = level.parent.label if level.parent is not None else "its parent"
    err.print(f"dindtui: level {level.path} publishes TCP port {level.port} on 127.0.0.1 inside "
              f"{parent}, not reachable from here; its certificates are in {directory}, and "
              "this is its socket", markup=False, soft_wrap=True)
    if level.state != "ready" or not level.endpoint:
        raise DindtuiError(f"level {level.label} is {level.state}: cannot be reached")
    print(f"export DOCKER_HOST={shlex.quote(level.endpoint)}; "
          "unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH")
    return 0


def context(engine: "Engine", args: argparse.Namespace) -> int:
    from ..engine.access import reach
    if args.context_command == "ls":
        found = [c for c in reach.list_contexts() if c.ours]
        if args.json:
            print(json.dumps([asdict(c) for c in found], indent=2))
        elif not found:
            out.print("no docker context of dindtui's: `dindtui context sync` makes one per "
                      "live level")
        else:
            for c in found:
                out.print(f"{c.name}  [dim]{c.path} ({c.namespace or 'no namespace'}) "
                          f"{c.host}[/]")
        return 0
    if args.context_command == "rm":
        reach.follow_contexts(engine.endpoint, False)  # they stop following the tree
        removed = []
        for c in reach.list_contexts():
            if c.ours and c.namespace == config.namespace():
                reach.remove_context(c)
                removed.append(c.name)
        print(json.dumps({"removed": removed}) if args.json
              else f"removed {len(removed)} context(s)")
        return 0
    result = engine.sync_contexts()
    if not args.json and not (result.created or result.updated or result.removed):
        out.print("no live level to name: contexts will follow as levels are spawned "
                  "(`dindtui context rm` stops that)")
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


def serve(engine: "Engine", args: argparse.Namespace) -> int:
    try:
        from ..serve import serve as serving
    except ImportError as exc:
        raise DindtuiError(f"dindtui serve needs textual-serve ({exc}): pip install "
                           "textual-serve") from None
    if args.public_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", args.public_url):
        raise UsageError(f"--public-url must be an http(s) URL, got {args.public_url!r}")
    # Every tab's app gets the engines of this command line, in order.
    return serving(args.host, args.port, animation=not args.no_animation,
                   engines=[part for engine_option in args.engines for part in engine_option],
                   public_url=args.public_url)


def completion(engine: "Engine", args: argparse.Namespace) -> int:
    from ..completion import SCRIPTS
    sys.stdout.write(SCRIPTS[args.shell])
    return 0


def _env_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level")
    p.add_argument("--tcp", action="store_true", help="through the level's TLS port (a level "
                   "spawned with --port), with its client certificates")
    p.add_argument("--dir", help="where --tcp puts the certificates (default "
                   "~/.dindtui/certs/<engine>/<namespace>/<level>)")


def _certs_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level")
    p.add_argument("--dir", help="where to put them (default "
                   "~/.dindtui/certs/<engine>/<namespace>/<level>)")


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8765, help="TCP port (default 8765)")
    p.add_argument("--public-url", help="where browsers reach it, when a proxy changes the "
                   "host (default: the host each request names)")


COMMANDS = [
    Command("completion", "print the shell completion script: eval \"$(dindtui completion "
            "bash)\" (zsh, fish too; quickstart.sh installs bash's)", completion,
            lambda p: p.add_argument("shell", choices=["bash", "zsh", "fish"])),
    Command("serve", "the TUI in a browser (textual-serve), on 127.0.0.1 by default, behind a "
            "random token that the printed URL carries", serve, _serve_arguments),
    Command("env", "the environment that points docker (and any tool using DOCKER_HOST) at "
            "LEVEL: eval \"$(dindtui env LEVEL)\"", env, _env_arguments),
    Command("context", "docker CLI contexts for the levels: `sync` makes one per live level "
            "(dindtui-l1+l2 for l1/l2) and keeps them in step with spawn and exit", context,
            lambda p: p.add_argument("context_command", choices=["sync", "ls", "rm"],
                                     nargs="?", default="sync"), json=True),
    Command("certs", "fetch a level's TLS client certificates and print the environment that "
            "uses them: eval $(dindtui certs LEVEL)", certs, _certs_arguments),
]
