#!/usr/bin/env python3
"""Make the README's pictures from the current app (the snapshot tests' fixed tree, on the
fake engine): the main screen, a container's followed logs, and a frame of the collapse, as
SVG files in docs/. A test makes them again and compares, so they cannot go stale: run this
after a change that shows on screen. `--check`: only compare (status 1 when one differs)."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [HERE, os.path.join(HERE, "tests")]

from fake_engine import fixed_tree  # noqa: E402
from snapshot_apps import (COLLAPSE_EVENTS, SnapshotApp, collapse_frame,  # noqa: E402
                           readings_shown)

SIZE = (120, 32)
DOCS = os.path.join(HERE, "docs")


async def picture(name: str, steps, directory: str) -> str:
    app = SnapshotApp(fixed_tree(), select="l1/l2/l3")
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):  # the tree drawn and the level selected, within 10 s
            if app.selected_path == "l1/l2/l3" and app.query("#networks-table"):
                break
            await pilot.pause(0.1)
        await readings_shown(pilot)  # given and drawn: a screen pushed on top freezes it
        await steps(pilot)
        await pilot.pause(0.3)
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(app.export_screenshot(title="dindtui"))
    return path


async def nothing(pilot) -> None:
    return None


async def logs(pilot) -> None:
    await pilot.press("2", "enter")
    await pilot.pause(0.3)


async def collapse(pilot) -> None:
    screen = collapse_frame()
    pilot.app.push_screen(screen)
    await pilot.pause()
    for event in COLLAPSE_EVENTS:
        screen.add_event(event)


PICTURES = {"tui.svg": nothing, "logs.svg": logs, "collapse.svg": collapse}


async def make(directory: str) -> list[str]:
    return [await picture(name, steps, directory) for name, steps in PICTURES.items()]


def main() -> int:
    if "--check" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as scratch:
            asyncio.run(make(scratch))
            stale = [name for name in PICTURES
                     if open(os.path.join(scratch, name), encoding="utf-8").read()
                     != open(os.path.join(DOCS, name), encoding="utf-8").read()]
        print("stale: " + ", ".join(stale) if stale else "the pictures are up to date")
        return 1 if stale else 0
    for path in asyncio.run(make(DOCS)):
        print(f"wrote {os.path.relpath(path, HERE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
