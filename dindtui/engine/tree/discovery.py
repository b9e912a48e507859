"""Reading the trees: level 0 of each engine, then every daemon of a depth at once, a level
only where a container is provably one (the rest listed as ignored, with the reason), and
every daemon probed with a bounded ping: discovery never hangs and never fails on what a
level says."""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit


from .. import guard
from ..errors import DindtuiError
from ..net import connect
from ..order import natural
from .levels import (
    CONTAINER_STATES,
    DEAD,
    LABEL_NAME,
    LABEL_PORT,
    LABEL_PRIVILEGE,
    LABEL_CLUSTER,
    LABEL_LIMITS,
    LABEL_ROLE,
    LABEL_STORE,
    ROLES,
    LABEL_STRATEGY,
    LABEL_VOLUME,
    READY,
    STARTING,
    STARTING_GRACE,
    UNREACHABLE,
    Level,
    _engine_index,
    docker_time,
    in_namespace,
    name_problem,
    required,
    root_of,
    walk_all,
)
from .place import Place, socket_path


def root_level(origin: connect.Origin | None = None, *, path: str = "",
               check: bool = True) -> Level:
    """Level 0 (the default engine when None). `path` is "" alone; with several engines, each
    root's path is its engine's label, and so begins the paths of every level in its tree."""
    origin = origin or connect.default_origin()
    endpoint = origin.endpoint
    bare_path = connect.bare_socket(endpoint)
    # A local socket: /_ping's Server header says Docker's version. Its /version runs runc
    # and docker-init (two execs in the engine each time the tree is read); asked only when
    # the ping names no Docker version (Podman).
    if bare_path is not None:
        ping = connect.ping_socket(bare_path, timeout=connect.API_TIMEOUT)
        if not ping.ok:
            raise connect.describe_connection_error(endpoint, OSError(ping.error or "no answer"))
        if ping.version:
            return Level(name=path or "host", path=path, depth=0, state=READY,
                         endpoint=endpoint, version=ping.version)
    try:
        answer = connect.read_json(endpoint, "/version") if bare_path is not None \
            else connect.client(endpoint, check=check).version()
    except connect.READ_ERRORS as exc:
        raise connect.describe_connection_error(endpoint, exc) from None
    found = answer.get("Version") if isinstance(answer, dict) else None
    version = guard.text(found, 40) or None
    return Level(name=path or "host", path=path, depth=0, state=READY, endpoint=endpoint,
                 version=version)


def discover(root: Level | None = None) -> Level:
    """The whole tree below level 0, one depth at a time, every daemon of a depth in parallel.
    Never hangs: every call has a timeout, and a level that does not answer is marked, not
    waited for."""
    root = root or root_level()
    discover_below(root)
    return root


def discover_all(found: list[connect.Origin]) -> list[Level]:
    """One tree per engine, read at the same time. One engine: its tree, or its error raised.
    Several: a root each, paths beginning with the engine's label; an engine that does not
    answer is a root marked unreachable with the reason, and the others are shown."""
    if len(found) == 1:
        return [discover(root_level(found[0]))]

    def one(origin: connect.Origin) -> Level:
        try:
            return discover(root_level(origin, path=origin.label))
        except DindtuiError as exc:
            return Level(name=origin.label, path=origin.label, depth=0, state=UNREACHABLE,
                         endpoint=origin.endpoint, error=str(exc))

    with ThreadPoolExecutor(max_workers=len(found)) as pool:
        roots = list(pool.map(one, found))
    for root in roots:
        holder = held_by(root, roots)
        if holder is not None:
            root.status = f"in {holder.path}"
    return roots


def discover_tree(found: list[connect.Origin], path: str) -> Level:
    """The tree (read afresh) that `path` is in: the only one, or the engine its label names."""
    if len(found) == 1:
        return discover(root_level(found[0]))
    origin = found[_engine_index(path, [o.label for o in found])]
    return discover(root_level(origin, path=origin.label))


