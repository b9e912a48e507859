"""Create a level under a parent daemon, wait until its daemon answers, give it images; exit a
level and its whole subtree, deepest first."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib import resources
from typing import Callable

import docker.errors
import docker.types

from . import cgroups, config, connect, gate, images, levels, privileges, reach
from .errors import DindtuiError, NameTaken, SpawnFailed, UnknownLevel
from .images import API_ERRORS
from .levels import Level
from .progress import Progress, ProgressCallback, no_progress

READY_TIMEOUT = 90.0  # DINDTUI_READY_TIMEOUT overrides it (config.seconds)
STOP_TIMEOUT = 20
# A level's own stop timeout, for whoever stops it without saying one (its parent's daemon
# shutting down, a reboot, `docker stop`): long enough for its init to stop what runs inside it
# (levels nested in it included, each within its own) before its parent's SIGKILL. It ends as
# soon as the level is down: a quick level takes seconds.
LEVEL_STOP_TIMEOUT = 60
SEED, STREAM, AUTO = "seed", "stream", "auto"
LEVEL_DATA_ROOT = "/var/lib/docker"
OVERLAY2, CONTAINERD = images.OVERLAY2, images.CONTAINERD
STORES = (OVERLAY2, CONTAINERD)


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
            "store": self.level.store,
            "fallback_reason": self.fallback_reason, "ready_seconds": round(self.ready_seconds, 3),
            "usable_seconds": round(self.usable_seconds, 3),
            "seeded_layers": self.seed.layers if self.seed else 0,
            "bytes_moved": sum(p.bytes for p in self.pushes or []),
        }


def default_name(parent: Level) -> str:
    taken = {level.name for level in levels.root_of(parent).walk()}
    depth = parent.depth + 1
    name, n = f"l{depth}", 1
    while name in taken:
        n += 1
        name = f"l{depth}-{n}"
    return name


def _volume_labels(parent: Level, name: str) -> dict:
    labels = {levels.LABEL_OWNER: levels.OWNER, levels.LABEL_NAME: name,
              levels.LABEL_DEPTH: str(parent.depth + 1),
              levels.LABEL_PARENT: parent.tree_path or "host"}
    if config.namespace():
        labels[levels.LABEL_NAMESPACE] = config.namespace()
    return labels


def spawn(parent: Level, name: str | None = None, *, port: int | None = None,
          image: str | None = None, strategy: str = AUTO, inherit_images: bool = False,
          store: str | None = None,
          progress: ProgressCallback = no_progress) -> SpawnResult:
    """A new level under `parent`, with its daemon answering and `image` usable inside it.
    `store` chooses the new daemon's image store (overlay2 or containerd; None: Docker's own
    default)."""
    started = time.monotonic()
    image = image or images.DEFAULT_IMAGE
    levels.require_ready(parent, "spawn a child under it")
    strategy = config.choice("DINDTUI_STRATEGY", (AUTO, SEED, STREAM), "") or strategy or AUTO
    if strategy not in (AUTO, SEED, STREAM):
        raise DindtuiError(f"unknown strategy {strategy!r}: use auto, seed or stream")
    if store not in (None, *STORES):
        raise DindtuiError(f"unknown image store {store!r}: use overlay2 or containerd")
    auto_named = name is None
    name = name or default_name(parent)
    levels.validate_name(name)
    if not auto_named and any(level.name == name for level in levels.root_of(parent).walk()):
        raise NameTaken(f"level name {name!r} is taken: choose another with --name")
    client = connect.client(parent.endpoint, check=False)
    image_id = images.image_id(client, image)
    known = next((c.privilege for c in parent.children if c.privilege), None)
    modes = privileges.candidates(levels.required(parent.endpoint, "its endpoint"), known)

    for attempt in range(8):
        try:
            return _spawn_named(parent, name, client, image, image_id, modes, port, strategy,
                                inherit_images, progress, started, store)
        except NameTaken:
            if not auto_named or attempt == 7:
                raise
            name = default_name(parent) + f"-{secrets.token_hex(2)}"
    raise AssertionError("unreachable")


def _spawn_named(parent, name, client, image, image_id, modes, port, strategy, inherit,
                 progress, started, store=None) -> SpawnResult:
    """One try at `name`. The container's creation claims the name and makes the volume in one
    call (Docker refuses a taken name before it makes anything), so a spawn that loses a race
    has touched nothing; on failure this call removes exactly what it made, nothing else."""
    seed_ids = [image_id]
    if inherit:
        seed_ids += [i.id for i in client.images.list() if i.id != image_id]
    # A level's Docker (26) keeps images in overlay2 unless told otherwise.
    check = images.seed_check(client, store or OVERLAY2) if strategy in (AUTO, SEED) else None
    if check is not None and not check.ok and strategy == SEED:
        raise SpawnFailed(f"seeding was asked for but cannot work: {check.reason}")
    will_seed = check is not None and check.ok
    level = _Starting(parent, name, client, image, modes, port, progress, store)
    level.create(SEED if will_seed else STREAM, await_seed=will_seed)  # NameTaken: nothing made
    seeding = None
    try:
        level.claim_socket_dir()
        seed_result = None
        fallback = "streaming was asked for" if check is None else check.reason
        if will_seed:
            # The seed runs while the level's container starts; its init holds dockerd
            # back until the seeder's marker says the data root is complete.
            seeding = _Seeding(parent, client, check, level.volume, seed_ids, progress)
            seeding.start()
        level.start()
        if seeding is not None:
            seed_result, fallback = seeding.join()
            if seed_result is None:
                if strategy == SEED:
                    raise SpawnFailed(f"seeding was asked for but cannot work: {fallback}")
                level.restart_fresh()  # a half-seeded data root never reaches a daemon
        used = SEED if seed_result is not None else STREAM
        sock = levels.daemon_socket(parent, name, level.container, level.host_socket_dir)
        _wait_ready(client, levels.required(level.container, "the container"), sock, name,
                    progress)
        ready_seconds = time.monotonic() - started
        child = Level(name=name, path=f"{parent.path}/{name}" if parent.path else name,
                      depth=parent.depth + 1, state=levels.READY,
                      endpoint=connect.endpoint_for_socket(sock),
                      socket_dir=level.host_socket_dir, container_id=level.container,
                      container_name=levels.container_name(name), container_state="running",
                      volume=level.volume, privilege=level.mode, strategy=used, port=port,
                      store=store,
                      parent=parent, version=connect.ping_socket(sock).version)
        pushes = None
        if seed_result is not None:
            missing = _verify_seed(child, seed_ids)
            if missing:
                fallback = f"{len(missing)} seeded image(s) not listed by the new daemon"
                used = STREAM
        if used != SEED:
            names = [image] + (_tagged_names(client, image) if inherit else [])
            pushes = [images.push_image(levels.required(parent.endpoint, "its endpoint"),
                                        levels.required(child.endpoint, "its endpoint"), n,
                                        progress)
                      for n in names]
        parent.children.append(child)
        progress(Progress("spawn", f"level {child.path} ready", 1, 1))
        reach.keep_in_step(parent)
        return SpawnResult(child, used, fallback, ready_seconds, time.monotonic() - started,
                           seed_result, pushes)
    except BaseException:
        if seeding is not None:
            seeding.join()  # never remove a volume the seeder is still writing
        level.undo()
        raise


def _port_in_use(exc) -> bool:
    text = (getattr(exc, "explanation", None) or str(exc)).lower()
    return "port is already allocated" in text or "address already in use" in text


class _Starting:
    """Creates and starts one level's container, trying privilege modes best first, and knows
    exactly what it made (container, volume, socket directory) so that a failure undoes only
    that."""

    def __init__(self, parent, name, client, image, modes, port, progress, store=None):
        self.parent, self.name, self.client, self.image = parent, name, client, image
        self.store = store
        self.modes, self.port, self.progress = list(modes), port, progress
        self.container: str | None = None
        self.mode: str | None = None
        self.strategy = STREAM
        self.await_seed = False
        self.token = secrets.token_hex(8)      # marks the volume this call made
        self.volume = f"{levels.container_name(name)}-{secrets.token_hex(3)}"
        self.volume_made = False
        self.socket_source = levels.child_socket_source(parent, name)
        self.host_socket_dir = levels.child_socket_dir(parent, name)
        self.dir_made = False

    def create(self, strategy: str, await_seed: bool, mode: str | None = None) -> None:
        self.strategy, self.await_seed = strategy, await_seed
        mode = mode or self.modes[0]
        environment = {"DINDTUI_MODE": "daemon",
                       "DINDTUI_SOCKET_GID": str(connect.socket_group(
                           levels.required(levels.root_of(self.parent).endpoint, "level 0")))}
        if await_seed:
            environment["DINDTUI_AWAIT_SEED"] = "1"
        if self.store:
            environment["DINDTUI_STORE"] = self.store
        ports = {}
        labels = _volume_labels(self.parent, self.name) | {
            levels.LABEL_PRIVILEGE: mode, levels.LABEL_VOLUME: self.volume,
            levels.LABEL_SOCKETDIR: self.socket_source, levels.LABEL_STRATEGY: strategy}
        if self.store:
            labels[levels.LABEL_STORE] = self.store
        if self.port is not None:
            environment["PORT"] = str(self.port)
            ports = {f"{self.port}/tcp": ("127.0.0.1", self.port)}
            labels[levels.LABEL_PORT] = str(self.port)
        volume_labels = _volume_labels(self.parent, self.name) | {"dindtui.spawn": self.token}
        if self.store:
            volume_labels[levels.LABEL_STORE] = self.store
        self.progress(Progress("spawn", f"starting level {self.name} ({mode})"))
        try:
            self.container = self.client.api.create_container(
                self.image, name=levels.container_name(self.name), hostname=self.name,
                detach=True, labels=labels, environment=environment,
                ports=[self.port] if self.port else None, stop_timeout=LEVEL_STOP_TIMEOUT,
                host_config=privileges.host_config(
                    self.client, mode, port_bindings=ports or None,
                    mounts=[docker.types.Mount(LEVEL_DATA_ROOT, self.volume, type="volume",
                                               no_copy=True, labels=volume_labels)],
                    binds={self.socket_source: {"bind": levels.SOCKET_MOUNT, "mode": "rw"}}))["Id"]
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                raise NameTaken(f"level name {self.name!r} is taken on "
                                f"{self.parent.label}") from None
            raise SpawnFailed(f"creating level {self.name} failed: "
                              f"{exc.explanation}") from None
        self.mode = mode
        if not self.volume_made:
            try:
                made = self.client.api.inspect_volume(self.volume).get("Labels") or {}
            except API_ERRORS:
                made = {}
            self.volume_made = made.get("dindtui.spawn") == self.token

    def claim_socket_dir(self) -> None:
        """Level 0's children: make the socket directory on this machine (0755 whatever the
        umask). A directory left by an earlier level of this name is reused, never removed: the
        container name this call holds says no other level of that name exists."""
        if self.parent.depth or levels.is_remote(self.parent):
            return  # inside a level, or a remote level 0: its daemon makes the bind source
        for _ in range(3):  # an exit removing the namespace's last level may empty it meanwhile
            connect.ensure_dir(os.path.dirname(self.host_socket_dir))
            try:
                os.mkdir(self.host_socket_dir, connect.DIR_MODE)
                os.chmod(self.host_socket_dir, connect.DIR_MODE)
                self.dir_made = True
                return
            except FileExistsError:
                connect.ensure_dir(self.host_socket_dir)  # refuses a symlink, a foreign owner
                return
            except FileNotFoundError:
                continue
        raise SpawnFailed(f"could not make {self.host_socket_dir}")

    def start(self) -> None:
        """Start the created container; when this daemon refuses the privilege mode, create it
        again in the next one."""
        while True:
            try:
                self.client.api.start(self.container)
            except docker.errors.NotFound:
                raise SpawnFailed(f"level {self.name} was removed from outside while it "
                                  "started") from None
            except docker.errors.APIError as exc:
                if _port_in_use(exc):
                    raise SpawnFailed(f"port {self.port} is already in use on 127.0.0.1 of "
                                      f"{self.parent.label}: choose another --port") from None
                remaining = self.modes[self.modes.index(self.mode) + 1:]
                if not remaining:
                    raise privileges.refused(exc) from None
                self.remove_container()
                self.create(self.strategy, self.await_seed, remaining[0])
                continue
            privileges.remember(levels.required(self.parent.endpoint, "the parent"),
                                levels.required(self.mode, "the privilege mode"))
            return

    def restart_fresh(self) -> None:
        """The seed failed: a new container on a new, empty volume, filled by streaming."""
        self.remove_container()
        self.remove_volume()
        self.volume = f"{levels.container_name(self.name)}-{secrets.token_hex(3)}"
        self.volume_made = False
        self.create(STREAM, await_seed=False, mode=self.mode)
        self.start()

    def remove_container(self) -> None:
        _remove_quietly(self.client, self.container, None)
        self.container = None

    def remove_volume(self) -> None:
        if self.volume_made:
            _remove_quietly(self.client, None, self.volume)
            self.volume_made = False

    def undo(self) -> None:
        self.remove_container()
        self.remove_volume()
        if self.dir_made:
            gate.remove_socket_dir(self.host_socket_dir, self.parent)


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
    timeout = config.seconds("DINDTUI_READY_TIMEOUT", READY_TIMEOUT)
    deadline = time.monotonic() + timeout
    progress(Progress("wait", f"waiting for the daemon of {name}"))
    checked = time.monotonic()
    while not connect.ping_socket(sock, timeout=1).ok:
        now = time.monotonic()
        if now - checked > 0.5:
            checked = now
            try:
                state = client.api.inspect_container(container)["State"]
            except docker.errors.NotFound:
                raise SpawnFailed(f"level {name} was removed from outside while it "
                                  "started") from None
            if not state.get("Running"):
                raise SpawnFailed(f"level {name} exited with status {state.get('ExitCode')} "
                                  f"before its daemon answered: {_last_logs(client, container)}")
        if now > deadline:
            raise SpawnFailed(f"the daemon of level {name} did not answer within "
                              f"{timeout:.0f}s: {_last_logs(client, container)}")
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
        if parent.depth == 0 and _is_local(parent, check, mountpoint):
            output = _seed_here(check, mountpoint, ids)
        elif parent.depth == 0:
            mode = privileges.decide(client, images.DEFAULT_IMAGE)
            output = _seed_with_helper(client, images.DEFAULT_IMAGE, mode, check, mountpoint,
                                       ids)
        else:
            output = _seed_by_exec(parent, check, mountpoint, ids)
        result = images.parse_seed_output(output, ids, started)
    except (DindtuiError,) + API_ERRORS as exc:
        return None, f"seeding failed: {exc}"
    progress(Progress("seed", f"seeded {result.layers} layers ({result.linked_bytes / 1e6:.0f} "
                              f"MB linked) in {result.seconds:.2f}s", len(ids), len(ids)))
    return result, None


def _is_local(level0: Level, check: images.SeedCheck, mountpoint: str) -> bool:
    """The engine's data root is this machine's, and ours to write (root, same files)."""
    marker = "image" if check.store == OVERLAY2 else "containerd"
    return (os.geteuid() == 0 and not levels.is_remote(level0)
            and os.path.isdir(os.path.join(check.data_root, marker))
            and os.path.isdir(mountpoint))


def _seed_here(check: images.SeedCheck, mountpoint: str, ids: list[str]) -> str:
    """Level 0 on this machine: run the seeder directly (no helper container to start)."""
    seeder = str(resources.files("dindtui").joinpath("inner_init.py"))
    result = subprocess.run([sys.executable, seeder, *images.seed_command(
        check.data_root, mountpoint, ids, check.store)[1:]], capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise DindtuiError(lines[-1] if lines else f"exit {result.returncode}")
    return result.stdout


def _seed_with_helper(client, image: str, mode: str, check: images.SeedCheck, mountpoint: str,
                      ids: list[str]) -> str:
    """Level 0: a short-lived container of our image with the engine's data root mounted, so
    that source and target are one mount and link(2) works."""
    data_root = check.data_root
    if not mountpoint.startswith(data_root.rstrip("/") + "/"):
        raise DindtuiError(f"volume {mountpoint} is outside the data root {data_root}")
    target = "/hostroot/" + os.path.relpath(mountpoint, data_root)
    argv = images.seed_command("/hostroot", target, ids, check.store)
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


def _seed_by_exec(parent: Level, check: images.SeedCheck, mountpoint: str,
                  ids: list[str]) -> str:
    """A level parent: run the seeder inside the parent level, where its data root is one mount."""
    grandparent = levels.parent_client(parent)
    result = grandparent.containers.get(parent.container_id).exec_run(
        images.seed_command(check.data_root, mountpoint, ids, check.store), demux=False)
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
    get their stop signal). Every container, volume and directory is checked again just before
    it is removed. Returns the paths exited, in order."""
    try:
        return _exit_tree(level, rm_volume, on_event)
    finally:
        reach.keep_in_step(level)


