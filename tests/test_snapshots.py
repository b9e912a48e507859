"""Snapshot tests of the screens, at a fixed terminal size, fed a fixed tree."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from snapshot_apps import (COLLAPSE_EVENTS, THE_REST, CleanupDialog, SnapshotApp, collapse_frame,
                           feed_stats, fixed_forest, fixed_plan, fixed_tree, painted,
                           readings_shown)

from helpers import until
from dindtui.screens.container import ContainerScreen
from dindtui.screens.dialogs import RunDialog

pytestmark = pytest.mark.engine_free  # the fast layer: no Docker engine

SIZE = (130, 36)


def test_main_screen_with_a_three_level_tree_and_the_detail_pane(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=settle)


def test_the_containers_of_a_level_with_cpu_and_memory(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=settle, press=["2"])


def test_the_images_of_a_level(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=settle, press=["3"])


async def open_web(pilot):
    await settle(pilot)
    await pilot.press("2", "enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, ContainerScreen))
    await pilot.pause(0.1)


def test_a_container_s_logs_followed(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=open_web)


def test_a_container_s_logs_filtered_with_timestamps(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=open_web, press=["t", "slash", *"login", "enter"])


def test_a_container_s_inspect(snap_compare):
    async def inspect(pilot):
        await open_web(pilot)
        await pilot.press("i")
        await until(pilot, lambda: pilot.app.screen.inspected and all(
            w.is_finished for w in pilot.app.workers))
        await pilot.pause(0.1)

    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=inspect)


def test_a_container_s_stats(snap_compare):
    async def stats(pilot):
        await open_web(pilot)
        await pilot.press("m")
        feed_stats(pilot.app)
        await pilot.pause(0.1)

    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=stats)


def test_the_volumes_of_a_level(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=settle, press=["4"])


def test_find_in_every_level(snap_compare):
    async def find(pilot):
        await settle(pilot)
        await pilot.press("slash", *"web")
        await until(pilot, lambda: getattr(pilot.app.screen, "hits", None) is not None)
        await pilot.pause(0.1)

    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=find)


def test_the_run_dialog(snap_compare):
    async def run(pilot):
        await settle(pilot)
        await pilot.press("3", "down", "r")
        await until(pilot, lambda: isinstance(pilot.app.screen, RunDialog))
        await pilot.pause(0.1)

    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=run)


def test_the_spawn_dialog(snap_compare):
    async def spawn(pilot):
        await settle(pilot)
        await pilot.press("n")
        await until(pilot, lambda: pilot.app.screen.query("#store"))
        await pilot.pause(0.1)

    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=SIZE,
                        run_before=spawn)


def test_disk_usage_view(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree()), terminal_size=SIZE, press=["d"],
                        run_before=settle)


def test_cleanup_modal(snap_compare):
    async def open_modal(pilot):
        await settle(pilot)
        pilot.app.push_screen(CleanupDialog(fixed_plan()))
        await pilot.pause()

    assert snap_compare(SnapshotApp(fixed_tree()), terminal_size=SIZE, run_before=open_modal)


def test_help_screen(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree()), terminal_size=SIZE, press=["question_mark"],
                        run_before=settle)


def test_several_engines_one_root_each(snap_compare):
    """`dindtui -H ... -H ... -H ...`: three engines, one of them silent."""
    app = SnapshotApp(forest=fixed_forest(), select="10.0.0.7:2376/l1/deep")
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_engine_unreachable_banner(snap_compare):
    app = SnapshotApp(None, error="no Docker engine answers at unix:///var/run/docker.sock")
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_a_frame_of_the_collapse_animation(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree()), terminal_size=SIZE,
                        run_before=collapse_started)


def test_the_collapse_when_every_level_has_exited(snap_compare):
    async def collapsed(pilot):
        await settle(pilot)
        screen = collapse_frame()
        pilot.app.push_screen(screen)
        await pilot.pause()
        for event in COLLAPSE_EVENTS + THE_REST:
            screen.add_event(event)
        await pilot.pause()

    assert snap_compare(SnapshotApp(fixed_tree()), terminal_size=SIZE, run_before=collapsed)


def test_the_empty_tree_greeting(snap_compare):
    assert snap_compare(SnapshotApp(fixed_tree(children=False)), terminal_size=SIZE,
                        run_before=settle)


async def settle(pilot, timeout: float = 10):
    """Until the screen is what the picture needs, however loaded the machine: the tree (or
    the banner) loaded, the selection made, every worker done, then one more frame."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        loaded = app.tree_loads > 0
        selected = app.selected_path == app.select_on_mount
        panes = app.main.query("#detail")  # empty until the main screen is mounted
        detailed = not app.select_on_mount or (
            bool(panes) and panes.first().border_title == app.select_on_mount)
        idle = all(worker.is_finished for worker in app.workers)
        footer = bool(app.screen.query("FooterKey"))  # the footer recomposes a frame later
        if loaded and selected and detailed and idle and footer:
            break
        await pilot.pause(0.02)
    if app.select_on_mount:
        await readings_shown(pilot, timeout)  # given once the graphs can take them, and drawn
    elif app.roots is not None:
        feed_stats(app)
    await pilot.pause(0.1)
    await painted(pilot)


# ------------------------------------------------------------------ 80x24 and 160x48
# What matters is never cut at the sizes people run terminals at: names, states, every tab,
# the numbers of the disk screen, `?` and `q` on the main screen, the collapse's frame.

async def with_stats(pilot):
    await settle(pilot)
    feed_stats(pilot.app)
    await pilot.pause(0.1)


async def containers_tab(pilot):
    await with_stats(pilot)
    await pilot.press("2")
    await pilot.pause(0.1)


async def disk_screen(pilot):
    await settle(pilot)
    await pilot.press("d")
    await pilot.pause(0.1)


async def collapse_started(pilot):
    await settle(pilot)  # ends with the readings drawn on the screen the collapse covers
    screen = collapse_frame()
    pilot.app.push_screen(screen)
    await pilot.pause()
    for event in COLLAPSE_EVENTS:
        screen.add_event(event)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("view", [with_stats, containers_tab, open_web, disk_screen,
                                  collapse_started],
                         ids=["main", "containers", "container", "disk", "collapse"])
def test_every_view_at_common_terminal_sizes(snap_compare, size, view):
    assert snap_compare(SnapshotApp(fixed_tree(), select="l1/l2/l3"), terminal_size=size,
                        run_before=view)


def test_the_readme_pictures_are_the_current_app():
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "pictures.py")
    checked = subprocess.run([sys.executable, script, "--check"], capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 0, (checked.stdout + checked.stderr
                                     + "\nrun scripts/pictures.py to make them again")


# ------------------------------------------------------------------ a cluster's swarm

async def cluster_swarm(pilot):
    """The cluster's line selected: its swarm in the detail pane, drawn and idle."""
    from dindtui.widgets.swarm_panel import SwarmPanel
    app = pilot.app
    await until(pilot, lambda: app.selected_path == "demo-m1" and app.main.query(SwarmPanel)
                and app.main.query_one(SwarmPanel).view is not None
                and all(worker.is_finished for worker in app.workers)
                and bool(app.screen.query("FooterKey")), "the swarm drawn", timeout=10)
    await pilot.pause(0.1)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_a_cluster_s_swarm_nodes_services_and_tasks_by_node(snap_compare, size):
    from fake_engine import fixed_cluster_tree
    from dindtui.model import cluster_key
    assert snap_compare(SnapshotApp(fixed_cluster_tree(), select=cluster_key("", "demo")),
                        terminal_size=size, run_before=cluster_swarm)
