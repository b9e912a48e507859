"""Seeding a new level: the parent's layers hardlinked into its fresh volume while its container
starts (by exec in a parent level, by a helper container on a remote level 0, directly on a
local one), the seeder's outcome read, and what the new daemon lists checked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..errors import DindtuiError
from ..net import connect
from ..progress import Progress, ProgressCallback
from ..tree import levels, place
from ..tree.levels import Level
from . import images, privileges
from .images import OVERLAY2
from ..lazy import LazyModule

if TYPE_CHECKING:
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")


class _Seeding(threading.Thread):
    """Runs the seeder in the background; join() gives (result, None) or (None, reason)."""

    def __init__(self, at: place.Place, client: DockerClient, check: images.SeedCheck,
                 volume: str, ids: list[str], progress: ProgressCallback) -> None:
        super().__init__(daemon=True)
        self.args = (at, client, check, volume, ids, progress)
        self.outcome: tuple[Any, ...] = (None, "seeding did not run")

    def run(self) -> None:
        self.outcome = _try_seed(*self.args)

    def join(self, timeout: float | None = None) -> tuple[Any, ...]:  # type: ignore[override]
        super().join(timeout)
        return self.outcome


def _try_seed(at: place.Place, client: DockerClient, check: images.SeedCheck, volume: str,
              ids: list[str], progress: ProgressCallback
              ) -> tuple[images.SeedResult, None] | tuple[None, str]:
    """Hardlink the parent's layers into the fresh `volume`; (result, None) or (None, reason).
    The seeder always leaves a marker saying how it ended, for the level waiting on it."""
    started = time.monotonic()
    try:
        mountpoint = client.api.inspect_volume(volume)["Mountpoint"]
        progress(Progress("seed", f"seeding {len(ids)} image(s) into the new level", 0,
                          len(ids)))
        parent = at.level
        if parent.depth == 0 and _is_local(at, check, mountpoint):
            output = _seed_here(check, mountpoint, ids)
        elif parent.depth == 0:
            mode = privileges.decide(client, images.DEFAULT_IMAGE)
            output = _seed_with_helper(client, images.DEFAULT_IMAGE, mode, check, mountpoint,
                                       ids)
        else:
            output = _seed_by_exec(parent, check, mountpoint, ids)
        result = images.parse_seed_output(output, ids, started)
    except (DindtuiError,) + connect.API_ERRORS as exc:
        return None, f"seeding failed: {exc}"
    progress(Progress("seed", f"seeded {result.layers} layers ({result.linked_bytes / 1e6:.0f} "
                              f"MB linked) in {result.seconds:.2f}s", len(ids), len(ids)))
    return result, None


def _is_local(level0: place.Place, check: images.SeedCheck, mountpoint: str) -> bool:
    """The engine's data root is this machine's, and ours to write (root, same files)."""
    marker = "image" if check.store == OVERLAY2 else "containerd"
    return (os.geteuid() == 0 and not level0.remote and check.containerd_root is None
            and os.path.isdir(os.path.join(check.data_root, marker))
            and os.path.isdir(mountpoint))


def _seed_here(check: images.SeedCheck, mountpoint: str, ids: list[str]) -> str:
    """Level 0 on this machine: run the seeder directly (no helper container to start)."""
    seeder = str(resources.files("dindtui").joinpath("inner_init.py"))
    # -I -S: the seeder is the init's, standard library only (it finds its package beside
    # itself); without site-packages and their .pth files Python starts in a quarter of the
    # CPU (a seed here: 72 ms of CPU before, 31 ms after; 16 siblings spawn 16 seeds).
    result = subprocess.run([sys.executable, "-I", "-S", seeder, *images.seed_command(
        check.data_root, mountpoint, ids, check.store)[1:]], capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise DindtuiError(lines[-1] if lines else f"exit {result.returncode}")
    return result.stdout


def _seed_with_helper(client: DockerClient, image: str, mode: str, check: images.SeedCheck,
                      mountpoint: str, ids: list[str]) -> str:
    """Level 0: a short-lived container of our image with the engine's data root mounted, so
    that source and target are one mount and link(2) works."""
    data_root = check.data_root
    if not mountpoint.startswith(data_root.rstrip("/") + "/"):
        raise DindtuiError(f"volume {mountpoint} is outside the data root {data_root}")
    # One mount holds the source and the target: the data root, or, with a system containerd
    # outside it (a packaged Docker 29), the directory above both (/var/lib).
    top = data_root if check.containerd_root is None else os.path.commonpath(
        [data_root, check.containerd_root])
    if top == "/":
        raise DindtuiError("Docker's data root and the containerd root share no directory "
                           "but /")

    def inside(path: str) -> str:
        return os.path.normpath("/hostroot/" + os.path.relpath(path, top))

    argv = images.seed_command(inside(data_root), inside(mountpoint), ids, check.store,
                               inside(check.containerd_root) if check.containerd_root
                               else None)
    helper = client.api.create_container(
        image, entrypoint=argv[:1], command=argv[1:],
        labels={"dindtui.helper": "seed"},
        host_config=privileges.host_config(
            client, mode, network_mode="none",
            binds={top: {"bind": "/hostroot", "mode": "rw"}}))["Id"]
    try:
        client.api.start(helper)
        status = client.api.wait(helper, timeout=300).get("StatusCode")
        output = client.api.logs(helper).decode(errors="replace")
    finally:
        client.api.remove_container(helper, force=True, v=True)
    if status != 0:
        raise DindtuiError(output.strip().splitlines()[-1] if output.strip() else f"exit {status}")
    return str(output)


def _seed_by_exec(parent: Level, check: images.SeedCheck, mountpoint: str,
                  ids: list[str]) -> str:
    """A level parent: run the seeder inside the parent level, where its data root is one mount."""
    grandparent = levels.parent_client(parent)
    result = grandparent.containers.get(parent.container_id).exec_run(
        images.seed_command(check.data_root, mountpoint, ids, check.store,
                            check.containerd_root), demux=False)
    output = str(result.output.decode(errors="replace"))
    if result.exit_code != 0:
        raise DindtuiError(output.strip().splitlines()[-1] if output.strip()
                           else f"exit {result.exit_code}")
    return output


def _verify_seed(child: Level, ids: list[str]) -> list[str]:
    listed = {i.id for i in connect.client(child.endpoint, check=False).images.list(all=True)}
    return [i for i in ids if i not in listed]
