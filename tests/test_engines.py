"""Engines other than this host's: a level's limits whatever its engine's defaults, against the
real engine and real nested daemons."""

from __future__ import annotations

from conftest import MAKE_TINY
from helpers import exec_ok, ls_json, node, run_cli, wait_for

# An engine whose containers get 1024 open files by default (Docker 29's default, or any
# engine started with --default-ulimit): set in a level's daemon.json, dockerd restarted by
# the level's init (its containers stay: live-restore).
LOW_DEFAULT = r"""
python3 - <<'EOF'
import json
path = "/etc/docker/daemon.json"
config = json.load(open(path))
config["default-ulimits"] = {"nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024}}
json.dump(config, open(path, "w"))
EOF
kill $(cat /var/run/docker.pid)
"""


def open_files(path: str) -> int:
    line = exec_ok(path, "grep 'open files' /proc/1/limits")
    return int(line.split()[3])


def test_a_level_under_an_engine_that_gives_1024_open_files_runs_200_containers(tree):
    outer = tree.spawn(short="low").level
    exec_ok(outer.path, LOW_DEFAULT)
    wait_for(lambda: run_cli("exec", outer.path, "--", "docker", "version").returncode == 0,
             "the outer level's dockerd back after its restart")
    plain = exec_ok(outer.path, "docker run --rm --entrypoint sh dindtui:latest -c "
                    "'ulimit -Hn'")
    assert plain.strip() == "1024"  # what any container of that engine gets
    made = run_cli("spawn", outer.path, "--name", tree.name("in"))
    assert made.returncode == 0, made.stderr
    inner = f"{outer.path}/{tree.name('in')}"
    assert open_files(inner) > 1024  # asked for explicitly, as high as the engine could give
    assert node(ls_json(), inner)["state"] == "ready"
    exec_ok(inner, MAKE_TINY)
    out = exec_ok(inner, "seq 200 | xargs -P 6 -I{} docker run -d --name c{} tiny "
                  "/bin/sleep infinity 2>&1 >/dev/null | sort | uniq -c | head -3; "
                  "docker ps -q | wc -l")
    assert out.split()[-1] == "200", out
