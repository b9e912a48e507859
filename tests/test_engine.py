"""The level engine and the CLI, as a user drives them: spawn, ls, exec, exit, collapse, du,
clean, push and shell, against the real engine and real nested daemons."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import socket
import subprocess
import sys
import tarfile
import time

import docker
import pytest

from helpers import RequestLog, ls_json, run_cli
from conftest import MAKE_TINY
from dindtui.engine.net import connect
from dindtui.engine.lifecycle import images
from dindtui.engine.tree import levels
from dindtui.engine.explore import shell
from dindtui.engine.disk import usage
from dindtui.engine.errors import DiskFull, UnknownLevel


def test_chain_of_four_levels_shows_in_ls_and_runs_docker_at_depth_four(tree):
    results = tree.chain(4)
    deepest = results[-1].level
    assert deepest.depth == 4
    shown = ls_json()
    node = shown
    for depth in range(1, 5):
        [node] = [c for c in node["children"] if c["name"] == tree.name(f"d{depth}")]
        assert node["depth"] == depth and node["state"] == "ready"
    assert node["children"] == []
    result = run_cli("exec", deepest.path, "--", "docker", "info", "--format",
                     "{{.ServerVersion}} {{.Driver}}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("26.") and "overlay2" in result.stdout
    # And a container really runs at depth 4 (from an image made there).
    result = run_cli("exec", deepest.path, "--", "sh", "-c",
                     MAKE_TINY + "docker run --rm tiny /bin/echo hello-from-depth-4")
    assert "hello-from-depth-4" in result.stdout, result.stderr


def test_siblings_spawned_together_ask_the_engine_once_and_never_its_version(tree, tmp_path):
    """`spawn --count 3`, seen by the engine: one /info and one look at the level image for
    the three of them, and no /version (a Docker /version runs runc and docker-init)."""
    with RequestLog(str(tmp_path / "engine.sock")) as log:
        result = run_cli("spawn", "--count", "3", "--name", tree.name("sib"), "--json",
                         env={"DOCKER_HOST": log.endpoint})
        assert result.returncode == 0, result.stderr
        assert len(log.paths("POST", "/containers/create")) == 3
        assert len(log.paths("GET", "/info")) == 1, log.seen
        assert len(log.paths("GET", "/images/dindtui:latest/json")) == 1, log.seen
        assert log.paths("GET", "/version") == [], log.seen
        ls = run_cli("ls", env={"DOCKER_HOST": log.endpoint})
        shown = ls_json(env={"DOCKER_HOST": log.endpoint})
        engine_dir = connect.level_tree_root(log.endpoint).split("/ns/")[0]  # STATE/e/<hash>
        assert os.path.isdir(engine_dir)
        gone = run_cli("collapse", "--rm-volume", "-t", "0", env={"DOCKER_HOST": log.endpoint})
        assert gone.returncode == 0, gone.stderr
        # Nothing of this engine's left in dindtui's state directory: its last level gone.
        assert not os.path.exists(engine_dir), os.listdir(engine_dir)
    # Level 0's version comes from its /_ping, the same as Docker's own /version says.
    assert f"engine {docker.from_env().version()['Version']} " in ls.stdout, ls.stdout
    made = [c["name"] for c in shown["children"] if c["state"] == "ready"]
    assert sorted(made) == [tree.name(f"sib-{n}") for n in (1, 2, 3)]


def test_two_spawns_at_once_under_one_parent_get_distinct_names(tree):
    parent = tree.spawn(short="p").level
    procs = [subprocess.Popen([sys.executable, "-m", "dindtui", "spawn", parent.path, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outputs]
    made = [json.loads(out)["level"] for out, _ in outputs]
    assert len(set(made)) == 2
    children = tree.find(parent.path).children
    assert sorted(c.path for c in children) == sorted(made)
    assert all(c.state == levels.READY for c in children)


def test_exiting_the_middle_level_removes_its_subtree_and_only_that(tree):
    d1, d2, d3 = (r.level for r in tree.chain(3))
    sibling = tree.spawn(d1.path, "s2").level
    result = run_cli("exit", d2.path)
    assert result.returncode == 0, result.stderr
    assert "exit" in result.stdout
    root = tree.discover()
    survivor = levels.find(root, d1.path)
    assert [c.path for c in survivor.children] == [sibling.path]
    assert survivor.state == levels.READY and survivor.children[0].state == levels.READY
    with pytest.raises(UnknownLevel):
        levels.find(root, d3.path)
    # The exited levels' volumes stay (the recipe's behaviour) until cleaned.
    plan = usage.plan_cleanup(root)
    assert d2.volume in [i.volume for i in plan.items]


def test_collapse_leaves_no_level_behind(tree):
    levels_made = tree.chain(2) + [tree.spawn(short="other")]
    result = run_cli("collapse", "--rm-volume")
    assert result.returncode == 0, result.stderr
    assert ls_json()["children"] == []
    made = [r.level.volume for r in levels_made]
    assert all(made) and len(made) == 3
    left = {v.name for v in connect.client().volumes.list()}
    assert not left & set(made)  # --rm-volume removed every level's volume


def test_du_then_a_level_killed_from_outside_is_exited_and_clean_frees_only_its_volume(tree):
    d1, d2 = (r.level for r in tree.chain(2))
    host = connect.client()
    inner = connect.client(d1.endpoint)
    foreign_inner = inner.volumes.create("not-made-by-dindtui")
    # Looks like ours in every way (name, labels, namespace) but another owner's: it stays.
    foreign_host = host.volumes.create(
        levels.container_name(tree.name("x")) + "-abcdef",
        labels={"dindtui.name": tree.name("x"), "dindtui.owner": "someone-else",
                "dindtui.namespace": os.environ["DINDTUI_NAMESPACE"]})
    try:
        report = json.loads(run_cli("du", "--json").stdout)
        mine = {v["level"]: v for v in report["volumes"]}
        assert mine[d1.path]["bytes"] > 0 and mine[d2.path]["bytes"] > 0
        assert report["total"] >= mine[d1.path]["bytes"] + mine[d2.path]["bytes"]
        # The walk ran in a process of its own; what it cost is counted (the TUI spaces its
        # walks by it), by the kernel's clock, not the walker's word.
        walked = usage.measure(tree.discover())
        assert walked.method == "inode" and 0 < walked.cpu_seconds < 60, walked.cpu_seconds

        inner.containers.get(d2.container_name).kill()
        inner.api.wait(d2.container_id, timeout=30)  # a kill is sent, not yet done, when it returns
        assert tree.find(d2.path).state == levels.EXITED
        assert "exited" in run_cli("ls").stdout

        before_inner = {v.name for v in inner.volumes.list()}
        # The exited level's own volumes: its data root and its container's anonymous /certs.
        its_own = {m["Name"] for m in inner.api.inspect_container(d2.container_id)["Mounts"]
                   if m["Type"] == "volume"}
        assert d2.volume in its_own
        result = run_cli("clean", "--yes")
        assert result.returncode == 0, result.stderr
        assert d2.volume in result.stdout and "freed" in result.stdout
        assert {v.name for v in inner.volumes.list()} == before_inner - its_own
        assert host.volumes.get(d1.volume)  # d1's volume untouched (others' are not ours)
        assert tree.find(d1.path).state == levels.READY
        assert inner.volumes.get("not-made-by-dindtui")
        assert host.volumes.get(foreign_host.name)
    finally:
        foreign_inner.remove(force=True)
        foreign_host.remove(force=True)


def test_clean_dry_run_shows_what_it_would_free_and_frees_nothing(tree):
    level = tree.spawn(short="gone").level
    run_cli("exit", level.path)
    result = run_cli("clean", "--dry-run", "--json")
    plan = json.loads(result.stdout)
    [item] = [i for i in plan["items"] if i["volume"] == level.volume]
    assert item["bytes"] > 0 and item["state"] == "orphan"
    assert connect.client().volumes.get(level.volume)


def make_tiny_image(client, tag: str) -> str:
    """A small image made from this machine's own files (no registry here)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in ("/usr/bin/true", "/usr/bin/echo"):
            tar.add(path, arcname="bin/" + os.path.basename(path))
        tar.add(os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6"),
                arcname="lib/x86_64-linux-gnu/libc.so.6")
        tar.add(os.path.realpath("/lib64/ld-linux-x86-64.so.2"),
                arcname="lib64/ld-linux-x86-64.so.2")
        payload = os.urandom(3_000_000)  # unique content, so the id is new each run
        info = tarfile.TarInfo("payload")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    repository, tag_part = tag.split(":")
    client.api.import_image(src=buffer.getvalue(), repository=repository, tag=tag_part)
    return tag


