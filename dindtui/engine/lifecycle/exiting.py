"""Exit and collapse: a level and its whole subtree, deepest first, each container passed
through the gate just before it is stopped and removed; its socket directory; then, once the
subtree is gone, the cgroups a killed level left (v1) and its volume, only when asked and
provably its own (the volumes of the levels inside it are in that volume and go with it)."""

from __future__ import annotations

import time
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .. import gate
from ..access import reach
from ..disk import cgroups
from ..errors import DindtuiError
from ..net import connect
from ..progress import ProgressCallback, no_progress
from ..tree import discovery, levels, place
from ..tree.levels import Level
from . import pool
from .spawn import _remove_quietly, _wait_ready
from ..lazy import LazyModule

if TYPE_CHECKING:
    import docker.errors
    import docker.types
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")

EXIT_TIMEOUT = 10.0  # the default budget of an exit or a collapse, as `docker stop`'s


@dataclass(frozen=True)
class ExitEvent:
    path: str
    depth: int
    phase: str            # "exiting", "exited" (its container is gone), "freed" (see below)
    container_id: str
    note: str = ""        # at "freed": what stayed that was asked to go (a kept volume)


# After the exit of the level an exit or a collapse was asked for (not of those inside it):
# its volume was removed, or was kept with the reason in `note` (said only with --rm-volume).
FREED = "freed"


ExitCallback = Callable[[ExitEvent], None]


def deadline_after(timeout: float | None) -> float:
    """The monotonic time a budget of `timeout` seconds ends (None: the default budget)."""
    return time.monotonic() + (EXIT_TIMEOUT if timeout is None else max(0.0, timeout))


def exit_level(level: Level, *, rm_volume: bool = False, on_event: ExitCallback | None = None,
               timeout: float | None = None, deadline: float | None = None) -> list[str]:
    """Exit `level` and its subtree within one budget (`timeout` seconds, as `docker stop -t`;
    or a `deadline` shared with other trees): deepest first, siblings at the same time, each
    level stopped gracefully with what is left of its share and killed when that ends; what
    is still exiting inside a level when its own budget ends (a daemon that stopped
    answering, a kill the kernel is still carrying out) is killed with it, at once.
    Every container, volume and directory is checked again just before it is removed.
    Returns the paths exited, deepest first."""
    deadline = deadline if deadline is not None else deadline_after(timeout)
    try:
        _thaw_all([level])
        exited = _exit_tree(level, rm_volume, on_event, deadline)
        _free_all([level], rm_volume, on_event)
        return exited
    finally:
        reach.keep_in_step(level)


def exit_many(levels_: list[Level], *, rm_volume: bool = False,
              on_event: ExitCallback | None = None, timeout: float | None = None) -> list[str]:
    """Several subtrees (a cluster's nodes) exited side by side within one budget."""
    deadline = deadline_after(timeout)
    try:
        _thaw_all(levels_)
        return _exit_all(list(levels_), rm_volume, on_event, deadline, free=True)[0]
    finally:
        parents = {id(p): p for p in (level.parent for level in levels_) if p is not None}
        for parent in parents.values():
            reach.keep_in_step(parent)


MAX_SIBLINGS = 256  # siblings stopped at once (more wait for a thread: the budget may not hold)


def _height(level: Level) -> int:
    """How many levels deep the subtree below `level` goes (0: no children)."""
    return max((_height(child) + 1 for child in level.children), default=0)


