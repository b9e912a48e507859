"""Trust, against the real engine: dindtui touches only what it made (look-alikes, labels that
point at paths, paused levels, races, other namespaces) and levels survive the faults of real
hosts (daemon crashes, an engine restart) and come back with `revive`."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time

import docker
import pytest

from helpers import exec_ok, ls_json, node, run_cli, wait_for
from conftest import IMAGE, MAKE_TINY, check_users_level, distributed_worker
from dindtui.engine.disk import cgroups, usage
from dindtui.engine.net import connect
from dindtui.engine.tree import discovery, levels, place
from dindtui.engine.tree.place import Place
from dindtui.engine import gate
from dindtui.engine.lifecycle import spawn


def state_of(path: str) -> str | None:
    found = node(ls_json(), path)
    return found and found["state"]


@pytest.fixture
def victim(tmp_path):
    """A directory that must survive: dindtui is lured into treating it as a socket dir."""
    path = tmp_path / "victim"
    path.mkdir()
    (path / "precious").write_text("keep me")
    return path


@pytest.fixture
def foreign(client, image):
    """Containers that look like levels but are not dindtui's; removed by the test at the end."""
    made = []

    def create(name: str | None = None, labels: dict | None = None, image_name: str = image):
        container = client.api.create_container(image_name, entrypoint=["true"], name=name,
                                                labels=labels or {})["Id"]
        made.append(container)
        return container

    yield create
    for container in made:
        try:
            client.api.remove_container(container, force=True, v=True)
        except docker.errors.NotFound:
            pass


# --------------------------------------------------------------------------- own objects only

def test_a_label_is_never_trusted_as_a_path(tree, foreign, victim, client):
    """Case 1: `docker create --label dindtui.name=trap --label dindtui.socketdir=/victim` and
    `dindtui exit trap` removed the container and the directory."""
    ns = os.environ["DINDTUI_NAMESPACE"]
    trap = foreign(labels={levels.LABEL_NAME: "trap", levels.LABEL_SOCKETDIR: str(victim),
                           levels.LABEL_NAMESPACE: ns})
    # With the owner label and the very container name dindtui would use, still no mounts.
    named = foreign(name=levels.container_name("trap2"), labels={
        levels.LABEL_OWNER: levels.OWNER, levels.LABEL_NAME: "trap2", levels.LABEL_NAMESPACE: ns,
        levels.LABEL_SOCKETDIR: str(victim), levels.LABEL_VOLUME: "whatever"})
    for ref in ("trap", "trap2"):
        result = run_cli("exit", ref, "--rm-volume")
        assert result.returncode == 1 and "unknown level" in result.stderr, result.stderr
    assert (victim / "precious").read_text() == "keep me"
    for container in (trap, named):
        assert client.api.inspect_container(container)["Id"] == container
    ignored = {entry["container_id"]: entry["reason"] for entry in ls_json()["ignored"]}
    assert "owner" in ignored[trap] and "bound" in ignored[named]
    plan = run_cli("clean", "--dry-run", "--json")
    assert json.loads(plan.stdout)["items"] == []


def test_socket_directories_are_removed_only_inside_the_level_tree(tree, victim):
    """The last guard, on its own: whatever path reaches it, nothing outside this namespace's
    level tree is removed, not through '..', and not through a symlink inside the tree."""
    level0 = discovery.root_level()
    root = connect.ensure_dir(connect.level_tree_root(connect.default_endpoint()))
    for path in (str(victim), os.path.join(root, "..", "..", os.path.basename(victim)),
                 os.path.join(root, "..")):
        assert gate.remove_socket_dir(path, level0) is False
    link = os.path.join(root, tree.name("link"))
    os.symlink(victim, link)
    try:
        assert gate.remove_socket_dir(link, level0) is False
        assert gate.remove_socket_dir(os.path.join(link, "precious"), level0) is False
    finally:
        os.unlink(link)
    assert (victim / "precious").read_text() == "keep me"
    inside = os.path.join(root, tree.name("mine"))
    os.mkdir(inside)
    assert gate.remove_socket_dir(inside, level0) is True and not os.path.exists(inside)


