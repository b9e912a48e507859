"""Create a level under a parent daemon, wait until its daemon answers, give it images; exit a
level and its whole subtree, deepest first."""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .. import config, gate, guard
from ..access import reach
from ..errors import DindtuiError, ImageMissing, NameTaken, SpawnFailed
from ..net import connect
from ..progress import Progress, ProgressCallback, no_progress
from ..tree import levels
from ..tree.levels import Level
from ..tree.place import Place
from . import images, limits, privileges
from .seeding import _Seeding, _verify_seed
from ..lazy import LazyModule

if TYPE_CHECKING:
    import docker.errors
    import docker.types
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")

READY_TIMEOUT = 90.0  # DINDTUI_READY_TIMEOUT overrides it (config.seconds)
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.path, "depth": self.level.depth, "strategy": self.strategy,
            "store": self.level.store,
            "fallback_reason": self.fallback_reason, "ready_seconds": round(self.ready_seconds, 3),
            "usable_seconds": round(self.usable_seconds, 3),
            "seeded_layers": self.seed.layers if self.seed else 0,
            "bytes_moved": sum(p.bytes for p in self.pushes or []),
        }


def default_name(parent: Level | Place) -> str:
    at = parent if isinstance(parent, Place) else Place.of(parent)
    taken = at.names_taken
    depth = at.level.depth + 1
    name, n = f"l{depth}", 1
    while name in taken:
        n += 1
        name = f"l{depth}-{n}"
    return name


def names_for(at: Place, count: int, base: str | None = None) -> list[str]:
    """`count` names for new children of `at`'s level, none taken in its tree: BASE-1 ..
    BASE-N, or the default names (l2, l2-2, ...) one after another."""
    taken = set(at.names_taken)
    names: list[str] = []
    n = 0
    while len(names) < count:
        n += 1
        if base is not None:
            name = f"{base}-{n}"
            levels.validate_name(name)
        else:
            name = f"l{at.level.depth + 1}" + (f"-{n}" if n > 1 else "")
        if name in taken:
            if base is not None:
                raise NameTaken(f"level name {name!r} is taken: choose another --name")
            continue
        taken.add(name)
        names.append(name)
    return names


def _volume_labels(parent: Level, name: str) -> dict[str, Any]:
    labels = {levels.LABEL_OWNER: levels.OWNER, levels.LABEL_NAME: name,
              levels.LABEL_DEPTH: str(parent.depth + 1),
              levels.LABEL_PARENT: parent.tree_path or "host"}
    if config.namespace():
        labels[levels.LABEL_NAMESPACE] = config.namespace()
    return labels


def spawn(parent: Level | Place, name: str | None = None, *, port: int | None = None,
          image: str | None = None, strategy: str = AUTO, inherit_images: bool = False,
          store: str | None = None, cluster: tuple[str, str] | None = None,
          engine_version: str | None = None, cgroup: str | None = None,
          progress: ProgressCallback = no_progress, pool: bool = False,
          facts: ParentFacts | None = None) -> SpawnResult:
    """A new level under `parent`, with its daemon answering and `image` usable inside it.
    `store` chooses the new daemon's image store (overlay2 or containerd; None: Docker's own
    default). `cluster`: (cluster name, role) when the level is a swarm node (engine/swarm):
    labelled so, and started without live-restore, which swarm mode refuses.
    `engine_version`: the Docker inside the new level ("20.10", "26", "28"), which picks its
    level image (dindtui:docker-28 ...; `image` then must not be given). `parent` is resolved
    once (a `Place`) and handed on. `pool`: a warm pool's level (lifecycle/pool.py), named as
    one and kept in `parent.pool`, not among its children. `facts`: what siblings spawned
    together ask the parent's daemon alike, asked once for all of them (ParentFacts)."""
    started = time.monotonic()
    facts = facts or ParentFacts()
    if engine_version is not None:
        if image is not None and image != images.flavour(engine_version).tag():
            raise DindtuiError("--docker picks the level image: give --docker or --image")
        image = images.flavour(engine_version).tag()
    image = image or images.DEFAULT_IMAGE
    if cgroup not in (None, "v1", "v2"):
        raise DindtuiError(f"unknown cgroup version {cgroup!r}: use v1 or v2")
    at = Place.of(parent) if isinstance(parent, Level) else parent
    levels.require_ready(at.level, "spawn a child under it")
    strategy = config.choice("DINDTUI_STRATEGY", (AUTO, SEED, STREAM), "") or strategy or AUTO
    if strategy not in (AUTO, SEED, STREAM):
        raise DindtuiError(f"unknown strategy {strategy!r}: use auto, seed or stream")
    if store not in (None, *STORES):
        raise DindtuiError(f"unknown image store {store!r}: use overlay2 or containerd")
    auto_named = name is None
    name = name or default_name(at)
    levels.validate_name(name)
    if not auto_named and name in at.names_taken:
        raise NameTaken(f"level name {name!r} is taken: choose another with --name")
    client = connect.client(at.endpoint, check=False)
    image_id = facts.image_id(image, lambda: _level_image_here(at, client, image, progress))
    if store is None and strategy != STREAM:
        store = _store_like_parent(lambda: facts.info(client), progress)
    known = next((c.privilege for c in at.level.children if c.privilege), None)
    modes = privileges.candidates(at.endpoint, known)

    for attempt in range(8):
        try:
            return _spawn_named(at, name, client, image, image_id, modes, port, strategy,
                                inherit_images, progress, started, store, cluster, cgroup, pool,
                                facts=facts)
        except NameTaken:
            if not auto_named or attempt == 7:
                raise
            name = default_name(at) + f"-{secrets.token_hex(2)}"
    raise AssertionError("unreachable")