def held_by(root: Level, roots: list[Level]) -> Level | None:
    """The level of another tree that is the engine of `root`: a level publishing its daemon
    on this machine at the port `root` is reached on, or whose socket `root` is reached by."""
    if (root.endpoint or "").startswith("unix://"):
        target = os.path.realpath((root.endpoint or "")[len("unix://"):])
        return next((level for level in walk_all(roots) if level.depth
                     and (level.endpoint or "").startswith("unix://")
                     and os.path.realpath((level.endpoint or "")[len("unix://"):]) == target
                     and root_of(level) is not root), None)
    parts = urlsplit(root.endpoint or "")
    if parts.scheme not in ("tcp", "https") or parts.hostname not in ("127.0.0.1", "localhost"):
        return None
    return next((level for level in walk_all(roots) if level.depth and level.port == parts.port
                 and root_of(level) is not root), None)


WORKERS = 16  # daemons asked at once: each answer is a wait on a daemon, not work here


def discover_below(level: Level) -> Level:
    """Read again everything below `level` (whose daemon answers): each level that answers its
    ping has its own levels listed at once, in the same worker, without waiting for the rest of
    its depth (a tree of 64 levels: three waits in a row, not five)."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        pending: list[Future[list[tuple[Level, str]]]] = [pool.submit(_list_children, level)]
        while pending:  # bounded: every level is listed once, by its parent
            pairs = pending.pop().result()
            pending += [pool.submit(_probe_and_list, pair) for pair in pairs]
    return level


def _probe_and_list(pair: tuple[Level, str]) -> list[tuple[Level, str]]:
    return _list_children(pair[0]) if _probe(pair) else []


def read_pool(level: Level) -> list[Level]:
    """Read again `level`'s warm pool (lifecycle/pool.py) alone; its levels stay as read."""
    children, ignored = level.children, level.ignored
    try:
        _list_children(level)
    finally:
        level.children, level.ignored = children, ignored
    return level.pool


def _list_children(level: Level) -> list[tuple[Level, str]]:
    """Read `level`'s levels into its children; (child, container state) pairs. Containers that
    carry dindtui labels but are not provably ours go to `level.ignored`, with the reason."""
    level.children, level.ignored, level.pool = [], [], []
    try:
        containers = connect.read_json(required(level.endpoint, "the endpoint"), connect.query(
            "/containers/json", all=1, filters={"label": [LABEL_NAME]}))
    except connect.READ_ERRORS as exc:
        if level.depth:
            level.state = UNREACHABLE
        level.error = guard.text(f"listing containers failed: {exc}", 300)
        return []
    pairs = []
    place = Place.of(level)
    for summary in containers if isinstance(containers, list) else []:
        try:
            pair = _child_of(place, summary)
        except Exception as exc:  # noqa: BLE001 - whatever a daemon answers: ignored, shown why
            level.ignored.append(_ignored(summary, f"its data cannot be read ({exc!r})"))
            continue
        if pair is None:
            continue
        if Place.in_pool(summary.get("Labels") or {}, pair[0].container_name or ""):
            if pair[1] == "running":
                pair[0].state = STARTING  # warming, or being adopted
            level.pool.append(pair[0])  # warm, not a level yet: never probed nor shown
        else:
            pairs.append(pair)
    pairs.sort(key=lambda pair: natural(pair[0].name))  # w2 before w10
    level.pool.sort(key=lambda member: natural(member.name))
    level.children = [child for child, _ in pairs]
    return pairs


def _ignored(summary: object, reason: str) -> dict[str, Any]:
    """A look-alike's line in `Level.ignored`: every field bounded text."""
    found: dict[str, Any] = summary if isinstance(summary, dict) else {}
    labels: dict[str, Any] = (found["Labels"] if isinstance(found.get("Labels"), dict)
                              else {})
    names: list[Any] = found["Names"] if isinstance(found.get("Names"), list) else []
    return {"container_id": guard.text(found.get("Id"), 64),
            "container_name": guard.text(names[0] if names else "", 128).lstrip("/"),
            "name_label": guard.text(labels.get(LABEL_NAME), 64) or None,
            "reason": guard.text(reason, 300)}