def test_look_alikes_inside_a_level_and_a_committed_level_are_ignored(tree, foreign, victim,
                                                                      client):
    """Case 1, inside a level: child names such as '..' or an absolute path in a label, and a
    `docker commit` of a level then `docker create` of the copy."""
    l1 = tree.spawn(short="l1").level
    lure = {levels.LABEL_OWNER: levels.OWNER, levels.LABEL_NAMESPACE: os.environ[
        "DINDTUI_NAMESPACE"]}
    for name in ("..", str(victim), "l1\n"):
        labels = lure | {levels.LABEL_NAME: name}
        flags = " ".join(f"--label '{k}={v}'" for k, v in labels.items())
        exec_ok(l1.path, f"docker create {flags} dindtui:latest true >/dev/null")
    shown = node(ls_json(), l1.path)
    assert shown["children"] == [] and len(shown["ignored"]) == 3, shown
    # A copy of the level container itself: same labels, another name, no level mounts.
    client.api.commit(l1.container_id, repository="dindtui-test-commit", tag=tree.prefix[:-1])
    copy_image = f"dindtui-test-commit:{tree.prefix[:-1]}"
    try:
        copy = foreign(image_name=copy_image)
        ignored = [e["container_id"] for e in ls_json()["ignored"]]
        assert copy in ignored
        result = run_cli("exit", l1.path, "--rm-volume")
        assert result.returncode == 0, result.stderr
        assert client.api.inspect_container(copy)["Id"] == copy  # the look-alike is untouched
        assert (victim / "precious").read_text() == "keep me"
        assert node(ls_json(), l1.path) is None
    finally:
        client.api.remove_container(copy, force=True, v=True)
        client.api.remove_image(copy_image, force=True)


def test_a_volume_that_only_looks_like_ours_survives_clean(tree, client):
    """Our labels under another owner, or our owner label on a volume dindtui never names that
    way: neither is an orphan of ours."""
    ns = os.environ["DINDTUI_NAMESPACE"]
    labels = {levels.LABEL_NAME: "ghost", levels.LABEL_NAMESPACE: ns}
    other_owner = client.volumes.create(f"{levels.container_name('ghost')}-abcdef",
                                        labels=labels | {levels.LABEL_OWNER: "someone-else"})
    odd_name = client.volumes.create(f"not-dindtui-ghost-{tree.prefix[:-1]}",
                                     labels=labels | {levels.LABEL_OWNER: levels.OWNER})
    try:
        level = tree.spawn(short="x").level
        assert run_cli("exit", level.path).returncode == 0  # its volume kept: a real orphan
        plan = json.loads(run_cli("clean", "--dry-run", "--json").stdout)
        assert [item["volume"] for item in plan["items"]] == [level.volume]
        result = run_cli("clean", "--yes", "--json")
        assert result.returncode == 0, result.stderr
        assert [i["volume"] for i in json.loads(result.stdout)["removed"]] == [level.volume]
        names = {v.name for v in client.volumes.list()}
        assert other_owner.name in names and odd_name.name in names
    finally:
        other_owner.remove()
        odd_name.remove()


# --------------------------------------------------------------------------- states

def test_a_paused_level_is_paused_and_never_cleanable(tree, client):
    """Case 2: a paused level was 'dead', its volume offered and its subtree removed."""
    l1 = tree.spawn(short="p1").level
    l2 = tree.spawn(l1.path, "p2").level
    client.api.pause(l1.container_id)
    try:
        shown = node(ls_json(), l1.path)
        assert shown["state"] == "paused" and shown["container_state"] == "paused"
        plan = json.loads(run_cli("clean", "--dry-run", "--json").stdout)
        assert plan["items"] == []
        result = run_cli("clean", "--yes")
        assert result.returncode == 0 and "nothing to clean" in result.stdout
        assert client.api.inspect_volume(l1.volume)["Name"] == l1.volume
    finally:
        client.api.unpause(l1.container_id)
    wait_for(lambda: state_of(l2.path) == "ready", "the paused level's child to answer again")
    # Exiting a paused level unpauses it first, so its child stops gracefully too.
    client.api.pause(l1.container_id)
    result = run_cli("exit", l1.path)
    assert result.returncode == 0, result.stderr
    assert l2.path in result.stdout and node(ls_json(), l1.path) is None


