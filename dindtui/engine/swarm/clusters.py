"""Clusters: a Docker Swarm made of sibling levels, in one call.

`create` spawns the nodes side by side under one parent, each seeded with every image its
parent has (so `docker service create IMAGE` finds the image on every node without a
registry) and started without live-restore (swarm mode refuses it: see dindtui/init/swarm.py),
then initialises the swarm on the first manager, joins the other managers one after another
(raft adds one member at a time) and the workers all at once, and waits, with a deadline, until
every node is Ready. `remove` has the nodes leave (workers first) and exits them, volumes
included, within one budget. A cluster is the levels labelled with its name under one parent:
each still passes the gate like any level before anything is stopped or removed.

Swarm traffic between nodes stays on the parent daemon's bridge: a node advertises its
`eth0`, so a revived node that got another address announces the new one."""

from __future__ import annotations

import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .. import guard
from ..errors import DindtuiError, NameTaken
from ..lifecycle import exiting
from ..lifecycle import spawn as spawning
from ..net import connect
from ..progress import Progress, ProgressCallback, no_progress
from ..tree import levels
from ..tree.levels import Level
from ..tree.place import Place
from . import view as swarm_view

MAX_MANAGERS = 7
MAX_NODES = 32
NAME_LIMIT = 20          # room for "-m32" in a level name of 24
READY_TIMEOUT = 60.0     # from the swarm's start to every node Ready
JOIN_TIMEOUT = 30.0      # one node's join
SWARM_PORT = 2377
# How often a node reports to the managers (Docker's default 5 s): a lost node is seen down
# after a few periods, and its tasks move then. Nodes on one machine afford 1 s.
HEARTBEAT_NS = 1_000_000_000
ADVERTISE = "eth0"       # the node's interface on its parent's bridge


class ClusterError(DindtuiError):
    pass


@dataclass
class Cluster:
    """The levels labelled as nodes of cluster `name` under `parent`, managers first."""

    name: str
    parent: Level
    nodes: list[Level] = field(default_factory=list)

    @property
    def managers(self) -> list[Level]:
        return [n for n in self.nodes if n.role == "manager"]

    @property
    def workers(self) -> list[Level]:
        return [n for n in self.nodes if n.role == "worker"]

    @property
    def path(self) -> str:
        """How a cluster is named on the command line: its parent's path and its name."""
        return f"{self.parent.path}/{self.name}" if self.parent.path else self.name

    def manager_level(self) -> Level | None:
        """A manager whose daemon answers (the first one)."""
        return next((m for m in self.managers if m.state == levels.READY and m.endpoint), None)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "parent": self.parent.label,
                "managers": [n.path for n in self.managers],
                "workers": [n.path for n in self.workers],
                "nodes": [{"path": n.path, "role": n.role, "state": n.state}
                          for n in self.nodes]}


def node_names(name: str, managers: int, workers: int) -> list[tuple[str, str]]:
    """(level name, role) of every node: NAME-m1.. then NAME-w1.."""
    return ([(f"{name}-m{i}", "manager") for i in range(1, managers + 1)]
            + [(f"{name}-w{i}", "worker") for i in range(1, workers + 1)])


def clusters_in(root: Level) -> list[Cluster]:
    """Every cluster of a tree, in tree order; a cluster's nodes are siblings."""
    found: dict[tuple[str, str], Cluster] = {}
    for level in root.walk():
        for child in level.children:
            if child.cluster and child.role:
                key = (level.path, child.cluster)
                found.setdefault(key, Cluster(child.cluster, level)).nodes.append(child)
    for cluster in found.values():
        cluster.nodes.sort(key=lambda n: (n.role != "manager", n.name))
    return list(found.values())


def find(roots: list[Level], ref: str) -> Cluster:
    """A cluster by name, or by PARENT/NAME when the same name is in several places."""
    ref = ref.strip("/")
    every = [c for root in roots for c in clusters_in(root)]
    matches = [c for c in every if ref in (c.name, c.path)]
    if not matches:
        known = ", ".join(c.path for c in every) or "none"
        raise ClusterError(f"no cluster {guard.text(ref, 64)!r} (clusters: {known})")
    if len(matches) > 1:
        raise ClusterError(f"cluster name {guard.text(ref, 64)!r} is in several places: "
                           f"{', '.join(c.path for c in matches)}; say which")
    return matches[0]


