"""A warm pool: levels started and seeded ahead of the spawns that will want them, then dozing,
so that a spawn adopts one (wake, rename: tens of milliseconds) instead of waiting for a
daemon's start (about half a second, the floor of a cold spawn).

Off unless asked: `DINDTUI_POOL=N` (0-4) keeps N warm levels under each parent a spawn was made
under, refilled behind every spawn there (`dindtui pool fill` does it by hand).

What a pool level is, and why it cannot leak or be mistaken:
- a container made exactly as a level of its name is (labels, volume, socket directory, the
  name it will have in the tree), plus the label `dindtui.pool=1`, and named as its level will
  be plus `.POOL`, which no level's container can be (a level name has no capital letter):
  discovery keeps it in its parent's `pool`, never among the levels, and its name is taken;
- dozing once its daemon answers: its init stops its daemons with SIGSTOP (told by a signal,
  init/common.py's DOZE_SIGNAL) and they use no CPU. Not `docker pause`: a frozen container
  inside a level cannot be killed, so its level could not be either (Docker: "tried to kill
  container, but did not receive an exit event"); a stopped process dies of SIGKILL;
- adopted by a spawn that asks for what the pool holds (the default image, store and strategy,
  no port, cgroup, cluster or inherited images) and its name or none: woken, then renamed;
  two spawns adopting at once: Docker's rename lets one win, the other takes the next or starts
  cold. A spawn killed in between leaves a pool level awake (the next fill has it doze again),
  or an adopted level whose daemon answers;
- removed (container, volume, socket directory, through the gate) by `pool drain`, `clean`, the
  exit of its parent and `collapse`; a pool level found stopped, or silent past the grace a
  starting level has, is removed by the next fill.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from .. import config, gate
from ..access import reach
from ..errors import DindtuiError
from ..net import connect
from ..progress import Progress, ProgressCallback, no_progress
from ..tree import discovery, levels
from ..tree.levels import Level
from ..tree.place import Place
from . import images
from . import spawn as spawning
from .spawn import AUTO, SEED, SpawnResult, _wait_ready
from ..lazy import LazyModule

if TYPE_CHECKING:
    import docker.errors
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")

MAX_SIZE = config.POOL_MAX
DOZE, WAKE = "SIGUSR2", "SIGCONT"  # the init's DOZE_SIGNAL and WAKE_SIGNAL (init/common.py)


def size() -> int:
    """How many warm levels to keep under a parent: DINDTUI_POOL (0-4), 0 when unset."""
    return config.pool_size()


def fits(options: dict[str, Any]) -> bool:
    """A spawn with these options can adopt a pool level: it asks for nothing the pool's
    levels were not made with (they are made with spawn's defaults)."""
    image = options.get("image")
    return (image in (None, images.DEFAULT_IMAGE, config.image())
            and options.get("strategy") in (None, AUTO)
            and config.choice("DINDTUI_STRATEGY", ("auto", "seed", "stream"), "") in ("", AUTO)
            and not options.get("inherit_images")
            and all(options.get(key) is None
                    for key in ("store", "port", "cluster", "cgroup", "engine_version")))


def spawn_or_adopt(at: Place, name: str | None, progress: ProgressCallback = no_progress,
                   **options: Any) -> SpawnResult:
    """A new level under `at`: a pool level adopted when one fits, else a cold spawn. A pool
    level that holds the name asked for (under this parent with other options, or under
    another parent) is removed first, so that the name is free for the cold spawn: a pool's
    names are nobody's yet."""
    started = time.monotonic()
    if at.level.pool and fits(options):
        adopted = adopt(at, name, progress, started)
        if adopted is not None:
            return adopted
    if name is not None:
        for holder in levels.root_of(at.level).walk():
            for member in [m for m in holder.pool if m.name == name]:
                gate.remove_pool_member(holder, member)
    return spawning.spawn(at, name, progress=progress, **options)


def adopt(at: Place, name: str | None, progress: ProgressCallback = no_progress,
          started: float | None = None) -> SpawnResult | None:
    """One of `at`'s pool levels made a level (named `name`, or the first in order): None when
    none is there to take (gone, adopted by another spawn meanwhile, not running)."""
    started = time.monotonic() if started is None else started
    parent = at.level
    # Bare reads and posts on a local daemon: an adoption imports no SDK (connect.post);
    # the client is made only if the daemon does not answer at once (_wait_ready).
    client = cast("DockerClient", connect.LazyClient(at.endpoint))
    for member in [m for m in parent.pool if name is None or m.name == name]:
        try:
            info = gate.pool_member(parent, member)
        except gate.Refused:
            continue
        if info is None or not (info.get("State") or {}).get("Running"):
            continue
        container = levels.required(member.container_id, "its container")
        try:
            connect.post(at.endpoint, connect.query(f"/containers/{container}/kill",
                                                    signal=WAKE))
            connect.post(at.endpoint, connect.query(f"/containers/{container}/rename",
                                                    name=levels.container_name(member.name)))
        except connect.READ_ERRORS as exc:
            if connect.status_of(exc) in (404, 409):
                continue  # another spawn took it first
            raise DindtuiError(f"adopting the pool level {member.name} failed: "
                               f"{getattr(exc, 'explanation', None) or exc}") from None
        sock = at.child_socket(member.name, container, member.socket_dir)
        _wait_ready(client, container, sock, member.name, progress)  # at once when warm
        member.container_name = levels.container_name(member.name)
        member.state, member.container_state = levels.READY, "running"
        member.endpoint = connect.endpoint_for_socket(sock)
        member.version = connect.ping_socket(sock).version
        parent.pool.remove(member)
        parent.children.append(member)
        progress(Progress("spawn", f"level {member.path} ready (from the warm pool)", 1, 1))
        reach.keep_in_step(parent)
        seconds = time.monotonic() - started
        return SpawnResult(member, member.strategy or SEED, None, seconds, seconds)
    return None


def fill(parent: Level, count: int | None = None,
         progress: ProgressCallback = no_progress) -> list[str]:
    """Bring `parent`'s pool to `count` (default `size()`) warm, dozing levels: stopped or
    long-silent ones removed, the others woken, checked and dozing again, new ones started,
    extra ones removed. One filler per pool at a time (a lock file): a second returns at
    once, leaving it to the first. Returns the names of the pool levels started."""
    count = size() if count is None else count
    if not 0 <= count <= MAX_SIZE:
        raise DindtuiError(f"a pool holds 0 to {MAX_SIZE} levels, not {count}")
    levels.require_ready(parent, "keep a warm pool under it")
    made: list[str] = []
    with _filling(parent) as mine:
        if not mine:
            progress(Progress("pool", f"the pool of {parent.label} is being filled already"))
            return made
        discovery.read_pool(parent)  # the pool as it is now, after any other filler
        for _ in range(2 * MAX_SIZE + 2):  # bounded: each turn starts or removes one
            warm = _tidy(parent, progress)
            if len(warm) > count:
                for extra in warm[count:]:
                    gate.remove_pool_member(parent, extra)
                break
            if len(warm) == count:
                break
            progress(Progress("pool", f"warming a level under {parent.label} "
                                      f"({len(warm) + 1} of {count})"))
            result = spawning.spawn(Place.of(parent), None, pool=True, progress=progress)
            _doze(parent, result.level)
            made.append(result.level.name)
    return made


def drain(parent: Level, deadline: float | None = None) -> list[str]:
    """Remove every level of `parent`'s pool (through the gate), holding its fill lock so that
    no filler adds one meanwhile (waiting for one at work until `deadline`, 15 s by default).
    Returns their names."""
    removed: list[str] = []
    if not parent.pool:
        return removed
    with _filling(parent, time.monotonic() + 15 if deadline is None else deadline):
        for member in list(parent.pool):
            if gate.remove_pool_member(parent, member):
                removed.append(member.name)
    return removed


def log_path() -> str:
    """Where fillers started behind a spawn write (cut when it passes 1 MB)."""
    directory = os.path.join(config.state_dir(), "pool")
    connect.ensure_dir(directory)
    path = os.path.join(directory, "fill.log")
    with contextlib.suppress(OSError):
        if os.path.getsize(path) > 1 << 20:
            os.truncate(path, 0)
    return path


def _tidy(parent: Level, progress: ProgressCallback) -> list[Level]:
    """`parent`'s pool levels that are warm (running, and answering once woken: dozing again
    now); the others removed: stopped, or silent longer than a starting level may be."""
    warm = []
    client = connect.client(parent.endpoint, check=False)
    for member in list(parent.pool):
        try:
            info = gate.pool_member(parent, member)
        except gate.Refused:
            parent.pool.remove(member)  # adopted meanwhile: a level now
            continue
        if info is None:
            parent.pool.remove(member)
            continue
        state = info.get("State") or {}
        if state.get("Running") and not state.get("Paused"):
            sock = Place.of(parent).child_socket(member.name, member.container_id,
                                                 member.socket_dir)
            with contextlib.suppress(*connect.API_ERRORS):
                client.api.kill(member.container_id, WAKE)
            if connect.ping_socket(sock, timeout=2).ok:
                _doze(parent, member)
                warm.append(member)
                continue
            since = levels.docker_time(state.get("StartedAt")) or time.time()
            if time.time() - since < levels.STARTING_GRACE:
                warm.append(member)  # still starting (another filler's, killed): kept
                continue
        progress(Progress("pool", f"removing the pool level {member.name}: "
                                  f"{'silent' if state.get('Running') else 'stopped'}"))
        gate.remove_pool_member(parent, member)
    return warm


def _doze(parent: Level, member: Level) -> None:
    """Have a warm level's init stop its daemons: no CPU until a spawn wakes it."""
    client = connect.client(parent.endpoint, check=False)
    try:
        if gate.pool_member(parent, member) is not None:
            client.api.kill(member.container_id, DOZE)
            member.state = levels.PAUSED
    except gate.Refused:
        pass  # adopted between the fill and now: a level, left awake
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"the pool level {member.name} could not doze: {exc}") from None


@contextlib.contextmanager
def _filling(parent: Level, wait_until: float | None = None) -> Iterator[bool]:
    """An exclusive lock for filling `parent`'s pool (one per engine and level, in the state
    directory; released when the process ends however it ends): False at once when another
    holds it, or, with `wait_until`, when it is still held then."""
    place = Place.of(parent)
    key = hashlib.sha256(f"{place.engine}\0{config.namespace()}\0{parent.tree_path}"
                         .encode()).hexdigest()[:16]
    directory = os.path.join(config.state_dir(), "pool")
    connect.ensure_dir(directory)
    with open(os.path.join(directory, f"{key}.lock"), "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if wait_until is None or time.monotonic() > wait_until:
                    yield False
                    return
                time.sleep(0.1)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
