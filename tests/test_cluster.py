"""Clusters from levels: a Docker Swarm of sibling levels (`dindtui cluster ...`), and swarm mode
typed by hand in any level, against the real engine and real nested daemons.

Traffic stays between the levels these tests make (their bridge addresses, their overlay
networks); every wait has a deadline."""

from __future__ import annotations

import json

import pytest

from docker.errors import NotFound

from conftest import IMAGE
from dindtui.engine.net import connect
from dindtui.engine.tree import levels
from helpers import exec_ok, ls_json, node, run_cli, wait_for

# A service task: answers its hostname on TCP 7000 (python3 is in the level image).
ECHO = ("import socket\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('', 7000)); s.listen()\n"
        "while True:\n"
        "    c, _ = s.accept(); c.sendall(socket.gethostname().encode() + b'\\n'); c.close()\n")
ASK = ("import socket\n"
       "print(' '.join(sorted(socket.gethostbyname_ex('echo')[2])))\n"
       "print(socket.create_connection(('echo', 7000), timeout=5).recv(100).decode().strip())\n")


def echo_over_overlay(level: str) -> str:
    """What ASK, run in a container of `level` on the overlay `ov`, printed. The overlay's
    peers are learnt by gossip: once in about 300 runs it took longer than 30 s (CI, beside
    other tests), and with two test processes beside it more; a failure says what the last
    try got."""
    tries: list = []

    def asked() -> str:
        tries.append(run_cli("exec", level, "--", "docker", "run", "--rm", "--network", "ov",
                             "--entrypoint", "python3", IMAGE, "-c", ASK))
        return tries[-1].stdout if tries[-1].returncode == 0 else ""

    try:
        return wait_for(asked, "an answer from echo over the overlay", timeout=90, step=1)
    except AssertionError as exc:
        last = tries[-1]
        raise AssertionError(f"{exc} ({len(tries)} tries; the last: status {last.returncode}, "
                             f"{(last.stderr or last.stdout).strip()[-400:]!r})") from None