def check_request(at: Place, name: str, managers: int, workers: int) -> list[tuple[str, str]]:
    problem = levels.name_problem(name)
    if problem:
        raise ClusterError(problem.replace("level name", "cluster name"))
    if len(name) > NAME_LIMIT:
        raise ClusterError(f"cluster name {name!r} is longer than {NAME_LIMIT} characters "
                           "(its nodes are named NAME-m1, NAME-w1, ...)")
    if not 1 <= managers <= MAX_MANAGERS:
        raise ClusterError(f"--managers must be 1 to {MAX_MANAGERS}, not {managers}")
    if not 0 <= workers or managers + workers > MAX_NODES:
        raise ClusterError(f"a cluster has at most {MAX_NODES} nodes: --workers must be 0 to "
                           f"{MAX_NODES - managers}, not {workers}")
    levels.require_ready(at.level, "make a cluster under it")
    if any(c.name == name for c in clusters_in(levels.root_of(at.level))):
        raise NameTaken(f"cluster name {name!r} is taken in this tree: choose another")
    nodes = node_names(name, managers, workers)
    taken = sorted(n for n, _ in nodes if n in at.names_taken)
    if taken:
        raise NameTaken(f"level name(s) {', '.join(taken)} taken: choose another cluster name")
    return nodes


@dataclass
class Created:
    cluster: Cluster
    seconds: float            # from the call to every node Ready
    spawn_seconds: float      # of which the nodes' spawns (side by side)
    swarm: swarm_view.SwarmView | None
    spawns: list[spawning.SpawnResult]

    def to_dict(self) -> dict[str, Any]:
        return self.cluster.to_dict() | {
            "seconds": round(self.seconds, 3), "spawn_seconds": round(self.spawn_seconds, 3),
            "strategies": sorted({s.strategy for s in self.spawns}),
            "swarm": self.swarm.to_dict() if self.swarm else None}


def create(at: Place, name: str, managers: int = 1, workers: int = 0, *,
           store: str | None = None, image: str | None = None,
           progress: ProgressCallback = no_progress) -> Created:
    """A swarm of `managers` + `workers` sibling levels under `at`'s level, every node Ready.
    On any failure the nodes made so far are exited (volumes included) and the error raised."""
    started = time.monotonic()
    nodes = check_request(at, name, managers, workers)
    total = len(nodes)
    progress(Progress("cluster", f"spawning {total} nodes of {name} under {at.level.label}",
                      0, total))
    spawned: list[spawning.SpawnResult] = []
    try:
        spawned = _spawn_nodes(at, name, nodes, store, image, progress)
        spawn_seconds = time.monotonic() - started
        cluster = Cluster(name, at.level, [s.level for s in spawned])
        _form_swarm(cluster, progress)
        swarm = wait_ready(cluster, total, progress)
    except BaseException:
        made = [s.level for s in spawned]
        if made:
            progress(Progress("cluster", f"removing the {len(made)} nodes made"))
            try:
                exiting.exit_many(made, rm_volume=True, timeout=5)
            except DindtuiError:
                pass
        raise
    progress(Progress("cluster", f"cluster {name}: {total} nodes ready", total, total))
    return Created(cluster, time.monotonic() - started, spawn_seconds, swarm, spawned)


def _spawn_nodes(at: Place, name: str, nodes: list[tuple[str, str]], store: str | None,
                 image: str | None, progress: ProgressCallback) -> list[spawning.SpawnResult]:
    done: list[str] = []

    def counted(report: Progress) -> None:
        if report.stage == "spawn" and report.message.endswith(" ready"):
            done.append(report.message)
            progress(Progress("cluster", f"{len(done)} of {len(nodes)} nodes started",
                              len(done), len(nodes)))

    def one(node: tuple[str, str]) -> spawning.SpawnResult | BaseException:
        try:
            return spawning.spawn(at, node[0], store=store, image=image, inherit_images=True,
                                  cluster=(name, node[1]), progress=counted)
        except (DindtuiError, *connect.API_ERRORS) as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(len(nodes), MAX_NODES)) as pool:
        outcomes = list(pool.map(one, nodes))
    made = [o for o in outcomes if isinstance(o, spawning.SpawnResult)]
    failed = [o for o in outcomes if not isinstance(o, spawning.SpawnResult)]
    if failed:
        if made:
            exiting.exit_many([s.level for s in made], rm_volume=True, timeout=5)
        raise ClusterError(f"{len(failed)} of {len(nodes)} nodes could not be spawned: "
                           f"{failed[0]}")
    return made


