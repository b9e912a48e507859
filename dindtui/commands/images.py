"""Images: push one down into a level, build the level image, the flags a level needs."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ..engine import config
from ..engine.errors import DindtuiError, UnknownLevel
from ..formatting import human
from . import Command
from .output import out, progress_bar

if TYPE_CHECKING:
    from ..engine.facade import Engine


def push(engine: "Engine", args: argparse.Namespace) -> int:
    try:
        level = engine.find(args.level)
    except UnknownLevel as unknown:
        try:
            engine.find_cluster(args.level)  # a cluster's name: every node of it
        except DindtuiError:
            raise unknown from None
        from .cluster import push as push_cluster
        args.name = args.level
        return push_cluster(engine, args)
    with progress_bar(args.json) as report:
        result = engine.push(level, args.image, report)
    if args.json:
        print(json.dumps(result.__dict__))
    elif result.action == "skipped":
        out.print(f"{args.image} is already in {level.path} (same id): nothing moved")
    else:
        out.print(f"{args.image} {result.action} into {level.path}: {human(result.bytes)} in "
                  f"{result.seconds:.1f}s ({result.mb_per_s:.0f} MB/s)")
    return 0


def flags(engine: "Engine", args: argparse.Namespace) -> int:
    print(" ".join(engine.flags(args.image)))
    return 0


def build(engine: "Engine", args: argparse.Namespace) -> int:
    with progress_bar(args.json) as report:
        result = engine.build_image(args.tag, args.base, args.force, report,
                                    engine=args.docker)
    if args.json:
        print(json.dumps(result.__dict__))
    else:
        what = "built" if result.built else "up to date"
        out.print(f"{result.tag} {what} ({human(result.size)}, {result.seconds:.1f}s"
                  + (", base bootstrapped" if result.bootstrapped else "") + ")")
    return 0


def _push_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level")
    p.add_argument("image")


def _build_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--docker", choices=list(config.DOCKER_VERSIONS), default=None,
                   metavar="VERSION",
                   help="the Docker engine inside the image: 20.10 (bookworm), 26 (trixie, the "
                   "default) or 28 (forky's, on trixie); tagged dindtui:docker-VERSION "
                   "unless --tag says otherwise")
    p.add_argument("--tag", default=None, help=f"the image's name (default {config.image()}, "
                   "or its docker-VERSION tag)")
    p.add_argument("--base", help="base image (default debian:SUITE-slim, bootstrapped if "
                   "it cannot be pulled)")
    p.add_argument("--force", action="store_true", help="build even when up to date")


COMMANDS = [
    Command("push", "move a local image down into LEVEL (or into every node of a cluster)",
            push, _push_arguments, json=True),
    Command("flags", "print the `docker run` flags a level needs on this engine", flags,
            lambda p: p.add_argument("--image", default=config.image(),
                                     help="image to probe with")),
    Command("image build", "build the level image (bootstraps a base if needed)", build,
            _build_arguments, json=True),
]
