"""How sizes and level states look, for the CLI and the widgets alike (no Textual here)."""

from __future__ import annotations

STATE_STYLE = {"ready": "green", "starting": "yellow", "created": "yellow",
               "restarting": "yellow", "paused": "blue", "unreachable": "magenta",
               "removing": "red", "exited": "red", "dead": "red"}
STATE_ICON = {"ready": "●", "starting": "◌", "created": "◌", "restarting": "↻", "paused": "‖",
              "unreachable": "?", "removing": "✖", "exited": "✖", "dead": "✖"}


def human(n: int | float | None) -> str:
    """1234567 -> '1.2 MB' (decimal units, as `docker system df` prints them)."""
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""
