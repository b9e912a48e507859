"""Zero-copy seeding: a new level's images hardlinked from its parent's layers, at any depth."""

from __future__ import annotations

import json
import os

import pytest

from helpers import run_cli
from conftest import run_on
from dindtui.engine.net import connect
from dindtui.engine.lifecycle import images, seeding
from dindtui.engine.tree import levels
from dindtui.engine.errors import DindtuiError, SpawnFailed

IMAGE = images.DEFAULT_IMAGE
CHECK = ["docker", "run", "--rm", "--entrypoint", "sh", IMAGE, "-c",
         "sha256sum /usr/local/bin/dindtui-init | cut -c1-16"]


def run_in(level: levels.Level, argv: list[str]) -> str:
    result = run_cli("exec", level.path, "--", *argv)
    assert result.returncode == 0, (level.path, result.stderr)
    return result.stdout.strip()


def test_a_chain_of_five_seeded_levels_has_the_parent_images_and_runs_them(tree):
    host_id = connect.client().images.get(IMAGE).id
    results = tree.chain(5)
    assert [r.strategy for r in results] == ["seed"] * 5, [r.fallback_reason for r in results]
    assert [r.level.depth for r in results] == [1, 2, 3, 4, 5]
    expected = None
    for result in results:
        inner = connect.client(result.level.endpoint)
        assert inner.images.get(IMAGE).id == host_id
        digest = run_in(result.level, CHECK)  # a container of the seeded image runs here
        expected = expected or digest
        assert digest == expected and len(digest) == 16
        # Whiteouts survived the linking: what the Dockerfile deleted stays deleted.
        assert run_in(result.level, ["docker", "run", "--rm", "--entrypoint", "sh", IMAGE, "-c",
                                     "ls /usr/share/doc 2>&1 || echo gone"]).endswith("gone")
    # Seeding moved no image bytes over the API.
    assert all(not r.pushes for r in results)
    assert all(r.seed.layers >= 1 and r.seed.linked_bytes > 100_000_000 for r in results)


def test_a_child_writing_to_a_seeded_file_leaves_the_parent_image_unchanged(tree):
    d1, d2 = (r.level for r in tree.chain(2))
    before = run_in(d1, CHECK)
    changed = run_in(d2, ["docker", "run", "--rm", "--entrypoint", "sh", IMAGE, "-c",
                          "echo changed >> /usr/local/bin/dindtui-init && "
                          "sha256sum /usr/local/bin/dindtui-init | cut -c1-16"])
    assert changed != before
    # A committed change in the child is a new layer there; the parent's image is intact.
    run_in(d2, ["sh", "-c", f"docker run --name writer --entrypoint sh {IMAGE} -c "
                            "'echo x >> /usr/bin/true' && docker commit writer changed:1 && "
                            "docker rm writer"])
    assert run_in(d1, CHECK) == before
    assert run_in(d2, CHECK) == before
    host = run_on(connect.client(), IMAGE, ["sh", "-c", CHECK[-1]]).decode().strip()
    assert host == before


def test_rmi_on_either_side_leaves_the_other_intact(tree, client):
    extra = f"{tree.prefix}extra:1"
    client.images.get(IMAGE).tag(extra)
    try:
        d1 = tree.spawn(short="a", inherit_images=True).level
        inner = connect.client(d1.endpoint)
        assert inner.images.get(extra).id == client.images.get(IMAGE).id
        client.images.remove(extra)  # the parent side drops its tag
        assert run_in(d1, ["docker", "run", "--rm", "--entrypoint", "true", extra]) == ""
        d2 = tree.spawn(d1.path, "b").level
        run_in(d2, ["docker", "rmi", "-f", IMAGE])  # the child drops the image entirely
        assert run_in(d1, CHECK)  # the parent still runs it
        assert run_on(client, IMAGE, ["true"]) == b""
    finally:
        if any(extra in i.tags for i in client.images.list()):
            client.images.remove(extra)


def test_exiting_and_cleaning_a_level_leaves_every_other_level_working(tree):
    d1, d2, d3 = (r.level for r in tree.chain(3))
    sibling = tree.spawn(d1.path, "s").level
    assert run_cli("exit", d2.path).returncode == 0
    result = run_cli("clean", "--yes")
    assert result.returncode == 0 and d2.volume in result.stdout, result.stdout + result.stderr
    assert run_in(d1, CHECK)
    assert run_in(sibling, CHECK)
    assert run_on(connect.client(), IMAGE, ["true"]) == b""


def test_forced_fallback_streams_and_says_why(tree):
    result = run_cli("spawn", "--name", tree.name("f"), "--strategy", "stream", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["strategy"] == "stream"
    assert report["fallback_reason"] == "streaming was asked for"
    assert report["bytes_moved"] > 100_000_000
    level = tree.find(report["level"])
    assert level.strategy == "stream"
    assert run_in(level, CHECK)


def _break_seeding(monkeypatch):
    """Make the seeder fail after the first image: a second, bogus image id follows it."""
    real = images.seed_command
    bogus = "sha256:" + "0" * 64
    monkeypatch.setattr(images, "seed_command",
                        lambda source, target, ids, store="overlay2":
                        real(source, target, [*ids, bogus], store))


def test_a_seed_failing_halfway_falls_back_on_a_fresh_volume(tree, monkeypatch):
    """The seeder links layers into the new volume and then fails: that volume, with every
    layer linked into it, is thrown away, and the level gets a fresh one, filled by streaming."""
    real_seed = seeding._seed_here
    failed = {}

    def seed_then_fail(check, mountpoint: str, ids: list[str]) -> str:
        real_seed(check, mountpoint, ids)  # links every layer, writes the "ok" marker
        failed["volume_root"] = mountpoint
        failed["linked"] = len([n for n in os.listdir(os.path.join(mountpoint, "overlay2"))
                                if n != "l"])
        with open(os.path.join(mountpoint, ".dindtui-seed"), "w") as marker:
            marker.write("failed: injected after linking\n")
        raise DindtuiError("injected failure after the layers were linked")

    monkeypatch.setattr(seeding, "_seed_here", seed_then_fail)
    result = tree.spawn(short="h")
    assert failed["linked"] > 0  # the seed really was halfway: layers were in that volume
    assert result.strategy == "stream"
    assert "injected failure" in result.fallback_reason
    level = result.level
    assert not os.path.exists(failed["volume_root"])  # the half-seeded volume is gone
    assert level.volume not in failed["volume_root"]
    # Nothing of the half seed in the new volume: every layer directory is a loaded layer.
    counts = run_in(level, ["sh", "-c", "ls /var/lib/docker/image/overlay2/layerdb/sha256 | wc -l;"
                                        " ls /var/lib/docker/overlay2 | grep -vx l | wc -l"])
    layers, directories = counts.split()
    assert layers == directories
    assert run_in(level, CHECK)


def test_a_forced_seed_that_fails_leaves_nothing_behind(tree, monkeypatch, client):
    _break_seeding(monkeypatch)
    with pytest.raises(SpawnFailed, match="seeding was asked for"):
        tree.spawn(short="g", strategy="seed")
    # A level's volume is named after it (dindtui-NAMESPACE.NAME-XXXXXX): none of this one's.
    made = f".{tree.name('g')}-"
    assert not [v.name for v in client.volumes.list() if made in v.name]
    assert not client.containers.list(all=True, filters={"label": "dindtui.name=" + tree.name("g")})
