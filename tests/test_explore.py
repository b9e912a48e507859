"""Exploring what runs inside the levels, against the real engine: a chain of three levels
made once for this file, containers started at depth 3 the way a user would (`docker run` in a
level), and then the TUI (Pilot, real engine), the CLI (`ps`, `logs`, `stats`, `shell -c`) and
the engine calls behind them."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import sys
import tarfile
import time

import pytest

from helpers import run_cli, until
from conftest import MAKE_TINY, Tree
from dindtui.app import DindtuiApp
from dindtui.engine import gate
from dindtui.engine.facade import Engine
from dindtui.engine.explore import stats
from dindtui.engine.explore import inside, shell
from dindtui.engine.net import connect
from dindtui.engine.tree import levels
from dindtui.engine.errors import DindtuiError
from dindtui.screens.container import ContainerScreen
from dindtui.screens.dialogs import ConfirmDialog
from dindtui.widgets.detail_pane import DetailPane
from dindtui.widgets.level_tree import LevelTree
from dindtui.widgets.tables import ContainersTable

SIZE = (140, 40)

# tiny with a shell: dash as /bin/sh (no bash), to show the bash -> sh fallback.
MAKE_TINYSH = r"""set -e
docker image inspect tinysh >/dev/null 2>&1 && exit 0
d=$(mktemp -d); mkdir -p $d/bin $d/lib/x86_64-linux-gnu $d/lib64
cp /usr/bin/true /usr/bin/echo /usr/bin/sleep /usr/bin/cat $d/bin/
cp /bin/dash $d/bin/sh
cp /lib/x86_64-linux-gnu/libc.so.6 $d/lib/x86_64-linux-gnu/
cp /lib64/ld-linux-x86-64.so.2 $d/lib64/
tar -C $d -c . | docker import - tinysh >/dev/null
"""
TICKER = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done"


@pytest.fixture(scope="module")
def chain(image):
    """Three levels, one inside the other, each with tiny and tinysh; removed after the file."""
    made = Tree()
    try:
        results = made.chain(3)
        for result in results:
            ran = shell.exec_in(made.find(result.level.path),
                                ["sh", "-c", MAKE_TINY + MAKE_TINYSH])
            assert ran.exit_code == 0, ran.stderr
        yield made, [r.level.path for r in results]
    finally:
        made.cleanup()


def run_in(made: Tree, path: str, script: str) -> str:
    ran = shell.exec_in(made.find(path), ["sh", "-c", script])
    assert ran.exit_code == 0, ran.stderr
    return ran.stdout.strip()


def in_docker(made: Tree, path: str, name: str) -> str | None:
    """The container's state as the level's own daemon says it (None: no such container)."""
    rows = inside.container_rows(made.find(path))
    return next((row.state for row in rows if row.name == name), None)


async def test_a_container_at_depth_3_in_the_tui_table_logs_filter_stop_remove(chain):
    made, (d1, d2, d3) = chain
    app = DindtuiApp(animation=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.roots is not None, "the first tree", 30)
        app.query_one(LevelTree).select_path(d3)
        await until(pilot, lambda: bool(app.query(ContainersTable)), "the detail pane", 30)
        table = app.query_one(ContainersTable)
        await until(pilot, lambda: app.selected_path == d3 and
                         table.level_path == d3, "the level's details", 30)
        run_in(made, d3, f"docker run -d --name ticker tinysh sh -c '{TICKER}'")
        seconds = await until(pilot, lambda: any(
            r.name == "ticker" and r.state == "running" for r in table.by_key.values()),
            "ticker in the table", 30)
        print(f"ticker appeared in the depth-3 table {seconds * 1000:.0f} ms after docker run "
              "returned")
        app.query_one(DetailPane).show_tab("containers")
        ticker = next(r for r in table.by_key.values() if r.name == "ticker")
        table.select_id(ticker.id)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "its screen", 30)
        screen = app.screen
        log = screen.query_one("Log")
        await until(pilot, lambda: log.line_count >= 5, "the first lines", 30)
        first = log.line_count
        await until(pilot, lambda: log.line_count >= first + 5, "new lines, followed", 30)
        assert log.lines[-1].startswith("tick ")
        await pilot.press("slash", *"tick 1")  # tick 1, tick 10..19, tick 100...
        await until(pilot, lambda: 0 < log.line_count < len(screen.lines) and
                         screen.pattern == "tick 1", "the filter", 30)
        assert all(line.startswith("tick 1") for line in log.lines)
        await pilot.press("enter", "t")  # keep the filter; timestamps on
        await until(pilot, lambda: log.lines[0][2:3] == ":" and " tick 1" in
                         log.lines[0], "timestamps", 30)

        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "stop question", 30)
        await pilot.press("y")
        await until(pilot, lambda: in_docker(made, d3, "ticker") == "exited", "the stop", 30)
        await until(pilot, lambda: screen.row.state == "exited", "the screen told", 30)
        await pilot.press("escape", "escape")
        await until(pilot, lambda: not isinstance(app.screen, ContainerScreen), "back", 30)
        await until(pilot, lambda: table.selected is not None and
                         table.selected.state == "exited", "the row exited", 30)

        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "rm question", 30)
        await pilot.press("escape")  # no: nothing happens
        await pilot.pause(0.5)
        assert in_docker(made, d3, "ticker") == "exited"
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "rm question", 30)
        await pilot.press("y")
        await until(pilot, lambda: in_docker(made, d3, "ticker") is None, "the removal", 30)
        await until(pilot, lambda: all(r.name != "ticker" for r in
                                            table.by_key.values()), "the row gone", 30)


def test_a_run_that_ends_within_a_second_is_reported_ended_with_its_last_line(chain):
    made, paths = chain
    level = made.find(paths[1])
    once = inside.run(level, "tinysh", "sh -c 'echo starting; echo done'", "")
    assert once.exit_code == 0 and once.last_line == "done" and once.row.state == "exited"
    refused = inside.run(level, "dindtui:latest", "", "")  # the level image, unprivileged
    assert refused.exit_code == 3 and "privilege" in refused.last_line
    stays = inside.run(level, "tinysh", "sleep 60", "")
    assert stays.exit_code is None and stays.row.state == "running"
    for ran in (once, refused, stays):
        inside.act(level, ran.row.id, "remove")


def test_push_takes_the_image_from_the_nearest_level_above_that_has_it(chain, client):
    """An image only on level 0, pushed to depth 2: streamed straight there, not left in the
    level between; an image on no level above says where it looked."""
    made, paths = chain
    tag = f"{made.prefix}hostonly:1"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        data = b"only on the host\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    client.api.import_image_from_data(archive.getvalue(), repository=tag.split(":")[0], tag="1")
    try:
        offered = inside.images_above(made.find(paths[1]))
        assert offered.get(tag) == "host" and "tiny:latest" not in offered  # tiny is there
        pushed = run_cli("push", paths[1], tag)
        assert pushed.returncode == 0, pushed.stderr
        assert shell.exec_in(made.find(paths[1]), ["docker", "image", "inspect", tag]).exit_code \
            == 0
        assert shell.exec_in(made.find(paths[0]), ["docker", "image", "inspect", tag]).exit_code \
            != 0  # nothing left in the level between
        missing = run_cli("push", paths[1], f"{made.prefix}nowhere:1")
        assert missing.returncode == 1
        assert f"looked in {paths[0]}, host" in missing.stderr, missing.stderr
    finally:
        client.images.remove(tag, force=True)
        shell.exec_in(made.find(paths[1]), ["docker", "rmi", "-f", tag])


def test_images_and_volumes_inside_a_level_are_removed_but_never_a_level_s_or_one_in_use(chain):
    made, paths = chain
    deep, middle = made.find(paths[2]), made.find(paths[1])
    run_in(made, paths[2], "docker volume create plain-vol >/dev/null && "
           "docker volume create dindtui-lookalike-abcdef >/dev/null && "
           "docker tag tiny tiny-copy:1 && docker create --name user tiny /bin/true >/dev/null")
    try:
        assert "removed" in inside.remove_volume(deep, "plain-vol")
        assert "plain-vol" not in run_in(made, paths[2], "docker volume ls -q")
        with pytest.raises(gate.Refused, match="a level's data root"):
            inside.remove_volume(deep, "dindtui-lookalike-abcdef")
        with pytest.raises(gate.Refused, match="a level's data root"):
            inside.remove_volume(middle, deep.volume)  # the child level's own volume
        assert deep.volume in run_in(made, paths[1], "docker volume ls -q")
        # A second tag goes alone (the image stays under its first); the last tag of an
        # image a container uses stays, with the daemon's word.
        assert "removed" in inside.remove_image(deep, "tiny-copy:1")
        assert "tiny-copy" not in run_in(made, paths[2], "docker images --format '{{.Repository}}'")
        with pytest.raises(DindtuiError, match="was kept"):
            inside.remove_image(deep, "tiny")  # the container `user` uses it
    finally:
        run_in(made, paths[2], "docker rm -f user >/dev/null; "
               "docker volume rm -f dindtui-lookalike-abcdef plain-vol >/dev/null 2>&1; true")


def test_ps_logs_and_stats_from_the_cli(chain):
    made, (d1, d2, d3) = chain
    run_in(made, d3, "docker rm -f counted chatty >/dev/null 2>&1; "
                     "docker run -d --name counted tinysh sh -c 'echo one; echo two; echo "
                     "three; exec sleep 600' >/dev/null; "
                     "docker run -d --name chatty tinysh sh -c 'echo a; echo b; echo c' "
                     ">/dev/null; sleep 1")
    ps = run_cli("ps", d3, "--json")
    assert ps.returncode == 0, ps.stderr
    names = {row["name"]: row for row in json.loads(ps.stdout)}
    assert "counted" in names and "chatty" not in names  # exited: only with -a
    assert names["counted"]["level"] == d3 and names["counted"]["depth"] == 3
    every = json.loads(run_cli("ps", "--all-levels", "-a", "--json").stdout)
    level_rows = {row["level_path"]: row["level"] for row in every if row["is_level"]}
    assert level_rows[d1] == "" and level_rows[d2] == d1 and level_rows[d3] == d2
    assert {"counted", "chatty"} <= {row["name"] for row in every if row["level"] == d3}

    logs = run_cli("logs", d3, "counted")
    assert logs.returncode == 0 and logs.stdout == "one\ntwo\nthree\n", logs
    tail = run_cli("logs", d3, "counted", "--tail", "1", "-t")
    assert tail.stdout.endswith(" three\n") and tail.stdout[4] == "-", tail.stdout
    followed = run_cli("logs", d3, "chatty", "-f", timeout=30)  # ends: chatty has exited
    assert followed.stdout == "a\nb\nc\n"
    missing = run_cli("logs", d3, "nobody")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "no container 'nobody'" in missing.stderr

    stats = json.loads(run_cli("stats", d3, "--json").stdout)
    assert [row["name"] for row in stats] == ["counted"]
    assert stats[0]["memory_bytes"] > 0 and stats[0]["cpu_percent"] is not None
    of_levels = {row["name"]: row for row in json.loads(
        run_cli("stats", "--json").stdout)}
    for path in (d1, d2, d3):
        assert of_levels[path]["memory_bytes"] > 0


def test_a_shell_inside_a_container_bash_else_sh_and_a_clear_no(chain):
    made, (_, _, d3) = chain
    run_in(made, d3, "docker rm -f napper bare >/dev/null 2>&1; "
                     "docker run -d --name napper tinysh sleep 600 >/dev/null; "
                     "docker run -d --name bare tiny /bin/sleep 600 >/dev/null")
    level = made.find(d3)
    assert shell.find_shell(shell.container_target(level, "napper")) == "/bin/sh"
    piped = run_cli("shell", d3, "-c", "napper", input="echo inside-$((6*7))\nexit 3\n")
    assert piped.stdout == "inside-42\n" and piped.returncode == 3, piped
    bare = run_cli("shell", d3, "-c", "bare")
    assert bare.returncode == 1
    assert "no shell in container bare in " in bare.stderr and "neither bash nor sh" in \
        bare.stderr and bare.stderr.count("\n") == 1

    # And on a terminal, as the TUI's `s` runs it (the same engine call): a TTY shell.
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"TERM": "xterm", "COLUMNS": "100", "LINES": "30"})
        os.execvp(sys.executable, [sys.executable, "-m", "dindtui", "shell", d3, "-c",
                                   "napper"])
    seen = b""
    status = None
    try:
        deadline = time.monotonic() + 20
        while b"# " not in seen and time.monotonic() < deadline:  # sh's prompt: it reads now
            if select.select([fd], [], [], 0.2)[0]:
                seen += os.read(fd, 65536)
        os.write(fd, b"echo tty-$((40+2)); exit 5\r")
        while time.monotonic() < deadline and status is None:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    pass
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
        assert b"tty-42" in seen and status == 5, (status, seen[-500:])
    finally:
        if status is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


def test_a_level_s_container_is_refused_and_find_answers_which_level_runs_it(chain):
    made, (d1, d2, d3) = chain
    run_in(made, d2, "docker rm -f findme >/dev/null 2>&1; "
                     "docker run -d --name findme tinysh sleep 600 >/dev/null")
    parent = made.find(d2)
    child = made.find(d3)
    for action in ("stop", "kill", "remove", "restart"):
        with pytest.raises(DindtuiError, match=f"is level {d3}"):
            inside.act(parent, child.container_name, action)
    assert made.find(d3).state == levels.READY

    hits, problems = inside.index(made.discover())
    found = inside.search(hits, "findme")
    assert [(h.level, h.kind) for h in found] == [(d2, "container")], found
    assert {h.level for h in inside.search(hits, "tinysh") if h.kind == "image"} >= {d1, d2, d3}
    assert not [p for p in problems if made.prefix in p]


def test_the_sampler_reads_every_level_and_the_containers_inside(chain):
    made, (d1, d2, d3) = chain
    run_in(made, d3, "docker rm -f busy >/dev/null 2>&1; "
                     "docker run -d --name busy tinysh sh -c 'while :; do :; done' >/dev/null")
    root = made.discover()
    level = levels.find(root, d3)
    busy = next(r for r in inside.container_rows(level) if r.name == "busy")
    targets = stats.level_targets(root)
    targets[stats.container_key(level, busy.id)] = (level.endpoint, busy.id)
    # d1's container is also a row of level 0's table, as the TUI follows it with level 0
    # selected: one reading a round serves both.
    top = levels.find(root, d1)
    row_key = stats.container_key(root, top.container_id)
    targets[row_key] = (root.endpoint, top.container_id)
    Engine()  # as the TUI has: level 0 known, so its own containers may be read from cgroups
    rounds = []
    sampler = stats.StatsSampler(rounds.append, interval=0.5)
    try:
        sampler.follow(targets)
        deadline = time.monotonic() + 20
        while len(rounds) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        usage = dict(sampler.usage)
    finally:
        sampler.close()
        run_in(made, d3, "docker rm -f busy >/dev/null")
    assert len(rounds) >= 3
    for path in (d1, d2, d3):
        assert usage[f"level:{path}"].memory_now > 0 and usage[f"level:{path}"].cpu
    assert usage[row_key].last is usage[f"level:{d1}"].last
    spinning = usage[stats.container_key(level, busy.id)]
    assert spinning.cpu_now is not None and spinning.cpu_now > 30, list(spinning.cpu)


def test_a_nested_container_is_read_from_its_cgroup_here_as_its_daemon_reads_it(chain,
                                                                                 monkeypatch):
    """The sampler reads a container of any level from its cgroup files on this machine (a
    request to its daemon costs ten times the CPU, every 2 s for every line on screen): the
    same counters its daemon reports, between two of the daemon's own readings."""
    made, (_, _, d3) = chain
    run_in(made, d3, "docker rm -f busy >/dev/null 2>&1; "
                     "docker run -d --name busy tinysh sh -c 'while :; do :; done' >/dev/null")
    try:
        level = levels.find(made.discover(), d3)
        busy = next(r for r in inside.container_rows(level) if r.name == "busy")
        full = next(c["Id"] for c in connect.client(level.endpoint).api.containers()
                    if c["Id"].startswith(busy.id))
        before = stats.daemon_sample(level.endpoint, full)
        here = stats.cgroup_sample(full)
        after = stats.daemon_sample(level.endpoint, full)
        assert before is not None and here is not None and after is not None
        assert before.cpu_total <= here.cpu_total <= after.cpu_total
        assert after.cpu_total - before.cpu_total < 5e9  # the same counter, moments apart
        low, high = sorted((before.memory, after.memory))
        assert low // 2 <= here.memory <= high * 2
        # The sampler's reading asks no daemon.
        monkeypatch.setattr(stats, "daemon_sample", lambda *_: None)
        assert stats.sample(level.endpoint, full) is not None
    finally:
        run_in(made, d3, "docker rm -f busy >/dev/null")


def test_the_sampler_reads_what_is_on_screen_often_and_the_rest_rarely(chain):
    """The cost follows the screen, not the tree: a level whose line is on screen is read every
    round; the others every `rare` seconds (the first time too), and at once when they come on
    screen."""
    made, (d1, d2, d3) = chain
    targets = stats.level_targets(made.discover())
    rounds: list[set[str]] = []
    sampler = stats.StatsSampler(rounds.append, interval=0.3, rare=60)
    try:
        sampler.follow(targets, visible={f"level:{d3}"})
        deadline = time.monotonic() + 20
        while len(rounds) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = [set(r) for r in rounds]
        sampler.follow(targets, visible={f"level:{d1}"})  # scrolled: d1 comes on screen
        deadline = time.monotonic() + 20
        while len(rounds) < len(seen) + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        after = [set(r) for r in rounds[len(seen):]]
    finally:
        sampler.close()
    assert len(seen) >= 5 and len(after) >= 3
    assert all(r == {f"level:{d3}"} for r in seen), seen
    # (the first round after may have begun before the scroll)
    assert all(f"level:{d1}" in r and f"level:{d2}" not in r for r in after[1:]), after
