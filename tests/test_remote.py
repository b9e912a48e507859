"""A remote engine as level 0, over TLS and over SSH. A level published with TLS on 127.0.0.1
stands in for a remote engine: another dindtui process is pointed at it with
DOCKER_HOST=tcp://... and a state directory of its own, so the socket tree of that engine (a
directory on "the other machine") is nowhere it can see. Levels under it are reached through
tunnels (an exec of dial-stdio in the depth-1 level); spawn, ls, exec, du and exit work at every
depth. Over SSH, this machine's own engine is reached through an sshd of the test's own."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from dindtui.app import DindtuiApp
from dindtui.engine.net import connect
from dindtui.engine.tree import discovery, levels
from dindtui.engine.lifecycle import images
from dindtui.engine.facade import Engine
from dindtui.engine.net import served
from dindtui.screens.dialogs import ConfirmDialog
from dindtui.screens.search import SearchScreen
from dindtui.widgets.level_tree import LevelTree
from helpers import run_cli, until
from test_tui import SIZE, level_in, spawn_with_keys

IMAGE = images.DEFAULT_IMAGE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tls_level(tree, tmp_path, **options):
    """A level published with TLS on 127.0.0.1, and the variables that make it level 0."""
    level = tree.spawn(short="remote", port=free_port(), **options).level
    printed = run_cli("env", level.path, "--tcp", "--dir", str(tmp_path / "certs"))
    assert printed.returncode == 0, printed.stderr
    return level, dict(line[len("export "):].split("=", 1)
                       for line in printed.stdout.splitlines() if line.startswith("export "))


@pytest.fixture
def remote(tree, tmp_path):
    """The environment of a process for which the TLS level is level 0. That engine keeps its
    images in the containerd image store, as Docker Engine 29 does by default."""
    level, env = tls_level(tree, tmp_path, store="containerd")
    env["DINDTUI_STATE_DIR"] = str(tmp_path / "state")   # not the tree the levels live in
    return level, env


def test_spawn_ls_exec_and_exit_under_a_remote_level_0(remote, tmp_path):
    level, env = remote
    first = run_cli("spawn", "--name", "r1", "--store", "containerd", "--json", env=env)
    assert first.returncode == 0, first.stderr
    # Seeded from level 0's containerd store by a helper container over there.
    assert json.loads(first.stdout)["strategy"] == "seed", first.stdout
    second = run_cli("spawn", "r1", "--name", "r2", "--store", "containerd", "--json", env=env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["level"] == "r1/r2"
    assert json.loads(second.stdout)["strategy"] == "seed", second.stdout

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
    # Measured by inode on that engine's machine (a helper container there): the seeded
    # levels' layers are hardlinks of level 0's, so each level's own bytes are a sliver of
    # the image, and most of what it holds is shared.
    assert usage["method"] == "inode", usage
    image_bytes = connect.client().images.get(IMAGE).attrs["Size"]
    for volume in usage["volumes"]:
        assert volume["bytes"] < 0.05 * image_bytes, volume
        assert volume["shared_bytes"] > 0.5 * image_bytes, volume
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
    # Every command takes several engines: a path begins with its engine's label.
    far = env["DOCKER_HOST"].removeprefix("tcp://")
    listed = run_cli("--host", "unix:///var/run/docker.sock", "--host", env["DOCKER_HOST"],
                     "ps", "--all-levels", "--json", env=both_env)
    assert listed.returncode == 0, listed.stderr
    assert f"{far}/r1" in {row["level_path"] for row in json.loads(listed.stdout)}
    inner = run_cli("--host", "unix:///var/run/docker.sock", "--host", env["DOCKER_HOST"],
                    "exec", f"{far}/r1/r2", "--", "hostname", env=both_env)
    assert inner.returncode == 0 and inner.stdout.strip() == "r2", inner.stderr
    unknown = run_cli("--host", "unix:///var/run/docker.sock", "--host", env["DOCKER_HOST"],
                      "exec", "r1", "--", "true", env=both_env)
    assert unknown.returncode == 1 and "a path begins with its engine" in unknown.stderr

    gone = run_cli("exit", "r1", "--rm-volume", env=env)
    assert gone.returncode == 0, gone.stderr
    after = json.loads(run_cli("ls", "--json", env=env).stdout)
    assert after["children"] == []


@pytest.fixture
def ssh_engine(tmp_path):
    """This machine's engine reached over SSH, as a remote one would be: an sshd of the test's
    own on 127.0.0.1, and an `ssh` first on PATH that uses the test's keys and known hosts
    (nothing of the user's ~/.ssh is read or written)."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(sshd):
        pytest.skip("openssh-server is not installed (./quickstart.sh test installs it)")
    keys = tmp_path / "ssh"
    keys.mkdir()
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)],
                       check=True)
    (keys / "authorized").write_text((keys / "client.pub").read_text())
    port = free_port()
    (keys / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized'}\nPermitRootLogin prohibit-password\n"
        f"PasswordAuthentication no\nStrictModes no\nUsePAM no\nPidFile {keys / 'pid'}\n")
    host_key = " ".join((keys / "host.pub").read_text().split()[:2])
    (keys / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    (keys / "ssh_config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {keys / 'client'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {keys / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Each session dindtui opens is counted (one line each in `sessions`).
    (bin_dir / "ssh").write_text(f"#!/bin/sh\necho \"$*\" >> {tmp_path / 'sessions'}\n"
                                 f"exec {shutil.which('ssh')} -F {keys / 'ssh_config'} \"$@\"\n")
    (bin_dir / "ssh").chmod(0o755)
    made_privsep = not os.path.exists("/run/sshd")
    os.makedirs("/run/sshd", exist_ok=True)   # sshd's privilege separation directory
    daemon = subprocess.Popen([sshd, "-D", "-e", "-f", str(keys / "sshd_config")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    env = {"DOCKER_HOST": f"ssh://root@127.0.0.1:{port}",
           "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "DINDTUI_STATE_DIR": str(tmp_path / "state")}
    try:
        for _ in range(50):
            if subprocess.run(["ssh", "-p", str(port), "root@127.0.0.1", "true"],
                              env={**os.environ, **env}, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        yield env
    finally:
        daemon.terminate()
        daemon.wait(10)
        if made_privsep:
            os.rmdir("/run/sshd")


def test_spawn_exec_and_exit_over_ssh(tree, ssh_engine, tmp_path):
    first = run_cli("spawn", "--name", tree.name("s1"), "--json", env=ssh_engine)
    assert first.returncode == 0, first.stderr
    second = run_cli("spawn", tree.name("s1"), "--name", tree.name("s2"), "--json",
                     env=ssh_engine)
    assert second.returncode == 0, second.stderr
    deepest = json.loads(second.stdout)["level"]
    ran = run_cli("exec", deepest, "--", "docker", "run", "--rm", "--entrypoint", "echo", IMAGE,
                  "ran-over-ssh", env=ssh_engine)
    assert ran.returncode == 0 and ran.stdout.strip() == "ran-over-ssh", ran.stderr
    sessions = tmp_path / "sessions"
    sessions.write_text("")
    shown = json.loads(run_cli("ls", "--json", env=ssh_engine).stdout)
    # Connections are kept alive and reused: one SSH session for level 0's API, one for each
    # level's tunnel (the SDK's pool per request URL made it one per request: 8 here).
    assert len(sessions.read_text().splitlines()) <= 4, sessions.read_text()
    assert shown["endpoint"] == ssh_engine["DOCKER_HOST"]
    s1 = next(c for c in shown["children"] if c["name"] == tree.name("s1"))
    assert s1["children"][0]["state"] == "ready"
    gone = run_cli("exit", tree.name("s1"), "--rm-volume", env=ssh_engine)
    assert gone.returncode == 0, gone.stderr
    # An ssh engine that does not answer: one line.
    down = run_cli("ls", env={**ssh_engine, "DOCKER_HOST": "ssh://root@127.0.0.1:1"})
    assert down.returncode == 1 and down.stderr.count("\n") == 1 and "ssh" in down.stderr


async def test_the_tui_shows_one_tree_per_engine_and_works_under_each(tree, tmp_path,
                                                                      monkeypatch):
    """`dindtui -H unix:///var/run/docker.sock -H tcp://127.0.0.1:PORT`: this machine's engine
    and a TLS one (a level of the first, standing in for a remote engine), one root each, in
    one process. Spawn under each (depth 2 through the tunnels of the TLS engine), find across
    both, exit with x, then collapse everything: the TLS engine's levels go first, before the
    level that is its daemon."""
    level, env = tls_level(tree, tmp_path)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    # First the TLS engine named by a docker CLI context: its own certificates (none in the
    # environment yet), and a root named after the context.
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    certs = env["DOCKER_CERT_PATH"]
    made = subprocess.run(["docker", "context", "create", "far", "--docker",
                           f"host={env['DOCKER_HOST']},ca={certs}/ca.pem,"
                           f"cert={certs}/cert.pem,key={certs}/key.pem"],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    engine = Engine.from_command_line([("--context", "far"),
                                       ("--host", "unix:///var/run/docker.sock")])
    assert [(root.path, root.state) for root in engine.discover()] == [
        ("far", "ready"), ("host", "ready")]
    connect.forget(env["DOCKER_HOST"])
    every = run_cli("--all-contexts", "ls", "--json")  # the default engine and every context
    assert every.returncode == 0, every.stderr
    assert [e["engine"] for e in json.loads(every.stdout)["engines"]] == [
        "unix:///var/run/docker.sock", "far"]
    # Then with --host: TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the docker CLI.
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", env["DOCKER_CERT_PATH"])
    engine = Engine.from_command_line([("--host", "unix:///var/run/docker.sock"),
                                       ("--host", env["DOCKER_HOST"])])
    far = engine.origins[1].label
    assert far == env["DOCKER_HOST"].removeprefix("tcp://")
    notes: list[tuple[str, str]] = []
    app = DindtuiApp(animation=False, engine=engine)
    monkeypatch.setattr(app, "notify", lambda text, severity="information", **kw:
                        notes.append((text, severity)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.roots is not None, "both trees", 60)
        assert [root.path for root in app.roots] == ["host", far]
        assert app.roots[1].status == f"in host/{level.name}"
        tops = [str(node.label) for node in app.query_one(LevelTree).root.children]
        assert tops[0].startswith("◆ 0 host") and tops[1].startswith(f"◆ 0 {far}")

        m1 = await spawn_with_keys(pilot, app, far, tree.name("m1"))
        assert m1.path == f"{far}/{m1.name}" and m1.depth == 1
        m2 = await spawn_with_keys(pilot, app, m1.path, tree.name("m2"))
        assert m2.depth == 2 and m2.path == f"{m1.path}/{m2.name}"
        # Reached through a tunnel of this process, not the socket tree.
        assert (m2.endpoint or "").startswith("unix://" + served.private_directory())
        assert connect.client(m2.endpoint).info()["Name"] == m2.name
        h1 = await spawn_with_keys(pilot, app, "host", tree.name("h1"))
        assert h1.path == f"host/{h1.name}"
        assert os.path.isdir(os.path.join(connect.level_tree_root(
            "unix:///var/run/docker.sock"), h1.name))

        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen)
                         and bool(app.screen.hits), "the index of both engines", 60)
        found = {(hit.level, hit.name) for hit in app.screen.hits}
        assert (m1.path, levels.container_name(m2.name)) in found
        assert ("host", levels.container_name(level.name)) in found
        await pilot.press("escape")

        app.query_one(LevelTree).select_path(m1.path)
        await until(pilot, lambda: app.selected_path == m1.path, "selection", 10)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirm", 10)
        await pilot.press("y")
        await until(pilot, lambda: level_in(app, m1.name) is None, "m1 gone", 180)
        remote_engine = connect.client(env["DOCKER_HOST"])
        assert not remote_engine.containers.list(
            all=True, filters={"name": levels.container_name(m1.name)})

        await spawn_with_keys(pilot, app, far, tree.name("m3"))
        app.collapse_all()
        await until(pilot, lambda: not app._busy and not app.has_levels(), "the collapse", 180)
    assert not [text for text, severity in notes if severity == "error"], notes
    # Everything this test made on this machine's engine is gone with it.
    assert not [lv for lv in discovery.discover().walk()
                if lv.depth and lv.name.startswith(tree.prefix)]