def test_push_moves_an_image_then_skips_it_when_already_there(tree):
    host = connect.client()
    tag = make_tiny_image(host, f"{tree.prefix}tiny:v1")
    try:
        level = tree.spawn(short="p").level
        first = json.loads(run_cli("push", level.path, tag, "--json").stdout)
        assert first["action"] == "loaded" and first["bytes"] > 3_000_000
        second = json.loads(run_cli("push", level.path, tag, "--json").stdout)
        assert second["action"] == "skipped" and second["bytes"] == 0
        assert second["seconds"] < first["seconds"]
        inner = connect.client(level.endpoint)
        assert inner.images.get(tag).id == host.images.get(tag).id
        assert inner.containers.run(tag, ["/bin/echo", "pushed"], remove=True) == b"pushed\n"
        # Only the tag missing: re-tagged, nothing moved.
        inner.api.tag(host.images.get(tag).id, f"{tree.prefix}tiny", "keep")
        inner.images.remove(tag)
        third = json.loads(run_cli("push", level.path, tag, "--json").stdout)
        assert third["action"] == "retagged" and third["bytes"] == 0
    finally:
        host.images.remove(tag, force=True)


def test_push_into_a_full_disk_says_disk_full(containers, tmp_path):
    """A daemon whose data root is a 40 MB tmpfs: loading the level image fills it."""
    sock_dir = tmp_path / "full"
    sock_dir.mkdir()
    containers(environment={"DINDTUI_MODE": "daemon"}, tmpfs={"/var/lib/docker": "size=40m"},
               binds={str(sock_dir): {"bind": "/run/dindtui", "mode": "rw"}})
    path = str(sock_dir / "docker.sock")
    deadline = time.monotonic() + 60
    while not connect.ping_socket(path).ok:
        assert time.monotonic() < deadline, "the small daemon did not start"
        time.sleep(0.2)
    with pytest.raises(DiskFull, match="disk full while loading"):
        images.push_image(connect.default_endpoint(), "unix://" + path, images.DEFAULT_IMAGE)


