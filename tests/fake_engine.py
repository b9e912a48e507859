"""An engine for the UI-only tests: the protocol the TUI asks of an engine (engine/api.py's
TUIEngine, as the real Engine has it), over a tree held in memory; mypy checks it against the
protocol. It records every call, can fail on demand, and can hold a task until the
test lets it go, so UI flows (busy, errors, dialogs, quit, events) test in milliseconds. The
behaviour behind each of them keeps its test against the real engine."""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future

import threading
from dataclasses import dataclass, field

from dindtui.engine.tree import levels
from dindtui.engine.explore import stats
from dindtui.engine.explore import inside
from dindtui.engine.explore.inside import Ran
from dindtui.engine.api import TUIEngine
from dindtui.engine.explore.details import (ContainerRow, ImageRow, LevelDetails, NetworkRow,
                                            VolumeRow)
from dindtui.engine.errors import DindtuiError
from dindtui.engine.tree.levels import Level
from dindtui.engine.lifecycle.exiting import ExitEvent
from dindtui.engine.lifecycle.images import PushResult
from dindtui.engine.lifecycle.spawn import SpawnResult
from dindtui.engine.disk.usage import (CleanupItem, CleanupPlan, CleanupResult, UsageReport,
                                       VolumeUsage)
from dindtui.engine.swarm.clusters import Cluster, Created
from dindtui.engine.swarm.view import SwarmNode, SwarmService, SwarmTask, SwarmView

MB = 1_000_000


def fixed_tree(children: bool = True) -> Level:
    root = Level("host", "", 0, "ready", "unix:///var/run/docker.sock", version="20.10.24+dfsg1")
    if not children:
        return root
    l1 = Level("l1", "l1", 1, "ready", "unix:///run/dindtui/c/l1/docker.sock",
               socket_dir="/run/dindtui/c/l1", container_id="c1a2b3c4d5e6f7",
               volume="dindtui-l1-aa", privilege="capabilities", strategy="seed",
               version="26.1.5+dfsg1", parent=root)
    l2 = Level("l2", "l1/l2", 2, "ready", "unix:///run/dindtui/c/l1/c/l2/docker.sock",
               container_id="d2e3f4a5b6c7d8", volume="dindtui-l2-bb", privilege="privileged",
               strategy="seed", version="26.1.5+dfsg1", parent=l1)
    l3 = Level("l3", "l1/l2/l3", 3, "ready", "unix:///run/dindtui/c/l1/c/l2/c/l3/docker.sock",
               container_id="e3f4a5b6c7d8e9", volume="dindtui-l3-cc", privilege="privileged",
               strategy="seed", version="26.1.5+dfsg1", port=2376, parent=l2)
    side = Level("side", "l1/side", 2, "dead", None, container_id="f4a5b6c7d8e9f0",
                 volume="dindtui-side-dd", privilege="privileged", parent=l1)
    root.children, l1.children, l2.children = [l1], [l2, side], [l3]
    return root


def fixed_forest() -> list[Level]:
    """Two engines, as `dindtui -H unix:///var/run/docker.sock -H tcp://10.0.0.7:2376` shows
    them: each root's path is its engine's label, and begins the paths below it."""
    host = Level("host", "host", 0, "ready", "unix:///var/run/docker.sock",
                 version="20.10.24+dfsg1")
    l1 = Level("l1", "host/l1", 1, "ready", "unix:///run/dindtui/c/l1/docker.sock",
               socket_dir="/run/dindtui/c/l1", container_id="c1a2b3c4d5e6f7",
               volume="dindtui-l1-aa", privilege="capabilities", strategy="seed",
               version="26.1.5+dfsg1", parent=host)
    host.children = [l1]
    far = Level("10.0.0.7:2376", "10.0.0.7:2376", 0, "ready", "tcp://10.0.0.7:2376",
                version="27.3.1")
    r1 = Level("l1", "10.0.0.7:2376/l1", 1, "ready", "unix:///tmp/dindtui-x/aa.sock",
               container_id="a9b8c7d6e5f4a3", volume="dindtui-l1-ff", privilege="privileged",
               strategy="stream", version="26.1.5+dfsg1", parent=far)
    r2 = Level("deep", "10.0.0.7:2376/l1/deep", 2, "ready", "unix:///tmp/dindtui-x/bb.sock",
               container_id="b8c7d6e5f4a3b2", volume="dindtui-deep-ee", privilege="privileged",
               strategy="seed", version="26.1.5+dfsg1", parent=r1)
    far.children, r1.children = [r1], [r2]
    down = Level("ci", "ci", 0, "unreachable", "ssh://ci.example",
                 error="no Docker engine answers at ssh://ci.example")
    return [host, far, down]


