"""Engines other than this host's: a level's limits whatever its engine's defaults, against the
real engine and real nested daemons."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import MAKE_TINY
from dindtui.engine.tree import levels
from helpers import exec_ok, ls_json, node, run_cli, wait_for

# An engine whose containers get 1024 open files by default (Docker 29's default, or any
# engine started with --default-ulimit): set in a level's daemon.json, dockerd restarted by
# the level's init (its containers stay: live-restore).
LOW_DEFAULT = r"""
python3 - <<'EOF'
import json
path = "/etc/docker/daemon.json"
config = json.load(open(path))
config["default-ulimits"] = {"nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024}}
json.dump(config, open(path, "w"))
EOF
kill $(cat /var/run/docker.pid)
"""


def open_files(path: str) -> int:
    line = exec_ok(path, "grep 'open files' /proc/1/limits")
    return int(line.split()[3])


def test_a_level_under_an_engine_that_gives_1024_open_files_runs_200_containers(tree):
    outer = tree.spawn(short="low").level
    exec_ok(outer.path, LOW_DEFAULT)
    wait_for(lambda: run_cli("exec", outer.path, "--", "docker", "version").returncode == 0,
             "the outer level's dockerd back after its restart")
    plain = exec_ok(outer.path, "docker run --rm --entrypoint sh dindtui:latest -c "
                    "'ulimit -Hn'")
    assert plain.strip() == "1024"  # what any container of that engine gets
    made = run_cli("spawn", outer.path, "--name", tree.name("in"))
    assert made.returncode == 0, made.stderr
    inner = f"{outer.path}/{tree.name('in')}"
    assert open_files(inner) > 1024  # asked for explicitly, as high as the engine could give
    assert node(ls_json(), inner)["state"] == "ready"
    exec_ok(inner, MAKE_TINY)
    out = exec_ok(inner, "seq 200 | xargs -P 6 -I{} docker run -d --name c{} tiny "
                  "/bin/sleep infinity 2>&1 >/dev/null | sort | uniq -c | head -3; "
                  "docker ps -q | wc -l")
    assert out.split()[-1] == "200", out


# ------------------------------------------------------------------ Podman as level 0

@pytest.fixture(scope="module")
def podman(image, tmp_path_factory):
    """Debian's rootful Podman serving the Docker API on a socket of this test's own, with the
    level image loaded into it (removed at the end when this test loaded it)."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (quickstart.sh test installs it)")
    sock = str(tmp_path_factory.mktemp("podman") / "podman.sock")
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{sock}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(sock), "podman's socket", timeout=30)
        had = subprocess.run(["podman", "image", "exists", f"localhost/{image}"]).returncode == 0
        if not had:
            save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
            subprocess.run(["podman", "load", "-q"], stdin=save.stdout, check=True,
                           stdout=subprocess.DEVNULL, timeout=300)
            save.wait(timeout=60)
        yield f"unix://{sock}"
        if not had:
            subprocess.run(["podman", "rmi", "-f", f"localhost/{image}"],
                           capture_output=True, timeout=60)
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_podman_as_level_0_spawn_explore_and_exit(podman, tree):
    """Spawn under Podman (streamed: its store is not Docker's, and it says so), a seeded level
    below it, ls, exec, ps, logs, stats, du, exit: each works or says in one line why not,
    and nothing is left in Podman afterwards."""
    env = {"DOCKER_HOST": podman}
    outer, inner = tree.name("pod"), tree.name("in")
    made = run_cli("spawn", "--name", outer, "--json", env=env)
    assert made.returncode == 0, made.stderr
    spawned = json.loads(made.stdout)
    assert spawned["strategy"] == "stream" and "overlay" in spawned["fallback_reason"]
    below = run_cli("spawn", outer, "--name", inner, "--json", env=env)
    assert below.returncode == 0, below.stderr
    assert json.loads(below.stdout)["strategy"] == "seed"  # Docker 26 in the Podman level
    tree_now = ls_json(env=env)
    assert "4.3" in tree_now["version"] and node(tree_now, f"{outer}/{inner}")["state"] == "ready"
    ran = run_cli("exec", outer, "--", "sh", "-c", "docker run -d --name talker --entrypoint "
                  "sh dindtui:latest -c 'echo hello from talker; sleep 600' >/dev/null && "
                  "echo started", env=env)
    assert ran.returncode == 0 and "started" in ran.stdout, ran.stderr
    ps = run_cli("ps", outer, "--json", env=env)
    assert {"talker", levels.container_name(inner)} <= {r["name"] for r in json.loads(ps.stdout)}
    logs = wait_for(lambda: "hello from talker" in (r := run_cli(
        "logs", outer, "talker", env=env)).stdout and r, "the talker's log")
    assert logs.returncode == 0
    for command in (["stats", "--json"], ["du", "--json"]):
        result = run_cli(*command, env=env)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr
    du = json.loads(run_cli("du", "--json", env=env).stdout)
    assert {v["level"] for v in du["volumes"]} >= {outer, f"{outer}/{inner}"}
    gone = run_cli("exit", "--rm-volume", outer, env=env)
    assert gone.returncode == 0, gone.stderr
    left = subprocess.run(["podman", "volume", "ls", "-q"], capture_output=True, text=True)
    assert not [v for v in left.stdout.split() if outer in v]
    assert not subprocess.run(["podman", "ps", "-aq", "--filter", f"name={outer}"],
                              capture_output=True, text=True).stdout.strip()


async def test_the_tui_on_podman_shows_its_levels(podman, tree):
    from dindtui.app import DindtuiApp
    from dindtui.engine.facade import Engine
    from helpers import until
    name = tree.name("tui")
    made = run_cli("spawn", "--name", name, env={"DOCKER_HOST": podman})
    assert made.returncode == 0, made.stderr
    try:
        app = DindtuiApp(animation=False, engine=Engine.from_command_line([("--host", podman)]))
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: any(lv.name == name and lv.state == "ready"
                                           for lv in app.all_levels()), "the Podman level", 30)
            assert app.roots[0].version.startswith("4.")
    finally:
        assert run_cli("exit", "--rm-volume", name,
                       env={"DOCKER_HOST": podman}).returncode == 0
