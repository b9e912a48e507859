"""The footer on a narrow terminal: compact, without the palette's hint, so that every screen's
own keys (`?` and `q` on the main screen) stay on it at 80 columns."""

from __future__ import annotations

from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

NARROW = 110  # columns below which the screens say less


def fit_footer(screen: Screen, width: int) -> bool:
    """Fit `screen`'s footer to `width` columns; True when that is narrow."""
    narrow = width < NARROW
    try:
        footer = screen.query_one(Footer)
    except NoMatches:
        return narrow
    footer.compact, footer.show_command_palette = narrow, not narrow
    return narrow