def fixed_cluster_tree() -> Level:
    """Level 0 with a plain level and a cluster "demo" of one manager and two workers."""
    root = fixed_tree(children=False)
    l1 = Level("l1", "l1", 1, "ready", "unix:///run/dindtui/c/l1/docker.sock",
               container_id="c1a2b3c4d5e6f7", volume="dindtui-l1-aa", privilege="capabilities",
               strategy="seed", version="26.1.5+dfsg1", parent=root)
    root.children = [l1]
    for name, role in (("demo-m1", "manager"), ("demo-w1", "worker"), ("demo-w2", "worker")):
        root.children.append(Level(
            name, name, 1, "ready", f"unix:///run/dindtui/c/{name}/docker.sock",
            container_id=(name.encode().hex() + "0" * 14)[:14], volume=f"dindtui-{name}-aa",
            privilege="capabilities", strategy="seed", version="26.1.5+dfsg1",
            cluster="demo", role=role, parent=root))
    return root


def fixed_swarm() -> SwarmView:
    """The swarm of cluster demo: a 4-replica service spread over the nodes, a global one."""
    nodes = [SwarmNode(f"n{i}" + "0" * 23, name, role, "active", "ready", i == 1,
                       "reachable" if role == "manager" else "", "26.1.5+dfsg1",
                       f"172.17.0.{i + 1}")
             for i, (name, role) in enumerate((("demo-m1", "manager"), ("demo-w1", "worker"),
                                               ("demo-w2", "worker")), start=1)]
    view = SwarmView("demo-m1", "y0" + "1" * 23, "demo", nodes[0].id, True, nodes)
    view.services = [SwarmService("s1" + "0" * 23, "web", "replicated", 4, 4, "tiny:latest"),
                     SwarmService("s2" + "0" * 23, "agent", "global", None, 3, "tiny:latest")]
    placed = ["demo-m1", "demo-w1", "demo-w2", "demo-w1"]
    view.tasks = [SwarmTask(f"t{slot}" + "0" * 23, "web", slot, node, "running", "running", "")
                  for slot, node in enumerate(placed, start=1)]
    view.tasks += [SwarmTask(f"g{i}" + "0" * 23, "agent", None, node.hostname, "running",
                             "running", "") for i, node in enumerate(nodes)]
    return view


def fixed_report() -> UsageReport:
    return UsageReport([
        VolumeUsage("dindtui-l1-aa", "", "l1", 1, "live", "c1", 12 * MB, 417 * MB),
        VolumeUsage("dindtui-l2-bb", "l1", "l1/l2", 2, "live", "d2", 8 * MB, 417 * MB),
        VolumeUsage("dindtui-l3-cc", "l1/l2", "l1/l2/l3", 3, "live", "e3", 31 * MB, 417 * MB),
        VolumeUsage("dindtui-side-dd", "l1", "l1/side", 2, "dead", "f4", 5 * MB, 417 * MB,
                    5 * MB),
        VolumeUsage("dindtui-old-ee", "", "old", 1, "orphan", None, 140 * MB, 0, 140 * MB),
    ], 196 * MB, "inode")


def fixed_details(path: str, depth: int | None = None) -> LevelDetails:
    if path == "host" or depth == 0:
        return LevelDetails(path, 0, "ready", "20.10.24+dfsg1", "overlay2", "1",
                            endpoint="unix:///var/run/docker.sock",
                            containers=[ContainerRow("c1a2b3c4d5e6", "dindtui-l1",
                                                     "dindtui:latest", "running", "Up 2 hours",
                                                     True, "l1")],
                            images=[ImageRow("16331ace4159", ("dindtui:latest",), 413 * MB)])
    return LevelDetails(
        path, path.count("/") + 1 if depth is None else depth, "ready", "26.1.5+dfsg1",
        "overlay2", "1", "privileged",
        "seed", "unix:///run/dindtui/c/l1/c/l2/c/l3/docker.sock", 2376, 3725.0, "dindtui-l3-cc",
        containers=[ContainerRow("0a1b2c3d4e5f", "web", "tiny", "running", "Up 5 minutes", False,
                                 ports="0.0.0.0:8080->80/tcp"),
                    ContainerRow("1b2c3d4e5f60", "job", "tiny", "exited",
                                 "Exited (0) 2 minutes ago", False)],
        images=[ImageRow("16331ace4159", ("dindtui:latest",), 413 * MB),
                ImageRow("9f8e7d6c5b4a", ("tiny:latest",), 3 * MB, used_by=2)],
        volumes=[VolumeRow("data", "local", 1)],
        networks=[NetworkRow("aa11bb22cc33", "bridge", "bridge", "local", 1),
                  NetworkRow("bb22cc33dd44", "host", "host", "local", 0)])


