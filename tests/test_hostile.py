"""Trust, round 2, against the real engine: nothing inside a level can hang, fool or crash
dindtui. Another namespace's level is never acted on from a view; a volume full of symlink
loops hangs no exit; one odd label breaks no listing; contexts name one level each; a log line
without end stays bounded; what a daemon says is text; a revive is a reboot. The engine-free
halves (databases, walks, text) are in test_hostile_input.py."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from helpers import exec_ok, free_port, ls_json, node, run_cli, wait_for
from conftest import IMAGE, MAKE_TINY, docker_cli, needs_docker_cli
from dindtui.engine.disk import cgroups
from dindtui.engine.tree import discovery, levels, place
from dindtui.engine import gate, guard
from dindtui.engine.explore import inside, logs
from dindtui.engine.access import reach
from dindtui.engine.errors import DindtuiError
from dindtui.engine.net import bare, connect


# ----------------------------------------------------------------------------- the gate

@pytest.fixture
def other_namespace():
    env = {"DINDTUI_NAMESPACE": "other-" + secrets.token_hex(3)}
    yield env
    run_cli("collapse", "--rm-volume", env=env)


def test_no_view_acts_on_another_namespace_s_level(tree, other_namespace, client):
    made = run_cli("spawn", "--name", "victim", "--json", env=other_namespace)
    assert made.returncode == 0, made.stderr
    [victim] = json.loads(run_cli("ls", "--json", env=other_namespace).stdout)["children"]
    ours = tree.spawn(short="own").level
    root = discovery.discover()
    rows = {row.id: row for row in inside.container_rows(root)}
    row = rows[victim["container_id"][:12]]
    assert "namespace" in row.protected and not row.is_level  # the row says why
    assert rows[ours.container_id[:12]].is_level
    for action in ("kill", "stop", "remove", "restart", "start"):
        with pytest.raises(DindtuiError, match="refusing to .* it is a dindtui level of "
                                               "namespace"):
            inside.act(root, row.id, action)
        with pytest.raises(DindtuiError, match="is level"):
            inside.act(root, ours.container_id[:12], action)
    state = client.api.inspect_container(victim["container_id"])["State"]
    assert state["Running"] and not state["Restarting"]


def test_a_container_shaped_like_a_level_without_labels_is_refused_too(client, image):
    """Named like a level and holding a daemon's data root: dindtui cannot prove it is not one."""
    name = "dindtui-lookalike-" + secrets.token_hex(3)
    made = client.api.create_container(image, name=name, entrypoint=["true"],
                                       host_config=client.api.create_host_config(
                                           binds={name: {"bind": "/var/lib/docker"}}))["Id"]
    try:
        root = discovery.discover()
        row = next(r for r in inside.container_rows(root) if r.id == made[:12])
        assert "named like a dindtui level" in row.protected
        with pytest.raises(DindtuiError, match="refusing to remove"):
            inside.act(root, made[:12], "remove")
        assert client.api.inspect_container(made)["Id"] == made
    finally:
        client.api.remove_container(made, force=True, v=True)
        client.api.remove_volume(name, force=True)


# ----------------------------------------------------------------------------- walks

EVIL_VOLUME = """set -e
docker run --rm -v evil:/d --entrypoint sh {image} -c '
mkdir -p /d/containers /d/volumes/nested/_data/containers/{fake}
touch /d/volumes/nested/_data/containers/{fake}/config.v2.json
ln -s ../.. /d/volumes/a; ln -s ../.. /d/volumes/b; ln -s / /d/volumes/root'
"""


