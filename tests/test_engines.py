"""Engines other than this host's: a level's limits whatever its engine's defaults, against the
real engine and real nested daemons."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

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


# ------------------------------------------------------------------ Docker 20.10, 26, 28 mixed

MIXED = ("28", "20.10", "26", "28", "20.10")  # 20.10 under 28 and 28 under 20.10
SERVER = {"20.10": "20.10.", "26": "26.1.", "28": "28.5."}


def test_mixed_engines_to_depth_5_both_directions(tree, image):
    """A chain host(20.10) -> 28 -> 20.10 -> 26 -> 28 -> 20.10, each level's image brought
    from level 0 into its parent and seeded from there; every level answers ls, exec, shell,
    ps, logs, stats, events and du, each with the API its daemon speaks; a killed level in the
    middle is revived with the levels inside it; the chain exits."""
    from dindtui.engine.lifecycle import images
    from dindtui.engine.net.events import EventStream
    import threading
    for version in MIXED:  # built once, cached by their inputs
        images.build_image(None, engine=version)
    parent, paths = "host", []
    for depth, version in enumerate(MIXED, start=1):
        made = run_cli("spawn", parent, "--name", tree.name(f"v{depth}"), "--docker", version,
                       "--json")
        assert made.returncode == 0, (version, made.stderr)
        spawned = json.loads(made.stdout)
        assert spawned["strategy"] == "seed", spawned
        parent = spawned["level"]
        paths.append(parent)
    shown = ls_json()
    for path, version in zip(paths, MIXED, strict=True):
        assert node(shown, path)["version"].startswith(SERVER[version]), path
        assert exec_ok(path, "docker version --format '{{.Server.Version}}'").startswith(
            SERVER[version])
        shell = run_cli("shell", path, "sh", "-c", "echo in-$((6*7))", input="")
        assert shell.returncode == 0 and "in-42" in shell.stdout, shell.stderr
        exec_ok(path, MAKE_TINY + "docker run -d --name talker tiny /bin/echo hello-"
                + version + " >/dev/null")
        ps = json.loads(run_cli("ps", path, "--all", "--json").stdout)
        assert "talker" in {row["name"] for row in ps}
        logs = wait_for(lambda p=path: (r := run_cli("logs", p, "talker")).returncode == 0
                        and r.stdout, f"the talker's log in {path}")
        assert f"hello-{version}" in logs
    stats = json.loads(run_cli("stats", "--json").stdout)
    assert set(paths) <= {row["name"] for row in stats}
    du = json.loads(run_cli("du", "--json").stdout)
    assert set(paths) <= {v["level"] for v in du["volumes"]}

    # Events from the deepest daemon (20.10): a container made there is seen.
    deepest = next(lv for lv in tree.discover().walk() if lv.path == paths[-1])
    stream, seen = EventStream(deepest.endpoint), threading.Event()

    def watch() -> None:
        for event in stream:
            if event["type"] == "container" and event["action"] == "create":
                seen.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    time.sleep(0.5)
    exec_ok(paths[-1], "docker create --name quiet tiny /bin/true >/dev/null")
    assert seen.wait(15), "no event from the Docker 20.10 daemon at depth 5"
    stream.close()

    # A fault in the middle: the Docker 26 level killed, everything inside it with it; revive
    # brings it back and then the levels inside it, each with its own engine.
    assert run_cli("kill", paths[2]).returncode == 0
    revived = run_cli("revive", paths[2])
    assert revived.returncode == 0, revived.stderr
    shown = ls_json()
    for path, version in zip(paths[2:], MIXED[2:], strict=True):
        assert node(shown, path)["state"] == "ready", path
        assert node(shown, path)["version"].startswith(SERVER[version])
    gone = run_cli("exit", "--rm-volume", paths[0])
    assert gone.returncode == 0, gone.stderr
    assert "exited 5 level(s)" in gone.stdout


# ------------------------------------------------------------------ cgroup v2 levels

def test_cgroup_v2_levels_to_depth_3_run_containers_and_report_cpu_and_memory(tree):
    """v2 forced in every level (this host is v1: no controller reaches them, so the daemons
    answer their children's stats with zeros); each level still runs containers, and each
    level's CPU and memory are reported, read inside its parent from the cgroup files."""
    parent, paths = "host", []
    for depth in (1, 2, 3):
        made = run_cli("spawn", parent, "--name", tree.name(f"g{depth}"), "--cgroup", "v2",
                       "--json")
        assert made.returncode == 0, made.stderr
        parent = json.loads(made.stdout)["level"]
        paths.append(parent)
    for path in paths:
        assert exec_ok(path, "docker info --format '{{.CgroupVersion}}'").strip() == "2"
        out = exec_ok(path, MAKE_TINY + "docker run --rm tiny /bin/echo ran-in-v2")
        assert "ran-in-v2" in out
    exec_ok(paths[-1], "docker run -d --name busy --entrypoint sh dindtui:latest -c "
            "'while :; do :; done' >/dev/null")
    stats = {row["name"]: row for row in json.loads(run_cli("stats", "--json").stdout)}
    for path in paths:
        assert stats[path]["memory_bytes"] > 10_000_000, (path, stats.get(path))
    assert stats[paths[-1]]["cpu_percent"] > 30  # the busy loop inside it
    exec_ok(paths[-1], "docker rm -f busy >/dev/null")


# ------------------------------------------------------------------ a Docker-29-style host

PACKAGED = '["/usr/bin/tini", "--", "/usr/local/bin/dindtui-init"]'


def test_a_docker_29_style_host_seeds_its_first_level(tree, client, mode, tmp_path):
    """Level 0 laid out as a packaged Docker 29 is: a system containerd rooted at
    /var/lib/containerd beside Docker's data root on one filesystem, dockerd on the containerd
    image store pointed at it (here a container of the Docker 28 level image, its /var/lib one
    volume, its socket at the same path here and there, as a host's). A second dindtui on it
    seeds the first level by hardlinks: a few MB of its own, a write in it never reaches the
    parent, an rmi on either side leaves the other working."""
    from dindtui.engine.lifecycle import images, privileges
    images.build_image(None, engine="28")
    tag = f"dindtui-test-packaged:{tree.prefix.strip('-')}"
    made = client.api.create_container(images.flavour("28").tag())
    try:  # no VOLUME /var/lib/docker: /var/lib must be one mount, as on a host
        exported = client.api.export(made["Id"])
        client.api.import_image_from_data(b"".join(exported), repository=tag.split(":")[0],
                                          tag=tag.split(":")[1], changes=[
                                              f"ENTRYPOINT {PACKAGED}"])
    finally:
        client.api.remove_container(made["Id"], force=True, v=True)
    shared = str(tmp_path / "pk")
    os.makedirs(shared)
    volume = client.volumes.create(f"dindtui-test-packaged-{tree.prefix.strip('-')}")
    host = client.api.create_container(
        tag, environment={"DINDTUI_MODE": "daemon", "DINDTUI_STORE": "containerd",
                          "DINDTUI_CONTAINERD": "system",
                          "DOCKERD_ARGS": f"--host=unix://{shared}/docker.sock"},
        name=f"dindtui-test-packaged-{tree.prefix.strip('-')}",
        host_config=privileges.host_config(client, mode, binds={
            volume.name: {"bind": "/var/lib", "mode": "rw"},
            shared: {"bind": shared, "mode": "rw"}}))["Id"]
    env = {"DOCKER_HOST": f"unix://{shared}/docker.sock",
           "DINDTUI_STATE_DIR": f"{shared}/state"}
    try:
        client.api.start(host)
        wait_for(lambda: os.path.exists(f"{shared}/docker.sock") and run_cli(
            "ls", env=env).returncode == 0, "the packaged host's dockerd")
        info = run_cli("exec", "--help", env=env)  # the CLI answers on it at all
        assert info.returncode == 0
        images.push_image("unix:///var/run/docker.sock", env["DOCKER_HOST"],
                          images.DEFAULT_IMAGE)

        def host_sh(script: str) -> str:
            ran = client.api.exec_create(host, ["sh", "-c", script])
            return client.api.exec_start(ran["Id"]).decode()

        assert "/run/containerd/containerd.sock" in host_sh(
            "docker -H unix:///var/run/docker.sock info --format '{{json .Containerd}}'")
        spawned = run_cli("spawn", "--name", tree.name("c1"), "--json", env=env)
        assert spawned.returncode == 0, spawned.stderr
        result = json.loads(spawned.stdout)
        assert result["strategy"] == "seed" and result["store"] == "containerd", result
        # Its own bytes, each inode counted once with the parent's store: a few MB.
        sizes = host_sh("du -s /var/lib/containerd /var/lib/docker/volumes/*-c1-*/_data")
        own = int(sizes.split()[-2]) * 1024
        image_bytes = client.images.get(images.DEFAULT_IMAGE).attrs["Size"]
        assert own < 0.05 * image_bytes, (own, image_bytes)
        child = tree.name("c1")
        original = host_sh("docker run --rm --entrypoint cat dindtui:latest "
                           "/usr/local/bin/docker | md5sum")
        exec_ok_env = run_cli("exec", child, "--", "sh", "-c", "docker run --name writer "
                              "--entrypoint sh dindtui:latest -c 'echo changed > "
                              "/usr/local/bin/docker' && docker rmi -f dindtui:latest "
                              ">/dev/null", env=env)
        assert exec_ok_env.returncode == 0, exec_ok_env.stderr
        assert host_sh("docker run --rm --entrypoint cat dindtui:latest "
                       "/usr/local/bin/docker | md5sum") == original
        second = run_cli("spawn", "--name", tree.name("c2"), "--json", env=env)
        assert second.returncode == 0 and json.loads(second.stdout)["strategy"] == "seed"
        host_sh("docker rmi -f dindtui:latest >/dev/null")
        still = run_cli("exec", tree.name("c2"), "--", "docker", "run", "--rm",
                        "--entrypoint", "true", "dindtui:latest", env=env)
        assert still.returncode == 0, still.stderr
        gone = run_cli("collapse", "-t", "2", "--rm-volume", env=env)
        assert gone.returncode == 0, gone.stderr
    finally:
        client.api.remove_container(host, force=True)
        volume.remove(force=True)
        client.images.remove(tag, force=True)
