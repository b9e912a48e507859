"""`dindtui serve` against the real engine: requests without the token are refused, and a
headless Chromium (Debian's `chromium`, driven by Playwright) loads the page, presses keys that
spawn a level, and the level exists on the engine; the page's screenshot is a real one (the
README's pictures are made by scripts/pictures.py)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from helpers import free_port
from dindtui.engine.lifecycle import exiting
from dindtui.engine.tree import discovery, levels

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def served():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "dindtui", "--no-animation", "serve",
                                "--port", str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    url, seen = None, ""
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        found = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
        url = found.group(1) if found else None
    try:
        assert url is not None, f"no URL printed: {seen}"
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_requests_without_the_token_are_refused(served):
    base, token = served.split("/?token=")
    assert status_of(served) == 200
    assert status_of(base + "/") == 403
    wrong = token[:-1] + ("y" if token.endswith("x") else "x")  # never the token itself
    assert status_of(base + "/?token=" + wrong) == 403
    assert status_of(base + "/ws") == 403  # the websocket that would drive the app
    assert status_of(f"{base}/download/anything?token={token}") == 404  # behind it: no such


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                    "(./quickstart.sh test installs it)")
def test_the_tui_in_a_browser_spawns_a_level(tree, served, tmp_path):
    # `tree` before `served`: the server (and the app of every tab) is stopped before the
    # test's levels are removed, so no tab can still be spawning one then.
    from playwright.sync_api import sync_playwright

    before = {lv.path for lv in discovery.discover().walk()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            page.goto(served)
            page.wait_for_selector(".xterm", timeout=30_000)
            page.wait_for_selector("body.-first-byte", timeout=30_000)  # the app draws
            page.locator(".xterm").first.click()
            deadline = time.monotonic() + 120
            made, tries, asked, begun = None, 0, 0.0, False
            while made is None and time.monotonic() < deadline:
                if tries < 4 and not begun and (tries == 0 or time.monotonic() > asked + 20):
                    # The app in the tab starts in its own process: until its tree is loaded
                    # `n` is refused ("still loading"), so the keys are sent again, a few times.
                    tries, asked = tries + 1, time.monotonic()
                    page.keyboard.press("n")
                    time.sleep(1)
                    page.keyboard.press("Home")  # the name dialog: the default out, ours in
                    page.keyboard.press("Control+k")
                    page.keyboard.type(tree.name("web"))
                    page.keyboard.press("Enter")
                time.sleep(0.5)
                mine = [lv for lv in discovery.discover().walk()
                        if lv.path not in before and lv.name == tree.name("web")]
                begun = begun or bool(mine)  # a spawn under way: the keys are never sent again
                made = next((lv for lv in mine if lv.state == levels.READY), None)
            assert made is not None, "the key presses in the browser spawned no level"
            time.sleep(2)  # the tree in the page shows it
            page.screenshot(path=str(tmp_path / "serve.png"))
            assert os.path.getsize(tmp_path / "serve.png") > 10_000
        finally:
            browser.close()
            # A try whose keys reached the app half-typed (a tab still loading) may have
            # spawned a level of another name: it is this test's all the same (its namespace,
            # made while it ran), and it goes with it, volume included.
            for level in list(discovery.discover().children):  # exit_level edits the list
                if level.path not in before and level.name != tree.name("web"):
                    exiting.exit_level(level, rm_volume=True, timeout=5)