def test_a_level_being_created_and_its_volume_are_never_cleanable(tree, client, image):
    """The window between a level's container creation and its start ('created'): the volume is
    made by the same call that claims the name, and it is never an orphan."""
    root = discovery.discover()
    starting = spawn._Starting(Place.of(root), tree.name("c1"), client, image, ["privileged"],
                               None, lambda report: None)
    starting.create(spawn.STREAM, await_seed=False)
    try:
        shown = node(ls_json(), tree.name("c1"))
        assert shown["state"] == "created"
        assert client.api.inspect_volume(starting.volume)["Labels"][levels.LABEL_OWNER] == "dindtui"
        plan = usage.plan_cleanup(discovery.discover())
        assert starting.volume not in [item.volume for item in plan.items]
        assert run_cli("clean", "--yes").returncode == 0
        assert client.api.inspect_volume(starting.volume)["Name"] == starting.volume
    finally:
        starting.undo()
    assert starting.volume not in {v.name for v in client.volumes.list()}


GRACE = {"DINDTUI_VOLUME_GRACE": str(gate.VOLUME_GRACE)}  # as users have it


def test_a_spawns_volume_between_two_containers_is_never_cleanable(tree, client, image,
                                                                    monkeypatch):
    """The window CI found: the engine refused a privilege mode, the spawn removed that container
    and makes the next; meanwhile nothing uses the new volume. It is the spawn's, not an orphan:
    neither listed nor removed; once older than the grace, an orphan it is."""
    root = discovery.discover()
    starting = spawn._Starting(Place.of(root), tree.name("w1"), client, image, ["privileged"],
                               None, lambda report: None)
    starting.create(spawn.STREAM, await_seed=False)
    starting.remove_container()  # as start() does before it creates the next mode's
    try:
        monkeypatch.setenv("DINDTUI_VOLUME_GRACE", GRACE["DINDTUI_VOLUME_GRACE"])
        plan = usage.plan_cleanup(discovery.discover())
        assert starting.volume not in [item.volume for item in plan.items]
        listed = [u for u in usage.measure(discovery.discover()).volumes
                  if u.volume == starting.volume]
        assert [u.state for u in listed] == [usage.NEW]
        orphan = usage.CleanupItem(starting.volume, "", starting.name, usage.ORPHAN, None, 0)
        kept = usage.apply_cleanup(discovery.discover(), usage.CleanupPlan([orphan]))
        assert kept.removed == [] and "moments ago" in kept.kept[0][1]
        assert client.api.inspect_volume(starting.volume)["Name"] == starting.volume
        monkeypatch.setenv("DINDTUI_VOLUME_GRACE", "0.001")
        plan = usage.plan_cleanup(discovery.discover())
        assert starting.volume in [item.volume for item in plan.items]
    finally:
        starting.undo()
    assert starting.volume not in {v.name for v in client.volumes.list()}


def test_exit_rm_volume_removes_the_volume_its_daemon_just_wrote_to(tree, client):
    """Docker's local driver dates a volume by its directory's last change, and a level's
    daemon writes there as it stops: the grace that keeps a spawn's unused volume from clean
    must not keep a level's own volume from its exit --rm-volume (it did, silently)."""
    level = tree.spawn(short="g").level
    result = run_cli("exit", level.path, "--rm-volume", env=GRACE)
    assert result.returncode == 0, result.stderr
    assert level.volume not in {v.name for v in client.volumes.list()}