def _exit_all(children: list[Level], rm_volume: bool, on_event: ExitCallback | None,
              deadline: float, until: float | None = None, free: bool = False
              ) -> tuple[list[str], list[Level], set[str]]:
    """Sibling subtrees exited at the same time, each within `deadline`; every one is tried,
    and the first failure is raised once all have ended. With `until`, no wait goes past
    it: the paths exited by then, the levels not exited yet (their threads go on, their
    events no longer said; whoever called ends them at once), and the paths of those said to
    be exiting already. With `free` (the levels asked for), once all have ended, what
    `_free_all` frees of those that exited."""
    if not children:
        return [], [], set()
    # One thread each: they wait for their daemons, and a pool smaller than the siblings
    # stopped them in waves, each wave a whole budget (16 levels with -t 5: 12.8 s).
    said = _Said(on_event)
    below = {id(child): list(child.walk()) for child in children}  # as it was at the start
    threads = ThreadPoolExecutor(max_workers=min(MAX_SIBLINGS, len(children)))
    futures = {threads.submit(_exit_tree, child, rm_volume, said, deadline): child
               for child in children}
    done, late = wait(futures, None if until is None else max(0.0, until - time.monotonic()))
    if late:
        said.mute()
    threads.shutdown(wait=False)
    exited: list[str] = []
    failures = []
    ended = []
    for future in futures:
        if future not in done:
            continue
        try:
            exited += future.result()
            ended.append(futures[future])
        except (DindtuiError,) + connect.API_ERRORS as exc:
            failures.append(exc)
    if free:
        _free_all(ended, rm_volume, on_event)
    if failures:
        raise failures[0]
    left = [each for future in late for each in below[id(futures[future])]]
    exited += [each.path for each in left if ("exited", each.path) in said.said]  # in time
    return (exited, [each for each in left if ("exited", each.path) not in said.said],
            {path for phase, path in said.said if phase == "exiting"})


class _Said:
    """Passes a subtree's events on until muted: a subtree ended at once from above is said
    so there, once, and its threads still ending below say nothing after."""

    def __init__(self, on_event: ExitCallback | None) -> None:
        self.on_event, self.muted = on_event, False
        self.said: set[tuple[str, str]] = set()  # (phase, path) of every event said
        self.lock = threading.Lock()

    def mute(self) -> None:
        with self.lock:
            self.muted = True

    def __call__(self, event: ExitEvent) -> None:
        with self.lock:
            if self.muted:
                return
            self.said.add((event.phase, event.path))
            if self.on_event is not None:
                self.on_event(event)


def _exit_tree(level: Level, rm_volume: bool, on_event: ExitCallback | None,
               deadline: float) -> list[str]:
    if level.depth == 0:
        raise DindtuiError("level 0 is the engine dindtui talks to; it cannot be exited")
    client = levels.parent_client(level)
    if level.state == levels.PAUSED:
        _unpause(client, level)  # a frozen daemon can neither stop its children nor itself
        _thaw_all([level])  # what is paused inside it could not be asked before
    now = time.monotonic()
    if level.children and deadline <= now and gate.level_container(level) is not None:
        return _exit_at_once(level, client, on_event)
    # The levels inside get the first shares of what is left (deepest first), this level the
    # last: a chain of height h splits its budget in h + 1 equal parts.
    height = _height(level)
    inner = now + max(0.0, deadline - now) * height / (height + 1)
    pool.drain(level, inner)  # its warm pool first: never left inside a stopped level
    # The levels inside end by this level's own deadline: what is still exiting then (a
    # stubborn container being killed, a daemon that does not answer) ends at once with it.
    exited, late, begun = _exit_all(list(level.children), rm_volume, on_event, inner,
                                    until=deadline)
    if late:
        if gate.level_container(level) is None:
            raise DindtuiError(f"levels inside {level.path} were still exiting when its budget "
                               "ended, and its container is not one dindtui can end")
        return exited + _exit_at_once(level, client, on_event, late, begun)
    event = ExitEvent(level.path, level.depth, "exiting", (level.container_id or "")[:12])
    if on_event:
        on_event(event)
    _stop_and_remove(level, client, deadline)
    if on_event:
        on_event(ExitEvent(level.path, level.depth, "exited", event.container_id))
    return exited + [level.path]


