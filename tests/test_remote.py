"""A remote engine as level 0. A level published with TLS on 127.0.0.1 stands in for a remote
engine: another dindtui process is pointed at it with DOCKER_HOST=tcp://... and a state
directory of its own, so the socket tree of that engine (a directory on "the other machine") is
nowhere it can see. Levels under it are reached through tunnels (exec of dial-stdio through
each parent); spawn, ls, exec, du and exit work at every depth."""

from __future__ import annotations

import json
import os
import socket

import pytest

from conftest import run_cli
from dindtui.engine import images

IMAGE = images.DEFAULT_IMAGE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def remote(tree, tmp_path):
    """The environment of a process for which the TLS level is level 0."""
    level = tree.spawn(short="remote", port=free_port()).level
    printed = run_cli("env", level.path, "--tcp", "--dir", str(tmp_path / "certs"))
    assert printed.returncode == 0, printed.stderr
    env = dict(line[len("export "):].split("=", 1) for line in printed.stdout.splitlines()
               if line.startswith("export "))
    env["DINDTUI_STATE_DIR"] = str(tmp_path / "state")   # not the tree the levels live in
    return level, env


def test_spawn_ls_exec_and_exit_under_a_remote_level_0(remote, tmp_path):
    level, env = remote
    first = run_cli("spawn", "--name", "r1", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["strategy"] == "seed"  # by a helper container over there
    second = run_cli("spawn", "r1", "--name", "r2", "--json", env=env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["level"] == "r1/r2"

    ran = run_cli("exec", "r1/r2", "--", "docker", "run", "--rm", "--entrypoint", "echo",
                  IMAGE, "ran-at-depth-2-of-a-remote-engine", env=env)
    assert ran.returncode == 0 and ran.stdout.strip() == "ran-at-depth-2-of-a-remote-engine", \
        ran.stderr
    shown = json.loads(run_cli("ls", "--json", env=env).stdout)
    assert shown["endpoint"] == env["DOCKER_HOST"]
    r1 = next(c for c in shown["children"] if c["name"] == "r1")
    assert r1["state"] == "ready" and r1["children"][0]["name"] == "r2"
    assert r1["children"][0]["state"] == "ready" and r1["children"][0]["depth"] == 2
    # Nothing of that tree is on this machine's side: no socket directory was made here.
    assert not os.path.exists(tmp_path / "state" / "ns")
    assert not os.path.exists(tmp_path / "state" / "c")

    usage = json.loads(run_cli("du", "--json", env=env).stdout)
    assert {v["level"] for v in usage["volumes"]} >= {"r1", "r1/r2"}
    unreachable = run_cli("env", "r1/r2", env=env)
    assert unreachable.returncode == 1 and "remote engine" in unreachable.stderr
    assert unreachable.stderr.count("\n") == 1

    # Both engines at once: this machine's and the "remote" one, one root each.
    both_env = {k: v for k, v in env.items() if k != "DOCKER_HOST"}
    both = run_cli("--host", "unix:///var/run/docker.sock", "--host", env["DOCKER_HOST"],
                   "ls", "--json", env=both_env)
    assert both.returncode == 0, both.stderr
    roots = json.loads(both.stdout)["engines"]
    assert [r["engine"] for r in roots] == ["unix:///var/run/docker.sock", env["DOCKER_HOST"]]
    # (This process's state directory is not the one the TLS level was made with: it is
    # listed as a level it cannot prove its own.)
    assert level.name in [c["name"] for c in roots[0]["children"]] + \
        [i["name_label"] for i in roots[0]["ignored"]]
    assert [c["name"] for c in roots[1]["children"]] == ["r1"]
    one_down = run_cli("--host", env["DOCKER_HOST"], "--host", "tcp://127.0.0.1:1", "ls",
                       env=both_env)
    assert one_down.returncode == 1 and "r1" in one_down.stdout
    assert one_down.stderr.count("\n") == 1 and "tcp://127.0.0.1:1" in one_down.stderr
    several = run_cli("--host", "a", "--host", "b", "spawn")
    assert several.returncode == 2 and "only `ls`" in several.stderr

    gone = run_cli("exit", "r1", "--rm-volume", env=env)
    assert gone.returncode == 0, gone.stderr
    after = json.loads(run_cli("ls", "--json", env=env).stdout)
    assert after["children"] == []
