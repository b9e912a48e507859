"""Create a level under a parent daemon, wait until its daemon answers, give it images; exit a
level and its whole subtree, deepest first."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib import resources
from typing import Callable

import docker.errors

from . import connect, images, levels, privileges
from .errors import DindtuiError, NameTaken, SpawnFailed
from .images import API_ERRORS
from .levels import Level
from .progress import Progress, ProgressCallback, no_progress

READY_TIMEOUT = float(os.environ.get("DINDTUI_READY_TIMEOUT", "90"))
STOP_TIMEOUT = 20
SEED, STREAM, AUTO = "seed", "stream", "auto"
LEVEL_DATA_ROOT = "/var/lib/docker"


@dataclass
class SpawnResult:
    level: Level
    strategy: str                  # what actually delivered the images: seed or stream
    fallback_reason: str | None    # why seeding was not used, when it was not
    ready_seconds: float           # from the spawn call to the child's daemon answering
    usable_seconds: float          # from the spawn call to the image being usable inside
    seed: images.SeedResult | None = None
    pushes: list[images.PushResult] | None = None

    def to_dict(self) -> dict:
        return {
            "level": self.level.path, "depth": self.level.depth, "strategy": self.strategy,
            "fallback_reason": self.fallback_reason, "ready_seconds": round(self.ready_seconds, 3),
            "usable_seconds": round(self.usable_seconds, 3),
            "seeded_layers": self.seed.layers if self.seed else 0,
            "bytes_moved": sum(p.bytes for p in self.pushes or []),
        }


def root_of(level: Level) -> Level:
    while level.parent is not None:
        level = level.parent
    return level


def default_name(parent: Level) -> str:
    taken = {level.name for level in root_of(parent).walk()}
    depth = parent.depth + 1
    name, n = f"l{depth}", 1
    while name in taken:
        n += 1
        name = f"l{depth}-{n}"
    return name


def _volume_labels(parent: Level, name: str) -> dict:
    return {levels.LABEL_OWNER: levels.OWNER, levels.LABEL_NAME: name,
            levels.LABEL_DEPTH: str(parent.depth + 1), levels.LABEL_PARENT: parent.path or "host"}


def spawn(parent: Level, name: str | None = None, *, port: int | None = None,
          image: str = images.DEFAULT_IMAGE, strategy: str = AUTO, inherit_images: bool = False,
          progress: ProgressCallback = no_progress) -> SpawnResult:
    """A new level under `parent`, with its daemon answering and `image` usable inside it."""
    started = time.monotonic()
    levels.require_ready(parent, "spawn a child under it")
    strategy = os.environ.get("DINDTUI_STRATEGY", strategy) or AUTO
    if strategy not in (AUTO, SEED, STREAM):
        raise DindtuiError(f"unknown strategy {strategy!r}: use auto, seed or stream")
    auto_named = name is None
    name = name or default_name(parent)
    levels.validate_name(name)
    if not auto_named and any(level.name == name for level in root_of(parent).walk()):
        raise NameTaken(f"level name {name!r} is taken: choose another with --name")
    client = connect.client(parent.endpoint, check=False)
    image_id = images.image_id(client, image)
    known = next((c.privilege for c in parent.children if c.privilege), None)
    modes = privileges.candidates(parent.endpoint, known)

    for attempt in range(8):
        try:
            return _spawn_named(parent, name, client, image, image_id, modes, port, strategy,
                                inherit_images, progress, started)
        except NameTaken:
            if not auto_named or attempt == 7:
                raise
            name = default_name(parent) + f"-{secrets.token_hex(2)}"
    raise AssertionError("unreachable")


def _spawn_named(parent, name, client, image, image_id, modes, port, strategy, inherit,
                 progress, started) -> SpawnResult:
    container_name = levels.CONTAINER_PREFIX + name
    volume = f"dindtui-{name}-{secrets.token_hex(3)}"
    client.volumes.create(volume, labels=_volume_labels(parent, name))
    level = _Starting(parent, name, client, image, volume, modes, port, progress)
    try:
        seed_ids = [image_id]
        if inherit:
            seed_ids += [i.id for i in client.images.list() if i.id != image_id]
        seed_result, fallback = None, "streaming was asked for"
        seeding = None
        if strategy in (AUTO, SEED):
            check = images.seed_check(client)
            if check.ok:
                # The seed runs while the level's container starts; its init holds dockerd
                # back until the seeder's marker says the data root is complete.
                seeding = _Seeding(parent, client, check, volume, seed_ids, progress)
                seeding.start()
            elif strategy == SEED:
                raise SpawnFailed(f"seeding was asked for but cannot work: {check.reason}")
            else:
                fallback = check.reason
        level.start(SEED if seeding else STREAM, await_seed=seeding is not None)
        if seeding is not None:
            seed_result, fallback = seeding.join()
            if seed_result is None:
                if strategy == SEED:
                    raise SpawnFailed(f"seeding was asked for but cannot work: {fallback}")
                level.remove()  # a half-seeded data root never reaches a daemon
                client.api.remove_volume(volume, force=True)
                client.volumes.create(volume, labels=_volume_labels(parent, name))
                level.start(STREAM, await_seed=False)
        used = SEED if seed_result is not None else STREAM
        sock = os.path.join(level.host_socket_dir, "docker.sock")
        _wait_ready(client, level.container, sock, name, progress)
        ready_seconds = time.monotonic() - started
        child = Level(name=name, path=f"{parent.path}/{name}" if parent.path else name,
                      depth=parent.depth + 1, state=levels.READY,
                      endpoint=connect.endpoint_for_socket(sock),
                      socket_dir=level.host_socket_dir, container_id=level.container,
                      container_name=container_name, volume=volume, privilege=level.mode,
                      strategy=used, port=port, parent=parent,
                      version=connect.ping_socket(sock).version)
        pushes = None
        if seed_result is not None:
            missing = _verify_seed(child, seed_ids)
            if missing:
                fallback = f"{len(missing)} seeded image(s) not listed by the new daemon"
                used = STREAM
        if used != SEED:
            names = [image] + (_tagged_names(client, image) if inherit else [])
            pushes = [images.push_image(parent.endpoint, child.endpoint, n, progress)
                      for n in names]
        parent.children.append(child)
        progress(Progress("spawn", f"level {child.path} ready", 1, 1))
        return SpawnResult(child, used, fallback, ready_seconds, time.monotonic() - started,
                           seed_result, pushes)
    except BaseException:
        if seeding is not None:
            seeding.join()  # never remove a volume the seeder is still writing
        _remove_quietly(client, level.container, volume)
        if parent.depth == 0:
            shutil.rmtree(levels.child_socket_dir(parent, name), ignore_errors=True)
        raise


class _Starting:
    """Creates and starts a level's container, trying privilege modes best first."""

    def __init__(self, parent, name, client, image, volume, modes, port, progress):
        self.parent, self.name, self.client, self.image = parent, name, client, image
        self.volume, self.modes, self.port, self.progress = volume, modes, port, progress
        self.container: str | None = None
        self.mode: str | None = None
        self.socket_source = (levels.child_socket_dir(parent, name) if parent.depth == 0
                              else f"/run/dindtui/c/{name}")
        self.host_socket_dir = levels.child_socket_dir(parent, name)

    def start(self, strategy: str, await_seed: bool) -> None:
        if self.parent.depth == 0:
            os.makedirs(self.host_socket_dir, exist_ok=True)
        environment = {"DINDTUI_MODE": "daemon"}
        if await_seed:
            environment["DINDTUI_AWAIT_SEED"] = "1"
        ports = {}
        if self.port is not None:
            environment["PORT"] = str(self.port)
            ports = {f"{self.port}/tcp": ("127.0.0.1", self.port)}
        # The privilege mode is found by starting the level itself: the mode this daemon is
        # known to accept first, so a good guess costs no probe container.
        for index, mode in enumerate(self.modes):
            labels = _volume_labels(self.parent, self.name) | {
                levels.LABEL_PRIVILEGE: mode, levels.LABEL_VOLUME: self.volume,
                levels.LABEL_SOCKETDIR: self.socket_source, levels.LABEL_STRATEGY: strategy}
            self.progress(Progress("spawn", f"starting level {self.name} ({mode})"))
            try:
                self.container = self.client.api.create_container(
                    self.image, name=levels.CONTAINER_PREFIX + self.name, hostname=self.name,
                    detach=True, labels=labels, environment=environment,
                    ports=[self.port] if self.port else None,
                    host_config=privileges.host_config(
                        self.client, mode, port_bindings=ports or None,
                        binds={self.volume: {"bind": LEVEL_DATA_ROOT, "mode": "rw"},
                               self.socket_source: {"bind": "/run/dindtui", "mode": "rw"}}))["Id"]
            except docker.errors.APIError as exc:
                if exc.status_code == 409:
                    raise NameTaken(f"level name {self.name!r} is taken on "
                                    f"{self.parent.label}") from None
                raise SpawnFailed(f"creating level {self.name} failed: "
                                  f"{exc.explanation}") from None
            try:
                self.client.api.start(self.container)
            except docker.errors.APIError as exc:
                self.remove()
                if index == len(self.modes) - 1:
                    raise privileges.refused(exc) from None
                continue
            self.mode = mode
            privileges.remember(self.parent.endpoint, mode)
            return

    def remove(self) -> None:
        _remove_quietly(self.client, self.container, None)
        self.container = None


