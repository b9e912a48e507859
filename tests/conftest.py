"""Shared fixtures. Every test here talks to the real Docker engine that .ci/run starts, except
the snapshot tests, which feed widgets a fixed tree.

The whole run works in a namespace of its own (DINDTUI_NAMESPACE, inherited by every `dindtui`
command the tests run), so the levels and volumes of whoever uses this engine are invisible to it
and survive it; the session fails if anything that existed before it is gone after it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time

# Before dindtui is imported: every engine call and every CLI run of this session is scoped.
os.environ["DINDTUI_NAMESPACE"] = "test-" + secrets.token_hex(3)
# Tests make orphans (a level exited, its volume kept) and clean them at once: the grace that
# keeps a spawn's new, still unused volume from counting as one (gate.newly_made) is nearly
# nothing here; the tests of that grace set it back.
os.environ["DINDTUI_VOLUME_GRACE"] = "0.001"

import docker  # noqa: E402
import pytest  # noqa: E402

from helpers import ls_json, node, run_cli, wait_for
from dindtui.engine.net import connect
from dindtui.engine.tree import discovery, levels, place
from dindtui.engine.lifecycle import exiting, images, privileges, spawn
from dindtui.engine import gate
from dindtui.engine.disk import usage

IMAGE = images.DEFAULT_IMAGE

# A tiny image made inside a level from its own files: nested `docker run` needs an image, and no
# registry can be reached. It prints its argument with /bin/echo.
MAKE_TINY = r"""set -e
docker image inspect tiny >/dev/null 2>&1 && exit 0
d=$(mktemp -d); mkdir -p $d/bin $d/lib/x86_64-linux-gnu $d/lib64
cp /usr/bin/true /usr/bin/echo /usr/bin/sleep $d/bin/
cp /lib/x86_64-linux-gnu/libc.so.6 $d/lib/x86_64-linux-gnu/
cp /lib64/ld-linux-x86-64.so.2 $d/lib64/
tar -C $d -c . | docker import - tiny >/dev/null
"""


@pytest.fixture(scope="session")
def client():
    return connect.client()


@pytest.fixture(scope="session")
def image(client):
    images.build_image(IMAGE)
    return IMAGE


@pytest.fixture(scope="session")
def mode(client, image):
    """The privilege mode this engine needs for a level container."""
    return privileges.decide(client, image)


class Tree:
    """Levels made by one test, all named with its own prefix, removed (with their volumes)
    when the test ends, whatever happened."""

    def __init__(self):
        self.prefix = "t" + secrets.token_hex(2) + "-"

    def name(self, short: str) -> str:
        return self.prefix + short

    def discover(self) -> levels.Level:
        return discovery.discover()

    def find(self, ref: str) -> levels.Level:
        return levels.find(self.discover(), ref)

    def spawn(self, parent: str = "host", short: str | None = None, **options):
        root = self.discover()
        return spawn.spawn(levels.find(root, parent), self.name(short) if short else None,
                           **options)

    def chain(self, depth: int, **options) -> list[spawn.SpawnResult]:
        results, parent = [], "host"
        for d in range(1, depth + 1):
            result = self.spawn(parent, f"d{d}", **options)
            results.append(result)
            parent = result.level.path
        return results

    def cleanup(self):
        root = self.discover()
        for level in list(root.children):
            if level.name.startswith(self.prefix):
                try:
                    exiting.exit_level(level, rm_volume=True)
                except Exception as exc:  # keep cleaning the rest
                    print(f"cleanup: {exc}")
        root = self.discover()
        plan = usage.plan_cleanup(root)
        plan.items = [i for i in plan.items if i.level.rsplit("/", 1)[-1].startswith(self.prefix)]
        usage.apply_cleanup(root, plan)
        # A test that broke its own level (a daemon left dead, say) cannot exit it: remove what
        # is left of this test's levels by force (deeper levels live inside these).
        # (The listing's own labels, not an inspect of each: another test's container may be
        # gone between the two.)
        host = connect.client()
        for container in host.api.containers(all=True, filters={"label": levels.LABEL_NAME}):
            labels = container.get("Labels") or {}
            if labels.get(levels.LABEL_NAME, "").startswith(self.prefix) and \
                    levels.in_namespace(labels):
                print(f"cleanup: forcing {container['Names'][0].lstrip('/')} out")
                host.api.remove_container(container["Id"], force=True, v=True)
                if labels.get(levels.LABEL_VOLUME):
                    host.api.remove_volume(labels[levels.LABEL_VOLUME], force=True)
                gate.remove_socket_dir(os.path.join(place.of(root).tree_root,
                                                      labels[levels.LABEL_NAME]), root)


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """The docker CLI's config in a directory of the test's own, never the user's."""
    directory = str(tmp_path / "docker-config")
    os.makedirs(directory)
    monkeypatch.setenv("DOCKER_CONFIG", directory)
    return directory