def test_symlink_loops_and_foreign_ids_in_a_level_s_volume_hang_nothing(tree):
    fake = secrets.token_hex(32)
    l1 = tree.spawn(short="loop").level
    exec_ok(l1.path, EVIL_VOLUME.format(image=IMAGE, fake=fake))
    planted = []
    hierarchies = cgroups.v1_hierarchies() if os.geteuid() == 0 else []
    for hierarchy in hierarchies[:2]:  # an empty host cgroup named after the foreign id
        path = os.path.join(hierarchy, "docker", fake)
        if os.path.isdir(os.path.dirname(path)):
            os.mkdir(path)
            planted.append(path)
    try:
        for command in (["du", "--json"], ["clean", "--dry-run"], ["exit", l1.path]):
            started = time.monotonic()
            result = run_cli(*command, timeout=120)
            assert result.returncode == 0, (command, result.stderr)
            print(f"{' '.join(command)}: {time.monotonic() - started:.1f}s")
        # Exit says what it exited, one line a level (not a shell prompt's look-alike).
        assert f"exited {l1.path}  (container {l1.container_id[:12]})" in result.stdout
        assert "root@" not in result.stdout
        # The id came from a volume a container wrote, not from a level's data root: its
        # cgroup (empty, so removable) is not dindtui's to remove.
        assert all(os.path.isdir(path) for path in planted)
        assert node(ls_json(), l1.path) is None
    finally:
        for path in planted:
            if os.path.isdir(path):
                os.rmdir(path)


# ----------------------------------------------------------------------------- labels

def test_an_odd_label_is_one_ignored_row_not_a_failure(tree, client, image):
    name = tree.name("odd")
    root = discovery.discover()
    volume = levels.container_name(name) + "-" + secrets.token_hex(3)
    labels = {levels.LABEL_OWNER: levels.OWNER, levels.LABEL_NAME: name,
              levels.LABEL_VOLUME: volume, levels.LABEL_PORT: "²",
              levels.LABEL_NAMESPACE: os.environ["DINDTUI_NAMESPACE"],
              levels.LABEL_STRATEGY: "\x1b]0;owned\x07"}
    made = client.api.create_container(
        image, name=levels.container_name(name), entrypoint=["true"], labels=labels,
        host_config=client.api.create_host_config(binds={
            place.of(root).child_socket_dir(name): {"bind": levels.SOCKET_MOUNT},
            volume: {"bind": levels.DATA_ROOT}}))["Id"]
    try:
        listed = run_cli("ls", "--json")
        assert listed.returncode == 0, listed.stderr
        ignored = [i for i in json.loads(listed.stdout)["ignored"]
                   if i["container_id"] == made]
        assert ignored and "port" in ignored[0]["reason"], ignored
        shown = run_cli("ls")
        assert shown.returncode == 0 and "\x1b" not in shown.stdout + shown.stderr
        for command in (["du"], ["clean", "--dry-run"], ["ps", "--all-levels"]):
            result = run_cli(*command)
            assert result.returncode == 0, (command, result.stderr)
            assert "\x1b" not in result.stdout + result.stderr
    finally:
        client.api.remove_container(made, force=True, v=True)
        client.api.remove_volume(volume, force=True)
        gate.remove_socket_dir(place.of(root).child_socket_dir(name), root)


# ----------------------------------------------------------------------------- contexts

@needs_docker_cli
def test_two_levels_never_share_a_context_or_a_certificate_directory(tree, docker_config):
    a = tree.spawn(short="a").level
    ab = tree.spawn(a.path, "b").level
    a_dot_b = tree.spawn(short=f"a.{tree.name('b')}").level
    assert a_dot_b.name == f"{a.name}.{ab.name}"  # the names that collided
    synced = run_cli("context", "sync", "--json")
    assert synced.returncode == 0, synced.stderr
    created = json.loads(synced.stdout)["created"]
    assert len(created) == len(set(created)) == 3
    for level in (a, ab, a_dot_b):
        answered = docker_cli("--context", reach.context_name(level), "info", "--format",
                              "{{.Name}}")
        assert answered.returncode == 0 and answered.stdout.strip() == level.name
    again = run_cli("context", "sync", "--json")  # stable: the next sync changes nothing
    assert json.loads(again.stdout) | {"skipped": []} == {
        "created": [], "updated": [], "removed": [], "skipped": []}
    assert len({reach.certs_dir(level) for level in (a, ab, a_dot_b)}) == 3


