"""The swarm tab (6) of the detail pane: the swarm a level is a node of, as its manager reports
it — its nodes (role, availability, state, leader), its services (replicas running and
wanted), and the classic visualizer: one column per node, the tasks on it as they move."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from .. import actions
from ..actions import bindings
from .tables import KeyedTable, selected_key, sync

if TYPE_CHECKING:
    from ..engine.swarm.view import SwarmNode, SwarmService, SwarmView

TASK_STYLE = {"running": "green", "failed": "red", "rejected": "red", "shutdown": "dim",
              "complete": "dim", "orphaned": "red"}
NODE_STYLE = {"ready": "green", "down": "red", "disconnected": "red", "unknown": "yellow"}


class SwarmNodesTable(KeyedTable):
    """The swarm's nodes; `a` drains or activates the one under the cursor, `K` kills its
    level, `v` revives it (the screen acts)."""

    BINDINGS = bindings(actions.SWARM_NODES_TABLE)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.by_key: dict[str, SwarmNode] = {}
        for column in ("node", "state", "availability", "role", "manager", "engine"):
            self.add_column(column, key=column)

    def name_of(self, key: str) -> str:
        node = self.by_key.get(key)
        return node.hostname if node is not None else key

    @property
    def selected(self) -> SwarmNode | None:
        key = selected_key(self)
        return self.by_key.get(key) if key else None

    def show(self, nodes: list[SwarmNode]) -> None:
        self.by_key = {node.id: node for node in nodes}
        sync(self, ((node.id, (
            Text(node.hostname, style="bold"),
            Text(node.state, style=NODE_STYLE.get(node.state, "")),
            Text(node.availability, style="" if node.availability == "active" else "yellow"),
            node.role, Text("leader", style="cyan") if node.leader else node.reachability,
            node.engine.split("+")[0])) for node in nodes))


class SwarmServicesTable(KeyedTable):
    """The swarm's services; `+`/`-` scale the one under the cursor (the screen acts)."""

    BINDINGS = bindings(actions.SWARM_SERVICES_TABLE)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.by_key: dict[str, SwarmService] = {}
        for column in ("service", "replicas", "mode", "image"):
            self.add_column(column, key=column)

    def name_of(self, key: str) -> str:
        service = self.by_key.get(key)
        return service.name if service is not None else key

    @property
    def selected(self) -> SwarmService | None:
        key = selected_key(self)
        return self.by_key.get(key) if key else None

    def show(self, services: list[SwarmService]) -> None:
        self.by_key = {service.id: service for service in services}

        def replicas(service: SwarmService) -> Text:
            if service.wanted is None:  # global: one task per node
                return Text(str(service.running), style="green")
            done = service.running == service.wanted
            return Text(f"{service.running}/{service.wanted}",
                        style="green" if done else "yellow")

        sync(self, ((service.id, (Text(service.name, style="bold"), replicas(service),
                                  service.mode, service.image)) for service in services))


def tasks_grid(view: SwarmView, width: int) -> Table:
    """One column per node, its tasks (that should run) under it, coloured by state; a node
    that is down says so in its header."""
    columns = view.tasks_by_node()
    states = {node.hostname: node for node in view.nodes}
    table = Table(box=None, padding=(0, 2, 0, 0), expand=False, show_edge=False)
    for hostname in columns:
        node = states.get(hostname)
        header = Text(hostname or "(not placed)", style="bold")
        if node is not None and node.state != "ready":
            header.append(f" {node.state}", style="red")
        elif node is not None and node.availability != "active":
            header.append(f" {node.availability}", style="yellow")
        table.add_column(header, no_wrap=True, overflow="ellipsis",
                         max_width=max(12, width // max(1, len(columns)) - 2))
    height = max((len(tasks) for tasks in columns.values()), default=0)
    for row in range(height):
        cells: list[Text | str] = []
        for tasks in columns.values():
            if row < len(tasks):
                task = tasks[row]
                cells.append(Text.assemble(("■ ", TASK_STYLE.get(task.state, "yellow")),
                                           task.label, (f" {task.state}", "dim")
                                           if task.state != "running" else ""))
            else:
                cells.append("")
        table.add_row(*cells)
    return table


class SwarmPanel(Vertical):
    """What the swarm tab draws; `show` takes a fresh reading, None when the level is in no
    swarm (or it could not be read)."""

    DEFAULT_CSS = """
    SwarmPanel { height: 1fr; }
    SwarmPanel > #swarm-head { height: auto; }
    SwarmPanel > SwarmNodesTable { height: auto; max-height: 9; }
    SwarmPanel > SwarmServicesTable { height: auto; max-height: 7; margin-top: 1; }
    SwarmPanel > VerticalScroll { height: 1fr; margin-top: 1; }
    """

    view: SwarmView | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="swarm-head")
        yield SwarmNodesTable(id="swarm-nodes")
        yield SwarmServicesTable(id="swarm-services")
        with VerticalScroll():
            yield Static("", id="swarm-tasks")

    def show(self, view: SwarmView | None, note: str = "") -> None:
        if not self.query("#swarm-tasks"):
            self.view = view
            self.call_after_refresh(self.show, view, note)
            return
        self.view = view
        head = self.query_one("#swarm-head", Static)
        nodes = self.query_one(SwarmNodesTable)
        services = self.query_one(SwarmServicesTable)
        tasks = self.query_one("#swarm-tasks", Static)
        if view is None:
            head.update(Text(note or "this level is in no swarm: `dindtui cluster create` "
                             "makes one, or `docker swarm init` in its shell", style="dim"))
            nodes.show([])
            services.show([])
            tasks.update("")
            return
        name = view.name or "made by hand"
        line = Text.assemble(("swarm ", "dim"), (name, "bold"),
                             (f"  {view.cluster_id[:12]}", "dim"))
        if not view.manager:
            line.append("  this level is a worker: select a manager to see the swarm",
                        style="yellow")
        else:
            style = "green" if view.ready == len(view.nodes) else "yellow"
            line.append_text(Text.assemble(
                "  ", (f"{view.ready}/{len(view.nodes)} ready", style),
                "  leader ", (view.leader or "none", "cyan" if view.leader else "red"),
                f"  {len(view.services)} service(s)"))
        if view.error:
            line.append(f"  {view.error}", style="red")
        head.update(line)
        nodes.show(view.nodes)
        services.show(view.services)
        tasks.update(tasks_grid(view, self.size.width) if view.manager and view.tasks
                     else Text("no tasks" if view.manager else "", style="dim"))