def docker_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


needs_docker_cli = pytest.mark.skipif(shutil.which("docker") is None,
                                      reason="the docker CLI is not installed")


@pytest.fixture
def tree(image):
    made = Tree()
    yield made
    made.cleanup()


@pytest.fixture
def containers(client, image, mode):
    """Start standalone containers of the image (the recipe used by hand); all removed after."""
    started = []

    def run(command=None, *, environment=None, entrypoint=None, ports=None, binds=None,
            privileged=True, tty=False, tmpfs=None):
        options = {"port_bindings": ports, "binds": binds, "tmpfs": tmpfs}
        host_config = (privileges.host_config(client, mode, **options) if privileged
                       else client.api.create_host_config(**options))
        container = client.api.create_container(
            image, command=command, environment=environment or {}, entrypoint=entrypoint,
            labels={"dindtui.test": "1"}, tty=tty,
            ports=[int(key.split("/")[0]) for key in ports or {}],
            host_config=host_config)["Id"]
        started.append(container)
        client.api.start(container)
        return client.containers.get(container)

    yield run
    for container in started:
        info = client.api.inspect_container(container)
        client.api.remove_container(container, force=True, v=True)
        for mount in info.get("Mounts", []):
            if mount.get("Type") == "volume":
                try:
                    client.api.remove_volume(mount["Name"], force=True)
                except docker.errors.APIError:
                    pass