def _exit_tree(level: Level, rm_volume: bool, on_event: ExitCallback | None) -> list[str]:
    if level.depth == 0:
        raise DindtuiError("level 0 is the engine dindtui talks to; it cannot be exited")
    client = levels.parent_client(level)
    if level.state == levels.PAUSED:
        _unpause(client, level)  # a frozen daemon can neither stop its children nor itself
    exited: list[str] = []
    for child in list(level.children):
        exited += _exit_tree(child, rm_volume, on_event)
    event = ExitEvent(level.path, level.depth, "exiting", (level.container_id or "")[:12])
    if on_event:
        on_event(event)
    if gate.level_container(level) is not None:  # refused when the container is not ours
        try:
            client.api.stop(level.container_id, timeout=STOP_TIMEOUT)
        except docker.errors.NotFound:
            pass
        except API_ERRORS as exc:
            raise DindtuiError(f"stopping level {level.path} failed: {exc}") from None
        _remove_quietly(client, level.container_id, None)
    if level.volume and level.parent is not None:  # a killed level's nested cgroups (v1)
        cgroups.remove_leftovers_of(level.parent, level.volume)
    if rm_volume and level.volume and level.parent is not None:
        remove_level_volume(client, level.parent, level.volume, level.name)
    if level.socket_dir and not name_in_use(client, level.name):
        gate.remove_socket_dir(level.socket_dir, level)
    connect.forget(level.endpoint or "")
    if level.parent is not None and level in level.parent.children:
        level.parent.children.remove(level)
    if on_event:
        on_event(ExitEvent(level.path, level.depth, "exited", event.container_id))
    return exited + [level.path]


