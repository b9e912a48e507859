"""Clusters: a Docker Swarm of sibling levels (create, ls, show, push, rm), and the faults and
changes a user makes on one by hand (kill a level, drain a node, scale a service)."""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from ..engine.errors import DindtuiError
from . import Command, UsageError
from .output import out, print_table, progress_bar, shown
from .tree import _print_exit, seconds

if TYPE_CHECKING:
    from ..engine.facade import Engine
    from ..engine.swarm.clusters import Cluster, Created
    from ..engine.tree.levels import Level
    from ..engine.swarm.view import SwarmView


def create(engine: "Engine", args: argparse.Namespace) -> int:
    with progress_bar(args.json) as report:
        made = engine.create_cluster(args.parent, args.name, args.managers, args.workers,
                                     report, store=args.store, image=args.image)
    if args.json:
        print(json.dumps(made.to_dict(), indent=2))
        return 0
    cluster = made.cluster
    out.print(f"cluster [bold]{shown(cluster.name)}[/] ready under {shown(cluster.parent.label)}"
              f": {len(cluster.managers)} manager(s), {len(cluster.workers)} worker(s), every "
              f"node Ready in {made.seconds:.1f}s (spawned side by side in "
              f"{made.spawn_seconds:.1f}s; images {_how(made)} from "
              f"{shown(cluster.parent.label)})")
    first = cluster.managers[0].path
    out.print(f"  [dim]try:[/] dindtui exec {shown(first)} -- docker service create --replicas "
              f"{max(2, len(cluster.nodes))} --name web IMAGE")
    if not _has_ipvs():
        out.print("  [yellow]note:[/] this kernel has no IPVS: a service's virtual IP does not "
                  "route here; use --endpoint-mode dnsrr (its name resolves to its tasks)")
    return 0


def _how(made: "Created") -> str:
    return " and ".join(sorted({"seeded" if s.strategy == "seed" else "streamed"
                                for s in made.spawns}))


def _has_ipvs() -> bool:
    return os.path.exists("/proc/net/ip_vs") or os.path.isdir("/sys/module/ip_vs")


def _swarm_of(engine: "Engine", cluster: "Cluster") -> "SwarmView | None":
    manager = cluster.manager_level()
    return engine.swarm(manager) if manager is not None else None


def ls(engine: "Engine", args: argparse.Namespace) -> int:
    found = engine.clusters()
    with ThreadPoolExecutor(max_workers=8) as pool:
        swarms = list(pool.map(lambda c: _swarm_of(engine, c), found))
    if args.json:
        print(json.dumps([c.to_dict() | {"swarm": s.to_dict() if s else None}
                          for c, s in zip(found, swarms, strict=True)], indent=2))
        return 0
    if not found:
        out.print("no cluster: `dindtui cluster create NAME` makes one")
        return 0
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for column in ("cluster", "parent", "managers", "workers", "ready", "leader", "services"):
        table.add_column(column, no_wrap=True)
    for cluster, swarm in zip(found, swarms, strict=True):
        ready = f"{swarm.ready}/{len(swarm.nodes)}" if swarm else "no answer"
        table.add_row(Text(cluster.name), Text(cluster.parent.label),
                      str(len(cluster.managers)), str(len(cluster.workers)),
                      Text(ready, style="green" if swarm and swarm.ready == len(swarm.nodes)
                           else "red"),
                      Text(swarm.leader if swarm else ""),
                      str(len(swarm.services)) if swarm else "")
    print_table(table)
    return 0


def show(engine: "Engine", args: argparse.Namespace) -> int:
    cluster = engine.find_cluster(args.name)
    swarm = _swarm_of(engine, cluster)
    if args.json:
        print(json.dumps(cluster.to_dict() | {"swarm": swarm.to_dict() if swarm else None},
                         indent=2))
        return 0
    out.print(f"[bold]cluster {shown(cluster.name)}[/] under {shown(cluster.parent.label)}")
    if swarm is None:
        raise DindtuiError(f"no manager of cluster {cluster.name} answers: its swarm cannot be "
                           "read (`dindtui revive` its managers)")
    nodes = Table(box=None, padding=(0, 2, 0, 0), header_style="bold", title_justify="left")
    for column in ("node", "role", "availability", "state", "manager", "engine"):
        nodes.add_column(column, no_wrap=True)
    for node in swarm.nodes:
        nodes.add_row(Text(node.hostname), node.role, Text(node.availability),
                      Text(node.state, style="green" if node.state == "ready" else "red"),
                      "leader" if node.leader else Text(node.reachability), Text(node.engine))
    print_table(nodes)
    if swarm.services:
        out.print()
        services = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
        for column in ("service", "mode", "replicas", "image"):
            services.add_column(column, no_wrap=True)
        for service in swarm.services:
            replicas = (str(service.running) if service.wanted is None
                        else f"{service.running}/{service.wanted}")
            services.add_row(Text(service.name), service.mode,
                             Text(replicas,
                                  style="green" if service.wanted == service.running else
                                  "yellow"), Text(service.image))
        print_table(services)
        out.print()
        by_node = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
        columns = swarm.tasks_by_node()
        for hostname in columns:
            by_node.add_column(Text(hostname or "(unassigned)"), no_wrap=True)
        height = max((len(tasks) for tasks in columns.values()), default=0)
        for row in range(height):
            by_node.add_row(*[Text(f"{t[row].label} {t[row].state}",
                                   style="green" if t[row].state == "running" else "yellow")
                              if row < len(t) else "" for t in columns.values()])
        print_table(by_node)
    return 0