def fixed_usage(points: int = 30) -> stats.Usage:
    """A history that looks like a container at work (a wave), always the same."""
    usage = stats.Usage()
    for i in range(points):
        usage.cpu.append(5 + 20 * abs((i % 10) - 5) / 5)
        usage.memory.append((40 + i) * MB)
    usage.memory_limit = 2000 * MB
    return usage


class FakeSampler:
    """The stats sampler's surface: the app says what to follow; the test says what it read."""

    def __init__(self, on_round) -> None:
        self.on_round = on_round
        self.targets: dict[str, tuple[str, str]] = {}
        self.visible: set[str] | None = None
        self.usage: dict[str, stats.Usage] = {}

    def follow(self, targets: dict[str, tuple[str, str]],
               visible: set[str] | None = None) -> None:
        self.targets = dict(targets)
        self.visible = None if visible is None else set(visible)

    def read(self, usage: dict[str, stats.Usage]) -> None:
        """A round of readings, as the real sampler's thread would report it."""
        self.usage = dict(usage)
        self.on_round(set(usage))

    def close(self) -> None:
        pass


class FakeFollower:
    """A log follower fed by the test (`feed`), drained by the screen like the real one."""

    def __init__(self, on_ready, lines: list[str]) -> None:
        self.on_ready = on_ready
        self.pending: list[str] = list(lines)
        self.ended = False
        self.error: str | None = None
        self.closed = False
        if self.pending:
            on_ready()

    def feed(self, lines: list[str]) -> None:
        was_empty = not self.pending
        self.pending += lines
        if was_empty:
            self.on_ready()

    def drain(self) -> list[str]:
        lines, self.pending = self.pending, []
        return lines

    def close(self) -> None:
        self.closed = True


LOG = [f"2026-11-29T09:00:{i:02d}.000000000Z GET /item/{i} 200" if i % 3 else
       f"2026-11-29T09:00:{i:02d}.000000000Z POST /login 401 denied" for i in range(30)]


def fixed_plan() -> CleanupPlan:
    return CleanupPlan([CleanupItem("dindtui-side-dd", "l1", "l1/side", "dead", "f4", 5 * MB),
                        CleanupItem("dindtui-old-ee", "", "old", "orphan", None, 140 * MB)])


class FakeWatcher:
    def __init__(self) -> None:
        self.endpoints: set[str] = set()

    def watch(self, endpoints: set[str]) -> None:
        self.endpoints = set(endpoints)

    def close(self) -> None:
        self.endpoints = set()