def wait_for_log(container, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = container.logs().decode(errors="replace")
        if text in logs:
            return logs
        container.reload()
        if container.status == "exited":
            raise AssertionError(f"container exited before {text!r}: {logs[-2000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not seen in {timeout}s: {logs[-2000:]}")


_before: dict[str, set] = {}


def _listdir(path: str) -> set[str]:
    return set(os.listdir(path)) if os.path.isdir(path) else set()


def _snapshot() -> dict[str, set]:
    client = connect.client()
    return {"containers": {c.id for c in client.containers.list(all=True)},
            "volumes": {v.name for v in client.volumes.list()},
            "socket dirs": _listdir(connect.level_tree_root(connect.default_endpoint())),
            "user socket dirs": _listdir(os.path.join(connect.STATE_DIR, "c"))}


# A stand-in for a user's own level on this engine, made before the first test (in a namespace
# that is not the suite's) with a container and a volume inside; the last test checks it is
# untouched, then the session removes it.
USER_ENV = {"DINDTUI_NAMESPACE": "user-" + secrets.token_hex(3)}
users_level: dict = {}


def _make_users_level() -> None:
    images.build_image(IMAGE)
    made = run_cli("spawn", "--name", "theirs", "--json", env=USER_ENV)
    if made.returncode != 0:
        users_level["made_failed"] = made.stderr.strip()
        return
    inside = run_cli("exec", "theirs", "--", "sh", "-c",
                     "docker create --name their-app dindtui:latest true >/dev/null && "
                     "docker volume create their-data >/dev/null", env=USER_ENV)
    if inside.returncode != 0:
        users_level["made_failed"] = inside.stderr.strip()
        return
    [level] = json.loads(run_cli("ls", "--json", env=USER_ENV).stdout)["children"]
    users_level.update(level)


def distributed_worker(config) -> bool:
    """A worker of a run spread over processes (pytest-xdist's -n): the run's controller
    guards the engine and makes the user's level, once, before the workers start."""
    return hasattr(config, "workerinput")


def distributed_controller(config) -> bool:
    return not distributed_worker(config) and bool(getattr(config.option, "numprocesses", 0))


def pytest_sessionstart(session):
    if "not docker" in (session.config.getoption("markexpr") or ""):
        return  # the fast layer alone: no engine needed, nothing to guard
    if distributed_worker(session.config):
        return
    try:
        _before.update(_snapshot())
    except Exception:  # no engine: the tests themselves will say so
        return
    _make_users_level()


def check_users_level(client) -> None:
    """The level made before the first test is still there, the same container on the same
    volume, with its container and volume inside."""
    assert "made_failed" not in users_level, users_level.get("made_failed")
    assert users_level.get("name") == "theirs"
    info = client.api.inspect_container(users_level["container_id"])
    assert info["Id"] == users_level["container_id"]
    assert client.api.inspect_volume(users_level["volume"])["Name"] == users_level["volume"]
    wait_for(lambda: node(ls_json(USER_ENV), "theirs")["state"] == "ready", "their level")
    inside = run_cli("exec", "theirs", "--", "sh", "-c",
                     "docker ps -a --format '{{.Names}}'; docker volume ls -q", env=USER_ENV)
    assert inside.returncode == 0, inside.stderr
    assert {"their-app", "their-data"} <= set(inside.stdout.split())


def pytest_collection_modifyitems(session, config, items):
    """Every test not marked `engine_free` (a fake engine, or pure functions: no Docker at all)
    is marked `docker`, and `slow` when it spawns levels (`pytest -m "not docker"` runs the
    fast layer alone); tests marked `last` run last. Spread over processes, the tests that
    share a module's fixture (a chain of levels, Podman's service) go to one process: made
    once, not once per process."""
    for item in items:
        if item.get_closest_marker("engine_free") is None:
            item.add_marker(pytest.mark.docker)
        fixtures = getattr(item, "_fixtureinfo", None)
        shared = sorted(name for name, defs in (fixtures.name2fixturedefs.items()
                                                if fixtures else ())
                        if defs and defs[-1].scope == "module")
        if shared:
            item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}:{shared[0]}"))
        if "tree" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


def pytest_sessionfinish(session, exitstatus):
    """Repeated runs on one machine must not pile up disk: fail if the tests left anything. And
    the user's own objects on this engine must all still be there: fail if one is gone."""
    if not _before:
        return
    if distributed_controller(session.config):
        # The workers' tests cannot run after every other (the `last` test): checked here
        # (a stand-in that could not be made fails here too).
        try:
            check_users_level(connect.client())
        except AssertionError as exc:
            print(f"\nthe user's level was touched: {exc}")
            session.exitstatus = 1
    if users_level.get("name"):
        run_cli("collapse", "--rm-volume", env=USER_ENV)
    after = _snapshot()
    left = {kind: sorted(after[kind] - _before.get(kind, set())) for kind in after}
    left = {kind: names for kind, names in left.items() if names}
    gone = {kind: sorted(_before[kind] - after[kind]) for kind in after}
    gone = {kind: names for kind, names in gone.items() if names}
    if left:
        print(f"\nthe tests left these behind: {left}")
        session.exitstatus = 1
    if gone:
        print(f"\nthe tests removed what they did not make: {gone}")
        session.exitstatus = 1
    tree_root = connect.level_tree_root(connect.default_endpoint())
    for directory in (tree_root, os.path.dirname(tree_root)):
        try:
            os.rmdir(directory)  # this run's namespace directory, when empty
        except OSError:
            pass


def run_on(client, image: str, entrypoint: list[str]) -> bytes:
    """`docker run --rm` of `image` on a daemon, its output; its anonymous volumes (the image
    declares /var/lib/docker and /certs) go with it, as the CLI's --rm does."""
    container = client.api.create_container(image, entrypoint=entrypoint,
                                            labels={"dindtui.test": "1"})["Id"]
    try:
        client.api.start(container)
        status = client.api.wait(container, timeout=120)["StatusCode"]
        output = client.api.logs(container, stderr=False)
        assert status == 0, output
        return output
    finally:
        client.api.remove_container(container, force=True, v=True)