class ParentFacts:
    """What a spawn asks its parent's daemon before it makes anything (its /info, the level
    image's id), asked once: by the first of the siblings spawned together that needs it (the
    others wait for its answer, or its error), and once, not twice, by a spawn alone. A
    Docker 20.10 /info runs runc and docker-init; a level image missing on the parent is
    brought there once, not once per sibling."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[bool, Any]] = {}

    def _once(self, key: str, ask: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._known:
                try:
                    self._known[key] = (True, ask())
                except Exception as exc:  # noqa: BLE001 - each sibling raises it as its own
                    self._known[key] = (False, exc)
            ok, value = self._known[key]
        if not ok:
            raise value
        return value

    def info(self, client: DockerClient) -> dict[str, Any]:
        return dict(self._once("info", client.info))

    def image_id(self, image: str, find: Callable[[], str]) -> str:
        return str(self._once("image " + image, find))


def _store_like_parent(info: Callable[[], dict[str, Any]],
                       progress: ProgressCallback) -> str | None:
    """No store asked for: a parent on the containerd image store (Docker 29's default on a
    fresh install) gets a child on it too, so that its images can be seeded into the child
    (between the two stores they can only be streamed). `info`: gives the parent's /info."""
    try:
        parent_store = images.daemon_store(info())
    except connect.API_ERRORS:
        return None
    if parent_store != CONTAINERD:
        return None
    progress(Progress("spawn", "the parent keeps its images in the containerd image store: "
                               "so does the new level, so that they can be seeded"))
    return CONTAINERD


def _level_image_here(at: Place, client: DockerClient, image: str,
                      progress: ProgressCallback) -> str:
    """The id of the level image on the parent's daemon; a parent that lacks it gets it first
    from the nearest level above that has it (straight there, through no level between)."""
    try:
        return images.image_id(client, image)
    except ImageMissing:
        if at.level.depth == 0:
            raise
    above, looked = images.nearest_with(at.level, image)
    if above is None:
        raise ImageMissing(f"image {image} is on neither {at.level.label} nor any level above it "
                           f"(looked in {', '.join(looked)}): build it on level 0 with `dindtui "
                           "image build`" + (f" --docker {image.rsplit('docker-', 1)[1]}"
                                             if "docker-" in image else ""))
    progress(Progress("spawn", f"{image} is not on {at.level.label}: bringing it from "
                               f"{above.label}"))
    images.push_image(levels.required(above.endpoint, "its endpoint"), at.endpoint, image,
                      progress)
    return images.image_id(client, image)