def read_until(fd: int, marker: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def drive_shell(level_path: str, command: str, marker: bytes) -> bytes:
    """Run `dindtui shell LEVEL` on a pseudo-terminal, type `command`, read until `marker`."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.executable, [sys.executable, "-m", "dindtui", "shell", level_path])
    try:
        # Type only once the shell prompts (bash and sh end theirs with "# "): a shell drops
        # what was typed before it started reading.
        prompt = read_until(fd, b"# ", timeout=60)
        assert b"# " in prompt, prompt
        os.write(fd, command.encode() + b"\r")
        output = read_until(fd, marker)
        os.write(fd, b"exit\r")
        read_until(fd, b"\x00", timeout=10)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return output


def test_shell_at_depth_two_through_a_pseudo_terminal(tree):
    d2 = tree.chain(2)[1].level
    output = drive_shell(d2.path, "echo $((6*7))-$(hostname)-$(docker info --format "
                                  "'{{.ServerVersion}}' | cut -c1-2)", b"42-")
    assert f"42-{d2.name}-26".encode() in output, output


def test_a_level_image_without_bash_still_gets_a_shell(tree, client):
    tag = f"{tree.prefix}nobash:test"
    client.images.build(fileobj=io.BytesIO(
        f"FROM {images.DEFAULT_IMAGE}\nRUN rm -f /bin/bash /usr/bin/bash\n".encode()), tag=tag,
        rm=True)
    try:
        level = tree.spawn(short="nb", image=tag).level
        assert shell.login_shell(tree.find(level.path)) == "/bin/sh"
        output = drive_shell(level.path, "echo shell-is-$0", b"shell-is-")
        assert b"shell-is-" in output and b"bash" not in output.split(b"shell-is-")[-1][:10]
    finally:
        client.images.remove(tag, force=True)


def test_exec_returns_the_command_status_and_streams(tree):
    level = tree.spawn(short="e").level
    result = run_cli("exec", level.path, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3
    assert result.stdout == "out\n" and result.stderr == "err\n"


# --------------------------------------------------------------------------- errors

def one_line_error(result, status: int = 1) -> str:
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("dindtui: error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_error_no_engine_reachable_says_where_it_looked():
    result = run_cli("ls", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert "no Docker engine answers at unix:///nonexistent/docker.sock" in one_line_error(result)


def test_error_permission_denied_on_the_engine_socket(tmp_path):
    path = str(tmp_path / "locked.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    os.chmod(path, 0)
    os.chown(path, 65534, 65534)
    try:
        result = subprocess.run(
            ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search",
             sys.executable, "-m", "dindtui", "ls"], capture_output=True, text=True,
            env={**os.environ, "DOCKER_HOST": "unix://" + path}, timeout=60)
        assert "permission denied" in one_line_error(result)
    finally:
        server.close()


def test_error_unknown_level(tree):
    assert "unknown level 'no-such-level'" in one_line_error(
        run_cli("exec", "no-such-level", "--", "true"))


def test_error_usage_is_status_2():
    result = run_cli("spawn", "--port", "not-a-port")
    assert result.returncode == 2 and "not a TCP port number" in result.stderr
    assert one_line_error(run_cli("exec"), status=2)


def test_error_parent_dead_name_taken_and_image_missing(tree):
    d1 = tree.spawn(short="x").level
    taken = run_cli("spawn", "--name", d1.name)
    assert f"level name '{d1.name}' is taken" in one_line_error(taken)
    missing = run_cli("spawn", d1.path, "--image", "no-such-image:0")
    # Where it looked: the parent, then every level above it (it would be brought from there).
    said = one_line_error(missing)
    assert f"image no-such-image:0 is on neither {d1.path} nor any level above it" in said
    assert "looked in host" in said
    built_hint = run_cli("spawn", d1.path, "--image", images.DEFAULT_IMAGE + "-absent")
    assert "dindtui image build" in one_line_error(built_hint)
    connect.client().containers.get(d1.container_name).kill()
    dead = run_cli("spawn", d1.path)
    assert f"level {d1.path} is exited: cannot spawn" in one_line_error(dead)


def test_spawn_with_a_port_serves_tls_and_certs_prints_the_environment(tree, tmp_path,
                                                                      monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)  # psf/requests#3829
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli("spawn", "--name", tree.name("tcp"), "--port", str(port), "--json")
    assert result.returncode == 0, result.stderr
    level = tree.find(tree.name("tcp"))
    assert level.port == port
    shown = run_cli("certs", level.path, "--dir", str(tmp_path / "certs"))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == (f"export DOCKER_HOST=tcp://127.0.0.1:{port} "
                                    f"DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={tmp_path / 'certs'}")
    certs = {name: str(tmp_path / "certs" / f"{name}.pem") for name in ("ca", "cert", "key")}
    tls = docker.tls.TLSConfig(client_cert=(certs["cert"], certs["key"]), ca_cert=certs["ca"],
                               verify=True)
    remote = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", tls=tls, timeout=10)
    assert remote.info()["Name"] == level.name
    assert "serves no TCP port" in one_line_error(run_cli("certs", "host"))




def test_the_connections_to_a_level_removed_by_another_process_are_closed(tree):
    """A long TUI session with levels coming and going (exited by the CLI, the docker CLI)
    keeps no connection to a daemon that is gone (bench/soak.py saw open files grow)."""
    from dindtui.engine.facade import Engine
    stays = tree.spawn(short="stays").level
    goes = tree.spawn(short="goes").level
    engine = Engine()
    for level in (stays, goes):
        connect.client(level.endpoint).ping()  # a kept-alive connection to its daemon
    made = connect.client(goes.endpoint)
    adapter = made.api.get_adapter(made.api.base_url)
    assert len(adapter.pools) >= 1
    connect.client().api.remove_container(goes.container_id, force=True)  # someone else
    engine.forget_gone(engine.discover())
    assert goes.endpoint not in connect._clients and len(adapter.pools) == 0
    assert stays.endpoint in connect._clients  # what is still there keeps its connection
    assert connect.client().ping()  # and level 0 its own
