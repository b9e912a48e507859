"""The CLI's commands, one module per group, all over one Engine.

A command is a name, its help, the arguments it adds to its parser, and the function run with
the Engine and the parsed arguments. `cli.py` builds the parser from this registry and runs the
chosen command; nothing here imports the engine (so `dindtui --help` answers at once): the
Engine is made by cli.py, from the command line, only for a command that runs."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..engine.facade import Engine


class UsageError(Exception):
    """Bad arguments: one line and status 2."""


@dataclass(frozen=True)
class Command:
    name: str                                   # "ls"; "image build" for a subcommand
    help: str
    run: Callable[["Engine", argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], object] = field(default=lambda parser: None)
    json: bool = False                          # takes --json


def port_number(value: str) -> int:
    """An argument that is a TCP port."""
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port number: {value!r}")
    return int(value)


def all_commands() -> list[Command]:
    """Every command, in the order `dindtui --help` lists them."""
    from . import cluster, disk, images, inside, pool, reach, tree
    return [*tree.COMMANDS, *inside.COMMANDS, *reach.COMMANDS, *disk.COMMANDS,
            *images.COMMANDS, *cluster.COMMANDS, *pool.COMMANDS]