def name_in_use(client, name: str) -> bool:
    """Some container (a new spawn, say) holds this level's container name right now."""
    wanted = levels.container_name(name)
    try:
        found = client.api.containers(all=True, filters={"name": wanted})
    except API_ERRORS:
        return True  # cannot tell: keep the directory
    return any(wanted in [n.lstrip("/") for n in c.get("Names") or []] for c in found)


def remove_level_volume(client, daemon: Level, volume: str, name: str | None = None) -> bool:
    """Remove a level's volume on `daemon` when the gate says it is provably one of this
    namespace's level volumes, of this level, and nothing else uses it. Never forced."""
    try:
        gate.level_volume(client, volume, daemon, name)
    except gate.Refused:
        return False
    except API_ERRORS:
        return False
    for _ in range(10):
        try:
            client.api.remove_volume(volume)
            return True
        except docker.errors.NotFound:
            return True
        except API_ERRORS:
            time.sleep(0.3)  # the container's removal may still hold it
    return False


def _unpause(client, level: Level) -> None:
    try:
        client.api.unpause(level.container_id)
    except API_ERRORS as exc:
        raise DindtuiError(f"level {level.path} is paused and could not be unpaused: "
                           f"{exc}") from None
    _wait_ready(client, levels.required(level.container_id, "its container"),
                levels.socket_path(level), level.path, no_progress)
    _now_ready(level)


