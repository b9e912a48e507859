"""Levels on either image store, against the real engine (Docker 26 in the levels).

A chain of three containerd-store levels: the first is streamed from the host (whose store is
the classic one), the next two are seeded one from another, by hardlinks. The seeded images run
at depth 3; `rmi` on either side of a seed leaves the other working; a write in a child never
reaches its parent; the seeded databases hold no container, lease or active-snapshot record of
the parent; mixed trees both ways are streamed and say why; `du` counts what the seeded levels
share once, and `clean` frees a containerd-store level's volume."""

from __future__ import annotations

import json
import os

import pytest

from helpers import run_cli
from conftest import Tree
from dindtui.init import bolt, seed
from dindtui.engine.net import connect
from dindtui.engine.lifecycle import images
from dindtui.engine.tree import levels
from dindtui.engine.explore import shell
from dindtui.engine.disk import usage

IMAGE = images.DEFAULT_IMAGE
META_DB = "containerd/daemon/io.containerd.metadata.v1.bolt/meta.db"
BACKEND_DB = "containerd/daemon/io.containerd.snapshotter.v1.overlayfs/metadata.db"


def docker_in(level: levels.Level, *argv: str) -> str:
    ran = shell.exec_in(level, ["docker", *argv])
    assert ran.exit_code == 0, (level.path, argv, ran.stderr)
    return ran.stdout.strip()


def spawn_cli(*argv: str) -> dict:
    made = run_cli("spawn", *argv, "--json")
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)


@pytest.fixture(scope="module")
def chain(image):
    """c1 (containerd, streamed from the host) / c2 (seeded) / c3 (seeded). Before c3 is made,
    c2 runs a container, so that c2's databases hold a container, its lease and an active
    snapshot when they are read for c3."""
    made = Tree()
    try:
        answers = [spawn_cli("--name", made.name("c1"), "--store", "containerd")]
        answers.append(spawn_cli(answers[0]["level"], "--name", made.name("c2"),
                                 "--store", "containerd"))
        c2 = made.find(answers[1]["level"])
        docker_in(c2, "run", "-d", "--name", "busy", "--entrypoint", "sleep", IMAGE, "600")
        answers.append(spawn_cli(answers[1]["level"], "--name", made.name("c3"),
                                 "--store", "containerd"))
        yield made, answers
    finally:
        made.cleanup()


def test_containerd_levels_are_seeded_one_from_another_and_run_the_image(chain):
    made, answers = chain
    assert [a["store"] for a in answers] == ["containerd"] * 3
    # The host keeps its images in overlay2: the first level is streamed, and says why.
    assert answers[0]["strategy"] == "stream"
    assert "classic overlay2 image store" in answers[0]["fallback_reason"]
    assert [a["strategy"] for a in answers[1:]] == ["seed", "seed"], answers
    assert all(a["bytes_moved"] == 0 and a["seeded_layers"] >= 4 for a in answers[1:])
    c3 = made.find(answers[2]["level"])
    assert "io.containerd.snapshotter" in docker_in(c3, "info", "--format",
                                                    "{{json .DriverStatus}}")
    ran = docker_in(c3, "run", "--rm", "--entrypoint", "sh", IMAGE, "-c",
                    "echo ran-at-depth-3; ls /usr/share/doc 2>&1 || echo gone")
    assert ran.startswith("ran-at-depth-3") and ran.endswith("gone")  # whiteouts kept
    # The same image, by the same id, on both sides of each seed.
    ids = {a["level"]: docker_in(made.find(a["level"]), "images", "-q", "--no-trunc", IMAGE)
           for a in answers}
    assert len(set(ids.values())) == 1, ids


def test_the_seeded_databases_hold_no_container_lease_or_active_snapshot(chain):
    made, answers = chain
    volumes = {u.level: u for u in usage.measure(made.discover()).volumes}
    parent, child = volumes[answers[1]["level"]], volumes[answers[2]["level"]]

    def records(host_path: str):
        meta, _, _ = bolt.bolt_read(os.path.join(host_path, META_DB))
        backend, _, _ = bolt.bolt_read(os.path.join(host_path, BACKEND_DB))
        moby = meta.bucket("v1", "moby")
        kinds = [b.value("kind") for b in backend.bucket("v1", "snapshots").items.values()]
        return moby, kinds

    parent_moby, parent_kinds = records(parent.host_path)
    assert parent_moby.bucket("containers").items, "c2 runs a container: containerd knows it"
    assert bytes([2]) in parent_kinds, "c2's container has an active snapshot"
    child_moby, child_kinds = records(child.host_path)
    assert not child_moby.bucket("containers").items
    assert not child_moby.bucket("leases").items
    assert child_kinds and set(child_kinds) == {bytes([seed.KIND_COMMITTED])}
    assert list(child_moby.bucket("images").items) == [b"docker.io/library/dindtui:latest"]


