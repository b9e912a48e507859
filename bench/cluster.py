"""Clusters from levels: for 1+2, 3+2 and 3+5 nodes (managers+workers), the time from
`cluster create` to every node Ready, then to a 6-replica service of the level image running
(no registry: every node was seeded with its parent's images; the service restarts a task at
once, where Docker's default waits 5 s); after a worker's level is killed, the time until all 6
run again on the nodes left; and the host disk each node costs
(its volume's own bytes, layers shared with its parent counted once, against the level image).
The baseline, in the same run: the same number of plain sibling levels spawned at once
(`spawn --count`), so the swarm's own cost shows as a ratio.
Goal: a 3+2 cluster with a running service in <= 10 s, convergence after a node loss in <= 15 s,
<= 2 % of the image per node.
Ends with one line per size: RESULT nodes=N ready_s=N service_s=N converge_s=N
disk_pct_per_node=N worker_pct=N manager_mb=N plain_s=N

Usage: python bench/cluster.py [--sizes 1+2,3+2,3+5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import time

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

from dindtui.engine.errors import DindtuiError  # noqa: E402
from dindtui.engine.facade import Engine  # noqa: E402
from dindtui.engine.lifecycle import exiting, images  # noqa: E402
from dindtui.engine.net import connect  # noqa: E402
from dindtui.engine.progress import no_progress  # noqa: E402
from dindtui.engine.swarm import view as swarm_view  # noqa: E402
from dindtui.engine.tree import discovery, levels  # noqa: E402

REPLICAS = 6
WAIT = 90.0  # every wait of this benchmark ends, saying what it waited for


def remove_own(prefix: str) -> None:
    for child in list(discovery.discover().children):  # exit_level takes it out of the list
        if child.name.startswith(prefix):
            exiting.exit_level(child, rm_volume=True, timeout=0)


def running(manager: levels.Level, without: str = "") -> int:
    view = swarm_view.read(manager)
    return 0 if view is None else sum(
        1 for t in view.tasks if t.service == "bench" and t.state == "running"
        and t.desired == "running" and t.node != without)


def until(predicate, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > WAIT:
            raise SystemExit(f"timed out after {WAIT:g}s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def one_size(engine: Engine, prefix: str, managers: int, workers: int) -> dict[str, float]:
    name = f"{prefix}c{managers}{workers}"
    made = engine.create_cluster("host", name, managers, workers, no_progress)
    ready = made.seconds
    manager = made.cluster.managers[0]
    api = connect.client(levels.required(manager.endpoint, "its endpoint"), check=False).api
    started = time.monotonic()
    api.create_service({"ContainerSpec": {"Image": images.DEFAULT_IMAGE,
                                          "Command": ["sleep", "infinity"]},
                        "RestartPolicy": {"Delay": 0}},
                       name="bench", mode={"Replicated": {"Replicas": REPLICAS}})
    service = time.monotonic() - started + until(lambda: running(manager) == REPLICAS,
                                                  f"{REPLICAS} tasks running")
    # Disk: each node's own bytes (shared layers counted once), against the level image.
    report = engine.measure()
    own = {v.level: v.bytes for v in report.volumes
           if v.level in {n.path for n in made.cluster.nodes}}
    image_bytes = connect.client().images.get(images.DEFAULT_IMAGE).attrs["Size"]
    disk_pct = 100 * sum(own.values()) / len(own) / image_bytes
    worker_pct = [100 * own[n.path] / image_bytes for n in made.cluster.workers]
    manager_mb = [own[n.path] / 1e6 for n in made.cluster.managers]
    # A fault: the worker (else the last manager) with the most tasks is killed.
    view = swarm_view.read(manager)
    assert view is not None
    on = {n.name: sum(1 for t in view.tasks if t.node == n.name and t.service == "bench"
                      and t.state == "running") for n in made.cluster.nodes
          if n is not manager and (n.role == "worker" or not made.cluster.workers)}
    victim = next(n for n in made.cluster.nodes if n.name == max(on, key=lambda k: on[k]))
    exiting.kill_level(victim)
    converge = until(lambda: running(manager, without=victim.name) == REPLICAS,
                     f"{REPLICAS} tasks running without {victim.name}")
    engine.remove_cluster(name, timeout=0)
    # The baseline: as many plain levels, spawned at once.
    started = time.monotonic()
    outcomes = engine.spawn_many("host", managers + workers, f"{prefix}p{managers}{workers}",
                                 no_progress)
    plain = time.monotonic() - started
    if any(isinstance(o, DindtuiError) for o in outcomes):
        raise SystemExit(f"a plain level failed: {outcomes}")
    remove_own(f"{prefix}p")
    return {"nodes": managers + workers, "ready_s": ready, "service_s": service,
            "converge_s": converge, "disk_pct_per_node": disk_pct, "plain_s": plain,
            "tasks_on_victim": on[victim.name],
            "worker_pct": sum(worker_pct) / max(1, len(worker_pct)),
            "manager_mb": sum(manager_mb) / len(manager_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1+2,3+2,3+5")
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in size.split("+")) for size in args.sizes.split(",")]
    engine = Engine()
    prefix = "k" + secrets.token_hex(2)
    results = []
    try:
        for managers, workers in sizes:
            results.append((managers, workers, one_size(engine, prefix, managers, workers)))
    finally:
        remove_own(prefix)
    print(f"{'cluster':>8} {'ready':>7} {'+service':>9} {'converge':>9} {'disk/node':>10} "
          f"{'worker':>7} {'manager':>9} {'plain levels':>13} {'ready/plain':>12}")
    for managers, workers, r in results:
        print(f"{managers}+{workers:<6} {r['ready_s']:6.2f}s {r['service_s']:8.2f}s "
              f"{r['converge_s']:8.2f}s {r['disk_pct_per_node']:9.2f}% "
              f"{r['worker_pct']:6.2f}% {r['manager_mb']:6.0f} MB {r['plain_s']:12.2f}s "
              f"{r['ready_s'] / r['plain_s']:11.2f}")
    print("(disk: a node's own bytes against the level image; a manager's are mostly the raft\n"
          " log swarmkit preallocates, two 64 MB segments; converge: after the worker with the\n"
          f" most tasks lost its level, {REPLICAS} running again elsewhere)")
    for _, _, r in results:
        print(f"RESULT nodes={r['nodes']} ready_s={r['ready_s']:.2f} "
              f"service_s={r['service_s']:.2f} converge_s={r['converge_s']:.2f} "
              f"disk_pct_per_node={r['disk_pct_per_node']:.2f} "
              f"worker_pct={r['worker_pct']:.2f} manager_mb={r['manager_mb']:.0f} "
              f"plain_s={r['plain_s']:.2f}")


if __name__ == "__main__":
    main()