def _now_ready(level: Level) -> None:
    """`level`'s daemon answers again: mark it so and read what is below it."""
    sock = levels.socket_path(level)
    level.state, level.container_state = levels.READY, "running"
    level.endpoint = connect.endpoint_for_socket(sock)
    level.version = connect.ping_socket(sock).version
    levels.discover_below(level)


# --------------------------------------------------------------------------- revive

def revive(level: Level, progress: ProgressCallback = no_progress) -> list[str]:
    """Bring back `level` when its container stopped (a daemon crash, an engine restart, a
    reboot), then, recursively, every stopped level inside it, with their data as they were.
    Level 0 revives every level of the tree. Returns the paths started, parents first."""
    revived: list[str] = []
    if level.depth and level.state in levels.STOPPED:
        _start_stopped(level, progress)
        revived.append(level.path)
    elif level.depth and level.state == levels.PAUSED:
        progress(Progress("revive", f"{level.path} is paused: left as it is (docker unpause)"))
        return revived
    if level.state == levels.READY:
        for child in list(level.children):
            revived += revive(child, progress)
    return revived


def _start_stopped(level: Level, progress: ProgressCallback) -> None:
    client = levels.parent_client(level)
    if gate.level_container(level) is None:
        raise DindtuiError(f"level {level.path} is gone: its container was removed")
    if level.parent is not None and level.parent.depth == 0 and not levels.is_remote(level):
        connect.ensure_dir(levels.required(level.socket_dir, "its socket directory"))  # reboot
    if level.parent is not None and level.volume:  # what its dead containers left (v1)
        cgroups.remove_leftovers_of(level.parent, level.volume)
    progress(Progress("revive", f"starting {level.path}"))
    try:
        client.api.start(level.container_id)
    except API_ERRORS as exc:
        raise DindtuiError(f"level {level.path} could not be started: "
                           f"{getattr(exc, 'explanation', None) or exc}") from None
    _wait_ready(client, levels.required(level.container_id, "its container"),
                levels.socket_path(level), level.path, progress)
    _now_ready(level)


