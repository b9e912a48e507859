"""How the CLI prints, without an engine (the fake one): whole values when piped, one progress
line per thing that happens, and a followed stats table drawn in place on a terminal."""

from __future__ import annotations

import argparse
import io

import pytest
from fake_engine import FakeEngine, fixed_tree, fixed_usage
from rich.console import Console

from dindtui.commands import inside as inside_commands
from dindtui.commands import output
from dindtui.engine.progress import Progress

pytestmark = pytest.mark.engine_free


def test_ps_piped_prints_whole_level_paths_and_ids(capsys):
    args = argparse.Namespace(all_levels=True, level=None, all=True, json=False)
    assert inside_commands.ps(FakeEngine(), args) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].split()[:3] == ["level", "container", "id"]
    assert any(line.startswith("l1/l2/l3 ") and "0a1b2c3d4e5f" in line for line in lines)
    assert "…" not in printed


def test_progress_piped_says_each_thing_once(capsys):
    with output.progress_bar() as progress:
        for moved in range(120):
            progress(Progress("push", "moving dindtui:latest", moved * 1_000_000, 100_000_000))
        progress(Progress("push", "pushed dindtui:latest: 120 MB in 3.0 s", 1, 1))
        progress(Progress("wait", "waiting for the daemon of l2"))
    said = capsys.readouterr().err.splitlines()
    assert said == ["push: moving dindtui:latest", "push: pushed dindtui:latest: 120 MB in 3.0 s",
                    "wait: waiting for the daemon of l2"]


def test_stats_followed_on_a_terminal_is_drawn_again_in_place(monkeypatch):
    """`stats -f` on a terminal redraws one table (cursor moved back up), not one per reading;
    piped, it prints each reading after the last."""
    readings = [{"web": fixed_usage(5)}, {"web": fixed_usage(6)}, {"web": fixed_usage(7)}, {}]

    class Engine:
        def find(self, ref):
            return fixed_tree()

        def stats(self, level):
            return readings.pop(0)

    screen = io.StringIO()
    monkeypatch.setattr(inside_commands, "out", Console(file=screen, force_terminal=True,
                                                        width=80))
    args = argparse.Namespace(level="l1", follow=True, json=False)
    assert inside_commands.stats(Engine(), args) == 0
    drawn = screen.getvalue()
    assert "\x1b[1A" in drawn or "\x1b[2K" in drawn  # the cursor goes back over the table
    piped = io.StringIO()
    readings[:] = [{"web": fixed_usage(5)}, {"web": fixed_usage(6)}, {}]
    monkeypatch.setattr(inside_commands, "out", Console(file=piped, width=80))
    monkeypatch.setattr(output, "out", inside_commands.out)
    assert inside_commands.stats(Engine(), args) == 0
    assert piped.getvalue().count("cpu") == 2 and "\x1b" not in piped.getvalue()
