"""How sizes, durations and level states look, for the CLI and the widgets alike (no Textual
here)."""

from __future__ import annotations

from .engine.guard import text as safe_text  # noqa: F401 - what a level wrote, as harmless text

STATE_STYLE = {"ready": "green", "starting": "yellow", "created": "yellow",
               "restarting": "yellow", "paused": "blue", "unreachable": "magenta",
               "removing": "red", "exited": "red", "dead": "red"}
STATE_ICON = {"ready": "●", "starting": "◌", "created": "◌", "restarting": "↻", "paused": "‖",
              "unreachable": "?", "removing": "✖", "exited": "✖", "dead": "✖"}


def duration(seconds: float | None) -> str:
    """3725 -> '1h 2m'; None -> '-'."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"


def human(n: int | float | None) -> str:
    """1234567 -> '1.2 MB' (decimal units, as `docker system df` prints them)."""
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def cleanup_summary(removed: int, freed: int, kept: int, failed: int) -> str:
    """One line for what a cleanup did (engine/disk/usage.py's CleanupResult)."""
    text = f"removed {removed} volume(s), freed {human(freed)}"
    if kept:
        text += f"; kept {kept} that changed since the plan"
    if failed:
        text += f"; {failed} could not be removed"
    return text


SPARK = "▁▂▃▄▅▆▇█"


def spark(values, width: int = 8, top: float | None = None) -> str:
    """The last `width` values as a one-line bar chart ('▁▃▇'); the highest bar is `top`
    (default: the largest value shown, at least 1)."""
    shown = list(values)[-width:]
    if not shown:
        return ""
    top = top or max(max(shown), 1)
    return "".join(SPARK[min(int(v / top * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)]
                   if v > 0 else " " for v in shown)


def percent(value: float | None) -> str:
    return "" if value is None else (f"{value:.1f}%" if value < 100 else f"{value:.0f}%")


def short_size(n: int | float | None) -> str:
    """1234567 -> '1.2M', 75000000 -> '75M', 312000000 -> '310M': two figures, for tight
    places (the tree's labels, read again every 2 s: a third figure changed at every reading
    of a level's memory, and each change draws its line and those below it again)."""
    if n is None:
        return ""
    n = float(f"{n:.2g}")
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1000 or unit == "T":
            return f"{n:.0f}{unit}" if unit == "B" or n >= 10 else f"{n:.1f}{unit}"
        n /= 1000
    return ""
