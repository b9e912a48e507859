"""Find anything in the tree: one search over every level's containers and images ("which
level runs X"), as the `/` screen and in the command palette. The index is read once per
opening (every level asked in parallel, in a worker); typing filters it."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.command import Hit, Hits, Provider
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from .. import actions
from ..actions import bindings
from ..engine.explore.rows import Hit as Found
from ..engine.explore.rows import search
from ..messages import IndexLoaded

if TYPE_CHECKING:
    from ..controls import Controls

SHOWN = 200


def hit_text(hit: Found) -> Text:
    icon = "▣" if hit.kind == "container" else "◫"
    return Text.assemble((f"{icon} ", "cyan" if hit.kind == "container" else "yellow"),
                         (hit.name, "bold"), "  ", (hit.detail, "dim"), "  in ",
                         (hit.where, "bold cyan"))


class SearchScreen(ModalScreen["Found | None"]):
    DEFAULT_CSS = """
    SearchScreen { align: center middle; }
    SearchScreen > Vertical { width: 100; height: 80%; border: thick $primary;
                              background: $surface; padding: 0 1; }
    SearchScreen OptionList { height: 1fr; }
    SearchScreen #found { height: 1; color: $text-muted; }
    """
    BINDINGS = bindings(actions.SEARCH)

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.query_text = query
        self.hits: list[Found] | None = None
        self.shown: list[Found] = []
        self.problems: list[str] = []

    @property
    def dindtui(self) -> "Controls":
        return cast("Controls", self.app)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Find in every level: containers and images", style="bold"))
            yield Input(self.query_text, placeholder="name, image, id, tag, command…",
                        id="query")
            yield Static("reading every level…", id="found")
            yield OptionList(id="results")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        roots = self.dindtui.roots
        if roots is None:
            self.post_message(IndexLoaded([], ["the tree is not loaded yet"]))
            return
        try:
            hits, problems = self.dindtui.engine.index(roots)
        except Exception as exc:  # noqa: BLE001 - shown in the screen
            hits, problems = [], [str(exc)]
        self.post_message(IndexLoaded(hits, problems))

    @on(IndexLoaded)
    def loaded(self, message: IndexLoaded) -> None:
        self.hits, self.problems = message.hits, message.problems
        self.refilter()

    @on(Input.Changed)
    def changed(self) -> None:
        self.refilter()

    def refilter(self) -> None:
        if self.hits is None:
            return
        query = self.query_one(Input).value
        self.shown = search(self.hits, query)[:SHOWN]
        results = self.query_one(OptionList)
        results.clear_options()
        results.add_options([Option(hit_text(hit)) for hit in self.shown])
        if self.shown:
            results.highlighted = 0
        levels = len({hit.level for hit in self.hits})
        note = f"{len(self.shown)} found in {levels} level(s)"
        if self.problems:
            note += "; not asked: " + "; ".join(self.problems)
        self.query_one("#found", Static).update(note)

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    @on(Input.Submitted)
    def submitted(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(self.shown):
            self.dismiss(self.shown[index])

    @on(OptionList.OptionSelected)
    def selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.shown):
            self.dismiss(self.shown[event.option_index])

    def action_close(self) -> None:
        self.dismiss(None)


class TreeSearch(Provider):
    """The command palette's part of the search: every container and image of every level,
    read when the palette opens."""

    async def startup(self) -> None:
        app = cast("Controls", self.app)
        self.hits: list[Found] = []
        if app.roots is not None:
            try:
                self.hits, _ = await asyncio.to_thread(app.engine.index, app.roots)
            except Exception:  # noqa: BLE001 - the palette still has the commands
                self.hits = []

    async def search(self, query: str) -> Hits:
        app = cast("Controls", self.app)
        matcher = self.matcher(query)
        for hit in self.hits:
            label = f"{hit.name} in {hit.where}"
            score = matcher.match(f"{label} {hit.detail}")
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(app.go_to, hit),
                          help=f"{hit.kind}: {hit.detail}")
