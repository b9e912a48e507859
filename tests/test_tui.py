"""The TUI driven with Pilot against the real engine: spawn with `n`, exit with `x` (the
collapse animation runs), clean a dead level's volume with `c`, shell with `s`/enter."""

from __future__ import annotations

import os
import time

from textual.widgets import Input

from helpers import COMPOSE_PROJECT, PtyTUI, run_cli, until
from dindtui.app import DindtuiApp
from dindtui.engine.net import connect
from dindtui.engine.tree import discovery, levels
from dindtui.screens.collapse import CollapseScreen
from dindtui.screens.dialogs import CleanupDialog, ConfirmDialog, NameDialog
from dindtui.widgets.banner import Banner
from dindtui.widgets.level_tree import LevelTree

SIZE = (140, 40)


def level_in(app: DindtuiApp, name: str) -> levels.Level | None:
    return next((lv for lv in app.all_levels() if lv.name == name), None)


async def spawn_with_keys(pilot, app, parent_path: str, name: str) -> levels.Level:
    app.query_one(LevelTree).select_path(parent_path)
    await until(pilot, lambda: app.selected_path == parent_path, "selection", 10)
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, NameDialog), "name dialog", 10)
    app.screen.query_one(Input).value = name
    await pilot.press("enter")
    await until(pilot, lambda: (level_in(app, name) or levels.Level("", "", 0, "", None))
                     .state == levels.READY, f"{name} ready", 180)
    return level_in(app, name)


async def test_spawn_two_levels_then_exit_them_with_the_collapse_animation(tree):
    app = DindtuiApp(animation=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.roots is not None, "first tree", 30)
        first = await spawn_with_keys(pilot, app, "", tree.name("a"))
        assert first.depth == 1
        second = await spawn_with_keys(pilot, app, first.path, tree.name("b"))
        assert second.depth == 2 and second.path == f"{first.path}/{second.name}"

        app.query_one(LevelTree).select_path(first.path)
        await until(pilot, lambda: app.selected_path == first.path, "selection", 10)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirm", 10)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, CollapseScreen), "collapse", 10)
        collapse = app.screen
        await until(pilot, lambda: collapse.done, "the collapse to finish", 180)
        # One frame per level, nested like the tree; deepest first, each folded into its
        # parent as that level really exited.
        [outer] = collapse.frames
        assert outer.path == first.path and [c.path for c in outer.children] == [second.path]
        assert collapse.history == [(second.path, "exiting"), (second.path, "exited"),
                                    (first.path, "exiting"), (first.path, "exited")]
        assert outer.folded == [second.name] and outer.state == "exited"
        await until(pilot, lambda: level_in(app, tree.name("a")) is None, "tree update", 30)
    root = discovery.discover()
    assert not [lv for lv in root.walk() if lv.name.startswith(tree.prefix)]


async def test_cleanup_modal_lists_a_dead_level_volume_and_frees_it(tree):
    dead = tree.spawn(short="dead").level
    connect.client().containers.get(dead.container_name).kill()
    app = DindtuiApp(animation=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: level_in(app, dead.name) is not None and
                         level_in(app, dead.name).state == levels.EXITED, "exited level shown", 60)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CleanupDialog), "modal", 60)
        items = {item.volume: item for item in app.screen.plan.items}
        assert dead.volume in items and items[dead.volume].bytes > 0
        await pilot.press("y")
        await until(pilot, lambda: dead.volume not in
                         {v.name for v in connect.client().volumes.list()}, "volume gone", 60)
        await until(pilot, lambda: level_in(app, dead.name) is None, "level gone", 30)


async def test_shell_key_reaches_the_one_shell_method_with_the_selected_level(tree):
    level = tree.spawn(short="sh").level
    opened = []
    app = DindtuiApp(animation=False)
    app.open_shell = lambda lv: opened.append(lv.path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: level_in(app, level.name) is not None, "level", 30)
        app.query_one(LevelTree).select_path(level.path)
        await until(pilot, lambda: app.selected_path == level.path, "selection", 10)
        await pilot.press("s")
        await pilot.pause()
        assert opened == [level.path]
        await pilot.press("enter")  # drills into the level's containers, opens no shell
        await until(pilot, lambda: bool(app.query("ContainersTable")) and
                         app.query_one("ContainersTable").has_focus, "the containers", 10)
    assert opened == [level.path]