class _Seeding(threading.Thread):
    """Runs the seeder in the background; join() gives (result, None) or (None, reason)."""

    def __init__(self, parent, client, check, volume, ids, progress):
        super().__init__(daemon=True)
        self.args = (parent, client, check, volume, ids, progress)
        self.outcome: tuple = (None, "seeding did not run")

    def run(self) -> None:
        self.outcome = _try_seed(*self.args)

    def join(self, timeout=None):
        super().join(timeout)
        return self.outcome


def _tagged_names(client, skip: str) -> list[str]:
    return sorted({tag for i in client.images.list() for tag in i.tags if tag != skip})


def _wait_ready(client, container: str, sock: str, name: str, progress) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    progress(Progress("wait", f"waiting for the daemon of {name}"))
    checked = time.monotonic()
    while not connect.ping_socket(sock, timeout=1).ok:
        now = time.monotonic()
        if now - checked > 0.5:
            checked = now
            state = client.api.inspect_container(container)["State"]
            if not state.get("Running"):
                raise SpawnFailed(f"level {name} exited with status {state.get('ExitCode')} "
                                  f"before its daemon answered: {_last_logs(client, container)}")
        if now > deadline:
            raise SpawnFailed(f"the daemon of level {name} did not answer within "
                              f"{READY_TIMEOUT:.0f}s: {_last_logs(client, container)}")
        time.sleep(0.05)