def rm(engine: "Engine", args: argparse.Namespace) -> int:
    exited = engine.remove_cluster(args.name, None if args.json else _print_exit,
                                   timeout=args.timeout)
    if args.json:
        print(json.dumps({"cluster": args.name, "exited": exited}))
        return 0
    out.print(f"cluster {shown(args.name)} removed: {len(exited)} level(s) exited, their "
              "volumes freed")
    return 0


def push(engine: "Engine", args: argparse.Namespace) -> int:
    with progress_bar(args.json) as report:
        results = engine.push_cluster(args.name, args.image, report)
    if args.json:
        print(json.dumps([r.__dict__ for r in results]))
        return 0
    out.print(f"{shown(args.image)} is on {len(results)} node(s) of {shown(args.name)}")
    return 0


def _manager(engine: "Engine", name: str) -> "Level":
    """The manager of cluster `name` that speaks for its swarm (the first that answers)."""
    cluster = engine.find_cluster(name)
    manager = cluster.manager_level()
    if manager is None:
        raise DindtuiError(f"no manager of cluster {cluster.name} answers")
    return manager


def drain(engine: "Engine", args: argparse.Namespace) -> int:
    out.print(engine.set_availability(_manager(engine, args.name), args.node, args.availability))
    return 0


def scale(engine: "Engine", args: argparse.Namespace) -> int:
    service, _, count = args.service.partition("=")
    if not (count.isascii() and count.isdigit()):
        raise UsageError(f"scale takes SERVICE=REPLICAS, got {args.service!r}")
    out.print(engine.scale_service(_manager(engine, args.name), service, int(count)))
    return 0


def kill(engine: "Engine", args: argparse.Namespace) -> int:
    out.print(engine.kill_level(engine.find(args.level)))
    return 0


def _create_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the cluster's name; its nodes are NAME-m1.., NAME-w1..")
    p.add_argument("--managers", "-m", type=int, default=1, metavar="N",
                   help="manager nodes (1-7; default 1)")
    p.add_argument("--workers", "-w", type=int, default=0, metavar="M",
                   help="worker nodes (default 0)")
    p.add_argument("--parent", default="host", help="the level the nodes run in (default: "
                   "level 0)")
    p.add_argument("--store", choices=["overlay2", "containerd"],
                   help="the nodes' image store")
    p.add_argument("--image", default=None, help="level image")


def _named(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the cluster's name (or PARENT/NAME)")


def _rm_arguments(p: argparse.ArgumentParser) -> None:
    _named(p)
    p.add_argument("--timeout", "-t", type=seconds, default=None, metavar="SECONDS",
                   help="one budget for every node, as `docker stop -t` (default 10)")


def _push_arguments(p: argparse.ArgumentParser) -> None:
    _named(p)
    p.add_argument("image")


def _drain_arguments(p: argparse.ArgumentParser) -> None:
    _named(p)
    p.add_argument("node", help="the node's name (its level's name) or id")
    p.add_argument("availability", nargs="?", default="drain",
                   choices=["drain", "active", "pause"])


def _scale_arguments(p: argparse.ArgumentParser) -> None:
    _named(p)
    p.add_argument("service", help="SERVICE=REPLICAS")


COMMANDS = [
    Command("cluster create", "a Docker Swarm of sibling levels: spawned side by side, seeded "
            "with their parent's images, joined, every node Ready", create, _create_arguments,
            json=True),
    Command("cluster ls", "the clusters of every tree, with their swarm's state", ls, json=True),
    Command("cluster show", "a cluster's nodes, services, and tasks by node", show, _named,
            json=True),
    Command("cluster push", "an image into every node of a cluster", push, _push_arguments,
            json=True),
    Command("cluster node", "drain, pause or activate a node of a cluster", drain,
            _drain_arguments),
    Command("cluster scale", "set a service's replicas: SERVICE=REPLICAS", scale,
            _scale_arguments),
    Command("cluster rm", "the nodes leave the swarm and exit, volumes included", rm,
            _rm_arguments, json=True),
    Command("kill", "SIGKILL a level's container, a fault on purpose (`revive` starts it "
            "again)", kill, lambda p: p.add_argument("level")),
]
