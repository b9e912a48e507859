"""`dindtui`: the TUI with no arguments, and scriptable subcommands over the same Engine.

This module is the command line alone: the parser (built from the registry of commands in
`commands/`), the choice of engines (`--host`/`--context`, `--all-contexts`: one Engine made
from them, for the TUI and every command alike) and the exit codes: 0 success, 1 error (one
line on stderr, never a traceback), 2 usage error (bad arguments or a bad DINDTUI_* setting),
130 interrupted."""

from __future__ import annotations

import argparse
import gc
import os
import sys

from .commands import UsageError, all_commands
from .engine import config
from .engine.errors import DindtuiError


def fail(message: str) -> None:
    """One line on stderr (commands/output.py: Rich's console, its progress bars and tables,
    imported only when something is said: the TUI's start does without them)."""
    from .commands.output import fail as say
    say(message)


class EngineOption(argparse.Action):
    """--host and --context, in the order given: [(kind, value), ...] in `engines`."""

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        namespace.engines = [*(getattr(namespace, "engines", None) or []), (self.kind, values)]


class VersionOption(argparse.Action):
    """--version: the installed version, read only when asked (importlib.metadata costs
    about 30 ms of every command's start otherwise)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs | {"nargs": 0})

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"dindtui {version()}")
        parser.exit()


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        fail(message)
        sys.exit(2)


def no_animation() -> bool:
    """--no-animation's default: DINDTUI_NO_ANIMATION=1 (the parser's and the bare TUI's)."""
    return os.environ.get("DINDTUI_NO_ANIMATION") == "1"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dindtui", description="Run and explore Docker-in-Docker: nested "
                    "daemons at any depth. With no command, opens the terminal UI.")
    parser.add_argument("--version", action=VersionOption, help="show the version and exit")
    parser.add_argument("--context", metavar="NAME", action=EngineOption, kind="--context",
                        help="the docker CLI context that is level 0 (as DOCKER_CONTEXT); "
                             "repeated (and with --host), one tree per engine")
    parser.add_argument("--host", "-H", metavar="ENDPOINT", action=EngineOption, kind="--host",
                        help="the engine that is level 0 (as DOCKER_HOST: unix://, tcp://, "
                             "ssh://); repeated (and with --context), one tree per engine")
    parser.add_argument("--all-contexts", action="store_true",
                        help="one tree per docker CLI context (the default one too; not "
                             "dindtui's own, which name levels)")
    parser.set_defaults(engines=[])
    parser.add_argument("--no-animation", action="store_true",
                        default=no_animation(),
                        help="no collapse animation in the TUI")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    groups: dict[str, argparse._SubParsersAction] = {}
    for command in all_commands():
        where, name = sub, command.name
        if " " in command.name:  # `image build`: a subcommand of a group
            group, name = command.name.split(" ", 1)
            if group not in groups:
                holder = sub.add_parser(group, help=f"the level {group}")
                groups[group] = holder.add_subparsers(dest=f"{group}_command",
                                                      parser_class=Parser, required=True)
            where = groups[group]
        p = where.add_parser(name, help=command.help, description=command.help)
        p.set_defaults(run=command.run)
        command.arguments(p)
        if command.json:
            p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed
    try:
        return installed("dindtui")
    except PackageNotFoundError:
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["__complete"]:  # the shell asks what may come next (completion.py)
        from .completion import complete
        return complete(argv[1:], build_parser())
    try:
        config.validate()
    except config.BadSetting as exc:
        fail(str(exc))
        return 2
    if not argv:  # `dindtui` alone, the TUI: the parser of every command is not built (its
        # modules imported and 200 arguments added: about 20 ms of the start)
        args = argparse.Namespace(engines=[], all_contexts=False, run=None,
                                  no_animation=no_animation())
    else:
        args = build_parser().parse_args(argv)
    try:
        if args.all_contexts:
            args.engines = args.engines + every_context(args.engines)
        run = getattr(args, "run", None)
        if run is None:  # no command: the TUI, on the same engines
            # No garbage collection until the first frame is drawn: Textual's import and first
            # frame make objects that live as long as the app (57,000 of them at that frame)
            # and the collector went over them again and again: about 80 ms of a 600-ms start
            # here. The app turns it on again after that frame (DindtuiApp.first_frame_drawn).
            gc.disable()
            from .engine.facade import Engine
            engine = Engine.from_command_line(args.engines)
            # The first tree is read while Textual loads: its daemons' answers are waits,
            # Textual's import is work, and the first frame needs both.
            first = engine.discover_soon()
            from .app import run_app
            return run_app(engine=engine, animation=not args.no_animation, first=first,
                           collector_paused=True)
        from .engine.facade import Engine  # the docker SDK, for a command that runs
        return run(Engine.from_command_line(args.engines), args)
    except UsageError as exc:
        fail(str(exc))
        return 2
    except DindtuiError as exc:
        fail(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130  # the user's own ^C: no error to report
    except Exception as exc:  # noqa: BLE001 - a bug or an unexpected daemon answer: one line
        if config.flag("DINDTUI_DEBUG"):
            raise
        fail(f"{type(exc).__name__}: {exc} (DINDTUI_DEBUG=1 shows the traceback)")
        return 1


def every_context(given: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """--all-contexts: the docker CLI's default engine (DOCKER_HOST, else its socket) and every
    stored context but dindtui's own, each once, after those given."""
    from .engine.net import connect as connecting
    from .engine.access import reach as reaching
    default = os.environ.get("DOCKER_HOST") or f"unix://{connecting.DEFAULT_SOCKET}"
    found, hosts = [("--host", default)], {default}
    for context in reaching.list_contexts():
        if not context.ours and context.host not in hosts:  # one engine, one tree
            found.append(("--context", context.name))
            hosts.add(context.host)
    return [engine for engine in found if engine not in given]


if __name__ == "__main__":
    sys.exit(main())
