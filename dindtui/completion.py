"""Shell completion (bash, zsh, fish): `dindtui completion SHELL` prints the script, which asks
`dindtui __complete WORDS...` for the candidates of the last (partial) word: commands, options
and their choices from the real parser, level paths from the trees, container names from the
level the command line names. The engine is asked only when a level or a container is wanted,
with the same engines (-H, --context) the command line gives; if it does not answer, nothing
is offered, never an error on the user's terminal."""

from __future__ import annotations

import argparse
from typing import Any

SCRIPTS = {
    "bash": """# dindtui completion for bash: source it, or put it in /etc/bash_completion.d/dindtui
_dindtui() {
    local IFS=$'\\n'
    COMPREPLY=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _dindtui dindtui .venv/bin/dindtui ./.venv/bin/dindtui
""",
    "zsh": """#compdef dindtui
# dindtui completion for zsh: put it in a directory of $fpath as _dindtui, or source it
_dindtui() {
    local -a items
    items=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    compadd -Q -- "${items[@]}"
}
if (( $+functions[compdef] )); then compdef _dindtui dindtui; fi
""",
    "fish": """# dindtui completion for fish: put it in ~/.config/fish/completions/dindtui.fish
complete -c dindtui -f -a '(dindtui __complete (commandline -opc)[2..-1] (commandline -ct))'
""",
}
LEVEL_ARGUMENTS = {"level", "parent", "path", "levels"}  # positionals that name a level
CONTAINER_ARGUMENTS = {"container"}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _option_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {option: action for action in parser._actions for option in action.option_strings}


def candidates(words: list[str], parser: argparse.ArgumentParser,
               engine_factory: Any = None) -> list[str]:
    """What may come as the last of `words` (the words after `dindtui`, the last one partial),
    starting with what is typed of it; `parser`: the CLI's."""
    *done, current = words or [""]
    engines: list[tuple[str, str]] = []
    positionals: list[str] = []
    expecting: argparse.Action | None = None
    for word in done:
        options = _option_actions(parser)
        if expecting is not None:
            kind = getattr(expecting, "kind", None)  # cli.EngineOption: --host, --context
            if kind in ("--host", "--context"):
                engines.append((kind, word))
            expecting = None
            continue
        if word.startswith("-"):
            action = options.get(word.split("=", 1)[0])
            if action is not None and action.nargs != 0 and "=" not in word:
                expecting = action
            continue
        sub = _subparsers(parser)
        if word in sub and not positionals:
            parser = sub[word]
            continue
        positionals.append(word)
    if expecting is not None:  # the value of an option
        if expecting.choices:
            return _starting([str(choice) for choice in expecting.choices], current)
        if expecting.dest in CONTAINER_ARGUMENTS and positionals:
            return _starting(_containers(engines, positionals[0], engine_factory), current)
        return []
    if current.startswith("-"):
        return _starting(sorted(_option_actions(parser)), current)
    sub = _subparsers(parser)
    if sub and not positionals:
        return _starting(sorted(name for name in sub if not name.startswith("_")), current)
    wanted = [action for action in parser._actions
              if not action.option_strings and not isinstance(action,
                                                              argparse._SubParsersAction)]
    if len(positionals) < len(wanted):
        dest = wanted[len(positionals)].dest
        if dest in LEVEL_ARGUMENTS:
            return _starting(_levels(engines, engine_factory), current)
        if dest in CONTAINER_ARGUMENTS and positionals:
            return _starting(_containers(engines, positionals[0], engine_factory), current)
        if wanted[len(positionals)].choices:
            return _starting([str(c) for c in wanted[len(positionals)].choices or []], current)
    return []


def _starting(found: list[str], typed: str) -> list[str]:
    return [item for item in found if item.startswith(typed)]


def _engine(engines: list[tuple[str, str]], engine_factory: Any) -> Any:
    if engine_factory is not None:
        return engine_factory(engines)
    from .engine.facade import Engine
    return Engine.from_command_line(engines)


def _levels(engines: list[tuple[str, str]], engine_factory: Any) -> list[str]:
    from .engine.tree import levels
    try:
        roots = _engine(engines, engine_factory).discover()
    except Exception:  # noqa: BLE001 - no engine, no candidates: never noise on a prompt
        return []
    return [level.label for level in levels.walk_all(roots)]


def _containers(engines: list[tuple[str, str]], path: str, engine_factory: Any) -> list[str]:
    try:
        engine = _engine(engines, engine_factory)
        return sorted(row.name for row in engine.rows(engine.find(path)))
    except Exception:  # noqa: BLE001 - as above
        return []


def complete(words: list[str], parser: argparse.ArgumentParser) -> int:
    """`dindtui __complete WORDS...`: one candidate a line."""
    for item in candidates(words, parser):
        print(item)
    return 0