def _last_logs(client, container: str, lines: int = 6) -> str:
    try:
        text = client.api.logs(container, tail=lines).decode(errors="replace")
    except API_ERRORS:
        return "(no logs)"
    return " | ".join(line.strip() for line in text.strip().splitlines()) or "(no logs)"


def _remove_quietly(client, container: str | None, volume: str | None) -> None:
    if container:
        try:
            client.api.remove_container(container, force=True, v=True)
        except API_ERRORS:
            pass
    if volume:
        for _ in range(10):
            try:
                client.api.remove_volume(volume, force=True)
                break
            except docker.errors.NotFound:
                break
            except API_ERRORS:
                time.sleep(0.3)  # the container's removal may still hold it


# --------------------------------------------------------------------------- seeding

def _try_seed(parent: Level, client, check: images.SeedCheck, volume: str, ids: list[str],
              progress):
    """Hardlink the parent's layers into the fresh `volume`; (result, None) or (None, reason).
    The seeder always leaves a marker saying how it ended, for the level waiting on it."""
    started = time.monotonic()
    try:
        mountpoint = client.api.inspect_volume(volume)["Mountpoint"]
        progress(Progress("seed", f"seeding {len(ids)} image(s) into the new level", 0,
                          len(ids)))
        if parent.depth == 0 and _is_local(check.data_root, mountpoint):
            output = _seed_here(check.data_root, mountpoint, ids)
        elif parent.depth == 0:
            mode = privileges.decide(client, images.DEFAULT_IMAGE)
            output = _seed_with_helper(client, images.DEFAULT_IMAGE, mode, check.data_root,
                                       mountpoint, ids)
        else:
            output = _seed_by_exec(parent, check.data_root, mountpoint, ids)
        result = images.parse_seed_output(output, ids, started)
    except (DindtuiError,) + API_ERRORS as exc:
        return None, f"seeding failed: {exc}"
    progress(Progress("seed", f"seeded {result.layers} layers ({result.linked_bytes / 1e6:.0f} "
                              f"MB linked) in {result.seconds:.2f}s", len(ids), len(ids)))
    return result, None


def _is_local(data_root: str, mountpoint: str) -> bool:
    """The engine's data root is this machine's, and ours to write (root, same files)."""
    return (os.geteuid() == 0 and connect.level0_endpoint().startswith("unix://")
            and os.path.isdir(os.path.join(data_root, "image")) and os.path.isdir(mountpoint))


