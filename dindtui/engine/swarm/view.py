"""A swarm as a manager level's daemon reports it: its nodes, services and tasks, read with a
bound and as text (a level's swarm is as hostile as anything else it writes); and the few
things a user changes on it by hand: a node's availability, a service's replicas.

Any level can be a swarm node, ours (`cluster create`) or made by hand (`docker swarm init` in a
level); `read` tells them apart by what the swarm says of itself, never by a label alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import guard
from ..errors import DindtuiError
from ..net import connect
from ..tree import levels
from ..tree.levels import Level

MAX_NODES, MAX_SERVICES, MAX_TASKS = 256, 256, 4096
AVAILABILITIES = ("active", "pause", "drain")
CLUSTER_LABEL = "dindtui.cluster"  # in the swarm's own spec: the name `cluster create` gave


@dataclass(frozen=True)
class SwarmNode:
    id: str
    hostname: str
    role: str            # manager | worker
    availability: str    # active | pause | drain
    state: str           # ready | down | unknown | disconnected
    leader: bool
    reachability: str    # a manager's: reachable | unreachable | "" for a worker
    engine: str
    addr: str

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class SwarmService:
    id: str
    name: str
    mode: str            # replicated | global
    wanted: int | None   # replicas asked for; None for a global service
    running: int
    image: str

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class SwarmTask:
    id: str
    service: str         # the service's name
    slot: int | None
    node: str            # the node's hostname ("" while unassigned)
    state: str           # running, preparing, pending, rejected, ...
    desired: str
    error: str

    @property
    def label(self) -> str:
        return f"{self.service}.{self.slot}" if self.slot is not None else self.service

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy() | {"label": self.label}


@dataclass
class SwarmView:
    """What one level knows of its swarm. `manager`: it can list the whole swarm (nodes,
    services, tasks); a worker knows only that it is one."""

    level: str                       # the path of the level it was read from
    cluster_id: str
    name: str                        # the name `cluster create` gave it, or "" (made by hand)
    node_id: str
    manager: bool
    nodes: list[SwarmNode] = field(default_factory=list)
    services: list[SwarmService] = field(default_factory=list)
    tasks: list[SwarmTask] = field(default_factory=list)
    error: str | None = None

    @property
    def ready(self) -> int:
        return sum(1 for node in self.nodes if node.state == "ready")

    @property
    def leader(self) -> str:
        return next((node.hostname for node in self.nodes if node.leader), "")

    def tasks_by_node(self) -> dict[str, list[SwarmTask]]:
        """The visualizer's columns: each node's tasks that should run (by service, slot), in
        node order; tasks not yet placed under ""."""
        columns: dict[str, list[SwarmTask]] = {node.hostname: [] for node in self.nodes}
        for task in self.tasks:
            if task.desired == "running":
                columns.setdefault(task.node, []).append(task)
        for tasks in columns.values():
            tasks.sort(key=lambda t: (t.service, t.slot or 0, t.id))
        return columns

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "cluster_id": self.cluster_id, "name": self.name,
                "node_id": self.node_id, "manager": self.manager, "ready": self.ready,
                "leader": self.leader, "error": self.error,
                "nodes": [n.to_dict() for n in self.nodes],
                "services": [s.to_dict() for s in self.services],
                "tasks": [t.to_dict() for t in self.tasks]}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object, limit: int) -> list[dict[str, Any]]:
    return [item for item in value[:limit] if isinstance(item, dict)] \
        if isinstance(value, list) else []


def _word(value: object, limit: int = 24) -> str:
    return guard.text(value, limit).lower() if isinstance(value, str) else ""


def local_state(level: Level) -> dict[str, Any] | None:
    """The swarm part of `docker info` on `level`'s daemon, or None when it is no active swarm
    node (or cannot be read)."""
    if level.state != levels.READY or level.endpoint is None:
        return None
    try:
        info = connect.client(level.endpoint, check=False).info()
    except connect.API_ERRORS:
        return None
    swarm = _dict(_dict(info).get("Swarm"))
    return swarm if swarm.get("LocalNodeState") == "active" else None


def read(level: Level) -> SwarmView | None:
    """`level`'s swarm, in full when it is a manager; None when it is not in one."""
    swarm = local_state(level)
    if swarm is None:
        return None
    cluster = _dict(swarm.get("Cluster"))
    view = SwarmView(level=level.path, cluster_id=guard.text(cluster.get("ID"), 64),
                     name="", node_id=guard.text(swarm.get("NodeID"), 64),
                     manager=swarm.get("ControlAvailable") is True)
    name = _dict(_dict(cluster.get("Spec")).get("Labels")).get(CLUSTER_LABEL)
    if isinstance(name, str) and levels.name_problem(name) is None:
        view.name = name
    if not view.manager:
        return view
    api = connect.client(levels.required(level.endpoint, "its endpoint"), check=False).api
    try:
        nodes = _list(api.nodes(), MAX_NODES)
        services = _list(api.services(), MAX_SERVICES)
        tasks = _list(api.tasks(), MAX_TASKS)
    except connect.API_ERRORS as exc:
        view.error = guard.text(f"the swarm could not be read: {exc}", 300)
        return view
    view.nodes = sorted((_node(n) for n in nodes), key=lambda n: (n.role != "manager",
                                                                   n.hostname))
    hostnames = {n.id: n.hostname for n in view.nodes}
    names = {guard.text(s.get("ID"), 64): guard.text(_dict(s.get("Spec")).get("Name"), 64)
             for s in services}
    view.tasks = [_task(t, names, hostnames) for t in tasks]
    running: dict[str, int] = {}
    for task in view.tasks:
        if task.state == "running" and task.desired == "running":
            running[task.service] = running.get(task.service, 0) + 1
    view.services = sorted((_service(s, running) for s in services), key=lambda s: s.name)
    return view


