"""The warm pool (engine/lifecycle/pool.py), on the real engine: a spawn adopts a warm level (the
same container, its daemon answering, its images seeded), the pool refills behind it, and pool
levels never leak: clean, collapse, exit of their parent, and a spawn killed at any moment leave
nothing that is neither a level nor a listed pool level."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import exec_ok, ls_json, node, run_cli, wait_for
from dindtui.engine import config
from dindtui.engine.net import connect
from dindtui.engine.tree import levels

pytestmark = pytest.mark.docker


def pool_of(tree: dict, path: str = "") -> list[dict]:
    found = node(tree, path)
    assert found is not None, f"{path} is not in the tree"
    return found["pool"]


def test_a_spawn_adopts_a_warm_level_and_the_pool_refills_behind_it(tree):
    parent = tree.spawn(short="pp").level
    env = {"DINDTUI_POOL": "1"}
    filled = run_cli("pool", "fill", parent.path, env=env)
    assert filled.returncode == 0, filled.stderr
    [member] = pool_of(ls_json(), parent.path)
    assert member["container_state"] == "running"
    assert [c["name"] for c in node(ls_json(), parent.path)["children"]] == []  # not a level

    spawned = run_cli("spawn", parent.path, "--json", env=env)
    assert spawned.returncode == 0, spawned.stderr
    result = json.loads(spawned.stdout)
    assert result["level"] == f"{parent.path}/{member['name']}"
    assert result["strategy"] == "seed"
    level = node(ls_json(), result["level"])
    assert level["container_id"] == member["container_id"]  # adopted, not started anew
    assert level["state"] == "ready" and level["container_state"] == "running"
    # A level like any other: its daemon runs a container of its seeded level image.
    assert "dindtui:latest" in exec_ok(result["level"], "docker image ls --format "
                                                         "'{{.Repository}}:{{.Tag}}'")
    # The pool refills behind the spawn, in a process of its own.
    refilled = wait_for(lambda: [m for m in pool_of(ls_json(), parent.path)
                                 if m["container_state"] == "running"],
                        "the pool refilled behind the spawn", 60, 0.5)
    assert refilled[0]["name"] != member["name"]
    # A spawn that names a level is not the pool's: the pool level of another name stays.
    named = run_cli("spawn", parent.path, "--name", tree.name("cold"), env={"DINDTUI_POOL": "0"})
    assert named.returncode == 0, named.stderr
    assert [m["name"] for m in pool_of(ls_json(), parent.path)] == [refilled[0]["name"]]
    # A level with a dozing pool level inside dies of a kill at once (a paused one would keep
    # it from dying); revived, its stopped pool level is replaced by the next fill.
    killed = run_cli("kill", parent.path)
    assert killed.returncode == 0, killed.stderr
    assert run_cli("revive", parent.path).returncode == 0
    [stopped] = pool_of(ls_json(), parent.path)
    assert stopped["container_state"] == "exited"
    assert run_cli("pool", "fill", parent.path, env=env).returncode == 0
    [fresh] = pool_of(ls_json(), parent.path)
    assert fresh["container_state"] == "running"
    assert fresh["container_id"] != stopped["container_id"]
    # The exit of the parent takes its pool with it (drained before its daemon stops): made
    # again on its kept volume, the parent's daemon holds no pool level.
    exited = run_cli("exit", parent.path)
    assert exited.returncode == 0, exited.stderr
    revived = run_cli("revive", parent.path)
    assert revived.returncode == 0, revived.stderr
    again = node(ls_json(), parent.path)
    assert again["state"] == "ready" and again["pool"] == []
    names = exec_ok(parent.path, "docker ps -a --format '{{.Names}}'").split()
    assert not [n for n in names if n.endswith(levels.POOL_SUFFIX)], names
    assert sorted(c["name"] for c in again["children"]) == sorted([member["name"],
                                                                   tree.name("cold")])


@pytest.fixture
def own_namespace():
    """A namespace of this test's own, so that its level-0 pool names (l1, l1-2, ...) meet no
    other test's; everything in it collapsed at the end, whatever happened."""
    namespace = config.namespace()[:11] + "p"
    env = {"DINDTUI_NAMESPACE": namespace}
    yield env
    run_cli("collapse", "--rm-volume", "-t", "2", env=env)
    run_cli("pool", "drain", env=env)


def ours_on_host(namespace: str) -> tuple[set[str], set[str]]:
    """The container names and volume names of `namespace` on level 0."""
    client = connect.client()
    prefix = levels.CONTAINER_PREFIX + namespace + "."
    containers = {name for c in client.api.containers(all=True)  # names from the listing
                  if (name := c["Names"][0].lstrip("/")).startswith(prefix)}
    volumes = {v.name for v in client.volumes.list() if v.name.startswith(prefix)}
    return containers, volumes


