"""What the tests share besides fixtures (those are in conftest.py): running the real
`dindtui` and `docker` commands, reading `ls --json`, waiting with a deadline that says what it
waited for (in a thread or under a Pilot), and a loaded TUI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time


def run_cli(*args: str, input: str | None = None, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `dindtui` command, as a user would."""
    return subprocess.run([sys.executable, "-m", "dindtui", *args], input=input,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def ls_json(env: dict | None = None) -> dict:
    """The tree as `dindtui ls --json` prints it (it must succeed)."""
    result = run_cli("ls", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def node(tree: dict, path: str) -> dict | None:
    """The level at `path` in an `ls --json` tree, or None."""
    if tree["path"] == path:
        return tree
    return next((found for child in tree["children"] if (found := node(child, path))), None)


def exec_ok(path: str, script: str) -> str:
    """`dindtui exec PATH -- sh -c SCRIPT`, which must succeed; its output."""
    result = run_cli("exec", path, "--", "sh", "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, timeout: float = 60, step: float = 0.2):
    """The first true value of `predicate()`; fails, naming `what`, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(step)


async def until(pilot, predicate, what: str = "the screen", timeout: float = 10,
                step: float = 0.02) -> float:
    """Under a Pilot: let the app run until `predicate()` holds; the seconds it took. Fails,
    naming `what`, after `timeout` seconds."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"timed out after {timeout}s waiting for {what}"
        await pilot.pause(step)
    return time.monotonic() - start


async def loaded(pilot, app, timeout: float = 5) -> None:
    """The app has drawn its first tree (and, when there are levels, the detail pane)."""
    await until(pilot, lambda: app.roots is not None and app.tree_loads > 0, "the tree", timeout)
    if app.has_levels():  # the detail pane's tabs are made after the first tree is drawn
        await until(pilot, lambda: bool(app.query("#networks-table")), "the detail pane",
                    timeout)


def screen_text(app) -> str:
    """What the app's screen shows, as lines of text (from its SVG screenshot)."""
    import html
    import re

    rows: dict[float, list[tuple[float, str]]] = {}
    for found in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)" '
                             r'textLength="[\d.]+" clip-path="[^"]*">(.*?)</text>',
                             app.export_screenshot()):
        text = html.unescape(found.group(3)).replace("\xa0", " ")
        rows.setdefault(float(found.group(2)), []).append((float(found.group(1)), text))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            column = round(x / 12.2)
            line = line.ljust(column)[:column] + text + line[column + len(text):]
        lines.append(line)
    return "\n".join(lines)