def test_env_tcp_lines_survive_eval_with_any_directory(tree, tmp_path):
    level = tree.spawn(short="tls", port=free_port()).level
    directory = tmp_path / "certs dir $(touch pwned) 'q'"
    for command in (["env", level.path, "--tcp"], ["certs", level.path]):
        shown = run_cli(*command, "--dir", str(directory))
        assert shown.returncode == 0, shown.stderr
        evaluated = subprocess.run(["bash", "-c", shown.stdout + '\nprintf %s "$DOCKER_CERT_PATH"'],
                                   capture_output=True, text=True, cwd=tmp_path, timeout=10)
        assert evaluated.stdout == str(directory), evaluated
        assert not (tmp_path / "pwned").exists()


# ----------------------------------------------------------------------------- what they say

FLOOD = ("docker run -d --name flood --entrypoint sh {image} -c "
         "'head -c 3000000 /dev/zero | tr \"\\000\" x; "
         "printf \"\\nafter \\033]52;c;aGk=\\007\\033[2J end\\n\"; sleep 600' >/dev/null")


def test_a_log_line_without_end_is_cut_and_escapes_stay_text(tree):
    level = tree.spawn(short="flood").level
    exec_ok(level.path, FLOOD.format(image=IMAGE))
    wait_for(lambda: "after" in run_cli("logs", level.path, "flood", "--tail", "1").stdout,
             "the flood to be written", 60)
    lines = list(logs.log_lines(level, "flood"))
    assert len(lines[0]) < guard.LINE_LIMIT + 100 and "more bytes of this line" in lines[0]
    assert lines[-1].startswith("after \x1b]52")  # the engine hands on what was written...
    raw = run_cli("logs", level.path, "flood", "--tail", "1")
    assert "\x1b]52" in raw.stdout  # ...and `dindtui logs` passes bytes on, as `docker logs`
    bad = run_cli("logs", level.path, "nothing\x1b]0;owned\x07")
    assert bad.returncode == 1 and "\x1b" not in bad.stderr and "owned" in bad.stderr


# ----------------------------------------------------------------------------- reboots

KEEPERS = MAKE_TINY + """
docker run -d --restart unless-stopped --name keep tiny /bin/sleep 600 >/dev/null
docker run -d --restart always --name always tiny /bin/sleep 600 >/dev/null
docker run -d --restart unless-stopped --name stopped tiny /bin/sleep 600 >/dev/null
docker run -d --name plain tiny /bin/sleep 600 >/dev/null
docker stop -t 1 stopped >/dev/null
"""


def running_in(path: str) -> set[str]:
    return set(exec_ok(path, "docker ps --format '{{.Names}}'").split())


def test_a_revive_is_a_reboot_at_every_depth(tree, client):
    l1 = tree.spawn(short="boot1").level
    l2 = tree.spawn(l1.path, "boot2").level
    exec_ok(l2.path, KEEPERS)
    exec_ok(l1.path, MAKE_TINY + "docker run -d --restart always --name top tiny /bin/sleep "
                                 "600 >/dev/null")
    mounts = client.api.inspect_container(l1.container_id)["Mounts"]
    assert sorted(m["Destination"] for m in mounts) == [levels.SOCKET_MOUNT, levels.DATA_ROOT]
    assert client.api.inspect_container(l1.container_id)["Config"]["StopTimeout"] >= 30

    for how in ("stop", "kill"):  # what an engine's shutdown does, and a crash
        if how == "stop":
            client.api.stop(l1.container_id)  # the level's own stop timeout
        else:
            client.api.kill(l1.container_id)
        wait_for(lambda: node(ls_json(), l1.path)["state"] == "exited", "the level to stop")
        revived = run_cli("revive", "--all")
        assert revived.returncode == 0, revived.stderr
        wait_for(lambda: {"keep", "always"} <= running_in(l2.path),
                 f"the restart-policy containers at depth 2 after a {how}", 30)
        assert running_in(l2.path) == {"keep", "always"}, how  # a stopped one stays stopped
        assert "top" in running_in(l1.path)


# ----------------------------------------------------------------------------- serve