def _child_of(place: Place, summary: dict[str, Any]) -> tuple[Level, str] | None:
    """One container of the list of `place`'s level as (child level, its container state);
    None when it is another namespace's; a look-alike goes to `level.ignored`. Anything odd
    raises."""
    level = place.level
    labels = summary.get("Labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ValueError("labels that are not text")
    if not in_namespace(labels):
        return None  # another namespace's level: not ours to show or touch
    shown_name = (summary.get("Names") or ["/"])[0][1:]
    reason = place.recognise(labels, shown_name, summary.get("Mounts") or [])
    container_id = summary.get("Id")
    if not reason and not (isinstance(container_id, str)
                           and re.fullmatch(r"[0-9a-f]{64}", container_id)):
        reason = "its id is not a container id"
    if not reason and labels.get(LABEL_PORT) and guard.port(labels[LABEL_PORT]) is None:
        reason = f"its {LABEL_PORT} label is not a port number"
    if reason:
        level.ignored.append(_ignored(summary, reason))
        return None
    name = labels[LABEL_NAME]
    docker_state: str = summary["State"] if isinstance(summary.get("State"), str) else "unknown"
    store = labels.get(LABEL_STORE)
    cluster, role = labels.get(LABEL_CLUSTER), labels.get(LABEL_ROLE)
    if not (isinstance(cluster, str) and name_problem(cluster) is None and role in ROLES):
        cluster = role = None  # a node of a cluster only with both, each valid
    child = Level(
        name=name, path=f"{level.path}/{name}" if level.path else name,
        depth=level.depth + 1, state=CONTAINER_STATES.get(docker_state, DEAD),
        endpoint=None, socket_dir=place.child_socket_dir(name),
        container_id=container_id, container_name=shown_name,
        container_state=guard.text(docker_state, 20), volume=labels.get(LABEL_VOLUME),
        privilege=guard.text(labels.get(LABEL_PRIVILEGE), 20) or None,
        strategy=guard.text(labels.get(LABEL_STRATEGY), 20) or None,
        store=store if store in ("overlay2", "containerd") else None,
        cluster=cluster, role=role,
        limits=limits if isinstance(limits := labels.get(LABEL_LIMITS), str)
        and re.fullmatch(r"[0-9]{1,8}:[0-9]{1,8}", limits) else None,
        status=guard.text(summary.get("Status"), 120) or None, parent=level)
    for published in summary.get("Ports") or []:
        if isinstance(published, dict) and guard.port(str(published.get("PublicPort"))):
            child.port = int(published["PublicPort"])
    if child.port is None:
        child.port = guard.port(labels.get(LABEL_PORT))
    return child, docker_state


def _probe(item: tuple[Level, str]) -> bool:
    level, container_state = item
    if container_state != "running":
        return False  # its state already says what it is; a paused daemon cannot answer
    path = socket_path(level)
    answer = connect.ping_socket(path)
    if answer.ok:
        level.state, level.version = READY, answer.version
        level.endpoint = connect.endpoint_for_socket(path)
        return True
    try:
        parent = required(level.parent, "the parent")
        info = connect.read_json(required(parent.endpoint, "the endpoint"),
                                 f"/containers/{level.container_id}/json")
        level.started_at = guard.text(info["State"].get("StartedAt"), 40) or None
    except (*connect.READ_ERRORS, KeyError, TypeError, AttributeError):
        pass
    started = docker_time(level.started_at) or time.time()
    level.state = STARTING if time.time() - started < STARTING_GRACE else UNREACHABLE
    level.error = guard.text(f"daemon socket silent: {answer.error}", 300)
    return False