def show(name: str) -> dict:
    result = run_cli("cluster", "show", name, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def running_tasks(swarm: dict, service: str) -> list[dict]:
    return [t for t in swarm["tasks"]
            if t["service"] == service and t["desired"] == "running" and t["state"] == "running"]


def live_restore(path: str) -> str:
    return exec_ok(path, "/usr/bin/docker info --format '{{.LiveRestoreEnabled}}'").strip()


def test_swarm_init_by_hand_in_a_plain_level(tree):
    """`docker swarm init` typed in any level works (live-restore is turned off through the
    daemon's reload, nothing restarted), the level stays a swarm node across a restart of its
    container, and `docker swarm leave` turns live-restore on again."""
    level = tree.spawn(short="hand").level
    exec_ok(level.path, "docker run -d --name keeper --entrypoint sleep "
            f"{IMAGE} infinity >/dev/null")
    assert live_restore(level.path) == "true"
    out = exec_ok(level.path, "docker swarm init --advertise-addr eth0")
    assert "Swarm initialized" in out
    assert live_restore(level.path) == "false"
    assert exec_ok(level.path, "docker ps --format '{{.Names}}'").split() == ["keeper"]
    # Started again (a reboot, `revive`), the node comes back without live-restore, in its swarm.
    found = tree.find(level.path)
    levels.parent_client(found).api.restart(found.container_id, timeout=10)
    wait_for(lambda: node(ls_json(), level.path)["state"] == "ready", "the level back")
    assert exec_ok(level.path, "docker info --format '{{.Swarm.LocalNodeState}}'").strip() \
        == "active"
    assert live_restore(level.path) == "false"
    exec_ok(level.path, "docker swarm leave --force")
    assert live_restore(level.path) == "true"


# Alone: with two test processes beside it, the overlay's name for a task on the worker that
# was killed and revived stayed unknown for 90 s on the other nodes (2 runs of 3); by itself
# it answers within seconds. A question about Swarm's gossip after a rejoin under load, left
# open; the test keeps its assertion.
@pytest.mark.alone
def test_cluster_3_managers_2_workers_runs_reschedules_and_goes(tree):
    name = tree.name("cl")
    result = run_cli("cluster", "create", name, "--managers", "3", "--workers", "2", "--json")
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    nodes = [f"{name}-m1", f"{name}-m2", f"{name}-m3", f"{name}-w1", f"{name}-w2"]
    assert made["managers"] == nodes[:3] and made["workers"] == nodes[3:]
    assert made["strategies"] == ["seed"]
    swarm = made["swarm"]
    assert sorted(n["hostname"] for n in swarm["nodes"]) == nodes
    assert all(n["state"] == "ready" for n in swarm["nodes"])
    assert [n["role"] for n in swarm["nodes"]].count("manager") == 3
    assert swarm["leader"] == f"{name}-m1" and swarm["name"] == name
    tree_now = ls_json()
    assert all(node(tree_now, n)["cluster"] == name for n in nodes)

    # A 6-replica service of the level image runs across the nodes: every node has the image
    # (seeded from level 0) without a registry.
    exec_ok(f"{name}-m1", f"docker service create -d -q --name sleeper --replicas 6 "
            f"--entrypoint sleep {IMAGE} infinity >/dev/null 2>&1")
    swarm = wait_for(lambda: (s := show(name)["swarm"]) and
                     len(running_tasks(s, "sleeper")) == 6 and s,
                     "6 running tasks of sleeper", timeout=60)
    assert len({t["node"] for t in running_tasks(swarm, "sleeper")}) >= 3
    assert next(s for s in swarm["services"] if s["name"] == "sleeper")["running"] == 6

    # A fault: a worker's level killed; its tasks move and all 6 run again without it.
    worker = f"{name}-w2"
    killed = run_cli("kill", worker)
    assert killed.returncode == 0, killed.stderr
    assert node(ls_json(), worker)["state"] in ("exited", "dead")
    wait_for(lambda: len([t for t in running_tasks(show(name)["swarm"], "sleeper")
                          if t["node"] != worker]) == 6,
             "6 running tasks of sleeper on the nodes left", timeout=60)
    # revive brings it back and it rejoins: Ready again.
    revived = run_cli("revive", worker)
    assert revived.returncode == 0, revived.stderr
    wait_for(lambda: next(n for n in show(name)["swarm"]["nodes"]
                          if n["hostname"] == worker)["state"] == "ready",
             f"{worker} Ready again", timeout=60)

    # Drain a node and scale the service, as the TUI's keys do.
    drained = run_cli("cluster", "node", name, f"{name}-w1", "drain")
    assert drained.returncode == 0, drained.stderr
    wait_for(lambda: not [t for t in running_tasks(show(name)["swarm"], "sleeper")
                          if t["node"] == f"{name}-w1"], "no task left on the drained node")
    assert run_cli("cluster", "scale", name, "sleeper=2").returncode == 0
    wait_for(lambda: len(running_tasks(show(name)["swarm"], "sleeper")) == 2, "2 tasks")

    # Overlay networking at depth 1: a service reached by name from another node.
    exec_ok(f"{name}-m1", "docker network create -d overlay --attachable ov >/dev/null")
    exec_ok(f"{name}-m1", "docker service create -d -q --name echo --network ov --endpoint-mode "
            f"dnsrr --replicas 1 --constraint node.hostname=={name}-w2 --entrypoint python3 "
            f"{IMAGE} -c \"{ECHO}\" >/dev/null 2>&1")
    wait_for(lambda: len(running_tasks(show(name)["swarm"], "echo")) == 1, "the echo task")
    answer = echo_over_overlay(f"{name}-m2")
    assert len(answer.strip().splitlines()) == 2

    # cluster rm: nothing of it is left, levels, volumes or socket directories.
    volumes = {n: node(ls_json(), n)["volume"] for n in nodes}
    removed = run_cli("cluster", "rm", name, "--json")
    assert removed.returncode == 0, removed.stderr
    assert sorted(json.loads(removed.stdout)["exited"]) == nodes
    after = ls_json()
    assert not [n for n in nodes if node(after, n)]
    host = connect.client()
    for volume in volumes.values():
        try:
            host.volumes.get(volume)
            raise AssertionError(f"volume {volume} left behind")
        except NotFound:
            pass
    listed = run_cli("cluster", "ls", "--json")
    assert name not in [c["name"] for c in json.loads(listed.stdout)]


def test_cluster_at_depth_2_with_an_overlay_network_and_a_push(tree, client):
    parent = tree.spawn(short="p").level
    name = tree.name("dc")
    result = run_cli("cluster", "create", name, "--workers", "2", "--parent", parent.path)
    assert result.returncode == 0, result.stderr
    assert f"cluster {name} ready under {parent.path}" in " ".join(result.stdout.split())
    manager = f"{parent.path}/{name}-m1"
    assert node(ls_json(), manager)["depth"] == 2

    # A service reaches another by name over an overlay network, across nodes: the tasks run
    # on the workers, the client on the manager. (dnsrr: this kernel has no IPVS for VIPs.)
    exec_ok(manager, "docker network create -d overlay --attachable ov >/dev/null")
    exec_ok(manager, "docker service create -d -q --name echo --network ov --endpoint-mode "
            f"dnsrr --replicas 2 --constraint node.role==worker --entrypoint python3 {IMAGE} "
            f"-c \"{ECHO}\" >/dev/null 2>&1")
    wait_for(lambda: len(running_tasks(show(name)["swarm"], "echo")) == 2, "2 echo tasks")
    answer = echo_over_overlay(manager)
    addresses, hostname = answer.strip().splitlines()
    assert len(addresses.split()) == 2 and len(hostname) == 12

    # An image only on level 0 reaches every node of the cluster (through no level between).
    client.images.get(IMAGE).tag("dindtui-test-push", tree.prefix.strip("-"))
    tag = f"dindtui-test-push:{tree.prefix.strip('-')}"
    try:
        pushed = run_cli("push", name, tag)  # a cluster's name: every node
        assert pushed.returncode == 0, pushed.stderr
        assert f"is on 3 node(s) of {name}" in pushed.stdout
        for n in ("m1", "w1", "w2"):
            exec_ok(f"{parent.path}/{name}-{n}", f"docker image inspect {tag} >/dev/null")
    finally:
        client.images.remove(tag)
    listed = json.loads(run_cli("cluster", "ls", "--json").stdout)
    mine = next(c for c in listed if c["name"] == name)
    assert mine["parent"] == parent.path and mine["swarm"]["ready"] == 3


def paths(tree: dict) -> set[str]:
    return {tree["path"]} | {p for child in tree["children"] for p in paths(child)}


def test_cluster_bad_input_is_one_line_and_makes_nothing(tree):
    before = paths(ls_json())
    for args, says in (
        (["create", "Bad Name"], "invalid cluster name"),
        (["create", tree.prefix + "x" * (21 - len(tree.prefix))], "longer than 20"),
        (["create", tree.name("z"), "--managers", "0"], "--managers must be 1 to 7"),
        (["create", tree.name("z"), "--workers", "40"], "at most 32 nodes"),
        (["create", tree.name("z"), "--parent", "nowhere"], "nowhere"),
        (["rm", "nothing-here"], "no cluster 'nothing-here'"),
        (["scale", "nothing-here", "web=2"], "no cluster"),
        (["scale", "nothing-here", "web"], "scale takes SERVICE=REPLICAS"),
    ):
        result = run_cli("cluster", *args)
        assert result.returncode != 0, args
        assert says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert paths(ls_json()) == before