def revive_volume(parent: Level, name: str, progress: ProgressCallback = no_progress,
                  image: str | None = None) -> tuple[list[str], str]:
    """A level that was exited with its volume kept: a new container on that volume (the
    newest of that name when there are several), then its stopped levels inside. Returns the
    paths started and the volume used."""
    levels.require_ready(parent, "revive a level under it")
    levels.validate_name(name)
    client = connect.client(parent.endpoint, check=False)
    try:
        listed = client.api.volumes(filters={"label": f"{levels.LABEL_NAME}={name}"})
    except API_ERRORS as exc:
        raise DindtuiError(f"listing volumes on {parent.label} failed: {exc}") from None
    candidates = [v for v in listed.get("Volumes") or [] if levels.is_level_volume(v)
                  and not client.api.containers(all=True, filters={"volume": v["Name"]})]
    if not candidates:
        raise UnknownLevel(f"no level {name!r} under {parent.label} and no kept volume of that "
                           "name to revive it from")
    chosen = max(candidates, key=lambda v: v.get("CreatedAt") or "")
    volume = chosen["Name"]
    # The image store the data was written in (labelled since stores exist): a daemon started
    # on the other store would show none of it.
    store = (chosen.get("Labels") or {}).get(levels.LABEL_STORE)
    store = store if store in STORES else None
    image = image or images.DEFAULT_IMAGE
    images.image_id(client, image)
    known = next((c.privilege for c in parent.children if c.privilege), None)
    level = _Starting(parent, name, client, image,
                      privileges.candidates(levels.required(parent.endpoint, "its endpoint"),
                                            known), None, progress, store)
    level.volume = volume  # kept data: no seed, no stream
    level.create("revived", await_seed=False)
    try:
        level.claim_socket_dir()
        level.start()
        sock = levels.daemon_socket(parent, name, level.container, level.host_socket_dir)
        _wait_ready(client, levels.required(level.container, "the container"), sock, name,
                    progress)
    except BaseException:
        level.undo()  # the container and directory it made; never the kept volume
        raise
    child = Level(name=name, path=f"{parent.path}/{name}" if parent.path else name,
                  depth=parent.depth + 1, state=levels.READY,
                  endpoint=connect.endpoint_for_socket(sock), socket_dir=level.host_socket_dir,
                  container_id=level.container, container_name=levels.container_name(name),
                  container_state="running", volume=volume, privilege=level.mode, store=store,
                  parent=parent, version=connect.ping_socket(sock).version)
    parent.children.append(child)
    levels.discover_below(child)
    revived = [child.path] + [p for c in child.children for p in revive(c, progress)]
    for kept in kept_level_names(child):  # its children were exited with it: make them again
        revived += revive_volume(child, kept, progress, image)[0]
    return revived, volume


def kept_level_names(level: Level) -> list[str]:
    """Names of levels under `level` that exist only as a kept volume (no container at all)."""
    client = connect.client(level.endpoint, check=False)
    try:
        listed = client.api.volumes(filters={
            "label": f"{levels.LABEL_OWNER}={levels.OWNER}"}).get("Volumes") or []
        used = {m.get("Name") for c in client.api.containers(all=True)
                for m in c.get("Mounts") or []}
    except API_ERRORS:
        return []
    present = {c.name for c in level.children}
    return sorted({v["Labels"][levels.LABEL_NAME] for v in listed if levels.is_level_volume(v)
                   and v["Name"] not in used} - present)


def collapse(root: Level, *, rm_volume: bool = False,
             on_event: ExitCallback | None = None) -> list[str]:
    """Exit every level of the tree, deepest first."""
    exited: list[str] = []
    try:
        for child in list(root.children):
            exited += _exit_tree(child, rm_volume, on_event)
    finally:
        reach.keep_in_step(root)
    return exited