@dataclass
class FakeEngine:
    """`fail` maps a method name to the exception it raises; `hold` names methods that wait
    for `release` before returning (a task that is still running)."""

    tree: Level | None = field(default_factory=fixed_tree)
    forest: list[Level] | None = None  # several engines: these roots instead of `tree`
    report: UsageReport = field(default_factory=fixed_report)
    plan: CleanupPlan = field(default_factory=fixed_plan)
    fail: dict[str, BaseException] = field(default_factory=dict)
    hold: set[str] = field(default_factory=set)
    calls: list[tuple] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    shell_status: int = 0
    swarm_state: SwarmView = field(default_factory=fixed_swarm)

    def _call(self, name: str, *args):
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail[name]
        if name in self.hold:
            assert self.release.wait(30), f"the test never released {name}"

    def called(self, name: str) -> list[tuple]:
        return [call[1:] for call in self.calls if call[0] == name]

    @property
    def roots(self) -> list[Level]:
        if self.forest is not None:
            return self.forest
        if self.tree is None:
            raise DindtuiError("no Docker engine answers at unix:///var/run/docker.sock")
        return [self.tree]

    def discover(self) -> list[Level]:
        self._call("discover")
        return self.roots

    def discover_soon(self) -> Future[list[Level]]:
        first: Future[list[Level]] = Future()
        try:
            first.set_result(self.discover())
        except Exception as exc:  # noqa: BLE001 - as the real one: the waiter says it
            first.set_exception(exc)
        return first

    def reread(self, level: Level) -> Level:
        self._call("reread", level.path)
        return levels.find_in(self.roots, level.path) if self.tree else level

    def find(self, ref: str) -> Level:  # the CLI's
        return levels.find_in(self.roots, ref)

    def rows(self, level: Level) -> list[ContainerRow]:  # the CLI's ps
        self._call("rows", level.label)
        return self.details(level).containers

    def details(self, level: Level) -> LevelDetails:
        self._call("details", level.label)
        made = fixed_details(level.label, level.depth)
        if level.cluster:
            made = dataclasses.replace(made, cluster=level.cluster, swarm=level.role)
        if level.state != levels.READY:  # as the engine: a daemon that does not answer says nothing
            return dataclasses.replace(made, state=level.state, containers=[], images=[],
                                       volumes=[], networks=[], error=level.error)
        return made

    def measure(self) -> UsageReport:
        self._call("measure")
        return self.report

    def default_name(self, parent: Level) -> str:
        return f"l{parent.depth + 1}-new"

    def spawn(self, parent_path: str, name: str, progress, store=None) -> SpawnResult:
        self._call("spawn", parent_path, name, *([store] if store else []))
        parent = levels.find_in(self.roots, parent_path)
        child = Level(name, f"{parent.path}/{name}" if parent.path else name, parent.depth + 1,
                      "ready", f"unix:///fake/{name}.sock", container_id="0" * 14,
                      parent=parent)
        parent.children.append(child)
        return SpawnResult(child, "seed", None, 0.5, 0.6)

    def exit_level(self, path: str, on_event, rm_volume: bool = False,
                   timeout: float | None = None) -> list[str]:
        self._call("exit_level", path)
        level = levels.find_in(self.roots, path)
        exited = [lv.path for lv in reversed(list(level.walk()))]
        for lv in reversed(list(level.walk())):
            on_event(ExitEvent(lv.path, lv.depth, "exiting", "c0ffee"))
            on_event(ExitEvent(lv.path, lv.depth, "exited", "c0ffee"))
        levels.required(level.parent, "its parent").children.remove(level)
        return exited

    def collapse(self, on_event, rm_volume: bool = False,
                 timeout: float | None = None) -> list[str]:
        self._call("collapse")
        exited = []
        for root in self.roots:
            for child in list(root.children):
                exited += self.exit_level(child.path, on_event)
        return exited

    def revive(self, path: str, progress) -> list[str]:
        self._call("revive", path)
        revived = []
        for level in levels.find_in(self.roots, path).walk():
            if level.state in levels.STOPPED:
                level.state = levels.READY
                revived.append(level.path)
        return revived

    def plan_cleanup(self) -> CleanupPlan:
        self._call("plan_cleanup")
        return self.plan

    def apply_cleanup(self, plan: CleanupPlan, progress) -> CleanupResult:
        self._call("apply_cleanup", [item.volume for item in plan.items])
        return CleanupResult(removed=list(plan.items))

    def shell(self, level: Level) -> int:
        self._call("shell", level.path)
        return self.shell_status

    def container_shell(self, level: Level, ref: str) -> int:
        self._call("container_shell", level.path, ref)
        return self.shell_status

    def inspect(self, level: Level, ref: str) -> dict:
        self._call("inspect", level.path, ref)
        return {"Id": ref + "9" * 52, "Name": "/web", "State": {"Status": "running",
                "Running": True, "Pid": 4242}, "Config": {"Image": "tiny", "Env": ["A=1"],
                "Cmd": ["/bin/sleep", "1d"]}, "Mounts": []}

    def act(self, level: Level, ref: str, action: str) -> str:
        self._call("act", level.path, ref, action)
        return f"{ref} {action}ed in {level.label}"

    def run(self, level: Level, image: str, command: str, name: str) -> Ran:
        self._call("run", level.path, image, command, name)
        if image == "dindtui:latest":  # as on a new level: its entrypoint refuses at once
            return Ran(ContainerRow("8" * 12, name or "fancy_name", image, "exited",
                                    "Exited (3) Less than a second ago"), 3,
                       "dindtui-init: not enough privilege to run a Docker daemon")
        return Ran(ContainerRow("9" * 12, name or "fancy_name", image, "running",
                                "Up 1 second"))

    def images_above(self, level: Level) -> dict[str, str]:
        self._call("images_above", level.path)
        return {"alpine:3.20": "host", "tiny:latest": "l1"} if level.depth > 1 else {}

    def push(self, level: Level, image: str, progress=None) -> PushResult:
        self._call("push", level.path, image)
        return PushResult(image, "sha256:" + "0" * 12, "streamed", 3_000_000, 0.1)

    def remove_image(self, level: Level, ref: str) -> str:
        self._call("remove_image", level.path, ref)
        return f"image {ref} removed from {level.label}"

    def remove_volume(self, level: Level, name: str) -> str:
        self._call("remove_volume", level.path, name)
        return f"volume {name} removed from {level.label}"

    def follow_logs(self, level: Level, ref: str, on_ready) -> FakeFollower:
        self._call("follow_logs", level.path, ref)
        self.follower = FakeFollower(on_ready, LOG)
        return self.follower

    def forget_gone(self, roots: list[Level]) -> None:
        self.kept = {lv.endpoint for lv in levels.walk_all(roots) if lv.endpoint}

    def sampler(self, on_round) -> FakeSampler:
        self.stats = FakeSampler(on_round)
        return self.stats

    def index(self, roots: list[Level]) -> tuple[list[inside.Hit], list[str]]:
        self._call("index")
        hits = []
        for level in levels.walk_all(roots):
            if level.state == "ready":
                for row in fixed_details(level.label).containers:
                    hits.append(inside.Hit(level.path, "container", row.name, row.id,
                                           f"{row.image}  {row.state}",
                                           f"{row.name} {row.image} {row.id}"))
        return hits, []

    def create_cluster(self, parent_path: str, name: str, managers: int, workers: int,
                       progress) -> Created:
        """As the engine does: the nodes as sibling levels labelled with the cluster."""
        self._call("create_cluster", parent_path, name, managers, workers)
        parent = levels.find_in(self.roots, parent_path)
        nodes = []
        for node_name, role in ([(f"{name}-m{i}", "manager") for i in range(1, managers + 1)]
                                + [(f"{name}-w{i}", "worker") for i in range(1, workers + 1)]):
            node = Level(node_name, f"{parent.path}/{node_name}" if parent.path else node_name,
                         parent.depth + 1, "ready", f"unix:///fake/{node_name}.sock",
                         container_id="0" * 14, cluster=name, role=role, parent=parent)
            parent.children.append(node)
            nodes.append(node)
        return Created(Cluster(name, parent, nodes), 1.5, 1.0, None, [])

    def swarm(self, level: Level) -> SwarmView | None:
        """The swarm as `level` knows it: a manager sees it all, a worker only itself."""
        self._call("swarm", level.label)
        if not level.cluster or level.state != levels.READY:
            return None
        view = dataclasses.replace(self.swarm_state, level=level.path,
                                   manager=level.role == "manager")
        if not view.manager:
            view.nodes, view.services, view.tasks = [], [], []
        return view

    def set_availability(self, level: Level, node: str, availability: str) -> str:
        """As a swarm does: a drained node's tasks move to the active nodes."""
        self._call("set_availability", level.path, node, availability)
        state = self.swarm_state
        state.nodes = [dataclasses.replace(n, availability=availability)
                       if n.hostname == node else n for n in state.nodes]
        active = [n.hostname for n in state.nodes
                  if n.availability == "active" and n.state == "ready"]
        if availability == "drain":
            state.tasks = [dataclasses.replace(t, node=active[t.slot % len(active)])
                           if t.node == node and t.slot is not None else t
                           for t in state.tasks if not (t.node == node and t.slot is None)]
        return f"node {node} is {availability}"

    def scale_service(self, level: Level, service: str, replicas: int) -> str:
        self._call("scale_service", level.path, service, replicas)
        state = self.swarm_state
        active = [n.hostname for n in state.nodes if n.availability == "active"]
        kept = [t for t in state.tasks if t.service != service or (t.slot or 0) <= replicas]
        have = {t.slot for t in kept if t.service == service}
        kept += [SwarmTask(f"t{slot}" + "1" * 23, service, slot, active[slot % len(active)],
                           "running", "running", "")
                 for slot in range(1, replicas + 1) if slot not in have]
        state.tasks = kept
        state.services = [dataclasses.replace(s, wanted=replicas, running=replicas)
                          if s.name == service else s for s in state.services]
        return f"service {service} scaled to {replicas}"

    def kill_level(self, level: Level) -> str:
        self._call("kill_level", level.path)
        level.state = levels.EXITED
        self.swarm_state.nodes = [dataclasses.replace(n, state="down")
                                  if n.hostname == level.name else n
                                  for n in self.swarm_state.nodes]
        return f"level {level.path} killed: `revive` starts it again"

    def watcher(self, on_event, on_state) -> FakeWatcher:
        self.on_event, self.on_state = on_event, on_state
        return FakeWatcher()


_checked: TUIEngine = FakeEngine()  # mypy: the fake has the protocol the TUI uses