def _node(node: dict[str, Any]) -> SwarmNode:
    spec, status = _dict(node.get("Spec")), _dict(node.get("Status"))
    manager = _dict(node.get("ManagerStatus"))
    description = _dict(node.get("Description"))
    return SwarmNode(
        id=guard.text(node.get("ID"), 64),
        hostname=guard.text(description.get("Hostname"), 64),
        role=_word(spec.get("Role")), availability=_word(spec.get("Availability")),
        state=_word(status.get("State")), leader=manager.get("Leader") is True,
        reachability=_word(manager.get("Reachability")),
        engine=guard.text(_dict(description.get("Engine")).get("EngineVersion"), 40),
        addr=guard.text(status.get("Addr"), 64))


def _service(service: dict[str, Any], running: dict[str, int]) -> SwarmService:
    spec = _dict(service.get("Spec"))
    mode = _dict(spec.get("Mode"))
    replicas = _dict(mode.get("Replicated")).get("Replicas")
    name = guard.text(spec.get("Name"), 64)
    image = guard.text(_dict(_dict(spec.get("TaskTemplate")).get("ContainerSpec")).get("Image"),
                       200).split("@sha256:")[0]
    return SwarmService(
        id=guard.text(service.get("ID"), 64), name=name,
        mode="replicated" if "Replicated" in mode else "global" if "Global" in mode else "other",
        wanted=replicas if isinstance(replicas, int) and 0 <= replicas < 1 << 31 else None,
        running=running.get(name, 0), image=image)


def _task(task: dict[str, Any], services: dict[str, str], nodes: dict[str, str]) -> SwarmTask:
    status = _dict(task.get("Status"))
    slot = task.get("Slot")
    return SwarmTask(
        id=guard.text(task.get("ID"), 64),
        service=services.get(guard.text(task.get("ServiceID"), 64), "?"),
        slot=slot if isinstance(slot, int) and 0 <= slot < 1 << 31 else None,
        node=nodes.get(guard.text(task.get("NodeID"), 64), ""),
        state=_word(status.get("State")), desired=_word(task.get("DesiredState")),
        error=guard.text(status.get("Err"), 200))


# ------------------------------------------------------------------ changes made by hand

def _manager_api(level: Level) -> Any:
    swarm = local_state(level)
    if swarm is None:
        raise DindtuiError(f"level {level.label} is not a swarm node")
    if swarm.get("ControlAvailable") is not True:
        raise DindtuiError(f"level {level.label} is a worker: ask one of the swarm's managers")
    return connect.client(levels.required(level.endpoint, "its endpoint"), check=False).api


def set_availability(level: Level, node: str, availability: str) -> str:
    """Drain, pause or activate the node `node` (hostname or id) of `level`'s swarm."""
    if availability not in AVAILABILITIES:
        raise DindtuiError(f"availability must be one of {', '.join(AVAILABILITIES)}")
    api = _manager_api(level)
    try:
        found = [n for n in _list(api.nodes(), MAX_NODES)
                 if node in (n.get("ID"), _dict(n.get("Description")).get("Hostname"))]
        if len(found) != 1:
            raise DindtuiError(f"no single node {guard.text(node, 64)!r} in the swarm of "
                               f"{level.label}")
        spec = _dict(found[0].get("Spec")) | {"Availability": availability}
        version = _dict(found[0].get("Version")).get("Index")
        api.update_node(found[0]["ID"], version, spec)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"setting node {guard.text(node, 64)} to {availability} failed: "
                           f"{guard.text(exc, 300)}") from None
    return f"node {guard.text(node, 64)} is {availability}"


def scale(level: Level, service: str, replicas: int) -> str:
    """Set how many replicas the replicated service `service` (name or id) asks for."""
    if not 0 <= replicas <= 1000:
        raise DindtuiError("replicas must be 0 to 1000")
    api = _manager_api(level)
    try:
        found = [s for s in _list(api.services(), MAX_SERVICES)
                 if service in (s.get("ID"), _dict(s.get("Spec")).get("Name"))]
        if len(found) != 1:
            raise DindtuiError(f"no single service {guard.text(service, 64)!r} in the swarm of "
                               f"{level.label}")
        spec = _dict(found[0].get("Spec"))
        if "Replicated" not in _dict(spec.get("Mode")):
            raise DindtuiError(f"service {guard.text(service, 64)} is global: it runs one task "
                               "per node and cannot be scaled")
        version = _dict(found[0].get("Version")).get("Index")
        api.update_service(found[0]["ID"], version, mode={"Replicated": {"Replicas": replicas}},
                           fetch_current_spec=True)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"scaling {guard.text(service, 64)} failed: "
                           f"{guard.text(exc, 300)}") from None
    return f"service {guard.text(service, 64)} scaled to {replicas}"
