"""The order people expect: names naturally (w2 before w10), paths in tree order (a level, then
what is inside it, then its next sibling). No Docker here: the CLI's and the TUI's views import
it without loading the engine."""

from __future__ import annotations

import re
from typing import Any


def natural(text: str) -> tuple[Any, ...]:
    """A key that sorts names as people do: w2 before w10 (runs of digits by their value)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"([0-9]+)", text) if part != "")


def tree_order(path: str) -> tuple[Any, ...]:
    """A key that sorts paths in tree order, each name naturally: l1, l1/l2, l1-4, l2, l10."""
    return tuple(natural(name) for name in path.split("/"))
