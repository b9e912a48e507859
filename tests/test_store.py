"""Levels on either image store, against the real engine (Docker 26 in the levels): a level
spawned with the containerd image store really runs with it, gets its images by streaming
(seeding into that store is not built yet) and runs them; a classic-store child under it gets
its images too; and the store is in `ls --json` and the spawn's own answer."""

from __future__ import annotations

import json

from conftest import run_cli
from dindtui.engine import shell


def test_a_containerd_store_level_and_a_classic_one_below_it(tree):
    made = run_cli("spawn", "--name", tree.name("cs"), "--store", "containerd", "--json")
    assert made.returncode == 0, made.stderr
    answer = json.loads(made.stdout)
    assert answer["store"] == "containerd" and answer["strategy"] == "stream"
    assert "containerd image store" in answer["fallback_reason"]
    level = tree.find(answer["level"])
    info = shell.exec_in(level, ["docker", "info", "--format", "{{json .DriverStatus}}"])
    assert "io.containerd.snapshotter" in info.stdout, info
    ran = shell.exec_in(level, ["docker", "run", "--rm", "--entrypoint", "/bin/echo",
                                "dindtui:latest", "ran-in-containerd-store"])
    assert ran.exit_code == 0 and "ran-in-containerd-store" in ran.stdout, ran

    below = run_cli("spawn", level.path, "--name", tree.name("cl"), "--store", "overlay2",
                    "--json")
    assert below.returncode == 0, below.stderr
    child = json.loads(below.stdout)
    # A containerd-store parent has no overlay2 layers to link: streamed, and said why.
    assert child["strategy"] == "stream" and "containerd image store" in child["fallback_reason"]
    deeper = tree.find(child["level"])
    classic = shell.exec_in(deeper, ["docker", "info", "--format", "{{.Driver}}"])
    assert classic.stdout.strip() == "overlay2"
    ran = shell.exec_in(deeper, ["docker", "run", "--rm", "--entrypoint", "/bin/echo",
                                 "dindtui:latest", "ran-below"])
    assert ran.exit_code == 0 and "ran-below" in ran.stdout, ran

    listed = json.loads(run_cli("ls", "--json").stdout)
    ours = next(c for c in listed["children"] if c["name"] == tree.name("cs"))
    assert ours["store"] == "containerd" and ours["children"][0]["store"] == "overlay2"

    # du counts what each store holds: the containerd store's content blobs and snapshots
    # (the image twice over), the classic store's layers once.
    usage = {v["level"]: v for v in json.loads(run_cli("du", "--json").stdout)["volumes"]}
    assert usage[level.path]["bytes"] > 300_000_000 and usage[deeper.path]["bytes"] > 300_000_000


def test_seeding_into_a_containerd_store_is_refused_in_one_line(tree):
    refused = run_cli("spawn", "--name", tree.name("no"), "--store", "containerd",
                      "--strategy", "seed")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "containerd image store" in refused.stderr
    assert tree.name("no") not in run_cli("ls").stdout
