"""Exit and collapse with one budget (issue: a collapse with a deadline), against the real
engine. How long they take is bench/collapse.py's to measure; here, what a budget does: a
generous one lets every level stop gracefully (its init stops what runs inside and writes down
what ran), a budget of 0 kills at once (nothing written), and the volumes stay either way."""

from __future__ import annotations

import json
import os
import threading

from helpers import exec_ok, ls_json, node, run_cli

from dindtui.engine.lifecycle import exiting
from dindtui.engine.net import connect

STUBBORN = ("docker run -d --name stubborn tinysh sh -c "
            "'trap \"\" TERM; while :; do sleep 1; done' >/dev/null")
MAKE_TINYSH = r"""set -e
docker image inspect tinysh >/dev/null 2>&1 && exit 0
d=$(mktemp -d); mkdir -p $d/bin $d/lib/x86_64-linux-gnu $d/lib64
cp /usr/bin/sleep $d/bin/; cp /bin/dash $d/bin/sh
cp /lib/x86_64-linux-gnu/libc.so.6 $d/lib/x86_64-linux-gnu/
cp /lib64/ld-linux-x86-64.so.2 $d/lib64/
tar -C $d -c . | docker import - tinysh >/dev/null
"""


def record_of(volume: str) -> str | None:
    """What the level's init wrote down when it stopped (None: it was killed first)."""
    mountpoint = connect.client().api.inspect_volume(volume)["Mountpoint"]
    try:
        with open(os.path.join(mountpoint, ".dindtui-running")) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def test_a_budget_of_0_kills_at_once_and_a_generous_one_stops_gracefully(tree):
    graceful = tree.spawn(short="gen").level
    killed = tree.spawn(short="zero").level
    for level in (graceful, killed):
        exec_ok(level.path, MAKE_TINYSH + STUBBORN)
    inside = exec_ok(graceful.path, "docker ps -q --no-trunc --filter name=stubborn").strip()
    assert inside
    zero = run_cli("exit", killed.path, "--timeout", "0")
    assert zero.returncode == 0, zero.stderr
    assert f"exited {killed.path}" in zero.stdout
    assert record_of(killed.volume) is None  # SIGKILL: its init had no time to write
    exec_ok(graceful.path, "docker run -d --name polite tinysh sh -c "
            "'trap \"exit 3\" TERM; while :; do sleep 1; done' >/dev/null")
    given = run_cli("exit", graceful.path, "--timeout", "30")
    assert given.returncode == 0, given.stderr
    assert inside in (record_of(graceful.volume) or "")  # stopped by its init, written down
    names = [v.name for v in connect.client().volumes.list()]
    assert graceful.volume in names and killed.volume in names  # kept: no --rm-volume asked
    # Its daemon stopped each container as `docker stop` does, before it stopped itself: the
    # polite one ended on its SIGTERM, the stubborn one was killed after its stop timeout.
    back = run_cli("revive", graceful.name)
    assert back.returncode == 0, back.stderr
    ended = exec_ok(graceful.path, "docker inspect -f '{{.Name}} {{.State.ExitCode}}' "
                                   "polite stubborn").split()
    assert ended == ["/polite", "3", "/stubborn", "137"]


def test_a_budget_of_0_ends_a_tree_in_one_stroke_and_revive_starts_it_again_whole(tree):
    """No budget: the top of the subtree is killed (the kernel ends what is inside at once),
    not each level in turn; what is paused inside is thawed first (a frozen process cannot
    die); the levels inside stay in the kept volume as a killed tree leaves them, and revive
    starts the same containers again, the stubborn container's level with it."""
    top, middle, bottom = (result.level for result in tree.chain(3))
    exec_ok(bottom.path, MAKE_TINYSH + STUBBORN)
    exec_ok(middle.path, MAKE_TINYSH + "docker run -d --name frozen tinysh sleep 100000 "
            ">/dev/null && docker pause frozen")
    zero = run_cli("exit", top.path, "--timeout", "0")
    assert zero.returncode == 0, zero.stderr
    said = [line.split()[1] for line in zero.stdout.splitlines() if "(container" in line]
    assert said == [bottom.path, middle.path, top.path]  # deepest first, as ever
    assert node(ls_json(), top.path) is None
    assert record_of(top.volume) is None  # killed: its init wrote nothing down
    back = run_cli("revive", top.name)
    assert back.returncode == 0, back.stderr
    shown = ls_json()
    assert [(node(shown, level.path) or {}).get("state")
            for level in (top, middle, bottom)] == ["ready"] * 3
    # The same containers inside, started again: never stopped one by one and removed.
    assert [(node(shown, level.path) or {}).get("container_id")
            for level in (middle, bottom)] == [middle.container_id, bottom.container_id]
    assert "stubborn" in exec_ok(bottom.path, "docker ps -a --format '{{.Names}}'")
    gone = run_cli("exit", top.path, "--timeout", "0", "--rm-volume")
    assert gone.returncode == 0, gone.stderr
    assert top.volume not in [v.name for v in connect.client().volumes.list()]