def _spawn_named(at: Place, name: str, client: DockerClient, image: str, image_id: str,
                 modes: list[str], port: int | None, strategy: str, inherit: bool,
                 progress: ProgressCallback, started: float,
                 store: str | None = None,
                 cluster: tuple[str, str] | None = None,
                 cgroup: str | None = None, pool: bool = False, *,
                 facts: ParentFacts) -> SpawnResult:
    """One try at `name`. The volume is made (with a token of this call), then the container's
    creation claims the name; a spawn that loses a race removes its volume and has touched
    nothing else; on failure this call removes exactly what it made, nothing else."""
    seed_ids = [image_id]
    if inherit:
        seed_ids += [i.id for i in client.images.list() if i.id != image_id]
    # A level's Docker (26) keeps images in overlay2 unless told otherwise.
    check = (images.seed_check(client, store or OVERLAY2, lambda: facts.info(client))
             if strategy in (AUTO, SEED) else None)
    if check is not None and not check.ok and strategy == SEED:
        raise SpawnFailed(f"seeding was asked for but cannot work: {check.reason}")
    will_seed = check is not None and check.ok
    level = _Starting(at, name, client, image, modes, port, progress, store, cluster, cgroup,
                      pool)
    level.create(SEED if will_seed else STREAM, await_seed=will_seed)  # NameTaken: nothing left
    seeding = None
    try:
        level.claim_socket_dir()
        seed_result = None
        fallback = "streaming was asked for" if check is None else check.reason
        if check is not None and will_seed:
            # The seed runs while the level's container starts; its init holds dockerd
            # back until the seeder's marker says the data root is complete.
            seeding = _Seeding(at, client, check, level.volume, seed_ids, progress)
            seeding.start()
        level.start()
        if seeding is not None:
            seed_result, fallback = seeding.join()
            if seed_result is None:
                if strategy == SEED:
                    raise SpawnFailed(f"seeding was asked for but cannot work: {fallback}")
                level.restart_fresh()  # a half-seeded data root never reaches a daemon
        used = SEED if seed_result is not None else STREAM
        sock = at.child_socket(name, level.container, level.host_socket_dir)
        _wait_ready(client, levels.required(level.container, "the container"), sock, name,
                    progress)
        ready_seconds = time.monotonic() - started
        parent = at.level
        child = Level(name=name, path=at.child_path(name),
                      depth=parent.depth + 1, state=levels.READY,
                      endpoint=connect.endpoint_for_socket(sock),
                      socket_dir=level.host_socket_dir, container_id=level.container,
                      container_name=level.container_name, container_state="running",
                      volume=level.volume, privilege=level.mode, strategy=used, port=port,
                      store=store, cluster=cluster[0] if cluster else None,
                      role=cluster[1] if cluster else None,
                      parent=parent, version=connect.ping_socket(sock).version)
        pushes = None
        if seed_result is not None:
            missing = _verify_seed(child, seed_ids)
            if missing:
                fallback = f"{len(missing)} seeded image(s) not listed by the new daemon"
                used = STREAM
        if used != SEED:
            names = [image] + (_tagged_names(client, image) if inherit else [])
            pushes = [images.push_image(at.endpoint, connect.endpoint_for_socket(sock), n,
                                        progress)
                      for n in names]
        if pool:
            parent.pool.append(child)
            progress(Progress("spawn", f"pool level {child.name} ready", 1, 1))
        else:
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


def _port_in_use(exc: Exception) -> bool:
    text = (getattr(exc, "explanation", None) or str(exc)).lower()
    return "port is already allocated" in text or "address already in use" in text


