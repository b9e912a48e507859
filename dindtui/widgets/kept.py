"""A widget found once by its type and kept while it is mounted: the screens update a few
widgets every round of readings (2 s), and a query walks every widget below where it starts."""

from __future__ import annotations

from typing import TypeVar, cast

from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.widget import Widget

W = TypeVar("W", bound=Widget)


class Kept:
    """The widgets below `owner`, by type, each found once (again if it was unmounted)."""

    def __init__(self, owner: DOMNode) -> None:
        self.owner = owner
        self._found: dict[type, Widget] = {}

    def one(self, kind: type[W]) -> W | None:
        found = self._found.get(kind)
        if found is None or not found.is_attached:
            try:
                found = self._found[kind] = self.owner.query_one(kind)
            except NoMatches:
                return None
        return cast(W, found)