def _seed_here(data_root: str, mountpoint: str, ids: list[str]) -> str:
    """Level 0 on this machine: run the seeder directly (no helper container to start)."""
    seeder = str(resources.files("dindtui").joinpath("inner_init.py"))
    result = subprocess.run([sys.executable, seeder, *images.seed_command(
        data_root, mountpoint, ids)[1:]], capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise DindtuiError(lines[-1] if lines else f"exit {result.returncode}")
    return result.stdout


def _seed_with_helper(client, image: str, mode: str, data_root: str, mountpoint: str,
                      ids: list[str]) -> str:
    """Level 0: a short-lived container of our image with the engine's data root mounted, so
    that source and target are one mount and link(2) works."""
    if not mountpoint.startswith(data_root.rstrip("/") + "/"):
        raise DindtuiError(f"volume {mountpoint} is outside the data root {data_root}")
    target = "/hostroot/" + os.path.relpath(mountpoint, data_root)
    argv = images.seed_command("/hostroot", target, ids)
    helper = client.api.create_container(
        image, entrypoint=argv[:1], command=argv[1:],
        labels={"dindtui.helper": "seed"},
        host_config=privileges.host_config(
            client, mode, network_mode="none",
            binds={data_root: {"bind": "/hostroot", "mode": "rw"}}))["Id"]
    try:
        client.api.start(helper)
        status = client.api.wait(helper, timeout=300).get("StatusCode")
        output = client.api.logs(helper).decode(errors="replace")
    finally:
        client.api.remove_container(helper, force=True, v=True)
    if status != 0:
        raise DindtuiError(output.strip().splitlines()[-1] if output.strip() else f"exit {status}")
    return output


def _seed_by_exec(parent: Level, data_root: str, mountpoint: str, ids: list[str]) -> str:
    """A level parent: run the seeder inside the parent level, where its data root is one mount."""
    grandparent = levels.parent_client(parent)
    result = grandparent.containers.get(parent.container_id).exec_run(
        images.seed_command(data_root, mountpoint, ids), demux=False)
    output = result.output.decode(errors="replace")
    if result.exit_code != 0:
        raise DindtuiError(output.strip().splitlines()[-1] if output.strip()
                           else f"exit {result.exit_code}")
    return output


def _verify_seed(child: Level, ids: list[str]) -> list[str]:
    listed = {i.id for i in connect.client(child.endpoint, check=False).images.list(all=True)}
    return [i for i in ids if i not in listed]


# --------------------------------------------------------------------------- exit

@dataclass(frozen=True)
class ExitEvent:
    path: str
    depth: int
    phase: str            # "exiting" or "exited"
    container_id: str


ExitCallback = Callable[[ExitEvent], None]


def exit_level(level: Level, *, rm_volume: bool = False,
               on_event: ExitCallback | None = None) -> list[str]:
    """Exit `level` and its subtree, deepest first; each daemon stops gracefully (its containers
    get their stop signal). Returns the paths exited, in order."""
    if level.depth == 0:
        raise DindtuiError("level 0 is the engine dindtui talks to; it cannot be exited")
    exited: list[str] = []
    for child in list(level.children):
        exited += exit_level(child, rm_volume=rm_volume, on_event=on_event)
    client = levels.parent_client(level)
    event = ExitEvent(level.path, level.depth, "exiting", (level.container_id or "")[:12])
    if on_event:
        on_event(event)
    try:
        client.api.stop(level.container_id, timeout=STOP_TIMEOUT)
    except docker.errors.NotFound:
        pass
    except API_ERRORS as exc:
        raise DindtuiError(f"stopping level {level.path} failed: {exc}") from None
    _remove_quietly(client, level.container_id, level.volume if rm_volume else None)
    if level.socket_dir:
        shutil.rmtree(level.socket_dir, ignore_errors=True)
    connect.forget(level.endpoint or "")
    if level.parent is not None and level in level.parent.children:
        level.parent.children.remove(level)
    if on_event:
        on_event(ExitEvent(level.path, level.depth, "exited", event.container_id))
    return exited + [level.path]


def collapse(root: Level, *, rm_volume: bool = False,
             on_event: ExitCallback | None = None) -> list[str]:
    """Exit every level of the tree, deepest first."""
    exited: list[str] = []
    for child in list(root.children):
        exited += exit_level(child, rm_volume=rm_volume, on_event=on_event)
    return exited