def _free_all(exited: list[Level], rm_volume: bool, on_event: ExitCallback | None) -> None:
    """After the exit, for the levels it was asked for (their parents stay), side by side: the
    v1 cgroups their killed containers left, and those of the levels inside, which lived in
    their volumes; their volumes when asked, said as a phase of their own ("freed"). Removing
    gigabytes is no part of an exit's budget, and was not let into it: 16 volumes removed
    while other levels were still being killed held those kills up to the engine's 10-s wait
    for an exit here. Nothing below them: a nested level's volume is in its parent's and
    goes with it (removing it first, in its parent's daemon, only held its parent's stop
    back)."""
    if len(exited) == 1:
        _free(exited[0], rm_volume, on_event)
    elif exited:
        said = _Said(on_event)  # one event at a time, as the exit's own
        with ThreadPoolExecutor(max_workers=min(MAX_SIBLINGS, len(exited))) as threads:
            list(threads.map(lambda level: _free(level, rm_volume, said), exited))


def _free(level: Level, rm_volume: bool, on_event: ExitCallback | None) -> None:
    if not level.volume or level.parent is None:
        return
    cgroups.remove_leftovers_of(level.parent, level.volume)
    if rm_volume and level.parent.endpoint is not None:
        # A client that waits: the engine answers when the files are gone (64 levels' 16
        # volumes at once took 78 s here, past the ordinary 20-s timeout).
        slow = connect.client(level.parent.endpoint, check=False, slow=True)
        kept = gate.why_volume_kept(slow, level.parent, level.volume, level.name)
        if on_event:
            on_event(ExitEvent(level.path, level.depth, FREED, (level.container_id or "")[:12],
                               f"volume {level.volume} kept: {kept}" if kept else ""))


def _exit_at_once(level: Level, client: DockerClient,
                  on_event: ExitCallback | None, inside: list[Level] | None = None,
                  begun: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """No budget left for a level with levels inside (`--timeout 0`, or a deadline passed):
    it is killed in one stroke, as `dindtui kill` does, and the kernel ends everything inside
    at once; one level after another, each killed and removed through its parent's daemon,
    a chain of 8 took 1.4 s here, in one stroke 0.4 s. The levels inside stay in its volume
    as a killed tree leaves them (revive brings them back with it), and go with the volume
    when it is removed. Their warm pools go first (what is paused inside was thawed when the
    exit began: a frozen process cannot die)."""
    if inside is None:
        inside = list(level.walk())[1:]
        for each in [*inside, level]:
            pool.drain(each, time.monotonic())
    # else: what was still exiting inside when the deadline came, each drained by its own
    # exit already (asking a daemon being stopped could hang).
    inside = sorted(inside, key=lambda each: -each.depth)  # deepest first
    if on_event:
        for each in [*inside, level]:
            if each.path not in begun:  # (said by its own exit before the deadline came)
                on_event(ExitEvent(each.path, each.depth, "exiting",
                                   (each.container_id or "")[:12]))
    _stop_and_remove(level, client, time.monotonic())
    for each in inside:
        connect.forget(each.endpoint or "")
    if on_event:
        for each in [*inside, level]:
            on_event(ExitEvent(each.path, each.depth, "exited", (each.container_id or "")[:12]))
    return [each.path for each in [*inside, level]]


def _stop_and_remove(level: Level, client: DockerClient, deadline: float) -> None:
    """`level`'s own container stopped with what is left of the budget (then killed), removed,
    its socket directory; the levels inside it are gone by now."""
    if gate.level_container(level) is not None:  # refused when the container is not ours
        left = max(0, int(deadline - time.monotonic()))  # then SIGKILL, as `docker stop -t`
        try:
            if left:
                client.api.stop(level.container_id, timeout=left)
            else:
                # No time left: SIGKILL alone. A stop with no time still sends SIGTERM first,
                # and the SIGKILL comes a few runc calls later: time enough, on a busy
                # machine, for the level's init to begin its graceful stop and write down what
                # ran, a stop the budget did not allow.
                client.api.kill(level.container_id)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: not running (any more); nothing to end
                raise DindtuiError(f"stopping level {level.path} failed: {exc}") from None
        except connect.API_ERRORS as exc:
            raise DindtuiError(f"stopping level {level.path} failed: {exc}") from None
        _remove_quietly(client, level.container_id, None)
    if level.socket_dir and not gate.name_in_use(client, level.name):
        gate.remove_socket_dir(level.socket_dir, level)
    connect.forget(level.endpoint or "")
    if level.parent is not None and level in level.parent.children:
        level.parent.children.remove(level)


def kill_level(level: Level) -> None:
    """SIGKILL `level`'s container, a fault on purpose: everything inside it dies with it; the
    container and its volume stay, and `revive` starts it again. Through the gate."""
    if level.depth == 0:
        raise DindtuiError("level 0 is the engine dindtui talks to; it cannot be killed")
    client = levels.parent_client(level)
    if gate.level_container(level) is None:
        raise DindtuiError(f"level {level.path} has no container to kill")
    _thaw_all([level])
    try:
        client.api.kill(level.container_id)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"killing level {level.path} failed: {exc}") from None
    connect.forget(level.endpoint or "")


