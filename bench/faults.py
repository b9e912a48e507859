"""Fault benchmark: the faults of real hosts, each applied to a live tree, and what came back.

Builds a two-level tree in a namespace of its own (level 2 runs a container and keeps a volume,
level 1 holds a created container), then applies each fault in turn and prints one row per
fault: recovered (yes/no), seconds from the fault until every level answers again (after a
daemon kill: a new daemon process) and a container runs in level 1, and what was counted before
and after (levels, inner containers and how many run, images, volumes). "lost" counts levels,
containers, images and volumes that are gone; a container that stopped is not lost, and the
running column shows it. The last column is the reboot check: a `--restart unless-stopped`
container at depth 2 runs again after each fault, as it would after a real reboot.
Faults the init repairs by itself are only watched; the others are repaired with `revive`.

Usage: python bench/faults.py [--no-engine-restart]   (the engine restart stops every container
on this engine for a moment; those that ran before are started again afterwards)
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time

os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

import docker  # noqa: E402

from dindtui.engine.lifecycle import exiting, revival
from dindtui.engine.net import connect  # noqa: E402
from dindtui.engine.tree import discovery, levels  # noqa: E402
from dindtui.engine.explore import shell  # noqa: E402
from dindtui.engine.lifecycle import spawn  # noqa: E402

TINY = r"""set -e
docker image inspect tiny >/dev/null 2>&1 && exit 0
d=$(mktemp -d); mkdir -p $d/bin $d/lib/x86_64-linux-gnu $d/lib64
cp /usr/bin/sleep $d/bin/; cp /lib/x86_64-linux-gnu/libc.so.6 $d/lib/x86_64-linux-gnu/
cp /lib64/ld-linux-x86-64.so.2 $d/lib64/; tar -C $d -c . | docker import - tiny >/dev/null
"""
DEADLINE = 120


def sh(level: levels.Level, script: str) -> str:
    result = shell.exec_in(level, ["sh", "-c", script])
    if result.exit_code != 0:
        raise SystemExit(f"in {level.path}: {script!r} failed: {result.stderr.strip()}")
    return result.stdout


def count(root: levels.Level) -> dict[str, int]:
    """What a user would check: levels answering, and every level's inner containers (levels
    not counted), images and volumes."""
    totals = {"levels": 0, "containers": 0, "running": 0, "images": 0, "volumes": 0}
    for level in root.walk():
        if not level.depth or level.state != levels.READY:
            continue
        totals["levels"] += 1
        client = connect.client(level.endpoint, check=False)
        child_ids = {c.container_id for c in level.children}
        inner = [c for c in client.api.containers(all=True) if c["Id"] not in child_ids]
        totals["containers"] += len(inner)
        totals["running"] += sum(1 for c in inner if c["State"] == "running")
        totals["images"] += len(client.api.images())
        totals["volumes"] += sum(1 for v in client.api.volumes().get("Volumes") or []
                                 if v["Name"] not in {c.volume for c in level.children})
    return totals


def tree(names: list[str]) -> tuple[levels.Level, list[levels.Level]]:
    root = discovery.discover()
    found = []
    for path in names:
        try:
            found.append(levels.find(root, path))
        except Exception:  # noqa: BLE001 - a level not there (yet)
            found.append(None)
    return root, found


def wait_ready(paths: list[str], started: float, replaced=None) -> float | None:
    """Seconds from `started` until every level of `paths` answers, `replaced()` says the killed
    daemon is a new process, and a container runs in level 1; None past the deadline."""
    while time.monotonic() - started < DEADLINE:
        _, found = tree(paths)
        if all(level is not None and level.state == levels.READY for level in found) and \
                (replaced is None or replaced(found[0])):
            ran = shell.exec_in(found[0], ["docker", "run", "--rm", "tiny", "/bin/sleep", "0"])
            if ran.exit_code == 0:
                return time.monotonic() - started
        time.sleep(0.05)
    return None


def keeper_runs(path: str, seconds: float = 20) -> bool:
    """The `--restart unless-stopped` container at depth 2 runs again, as after a reboot (its
    level's init starts it right after its daemon answers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, (level,) = tree([path])
        if level is not None and level.state == levels.READY and "keeper" in sh(
                level, "docker ps --format '{{.Names}}'").split():
            return True
        time.sleep(0.2)
    return False


def inner_pid(level: levels.Level, program: str) -> int:
    """This level's own daemon (pidof would also see the daemons of the levels inside it)."""
    pid_file = {"dockerd": "/var/run/docker.pid", "containerd": "/run/dindtui-containerd.pid"}
    return int(sh(level, f"cat {pid_file[program]}").strip())


def restart_engine() -> None:
    with open("/var/run/docker.pid") as handle:
        pid = int(handle.read())
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        argv = [part.decode() for part in handle.read().split(b"\0") if part]
    running = [c.id for c in docker.from_env().containers.list()]
    os.kill(pid, signal.SIGTERM)
    while os.path.exists(f"/proc/{pid}"):
        time.sleep(0.1)
    with open("/var/log/dindtui-dockerd.log", "ab") as log:
        subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
    while not connect.ping_socket(connect.DEFAULT_SOCKET).ok:
        time.sleep(0.1)
    connect.forget(connect.default_endpoint())
    ours = {c.container_id for c in discovery.discover().walk() if c.depth}
    for container in running:  # the user's containers run again; ours wait for revive
        if container not in ours:
            try:
                docker.from_env().api.start(container)
            except docker.errors.APIError:
                pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-engine-restart", action="store_true")
    args = parser.parse_args()
    root = discovery.discover()
    l1 = spawn.spawn(root, "f1").level
    l2 = spawn.spawn(l1, "f2").level
    paths = [l1.path, l2.path]
    sh(l2, TINY + "docker run -d --name worker tiny /bin/sleep 100000 >/dev/null; "
                  "docker run -d --restart unless-stopped --name keeper tiny /bin/sleep 100000 "
                  ">/dev/null; docker volume create data >/dev/null")
    sh(l1, TINY + "docker create --name idle tiny /bin/sleep 1 >/dev/null")
    killed: dict[str, int] = {}

    def kill_inner(program: str):
        def apply(_root, found):
            killed[program] = inner_pid(found[0], program)
            sh(found[0], f"kill -9 {killed[program]}")
        return apply

    def replaced(program: str):
        def check(level):
            try:
                return inner_pid(level, program) != killed[program]
            except SystemExit:
                return False
        return check

    def stop_level(_root, found):
        levels.parent_client(found[0]).api.kill(found[0].container_id)

    def docker_stop_level(_root, found):  # what an engine does to it when it shuts down
        levels.parent_client(found[0]).api.stop(found[0].container_id)

    def exit_keep_volume(root_now, found):
        exiting.exit_level(found[0])

    def engine(_root, _found):
        restart_engine()

    faults = [
        ("kill -9 dockerd in level 1", kill_inner("dockerd"), None, replaced("dockerd")),
        ("kill -9 containerd in level 1", kill_inner("containerd"), None,
         replaced("containerd")),
        ("level 1 container killed", stop_level, "revive --all", None),
        ("level 1 container stopped (docker stop)", docker_stop_level, "revive --all", None),
        ("level 1 exited, volume kept", exit_keep_volume, "revive f1", None),
    ]
    if not args.no_engine_restart and os.path.exists("/var/run/docker.pid"):
        faults.append(("host dockerd restart", engine, "revive --all", None))

    rows = []
    for name, apply, repair, check in faults:
        root_now, found = tree(paths)
        sh(found[1], "docker start worker >/dev/null")  # running before every fault
        before = count(root_now)
        started = time.monotonic()
        apply(root_now, found)
        if repair == "revive --all":
            revival.revive(discovery.discover())
        elif repair:
            revival.revive_volume(discovery.discover(), repair.split()[1])
        seconds = wait_ready(paths, started, check)
        rebooted = seconds is not None and keeper_runs(paths[1])
        after = count(tree(paths)[0])
        lost = sum(max(before[k] - after[k], 0) for k in before if k != "running")
        rows.append((name, repair or "(by itself)", seconds, before, after, lost, rebooted))
        print(f"  {name}: {'%.2f s' % seconds if seconds is not None else 'NOT recovered'}",
              file=sys.stderr, flush=True)

    print("\n| fault | repaired by | recovered | seconds | before (levels/containers/running/"
          "images/volumes) | after | lost | unless-stopped at depth 2 running |")
    print("|---|---|---|---|---|---|---|---|")
    for name, repair, seconds, before, after, lost, rebooted in rows:
        fmt = "/".join(str(before[k]) for k in before), "/".join(str(after[k]) for k in after)
        shown = f"{seconds:.2f}" if seconds is not None else "-"
        print(f"| {name} | {repair} | {'yes' if seconds is not None else 'no'} | {shown} | "
              f"{fmt[0]} | {fmt[1]} | {lost} | {'yes' if rebooted else 'NO'} |")
    total_lost = sum(row[5] for row in rows)
    print(f"\nRESULT faults={len(rows)} recovered={sum(r[2] is not None for r in rows)} "
          f"lost={total_lost} reboot_ok={sum(bool(r[6]) for r in rows)}")
    exiting.collapse(discovery.discover(), rm_volume=True)
    return 0 if total_lost == 0 and all(r[2] is not None and r[6] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