def accounted(env: dict) -> None:
    """Every container and volume of the namespace on level 0 is a level of the tree or a pool
    level that `ls --all` lists: nothing leaked."""
    namespace = env["DINDTUI_NAMESPACE"]
    tree = ls_json(env)
    known = {levels.CONTAINER_PREFIX + namespace + "." + c["name"]: c["volume"]
             for c in tree["children"]}
    known |= {levels.CONTAINER_PREFIX + namespace + "." + m["name"] + levels.POOL_SUFFIX:
              m["volume"] for m in tree["pool"]}
    containers, volumes = ours_on_host(namespace)
    assert containers == set(known), (containers, known)
    assert volumes == set(known.values()), (volumes, known)
    listed = run_cli("ls", "--all", env=env).stdout
    for member in tree["pool"]:
        assert f"{member['name']} pool" in listed


# Alone: beside a second test process, once, a `pool fill -n 2` after the killed spawn
# succeeded with one member listed (nothing leaked: every container was accounted for). The
# refill the killed spawn had started may have been counted and then given up under load;
# left open. By itself it has passed every run.
@pytest.mark.alone
def test_pool_levels_never_leak_clean_a_killed_spawn_and_collapse(image, own_namespace):
    env = own_namespace
    namespace = env["DINDTUI_NAMESPACE"]
    assert run_cli("pool", "fill", "-n", "2", env=env).returncode == 0
    tree = ls_json(env)
    assert tree["children"] == [] and len(tree["pool"]) == 2
    assert "pool" not in run_cli("ls", env=env).stdout  # not levels: ls --all shows them
    accounted(env)
    for member in tree["pool"]:  # dozing: both daemons stopped (SIGSTOP), no CPU used
        top = connect.client().api.top(member["container_id"], ps_args="-o pid,stat,comm")
        states = {row[2]: row[1] for row in top["Processes"]}
        assert states["dockerd"].startswith("T") and states["containerd"].startswith("T"), top
    # clean shows them, then frees them: they never held anything of a user's.
    planned = run_cli("clean", "--json", "--dry-run", env=env)
    plan = json.loads(planned.stdout)
    assert sorted(i["state"] for i in plan["items"]) == ["pool", "pool"]
    assert run_cli("clean", "--yes", env=env).returncode == 0
    assert ours_on_host(namespace) == (set(), set())
    root = os.path.join(config.state_dir(), "ns", namespace)
    assert not os.path.exists(os.path.join(root, "c", "l1"))

    # A spawn killed at any moment of an adoption (or of its refill) leaves every container a
    # level or a listed pool level; the next fill brings the pool back, warm.
    assert run_cli("pool", "fill", "-n", "2", env=env).returncode == 0
    for delay in (0.05, 0.2, 0.3, 0.35, 0.45):
        process = subprocess.Popen([sys.executable, "-m", "dindtui", "spawn"],
                                   env={**os.environ, **env, "DINDTUI_POOL": "2"},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        time.sleep(2)  # a refill it started may still be at work: it finishes on its own
        wait_for(lambda: run_cli("pool", "fill", "-n", "2", env=env).returncode == 0,
                 "a fill after the killed spawn", 60, 1)
        accounted(env)
        assert [m["container_state"] for m in ls_json(env)["pool"]] == ["running", "running"]
    made = ls_json(env)["children"]
    for level in made:
        assert level["state"] == "ready", level  # an adopted level answers

    # collapse takes the pool with the tree.
    collapsed = run_cli("collapse", "--rm-volume", env=env)
    assert collapsed.returncode == 0, collapsed.stderr
    assert ours_on_host(namespace) == (set(), set())
    assert not os.path.exists(os.path.join(root, "c"))


def test_a_bad_pool_size_is_one_line():
    result = run_cli("ls", env={"DINDTUI_POOL": "9"})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "dindtui: error: DINDTUI_POOL must be a number of warm levels from 0 to 4, got '9'"]


def test_a_level_with_a_paused_container_inside_still_exits_and_dies(tree):
    """A frozen process cannot die: a level holding a paused container could be neither stopped
    nor killed (Docker: "did not receive an exit event"); exit and kill unpause first."""
    from conftest import MAKE_TINY
    first = tree.spawn(short="fz").level
    second = tree.spawn(short="fy").level
    for level in (first, second):
        exec_ok(level.path, MAKE_TINY + "docker run -d --name frozen tiny sleep 600 >/dev/null"
                " && docker pause frozen >/dev/null")
    killed = run_cli("kill", second.path)
    assert killed.returncode == 0, killed.stderr
    exited = run_cli("exit", first.path, "--rm-volume", "-t", "3")
    assert exited.returncode == 0, exited.stderr
    names = {c["Names"][0].lstrip("/") for c in connect.client().api.containers(all=True)}
    assert first.container_name not in names
    assert node(ls_json(), second.path)["state"] == "exited"