async def test_unreachable_engine_shows_a_banner_and_keeps_running(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    app = DindtuiApp(animation=False)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.query_one(Banner)
        await until(pilot, lambda: banner.has_class("visible"), "banner", 30)
        assert "no Docker engine answers at unix:///nonexistent/docker.sock" in str(
            banner.render())
        loads = app.tree_loads
        await until(pilot, lambda: app.tree_loads > loads, "a retry", 10)
        assert app.is_running


def test_the_real_shell_from_the_tui_through_a_pseudo_terminal(tree):
    """The whole thing in a terminal: open the TUI, select the level, press s, type in the
    shell, exit it, land back in the TUI (redrawn, with the shell's status), and quit cleanly."""
    level = tree.spawn(short="pty").level
    tui = PtyTUI()
    status = None
    try:
        assert level.name.encode() in tui.read_until(level.name.encode(), 20), tui.seen[-2000:]
        tui.write(b"\x1b[B")  # down: the level below host
        tui.read_until(b"never shown", 1)
        tui.write(b"s")
        prompt = f"@{level.name}:".encode()  # the shell's prompt: it reads input from now on
        assert prompt in tui.read_until(prompt, 20), tui.seen[-2000:]
        tui.clear()
        tui.write(b"echo marker-$((20+22))-$(hostname)\r")
        output = tui.read_until(f"marker-42-{level.name}".encode(), 10)
        assert f"marker-42-{level.name}".encode() in output, output[-2000:]
        tui.clear()
        tui.write(b"exit\r")
        # Back in the TUI: the notification of the shell's status, and the tree drawn again.
        back = tui.read_until(b"exited with status 0", 15)
        assert b"exited with status 0" in back, back[-2000:]
        assert level.name.encode() in tui.read_until(level.name.encode(), 5)
        tui.write(b"q")  # levels are alive: the quit dialog, where q means "keep them"
        tui.read_until(b"Quit, keep levels", 5)
        tui.write(b"q")
        deadline = time.monotonic() + 15
        while status is None and time.monotonic() < deadline:
            tui.read_until(b"never shown", 0.2)
            done, code = os.waitpid(tui.pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
        assert status == 0, (status, tui.seen[-2000:])
    finally:
        if status is None:
            tui.close()
        else:
            os.close(tui.fd)
    assert tree.find(level.path).state == levels.READY  # "keep" kept it


def test_a_compose_project_built_and_brought_up_from_the_tui_s_shell_at_depth_2(tree):
    """What CI jobs do inside Docker-in-Docker, typed by a user in the TUI's shell of a level
    at depth 2: buildx builds the image, compose brings up two services that reach each other
    by name (the same project as by `dindtui exec` in test_image.py)."""
    level = tree.chain(2)[-1].level
    wrote = run_cli("exec", level.path, "--", "sh", "-c", 'printf "%s" "$1" > /root/demo.sh',
                    "sh", COMPOSE_PROJECT)
    assert wrote.returncode == 0, wrote.stderr
    tui = PtyTUI()
    try:
        assert level.name.encode() in tui.read_until(level.name.encode(), 20), tui.seen[-2000:]
        for _ in range(2):  # down, down: the level at depth 2
            tui.write(b"\x1b[B")
            tui.read_until(b"never shown", 0.5)
        tui.write(b"s")
        prompt = f"@{level.name}:".encode()
        assert prompt in tui.read_until(prompt, 20), tui.seen[-2000:]
        tui.clear()
        tui.write(b"sh /root/demo.sh; echo compose-done-$((40+2))-$?\r")
        shown = tui.read_until(b"compose-done-42-", 300)
        assert b"compose-done-42-0" in tui.read_until(b"compose-done-42-0", 2), shown[-3000:]
        assert b"hello from web" in shown and b"probe exited 0" in shown, shown[-3000:]
        tui.clear()
        tui.write(b"exit\r")
        assert b"exited with status 0" in tui.read_until(b"exited with status 0", 15)
    finally:
        tui.close()