def test_rmi_on_either_side_of_a_seed_leaves_the_other_working(chain):
    made, answers = chain
    c1, c2, c3 = (made.find(a["level"]) for a in answers)
    # A write in the child never reaches the parent (overlayfs copies the file up).
    before = docker_in(c2, "run", "--rm", "--entrypoint", "sha256sum", IMAGE,
                       "/usr/local/bin/dindtui-init")
    docker_in(c3, "run", "--name", "writer", "--entrypoint", "sh", IMAGE, "-c",
              "echo changed >> /usr/local/bin/dindtui-init")
    assert docker_in(c2, "run", "--rm", "--entrypoint", "sha256sum", IMAGE,
                     "/usr/local/bin/dindtui-init") == before
    # c2 is both sides at once: seeded from c1, seed of c3. Its rmi (forced: c3's own level
    # container is made of the image) removes its image record, blobs and snapshots.
    docker_in(c2, "rm", "-f", "busy")
    docker_in(c2, "rmi", "-f", IMAGE)
    assert docker_in(c2, "images", "-q", IMAGE) == ""
    assert docker_in(c3, "run", "--rm", "--entrypoint", "echo", IMAGE, "child-runs") == \
        "child-runs"
    assert docker_in(c1, "run", "--rm", "--entrypoint", "echo", IMAGE, "parent-runs") == \
        "parent-runs"


def test_du_counts_seeded_bytes_once_and_clean_frees_a_containerd_level(chain):
    made, answers = chain
    size = connect.client().images.get(IMAGE).attrs["Size"]
    report = json.loads(run_cli("du", "--json").stdout)
    ours = {v["level"]: v for v in report["volumes"]}
    c1, c3 = ours[answers[0]["level"]], ours[answers[2]["level"]]
    # c1 holds the image twice over (content blobs and snapshots); c3's are links to them.
    assert c1["bytes"] > size
    assert c3["shared_bytes"] > size and c3["bytes"] < 0.02 * size, c3

    # A containerd-store level exited with its volume kept: clean shows it, then frees it.
    spare = spawn_cli(answers[0]["level"], "--name", made.name("sp"), "--store", "containerd")
    assert spare["strategy"] == "seed"
    assert run_cli("exit", spare["level"]).returncode == 0
    # Revived on its kept volume, it comes back on the containerd store, its image there.
    assert run_cli("revive", spare["level"]).returncode == 0
    back = made.find(spare["level"])
    assert back.store == "containerd"
    assert "io.containerd.snapshotter" in docker_in(back, "info", "--format",
                                                    "{{json .DriverStatus}}")
    assert docker_in(back, "images", "-q", IMAGE) != ""
    assert run_cli("exit", spare["level"]).returncode == 0
    plan = json.loads(run_cli("clean", "--dry-run", "--json").stdout)
    item = next(i for i in plan["items"] if i["level"] == spare["level"])
    assert item["state"] == "orphan" and item["bytes"] < 0.02 * size  # its links free little
    cleaned = run_cli("clean", "--yes")
    assert cleaned.returncode == 0, cleaned.stderr
    after = json.loads(run_cli("du", "--json").stdout)
    assert spare["level"] not in {v["level"] for v in after["volumes"]}


def test_mixed_trees_are_streamed_both_ways_and_say_why(chain):
    made, answers = chain
    below = spawn_cli(answers[0]["level"], "--name", made.name("cl"), "--store", "overlay2")
    assert below["strategy"] == "stream" and below["store"] == "overlay2"
    assert "containerd image store" in below["fallback_reason"]
    deeper = made.find(below["level"])
    assert docker_in(deeper, "info", "--format", "{{.Driver}}") == "overlay2"
    assert docker_in(deeper, "run", "--rm", "--entrypoint", "echo", IMAGE, "ran-below") == \
        "ran-below"
    listed = json.loads(run_cli("ls", "--json").stdout)
    ours = next(c for c in listed["children"] if c["name"] == made.name("c1"))
    assert {c["name"]: c["store"] for c in ours["children"]}[made.name("cl")] == "overlay2"


def test_seeding_across_stores_is_refused_in_one_line(tree):
    refused = run_cli("spawn", "--name", tree.name("no"), "--store", "containerd",
                      "--strategy", "seed")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "containerd image store" in refused.stderr
    assert tree.name("no") not in run_cli("ls").stdout
