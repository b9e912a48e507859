"""Remote level 0 benchmark: a chain of three levels reached through tunnels, against a chain of
three reached through the socket tree, in one run.

A level published with TLS on 127.0.0.1 stands in for a remote engine. Three levels are
spawned inside it by a dindtui process pointed at it (DOCKER_HOST=tcp://..., so every level is
reached through tunnels: execs of dial-stdio through each parent); three more are spawned under
this machine's engine the usual way. Printed: spawn time per depth both ways, `dindtui ls`
(a whole CLI run, best of N) of each tree, and an exec at depth 3 both ways; then both engines
at once, as `dindtui -H A -H B` shows them: the in-process read of both trees (what the TUI
does on every refresh) against each alone, and `ls` of both.
Usage: python bench/remote.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "dindtui", *args], capture_output=True,
                            text=True, env={**os.environ, **(env or {})}, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"dindtui {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def timed(*args: str, env: dict | None = None) -> float:
    started = time.monotonic()
    cli(*args, env=env)
    return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_trees(env: dict, runs: int) -> dict[str, float]:
    """Best of `runs` in-process reads of this machine's tree, the TLS engine's, and both at
    once (discovery.discover_all, as the TUI's refresh)."""
    os.environ.update({k: v for k, v in env.items() if k != "DOCKER_HOST"})
    from dindtui.engine.net import connect
    from dindtui.engine.tree import levels
    from dindtui.engine.facade import Engine
    times = {}
    for key, engines in (("host", [("--host", "unix:///var/run/docker.sock")]),
                         ("tls", [("--host", env["DOCKER_HOST"])]),
                         ("both", [("--host", "unix:///var/run/docker.sock"),
                                   ("--host", env["DOCKER_HOST"])])):
        engine = Engine.from_command_line(engines)
        for origin in engine.origins:
            connect.client(origin.endpoint)  # connected once, as in the running TUI
        engine.discover()
        best = float("inf")
        for _ in range(runs):
            started = time.monotonic()
            roots = engine.discover()
            best = min(best, time.monotonic() - started)
            assert all(root.state == levels.READY for root in roots), roots
        times[key] = best
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    prefix = "b" + secrets.token_hex(2)
    remote_name, local_name = f"{prefix}-remote", f"{prefix}-local"
    certs = tempfile.mkdtemp(prefix="dindtui-bench-certs-")
    try:
        cli("spawn", "--name", remote_name, "--port", str(free_port()))
        printed = cli("env", remote_name, "--tcp", "--dir", certs).stdout
        env = dict(line[len("export "):].split("=", 1) for line in printed.splitlines()
                   if line.startswith("export "))
        rows = []
        parent_remote, parent_local = "host", "host"
        for depth in (1, 2, 3):
            name = f"r{depth}"
            remote_spawn = json.loads(cli("spawn", parent_remote, "--name", name, "--json",
                                          env=env).stdout)
            parent_remote = remote_spawn["level"]
            # The same depth under this machine's engine, through the socket tree.
            local_spawn = json.loads(cli("spawn", parent_local, "--name", f"{local_name}{depth}",
                                         "--json").stdout)
            parent_local = local_spawn["level"]
            rows.append((depth, remote_spawn["usable_seconds"],
                         local_spawn["usable_seconds"], remote_spawn["strategy"]))
        remote_ls = min(timed("ls", env=env) for _ in range(args.runs))
        local_ls = min(timed("ls") for _ in range(args.runs))
        shown = json.loads(cli("ls", "--json", env=env).stdout)
        deepest = shown["children"][0]["children"][0]["children"][0]
        assert deepest["state"] == "ready", deepest
        exec_remote = min(timed("exec", parent_remote, "--", "true", env=env)
                          for _ in range(args.runs))
        exec_local = min(timed("exec", parent_local, "--", "true") for _ in range(args.runs))
        both = ["--host", "unix:///var/run/docker.sock", "--host", env["DOCKER_HOST"]]
        both_ls = min(timed(*both, "ls", env=env) for _ in range(args.runs))
        reads = read_trees(env, args.runs)
    finally:
        for name in (remote_name, f"{local_name}1"):
            subprocess.run([sys.executable, "-m", "dindtui", "exit", name, "--rm-volume"],
                           capture_output=True)
    print(f"{'depth':>5} {'spawn via tunnels s':>20} {'spawn via socket tree s':>24} "
          f"{'strategy':>9}")
    for depth, remote_s, local_s, strategy in rows:
        print(f"{depth:>5} {remote_s:>20.2f} {local_s:>24.2f} {strategy:>9}")
    print()
    print(f"ls of a chain of 3 levels, best of {args.runs} CLI runs: "
          f"through tunnels {remote_ls * 1000:.0f} ms, through the socket tree "
          f"{local_ls * 1000:.0f} ms (ratio {remote_ls / local_ls:.2f})")
    print(f"exec at the deepest level, best of {args.runs}: through tunnels "
          f"{exec_remote * 1000:.0f} ms, through the socket tree {exec_local * 1000:.0f} ms")
    print(f"both engines (-H host -H tls): ls {both_ls * 1000:.0f} ms; one read of both trees "
          f"in-process {reads['both'] * 1000:.0f} ms against {reads['host'] * 1000:.0f} ms "
          f"(this machine's) and {reads['tls'] * 1000:.0f} ms (the TLS engine's) alone (ratio "
          f"to the slower one {reads['both'] / max(reads['host'], reads['tls']):.2f})")
    print(f"RESULT remote_ls_ms={remote_ls * 1000:.0f} local_ls_ms={local_ls * 1000:.0f} "
          f"remote_spawn_depth2_s={rows[1][1]:.2f} remote_exec_depth3_ms="
          f"{exec_remote * 1000:.0f}")


if __name__ == "__main__":
    main()