def test_rm_volume_frees_the_volume_after_the_exit_and_what_was_inside_goes_with_it(tree):
    """With --rm-volume, each level is said exited as soon as its container is gone, deepest
    first; the volume of the level asked for is removed after that, said on a line of its own
    (gigabytes of it are no part of the exit's budget), and the levels inside, whose volumes
    were in it, went with it: never removed one by one in their parents' daemons first."""
    top, bottom = (result.level for result in tree.chain(2))
    gone = run_cli("exit", top.path, "--rm-volume", "-t", "5")
    assert gone.returncode == 0, gone.stderr
    said = [line.split()[:2] if line.lstrip().startswith("exited") else line.split()[-1:]
            for line in gone.stdout.splitlines() if "(container" in line or "volume of" in line]
    assert said == [["exited", bottom.path], ["exited", top.path], [top.path]], gone.stdout
    assert top.volume not in [v.name for v in connect.client().volumes.list()]
    assert node(ls_json(), top.path) is None


def test_a_budget_ends_what_is_still_exiting_inside_when_it_runs_out(tree):
    """A daemon that stops answering after the tree was read (SIGSTOP) can neither stop the
    level inside it nor say what is paused in it: those requests would wait for the engine
    client's own timeout. When the budget of the level above ends, that level is killed with
    everything inside, and the exit ends without waiting for them, every level said."""
    top, middle, bottom = (result.level for result in tree.chain(3))
    read = tree.find(top.path)  # the tree as the TUI holds it, read while every daemon answered
    exec_ok(middle.path, "kill -STOP $(pidof dockerd)")  # through top's daemon: it answers
    said: list[str] = []
    ended: list[list[str]] = []
    exiting_ = threading.Thread(target=lambda: ended.append(exiting.exit_level(
        read, timeout=3, on_event=lambda e: said.append(e.path) if e.phase == "exited"
        else None)), daemon=True)
    exiting_.start()
    exiting_.join(15)  # a wait for the engine client's own timeout (20 s) does not end here
    assert ended, "the exit still waits for a daemon that does not answer"
    assert sorted(ended[0]) == sorted(said) == sorted([bottom.path, middle.path, top.path])
    assert said[-1] == top.path
    assert node(ls_json(), top.path) is None
    assert top.volume in [v.name for v in connect.client().volumes.list()]  # kept


def test_a_budget_must_be_seconds():
    for bad in ("-1", "soon", "1e9"):
        ran = run_cli("collapse", "--timeout", bad)
        assert ran.returncode == 2 and "not a number of seconds" in ran.stderr


def test_spawn_count_starts_siblings_side_by_side_and_a_collapse_takes_them_at_once(tree):
    base = tree.name("p")
    made = run_cli("spawn", "--count", "4", "--name", base, "--json")
    assert made.returncode == 0, made.stderr
    outcomes = json.loads(made.stdout)
    assert [o["level"] for o in outcomes] == [f"{base}-{n}" for n in range(1, 5)]
    shown = {level["path"]: level["state"] for level in ls_json()["children"]}
    assert all(shown.get(f"{base}-{n}") == "ready" for n in range(1, 5)), shown
    again = run_cli("spawn", "--count", "2", "--name", base)
    assert again.returncode == 1 and f"level name '{base}-1' is taken" in again.stderr
    for n in range(1, 5):
        assert f"exited {base}-{n}" in run_cli("exit", f"{base}-{n}", "-t", "5").stdout
    assert run_cli("spawn", "--count", "65").returncode == 2