class _Starting:
    """Creates and starts one level's container, trying privilege modes best first, and knows
    exactly what it made (container, volume, socket directory) so that a failure undoes only
    that."""

    def __init__(self, at: Place, name: str, client: DockerClient, image: str, modes: list[str],
                 port: int | None, progress: ProgressCallback, store: str | None = None,
                 cluster: tuple[str, str] | None = None, cgroup: str | None = None,
                 pool: bool = False) -> None:
        self.at, self.parent = at, at.level
        self.pool = pool
        self.container_name = levels.container_name(name) + (levels.POOL_SUFFIX if pool else "")
        self.cluster, self.cgroup = cluster, cgroup
        self.name, self.client, self.image = name, client, image
        self.store = store
        self.modes, self.port, self.progress = list(modes), port, progress
        self.container: str | None = None
        self.mode: str | None = None
        self.strategy = STREAM
        self.await_seed = False
        self.token = secrets.token_hex(8)      # marks the volume this call made
        self.volume = f"{levels.container_name(name)}-{secrets.token_hex(3)}"
        self.volume_made = False
        self.socket_source = at.child_socket_source(name)
        self.host_socket_dir = at.child_socket_dir(name)
        self.dir_made = False
        self.limits = limits.first(at.endpoint, at.level.limits)

    def create(self, strategy: str, await_seed: bool, mode: str | None = None) -> None:
        self.strategy, self.await_seed = strategy, await_seed
        mode = mode or self.modes[0]
        environment = {"DINDTUI_MODE": "daemon",
                       "DINDTUI_SOCKET_GID": str(connect.socket_group(self.at.engine))}
        if await_seed:
            environment["DINDTUI_AWAIT_SEED"] = "1"
        if self.store:
            environment["DINDTUI_STORE"] = self.store
        ports = {}
        labels = _volume_labels(self.parent, self.name) | {
            levels.LABEL_PRIVILEGE: mode, levels.LABEL_VOLUME: self.volume,
            levels.LABEL_SOCKETDIR: self.socket_source, levels.LABEL_STRATEGY: strategy,
            limits.LABEL: self.limits.label}
        if self.store:
            labels[levels.LABEL_STORE] = self.store
        if self.pool:
            labels[levels.LABEL_POOL] = "1"
        if self.cgroup:
            environment["DINDTUI_CGROUP"] = self.cgroup  # forced (the init detects it else)
        if self.cluster:
            labels[levels.LABEL_CLUSTER], labels[levels.LABEL_ROLE] = self.cluster
            environment["DINDTUI_LIVE_RESTORE"] = "off"  # swarm mode refuses it
        if self.port is not None:
            environment["PORT"] = str(self.port)
            ports = {f"{self.port}/tcp": ("127.0.0.1", self.port)}
            labels[levels.LABEL_PORT] = str(self.port)
        volume_labels = _volume_labels(self.parent, self.name) | {"dindtui.spawn": self.token}
        if self.store:
            volume_labels[levels.LABEL_STORE] = self.store
        self.progress(Progress("spawn", f"starting level {self.name} ({mode})"))
        first = not self.volume_made
        if first:
            # Made on its own, with its labels: an engine may ignore the labels of a volume
            # made by a container's mount (Podman does), and the labels prove it is ours.
            try:
                self.client.api.create_volume(self.volume, labels=volume_labels)
            except connect.API_ERRORS as exc:
                raise SpawnFailed(f"making the volume of level {self.name} failed: "
                                  f"{getattr(exc, 'explanation', None) or exc}") from None
            self.volume_made = True
        try:
            self.container = self.client.api.create_container(
                self.image, name=self.container_name, hostname=self.name,
                detach=True, labels=labels, environment=environment,
                ports=[self.port] if self.port else None, stop_timeout=LEVEL_STOP_TIMEOUT,
                host_config=privileges.host_config(
                    self.client, mode, port_bindings=ports or None,
                    ulimits=self.limits.ulimits(),
                    mounts=[docker.types.Mount(LEVEL_DATA_ROOT, self.volume, type="volume",
                                               no_copy=True)],
                    binds={self.socket_source: {"bind": levels.SOCKET_MOUNT, "mode": "rw"}}))["Id"]
        except docker.errors.APIError as exc:
            if first:
                self.remove_volume()  # a spawn that lost the name leaves nothing behind
            if exc.status_code == 409:
                raise NameTaken(f"level name {self.name!r} is taken on "
                                f"{self.parent.label}") from None
            raise SpawnFailed(f"creating level {self.name} failed: "
                              f"{exc.explanation}") from None
        self.mode = mode

    def claim_socket_dir(self) -> None:
        """Level 0's children: make the socket directory on this machine (0755 whatever the
        umask). A directory left by an earlier level of this name is reused, never removed: the
        container name this call holds says no other level of that name exists."""
        if self.parent.depth or self.at.remote:
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
                text = str(exc.explanation or exc)
                if "marked for removal" in text.lower():  # a `docker rm -f` under way (409)
                    raise SpawnFailed(f"level {self.name} was removed from outside while it "
                                      "started") from None
                if limits.refused(text):  # the engine's own limits are lower: one step down
                    lowered = limits.lower(self.limits, text)
                    if lowered is None:
                        raise SpawnFailed(f"{self.parent.label} refuses even "
                                          f"{self.limits.nofile} open files for a level: "
                                          f"{text}") from None
                    self.limits = lowered
                    self.remove_container()
                    self.create(self.strategy, self.await_seed, self.mode)
                    continue
                if not privileges.refusal(text):
                    raise SpawnFailed(f"starting level {self.name} failed: "
                                      f"{guard.text(text, 400)}") from None
                tried = self.modes.index(levels.required(self.mode, "the mode"))
                remaining = self.modes[tried + 1:]
                if not remaining:
                    raise privileges.refused(exc) from None
                self.remove_container()
                self.create(self.strategy, self.await_seed, remaining[0])
                continue
            privileges.remember(self.at.endpoint, levels.required(self.mode, "the privilege mode"))
            limits.remember(self.at.endpoint, self.limits)
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
            gate.remove_socket_dir(self.host_socket_dir, self.at)


def _tagged_names(client: DockerClient, skip: str) -> list[str]:
    return sorted({tag for i in client.images.list() for tag in i.tags if tag != skip})


def _wait_ready(client: DockerClient, container: str, sock: str, name: str,
                progress: ProgressCallback) -> None:
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


def _last_logs(client: DockerClient, container: str, lines: int = 6) -> str:
    try:
        text = client.api.logs(container, tail=lines).decode(errors="replace")
    except connect.API_ERRORS:
        return "(no logs)"
    return " | ".join(line.strip() for line in text.strip().splitlines()) or "(no logs)"


def _remove_quietly(client: DockerClient, container: str | None, volume: str | None) -> None:
    if container:
        try:
            client.api.remove_container(container, force=True, v=True)
        except connect.API_ERRORS:
            pass
    if volume:
        for _ in range(10):
            try:
                client.api.remove_volume(volume, force=True)
                break
            except docker.errors.NotFound:
                break
            except connect.API_ERRORS:
                time.sleep(0.3)  # the container's removal may still hold it