THAW_WAIT = 1.0  # seconds an exit waits for its thaws (one short request each, to every level)


def _thaw_all(tops: list[Level]) -> None:
    """`_thaw_inside` every level of these subtrees at the same time, once, before the exit's
    budget is shared out (asked depth after depth inside each level's own share, 64 busy
    daemons spent up to 2.6 s of a 2.5-s share on it in one run here, and no level inside had
    time left to stop). Waits THAW_WAIT at the most: a daemon that does not answer (stopped,
    say) cannot unpause anything, and is killed with its level when the budget ends; its
    thread, a daemon thread, ends with it."""
    every = [each for top in tops for each in top.walk()
             if each.state == levels.READY and each.endpoint is not None and each.depth > 0]
    threads = [threading.Thread(target=_thaw_inside, args=(each,), daemon=True,
                                name=f"thaw {each.path}") for each in every]
    for thread in threads:
        thread.start()
    until = time.monotonic() + THAW_WAIT
    for thread in threads:
        thread.join(max(0.0, until - time.monotonic()))


def _thaw_inside(level: Level) -> None:
    """Unpause what is paused inside `level` (a container a user paused): a frozen process
    cannot die, so a level with one inside could be neither stopped nor killed (Docker: "tried
    to kill container, but did not receive an exit event"). Best effort: a daemon that does
    not answer has nothing it can unpause."""
    if level.state != levels.READY or level.endpoint is None:
        return
    client = connect.client(level.endpoint, check=False)
    try:
        for paused in client.api.containers(filters={"status": "paused"}):
            client.api.unpause(paused["Id"])
    except connect.API_ERRORS:
        pass


def _unpause(client: DockerClient, level: Level) -> None:
    try:
        client.api.unpause(level.container_id)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"level {level.path} is paused and could not be unpaused: "
                           f"{exc}") from None
    _now_ready(client, level, no_progress)


def _now_ready(client: DockerClient, level: Level, progress: ProgressCallback) -> None:
    """Wait until `level`'s daemon answers again, then mark it so and read what is below it
    (after an unpause, a start, a revive)."""
    sock = place.socket_path(level)
    _wait_ready(client, levels.required(level.container_id, "its container"), sock,
                level.path, progress)
    level.state, level.container_state = levels.READY, "running"
    level.endpoint = connect.endpoint_for_socket(sock)
    level.version = connect.ping_socket(sock).version
    discovery.discover_below(level)


def collapse(root: Level, *, rm_volume: bool = False, on_event: ExitCallback | None = None,
             timeout: float | None = None, deadline: float | None = None) -> list[str]:
    """Exit every level of the tree within one budget (see `exit_level`), the levels of level
    0 at the same time."""
    deadline = deadline if deadline is not None else deadline_after(timeout)
    try:
        pool.drain(root, deadline)  # level 0's warm pool goes with the tree
        _thaw_all(root.children)
        return _exit_all(list(root.children), rm_volume, on_event, deadline, free=True)[0]
    finally:
        reach.keep_in_step(root)