def test_exit_rm_volume_says_so_when_the_volume_stays(tree, client):
    """A volume asked to go that the engine or the gate keeps (here: another container of the
    user's mounts it) is named on stderr with why, the exit still succeeds and the volume is
    untouched (it said nothing before)."""
    level = tree.spawn(short="k").level
    holder = client.api.create_container(
        IMAGE, command=["true"], labels={"dindtui.test": "1"},
        host_config=client.api.create_host_config(binds={level.volume: {"bind": "/data"}}))["Id"]
    try:
        result = run_cli("exit", level.path, "--rm-volume", "-t", "2", env=GRACE)
        assert result.returncode == 0, result.stderr
        assert f"volume {level.volume} kept" in result.stderr, result.stderr
        assert level.volume in {v.name for v in client.volumes.list()}
    finally:
        client.api.remove_container(holder, force=True, v=True)
        try:
            client.api.remove_volume(level.volume)
        except docker.errors.NotFound:
            pass


def test_a_clean_racing_a_spawn_leaves_the_new_level_whole(tree):
    name = tree.name("race")
    spawning = subprocess.Popen([sys.executable, "-m", "dindtui", "spawn", "--name", name],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cleans = 0
    while spawning.poll() is None:
        cleaning = run_cli("clean", "--yes", "--json", env=GRACE)
        # Something the plan saw and that changed before its removal is kept: not a failure.
        assert cleaning.returncode == 0, (cleaning.stdout, cleaning.stderr)
        cleans += 1
    assert spawning.returncode == 0, spawning.stderr.read()
    assert cleans >= 1
    level = tree.find(name)
    assert level.state == levels.READY
    assert exec_ok(name, "docker image inspect dindtui:latest --format ok").strip() == "ok"


# --------------------------------------------------------------------------- races

def test_two_spawns_of_one_name_one_wins_the_other_says_taken(tree):
    """Case 3: the loser removed the winner's socket directory, so neither level survived."""
    name = tree.name("twin")
    procs = [subprocess.Popen([sys.executable, "-m", "dindtui", "spawn", "--name", name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outputs
    loser = outputs[[p.returncode for p in procs].index(1)][1]
    assert "taken" in loser and "Traceback" not in loser
    level = tree.find(name)
    assert level.state == levels.READY
    assert connect.ping_socket(place.socket_path(level)).ok
    assert exec_ok(name, "docker version --format '{{.Server.Version}}'").startswith("26.")


# --------------------------------------------------------------------------- permissions

def test_sockets_get_the_engines_group_and_directories_explicit_modes(tree):
    """Case 4: sockets had the image's docker group id (101: another group on the host)."""
    engine_gid = os.stat(connect.DEFAULT_SOCKET).st_gid
    name = tree.name("perm")
    result = subprocess.run([sys.executable, "-m", "dindtui", "spawn", "--name", name],
                            capture_output=True, text=True, umask=0o077, timeout=300)
    assert result.returncode == 0, result.stderr
    child = tree.spawn(name, "perm2").level
    for level in (tree.find(name), child):
        sock = os.stat(place.socket_path(level))
        assert stat.S_ISSOCK(sock.st_mode)
        assert (sock.st_gid, stat.S_IMODE(sock.st_mode)) == (engine_gid, 0o660)
    path = tree.find(name).socket_dir
    while path != os.path.dirname(connect.STATE_DIR):
        st = os.lstat(path)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o755, path
        path = os.path.dirname(path)


def test_keys_are_private_and_certificates_satisfy_a_strict_tls_client(tree, tmp_path):
    port = 23000 + os.getpid() % 1000
    level = tree.spawn(short="tls", port=port).level
    modes = exec_ok(level.path, "stat -c '%a %n' /certs/*/key.pem")
    assert [line.split()[0] for line in modes.splitlines()] == ["600"] * 3, modes
    # Python 3.13 (in the image) verifies strictly by default: keyUsage, basicConstraints, AKI.
    strict = (
        "import socket, ssl\n"
        "ctx = ssl.create_default_context(cafile='/certs/client/ca.pem')\n"
        "assert ctx.verify_flags & ssl.VERIFY_X509_STRICT\n"
        "ctx.load_cert_chain('/certs/client/cert.pem', '/certs/client/key.pem')\n"
        f"with ctx.wrap_socket(socket.create_connection(('127.0.0.1', {port})),"
        " server_hostname='localhost') as s:\n"
        "    s.sendall(b'GET /_ping HTTP/1.0\\r\\n\\r\\n')\n"
        "    print(s.recv(64).split()[1].decode())\n")
    assert exec_ok(level.path, f"python3 -c \"{strict}\"").strip() == "200"
    # certs --dir: private key 0600, and never written through a symlink.
    target = tmp_path / "certs"
    result = run_cli("certs", level.path, "--dir", str(target))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(target / "key.pem").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link").symlink_to(elsewhere)
    result = run_cli("certs", level.path, "--dir", str(tmp_path / "link"))
    assert result.returncode == 1 and "symlink" in result.stderr
    assert list(elsewhere.iterdir()) == []
    (target / "key.pem").unlink()
    (target / "key.pem").symlink_to(elsewhere / "stolen")
    assert run_cli("certs", level.path, "--dir", str(target)).returncode == 0
    assert not (elsewhere / "stolen").exists() and not (target / "key.pem").is_symlink()


def test_certs_of_a_level_at_depth_two_print_an_address_that_works_here(tree, tmp_path):
    l1 = tree.spawn(short="c1").level
    l2 = tree.spawn(l1.path, "c2", port=2376).level
    result = run_cli("certs", l2.path, "--dir", str(tmp_path / "c"))
    assert result.returncode == 0, result.stderr
    assert "not reachable from here" in result.stderr
    host = result.stdout.split("DOCKER_HOST=", 1)[1].split(";")[0]
    assert docker.DockerClient(base_url=host).version()["Version"].startswith("26.")


# --------------------------------------------------------------------------- daemons die

def _inner_pid(level: levels.Level, program: str) -> int:
    """This level's own daemon (pidof would also see the daemons of the levels inside it)."""
    pid_file = {"dockerd": "/var/run/docker.pid", "containerd": "/run/dindtui-containerd.pid"}
    return int(exec_ok(level.path, f"cat {pid_file[program]}").strip())


def test_kill_9_of_the_inner_dockerd_the_level_and_its_child_come_back(tree):
    """Case 5: the level's container exited and every level below it died."""
    l1 = tree.spawn(short="k1").level
    l2 = tree.spawn(l1.path, "k2").level
    exec_ok(l2.path, MAKE_TINY + "docker run -d --name keeper tiny /bin/sleep 600 >/dev/null")
    before = _inner_pid(l1, "dockerd")
    exec_ok(l1.path, f"kill -9 {before}")
    wait_for(lambda: state_of(l1.path) == "ready" and _inner_pid(l1, "dockerd") != before,
             "level 1's dockerd to be restarted")
    assert state_of(l2.path) == "ready"
    running = exec_ok(l2.path, "docker ps --format '{{.Names}}'").split()
    assert running == ["keeper"]  # live-restore: nothing inside the child was stopped
    logs = run_cli("exec", l1.path, "--", "true")  # the level still takes commands
    assert logs.returncode == 0
    assert exec_ok(l1.path, MAKE_TINY + "docker run --rm tiny /bin/echo again").strip() == "again"


def test_kill_9_of_containerd_the_level_recovers_and_runs_containers(tree):
    l1 = tree.spawn(short="cd1").level
    l2 = tree.spawn(l1.path, "cd2").level
    exec_ok(l1.path, f"kill -9 {_inner_pid(l1, 'containerd')}")
    time.sleep(1)
    wait_for(lambda: state_of(l1.path) == "ready", "level 1 to answer again")
    assert exec_ok(l1.path, MAKE_TINY + "docker run --rm tiny /bin/echo works").strip() == "works"
    assert state_of(l2.path) == "ready"


def _engine_pid() -> int | None:
    try:
        with open("/var/run/docker.pid") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


@pytest.mark.alone  # it restarts the engine under every other test
def test_after_the_host_engine_restarts_revive_all_brings_the_tree_back(tree, client):
    """Case 5, the engine: after a host dockerd restart every level was dead for good."""
    pid = _engine_pid()
    if pid is None or "DOCKER_HOST" in os.environ:
        pytest.skip("the host dockerd is not a process of this machine that the test can restart")
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        argv = [part.decode() for part in handle.read().split(b"\0") if part]
    l1 = tree.spawn(short="r1").level
    l2 = tree.spawn(l1.path, "r2").level
    exec_ok(l2.path, MAKE_TINY + "docker run -d --name inner tiny /bin/sleep 600 >/dev/null")
    exec_ok(l2.path, "docker volume create kept >/dev/null")
    before = {c.id for c in client.containers.list()}  # running now, to start again after

    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), "the host dockerd to stop", 120)
    with open("/var/log/dindtui-dockerd.log", "ab") as log:
        subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
    wait_for(lambda: connect.ping_socket(connect.DEFAULT_SOCKET).ok, "the host dockerd", 120)
    connect.forget(connect.default_endpoint())
    for container in before:  # what ran before the restart, whoever made it, runs again
        if container != l1.container_id:
            try:
                docker.from_env().api.start(container)
            except docker.errors.APIError:
                pass

    assert state_of(l1.path) == "exited"
    result = run_cli("revive", "--all")
    assert result.returncode == 0, result.stderr
    assert l1.path in result.stdout and l2.path in result.stdout
    assert state_of(l1.path) == "ready" and state_of(l2.path) == "ready"
    assert "inner" in exec_ok(l2.path, "docker ps -a --format '{{.Names}}'").split()
    assert "kept" in exec_ok(l2.path, "docker volume ls -q").split()
    assert exec_ok(l2.path, "docker run --rm tiny /bin/echo alive").strip() == "alive"


def test_revive_makes_an_exited_level_again_on_its_kept_volume_with_its_children(tree):
    l1 = tree.spawn(short="v1").level
    l2 = tree.spawn(l1.path, "v2").level
    exec_ok(l2.path, "docker volume create kept >/dev/null")
    assert run_cli("exit", l1.path).returncode == 0  # both containers gone, volumes kept
    assert node(ls_json(), l1.path) is None
    result = run_cli("revive", l1.path)
    assert result.returncode == 0, result.stderr
    assert l1.path in result.stdout and l2.path in result.stdout
    assert state_of(l1.path) == "ready" and state_of(l2.path) == "ready"
    assert "kept" in exec_ok(l2.path, "docker volume ls -q").split()
    assert tree.find(l1.path).volume == l1.volume and tree.find(l2.path).volume == l2.volume


# --------------------------------------------------------------------------- no hangs

def test_shell_passes_the_end_of_input_on_and_returns_the_real_status(tree):
    """Case 6: `echo 'echo hi' | dindtui shell l1` never ended."""
    level = tree.spawn(short="eof").level
    result = run_cli("shell", level.path, input="echo hi; echo oops >&2; exit 3\n", timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (3, "hi\n", "oops\n")
    result = run_cli("shell", level.path, "cat", input="through\n", timeout=60)
    assert (result.returncode, result.stdout) == (0, "through\n")


async def test_an_unexpected_worker_error_frees_the_tui(tree, monkeypatch):
    """Case 7: after an error that is not a DindtuiError every action said 'still running'."""
    from dindtui.app import DindtuiApp
    from dindtui.screens.dialogs import NameDialog

    app = DindtuiApp(animation=False)
    calls = []

    def broken_spawn(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("container vanished while spawning")

    monkeypatch.setattr(spawn, "spawn", broken_spawn)
    notes = []
    async with app.run_test(size=(120, 36)) as pilot:
        monkeypatch.setattr(app, "notify", lambda text, **kw: notes.append((text, kw)))
        deadline = time.monotonic() + 30
        while app.roots is None:
            assert time.monotonic() < deadline
            await pilot.pause(0.1)
        for attempt in (1, 2):
            await pilot.press("n")
            await pilot.pause(0.2)
            assert isinstance(app.screen, NameDialog)
            await pilot.press("enter")
            while len(calls) < attempt or app._busy:
                assert time.monotonic() < deadline, "the TUI stayed busy"
                await pilot.pause(0.1)
        errors = [text for text, kw in notes if kw.get("severity") == "error"]
        assert len(errors) == 2 and "container vanished" in errors[0]
        assert not any("still running" in text for text, _ in notes)


async def test_a_level_removed_from_outside_while_it_spawns_frees_the_tui(tree, client):
    """Case 7 as it happens: `docker rm -f` of a level while the TUI spawns it. Docker's own
    error (not a DindtuiError) ends the task with an error notification; the next action runs."""
    from dindtui.app import DindtuiApp
    from dindtui.screens.dialogs import NameDialog
    from textual.widgets import Input

    app = DindtuiApp(animation=False)
    notes = []
    name = tree.name("gone")
    async with app.run_test(size=(120, 36)) as pilot:
        app.notify = lambda text, **kw: notes.append((text, kw.get("severity")))
        deadline = time.monotonic() + 30
        while app.roots is None:
            assert time.monotonic() < deadline
            await pilot.pause(0.1)
        await pilot.press("n")
        while not isinstance(app.screen, NameDialog):
            await pilot.pause(0.05)
        app.screen.query_one(Input).value = name
        await pilot.press("enter")
        removed = False
        while app._busy and time.monotonic() < deadline:
            found = client.api.containers(all=True, filters={"name": levels.container_name(name)})
            if found and not removed:
                # As `docker rm -fv` would: the container and its anonymous /certs volume.
                client.api.remove_container(found[0]["Id"], force=True, v=True)
                removed = True
            await pilot.pause(0.01)
        assert removed and not app._busy, "the TUI stayed busy"
        errors = [text for text, severity in notes if severity == "error"]
        assert len(errors) == 1 and "Traceback" not in errors[0], notes
        assert "removed from outside while it started" in errors[0] or "No such" in errors[0]
        await pilot.press("c")  # the next action is not refused as "still running"
        await pilot.pause(0.5)
        assert not any("still running" in text for text, _ in notes)
    assert not client.api.containers(all=True, filters={"name": levels.container_name(name)})


@pytest.mark.parametrize("args, env, message", [
    (["spawn", "--port", "²"], {}, "not a TCP port"),
    (["spawn", "--name", "host"], {}, "names level 0"),
    (["spawn", "--name", "0"], {}, "names level 0"),
    (["spawn", "--name", "l1\n"], {}, "invalid level name"),
    (["ls"], {"DINDTUI_READY_TIMEOUT": "soon"}, "DINDTUI_READY_TIMEOUT"),
    (["ls"], {"DINDTUI_NAMESPACE": "Not/Good"}, "DINDTUI_NAMESPACE"),
    (["ls"], {"DINDTUI_STRATEGY": "teleport"}, "DINDTUI_STRATEGY"),
    (["ls"], {"DINDTUI_STATE_DIR": "relative/dir"}, "DINDTUI_STATE_DIR"),
    (["ls"], {"DINDTUI_NO_ANIMATION": "yes please"}, "DINDTUI_NO_ANIMATION"),
    (["ls"], {"DINDTUI_IMAGE": "two words"}, "DINDTUI_IMAGE"),
])
def test_bad_input_is_one_line_and_a_non_zero_status(args, env, message):
    result = run_cli(*args, env=env, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error" in line]) == 1


def test_bad_settings_inside_the_image_are_one_line(containers):
    for environment, word in (({"PORT": "²"}, "PORT"),
                              ({"DINDTUI_SHUTDOWN_TIMEOUT": "x"}, "DINDTUI_SHUTDOWN_TIMEOUT"),
                              ({"DINDTUI_SOCKET_GID": "docker"}, "DINDTUI_SOCKET_GID")):
        container = containers(["true"], environment=environment)
        status = container.wait(timeout=60)["StatusCode"]
        logs = container.logs().decode()
        assert status == 2 and word in logs and "Traceback" not in logs, logs


def test_sigterm_is_honoured_from_the_first_instant(containers, client):
    """Stopped while it starts (cgroups, certificates, containerd): status 143 at once, not a
    SIGKILL after the grace period."""
    container = containers(environment={"PORT": "2376", "DOCKER_TLS_CERTDIR": "/tmp/fresh"})
    started = time.monotonic()
    client.api.stop(container.id, timeout=30)
    took = time.monotonic() - started
    info = client.api.inspect_container(container.id)["State"]
    assert info["ExitCode"] == 143, (info, container.logs().decode()[-500:])
    assert took < 25  # far from the 30 s after which Docker would have killed it


def test_port_already_in_use_says_so(tree):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("spawn", "--name", tree.name("busy"), "--port", str(port))
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr, result.stderr
    assert tree.name("busy") not in json.dumps(ls_json())


# --------------------------------------------------------------------------- scope

def test_another_namespace_survives_collapse_and_clean_of_this_one(tree, client):
    """Case 8: the test suite ran `collapse --rm-volume` and `clean --yes` on the user's
    levels. Levels of another namespace (the user's, here) are invisible and untouched."""
    theirs = {"DINDTUI_NAMESPACE": "user-" + tree.prefix[1:-1]}
    made = run_cli("spawn", "--name", "mine", "--json", env=theirs)
    assert made.returncode == 0, made.stderr
    try:
        ours = tree.spawn(short="ours").level
        assert run_cli("exit", ours.path).returncode == 0  # leaves an orphan volume of ours
        assert "mine" not in json.dumps(ls_json())
        assert run_cli("collapse", "--rm-volume").returncode == 0
        assert run_cli("clean", "--yes").returncode == 0
        assert run_cli("exit", "mine", "--rm-volume").returncode == 1
        theirs_now = ls_json(env=theirs)
        [mine] = theirs_now["children"]
        assert mine["state"] == "ready"
        assert client.api.inspect_volume(mine["volume"])["Name"] == mine["volume"]
    finally:
        assert run_cli("collapse", "--rm-volume", env=theirs).returncode == 0


@pytest.mark.alone
@pytest.mark.last
def test_a_users_level_made_before_the_run_is_untouched_after_every_test(client, request):
    """Case 8, the whole suite: a level of someone else's (made before the first test, with a
    container and a volume inside) is still there, the same container on the same volume,
    with its contents, after every other test ran (the engine restart included)."""
    if distributed_worker(request.config):
        pytest.skip("spread over processes, no test runs after every other: the controller "
                    "checks it when they are done")
    check_users_level(client)


@pytest.mark.alone  # every container's cgroup is looked at: another test's come and go
@pytest.mark.parametrize("then", ["exit", "clean", "revive"])
def test_a_killed_level_leaves_no_cgroups_once_exited_cleaned_or_revived(tree, client, then):
    """cgroup v1: the containers of a level's daemon have their cgroups beside the level's, at
    the top of the host's hierarchy. A kill leaves them behind, empty; exiting the level,
    cleaning it or reviving it removes them (only those named after its own containers), and
    no other."""
    hierarchies = cgroups.v1_hierarchies()
    if not hierarchies:
        pytest.skip("cgroup v2: a level's containers are inside its own cgroup")
    level = tree.spawn(short="cg").level
    ran = run_cli("exec", level.path, "--", "docker", "run", "-d", "--entrypoint", "sleep",
                  IMAGE, "600")
    assert ran.returncode == 0, ran.stderr
    nested = ran.stdout.strip().splitlines()[-1]
    paths = [os.path.join(h, "docker", nested) for h in hierarchies]
    assert [p for p in paths if os.path.isdir(p)], "the nested container has no cgroup here"
    others = {p for h in hierarchies for p in os.listdir(os.path.join(h, "docker"))}
    client.api.kill(level.container_id)
    client.api.wait(level.container_id, timeout=30)
    left = [p for p in paths if os.path.isdir(p)]
    assert left, "a kill was expected to leave the nested container's cgroups"
    done = {"exit": lambda: run_cli("exit", level.path, "--rm-volume"),
            "clean": lambda: run_cli("clean", "--yes"),
            "revive": lambda: run_cli("revive", level.path)}[then]()
    assert done.returncode == 0, done.stderr
    assert not [p for p in paths if os.path.isdir(p)]
    # Nothing else went, not even the empty cgroups other levels left before this test: only
    # the nested container's, and the level's own (the host's runtime removes that one).
    after = {p for h in hierarchies for p in os.listdir(os.path.join(h, "docker"))}
    assert others - after <= {nested, level.container_id}
    if then == "revive":
        assert tree.find(level.path).state == levels.READY