def serve(*args: str):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "dindtui", "--no-animation", "serve",
                                "--port", str(port), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    assert process.stdout is not None
    first, deadline = "", time.monotonic() + 30
    while "token=" not in first and time.monotonic() < deadline:
        first += process.stdout.readline()
    token = re.search(r"token=([\w-]+)", first)
    assert token, first
    return process, port, token.group(1), first


def stopped(process) -> str:
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def test_serve_builds_its_urls_from_the_request_and_keeps_the_token_out_of_its_log():
    process, port, token, _ = serve()
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/?token={token}",
                                         headers={"Host": "localhost:9999"})  # an ssh -L 9999
        with urllib.request.urlopen(request, timeout=10) as answer:
            page = answer.read().decode()
            assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert f"ws://localhost:9999/ws/{token}" in page
        assert "http://localhost:9999/static/" in page and "127.0.0.1" not in page
    finally:
        output = stopped(process)
    # Past the URL printed at start (read by serve()), the token is nowhere: the access log
    # says <token>.
    assert token not in output and "GET /?token=<token>" in output, output


def test_serve_warns_when_it_listens_beyond_this_machine():
    process, _, _, first = serve("--host", "0.0.0.0", "--public-url", "http://example.test:1")
    try:
        assert "http://example.test:1/?token=" in first
    finally:
        output = first + stopped(process)
    assert "warning:" in output and "beyond this machine" in output
    bad = run_cli("serve", "--public-url", "javascript:alert(1)")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_no_traceback_no_escape_no_hang_for_a_bad_engine_answer():
    """A daemon socket that answers garbage: one line, no escape sequence, within seconds."""
    import socket
    import tempfile
    import threading

    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "docker.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(4)
    stop = threading.Event()

    def answer():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.0 500 \x1b]0;owned\x07\x1b[2J\r\nServer: Docker/\x1b[31m"
                             b"\r\n\r\n\x1b[2J")
    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        result = run_cli("--host", f"unix://{path}", "ls", timeout=60)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "\x1b" not in result.stdout + result.stderr, result.stderr
    finally:
        stop.set()
        thread.join(5)
        server.close()
        os.unlink(path)
        os.rmdir(directory)


# --------------------------------------------------------------------------- the bare reader

def _serve_once(path: str, answer: bytes | None, hold: float) -> threading.Thread:
    """A unix socket at `path` that accepts one connection, sends `answer` (None: nothing) and
    holds the connection open `hold` seconds: a daemon that stalls, or says too much."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def serve() -> None:
        with server:
            server.settimeout(10)
            connection, _ = server.accept()
            with connection:
                connection.recv(4096)
                try:
                    if answer is not None:
                        connection.sendall(answer)
                    time.sleep(hold)
                except OSError:  # the reader gave up and closed: what is tested
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.alone  # two listings of every container on the engine, compared
def test_the_bare_reader_reads_what_the_sdk_reads_and_is_bounded(client, tmp_path):
    """Discovery reads local daemons without the SDK (net/bare.py): the same answers, the
    daemon's own error said, and a daemon that stalls or floods costs a bounded wait."""
    path = connect.bare_socket(connect.default_endpoint())
    assert path is not None
    listed = bare.get_json(path, connect.query("/containers/json", all=1))
    assert {c["Id"] for c in listed} == {c["Id"] for c in client.api.containers(all=True)}
    with pytest.raises(bare.BareError) as missing:
        bare.get_json(path, "/containers/no-such-container-of-dindtui/json")
    assert missing.value.status == 404 and "no such container" in str(missing.value).lower()

    stalled = str(tmp_path / "stalled.sock")
    _serve_once(stalled, None, hold=5)
    started = time.monotonic()
    with pytest.raises(bare.BareError, match="within"):
        bare.get_json(stalled, "/containers/json", timeout=0.5)
    assert time.monotonic() - started < 2

    flood = str(tmp_path / "flood.sock")
    _serve_once(flood, b"HTTP/1.0 200 OK\r\n\r\n" + b"[" + b"1," * (1 << 20), hold=1)
    with pytest.raises(bare.BareError, match="larger than 1 MB"):
        bare.get_json(flood, "/containers/json", limit=1 << 20)
