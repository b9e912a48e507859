"""How the commands print: two consoles (stdout, stderr), text from levels made harmless, the
progress display fed by the engine's reports, and the tree."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, Progress as Bar, SpinnerColumn, TaskID,
                           TaskProgressColumn, TextColumn, TimeElapsedColumn)
from rich.table import Table
from rich.tree import Tree

from ..engine.progress import Progress
from ..formatting import STATE_STYLE, human, safe_text

if TYPE_CHECKING:
    from ..engine.tree.levels import Level

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def shown(value: object) -> str:
    """A value that came from a daemon or a level, inside markup: harmless text, escaped."""
    return escape(safe_text(value, 2000))


def fail(message: str) -> None:
    # A daemon's words may be in it: shown as text, its terminal controls never sent.
    err.print(f"dindtui: error: {safe_text(message, 2000)}", markup=False, soft_wrap=True)


@contextlib.contextmanager
def progress_bar(quiet: bool = False):
    """A Rich progress display fed by engine Progress reports (one bar per stage)."""
    if quiet or not err.is_terminal:
        said: dict[str, str] = {}

        def plain(report: Progress) -> None:
            """One line per thing that happens: a report that says what its stage last said
            (the same push at another byte count) is not a new line."""
            if quiet or not report.message or said.get(report.stage) == report.message:
                return
            said[report.stage] = report.message
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


def print_table(table: Table) -> None:
    """A table on stdout: at the terminal's width, or, piped, as wide as its cells need (a
    script reads whole values, never `l…`)."""
    if out.is_terminal:
        out.print(table)
    else:
        Console(file=out.file, width=100_000, highlight=False, no_color=out.no_color,
                color_system=None).print(table)


def render_tree(root: "Level", everything: bool = False) -> Tree:
    """The tree; `everything` (ls --all): with the warm pool levels under their parents."""
    tree = Tree(f"[bold]level 0[/] engine {shown(root.version or '')} "
                f"[dim]{shown(root.endpoint)}[/]")

    def add(node: Tree, level: "Level") -> None:
        style = STATE_STYLE.get(level.state, "white")
        extra = " ".join(x for x in (
            level.version and f"docker {level.version}",
            level.privilege, level.strategy, level.store and f"{level.store} store",
            level.port and f"port {level.port}") if x)
        branch = node.add(f"[bold]{level.depth}[/] {level.name} [{style}]{level.state}[/] "
                          f"[dim]{shown(extra)}[/]")
        for child in level.children:
            add(branch, child)
        pool(branch, level)

    def pool(node: Tree, level: "Level") -> None:
        for member in level.pool if everything else []:
            state = ("warm" if member.container_state == "running"
                     else shown(member.container_state or "?"))
            node.add(f"[dim]{level.depth + 1} {shown(member.name)} pool {state} "
                     "(a spawn here adopts it)[/]")

    for child in root.children:
        add(tree, child)
    pool(tree, root)
    for level in root.walk():
        for look_alike in level.ignored:
            tree.add(f"[dim]ignored on {level.label}: {shown(look_alike['container_name'])} "
                     f"({shown(look_alike['reason'])})[/]")
    return tree