def node_address(level: Level) -> str:
    """The node's address on its parent's bridge (what the others join), checked to be an IP."""
    try:
        info = levels.parent_client(level).api.inspect_container(level.container_id)
    except connect.API_ERRORS as exc:
        raise ClusterError(f"the address of {level.path} could not be read: {exc}") from None
    settings = info.get("NetworkSettings") or {}
    candidates = [settings.get("IPAddress")] + [
        (n or {}).get("IPAddress") for n in (settings.get("Networks") or {}).values()]
    for value in candidates:
        if isinstance(value, str) and value:
            try:
                return str(ipaddress.ip_address(value))
            except ValueError:
                continue
    raise ClusterError(f"level {level.path} has no address on its parent's network")


def _api(level: Level) -> Any:
    return connect.client(levels.required(level.endpoint, f"the endpoint of {level.path}"),
                          check=False).api


def _form_swarm(cluster: Cluster, progress: ProgressCallback) -> None:
    first, *other_managers = cluster.managers
    progress(Progress("cluster", f"swarm init on {first.path}"))
    try:
        _api(first).init_swarm(advertise_addr=ADVERTISE, listen_addr=f"0.0.0.0:{SWARM_PORT}",
                               swarm_spec={"Labels": {swarm_view.CLUSTER_LABEL: cluster.name},
                                           "Dispatcher": {"HeartbeatPeriod": HEARTBEAT_NS}})
        tokens = _api(first).inspect_swarm().get("JoinTokens") or {}
    except connect.API_ERRORS as exc:
        raise ClusterError(f"swarm init on {first.path} failed: {guard.text(exc, 300)}") \
            from None
    remotes = [f"{node_address(first)}:{SWARM_PORT}"]
    for manager in other_managers:  # raft takes one new member at a time
        _join(manager, remotes, tokens.get("Manager"), progress)
        remotes.append(f"{node_address(manager)}:{SWARM_PORT}")
    if cluster.workers:
        with ThreadPoolExecutor(max_workers=len(cluster.workers)) as pool:
            list(pool.map(lambda w: _join(w, remotes, tokens.get("Worker"), progress),
                          cluster.workers))


def _join(node: Level, remotes: list[str], token: object, progress: ProgressCallback) -> None:
    if not isinstance(token, str) or not token:
        raise ClusterError("the swarm gave no join token")
    progress(Progress("cluster", f"{node.path} joins as a {node.role}"))
    try:
        _api(node).join_swarm(remotes, token, listen_addr=f"0.0.0.0:{SWARM_PORT}",
                              advertise_addr=ADVERTISE)
    except connect.API_ERRORS as exc:
        raise ClusterError(f"{node.path} could not join the swarm: {guard.text(exc, 300)}") \
            from None


def wait_ready(cluster: Cluster, total: int, progress: ProgressCallback,
               timeout: float = READY_TIMEOUT) -> swarm_view.SwarmView:
    """Until the swarm lists `total` nodes, every one Ready; a deadline that says what is
    missing when it ends."""
    deadline = time.monotonic() + timeout
    manager = cluster.manager_level()
    if manager is None:
        raise ClusterError(f"no manager of {cluster.name} answers")
    shown = -1
    view: swarm_view.SwarmView | None = None
    while True:
        view = swarm_view.read(manager)
        ready = view.ready if view else 0
        if ready != shown:
            shown = ready
            progress(Progress("cluster", f"{ready} of {total} nodes Ready", ready, total))
        if view is not None and len(view.nodes) >= total and ready >= total:
            return view
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{n.hostname} {n.state}" for n in (view.nodes if view else [])
                                if n.state != "ready") or "nodes not listed yet"
            raise ClusterError(f"the swarm of {cluster.name} had {ready} of {total} nodes "
                               f"Ready after {timeout:g}s (waiting for: {waiting})")
        time.sleep(0.1)


def remove(cluster: Cluster, *, timeout: float | None = None,
           on_event: exiting.ExitCallback | None = None) -> list[str]:
    """The nodes leave the swarm (workers, then managers; a node that cannot is exited all
    the same), then are exited with their volumes within one budget."""
    for group in (cluster.workers, cluster.managers):
        ready = [n for n in group if n.state == levels.READY and n.endpoint]
        if ready:
            with ThreadPoolExecutor(max_workers=len(ready)) as pool:
                list(pool.map(_leave, ready))
    return exiting.exit_many(list(cluster.nodes), rm_volume=True, on_event=on_event,
                             timeout=timeout)


def _leave(node: Level) -> None:
    try:
        _api(node).leave_swarm(force=True)
    except connect.API_ERRORS:
        pass  # not in a swarm any more, or its daemon broken: it is exited next anyway
