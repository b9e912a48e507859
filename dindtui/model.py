"""What the TUI shows, apart from how: the trees' helpers that the app and its screens share.
No Textual and no Docker here (a test checks): plain functions over the engine's Levels."""

from __future__ import annotations

from .engine.tree import levels
from .engine.errors import DindtuiError
from .engine.tree.levels import Level


def find_level(roots: list[Level] | None, path: str) -> Level | None:
    """The level at `path`; when it is gone, its nearest ancestor still there (or the first
    level 0)."""
    if not roots:
        return None
    while True:
        try:
            return levels.find_in(roots, path)
        except DindtuiError:
            if "/" not in path:
                return roots[0]
            path = path.rsplit("/", 1)[0]


def all_levels(roots: list[Level] | None) -> list[Level]:
    """Every level of every engine's tree (none before the first load)."""
    return list(levels.walk_all(roots or []))


def has_levels(roots: list[Level] | None) -> bool:
    """Some engine has a level below its level 0."""
    return any(root.children for root in roots or [])
