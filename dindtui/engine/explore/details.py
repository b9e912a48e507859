"""What the detail pane shows about one level: its daemon, and what runs inside it (inside.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import guard
from ..net import connect
from ..tree import levels, place
from ..tree.levels import Level
from ..lazy import LazyModule
from .rows import ContainerRow, ImageRow, NetworkRow, VolumeRow

if TYPE_CHECKING:
    from . import inside
else:  # the reader is not needed to import the pane's data (the TUI's first frame)
    inside = LazyModule(f"{__package__}.inside")

__all__ = ["ContainerRow", "ImageRow", "LevelDetails", "NetworkRow", "VolumeRow", "level_details"]


@dataclass
class LevelDetails:
    path: str
    depth: int
    state: str
    version: str | None = None
    storage_driver: str | None = None
    cgroup_version: str | None = None
    privilege: str | None = None
    strategy: str | None = None
    endpoint: str | None = None
    port: int | None = None
    uptime_seconds: float | None = None
    volume: str | None = None
    containers: list[ContainerRow] = field(default_factory=list)
    images: list[ImageRow] = field(default_factory=list)
    volumes: list[VolumeRow] = field(default_factory=list)
    networks: list[NetworkRow] = field(default_factory=list)
    swarm: str | None = None       # "manager" or "worker" when its daemon is a swarm node
    cluster: str | None = None     # the dindtui cluster it was spawned into, if any
    error: str | None = None


def level_details(level: Level) -> LevelDetails:
    """Ask the level's daemon (and its parent, for the container) for everything shown."""
    details = LevelDetails(level.label, level.depth, level.state, level.version,
                           privilege=level.privilege, strategy=level.strategy,
                           endpoint=(f"{level.endpoint} (tunnel: level 0 is remote)"
                                     if level.depth and level.endpoint and place.is_remote(level)
                                     else level.endpoint), port=level.port, volume=level.volume,
                           cluster=level.cluster, error=level.error)
    if level.depth and level.parent is not None and level.parent.endpoint:
        try:
            info = connect.client(level.parent.endpoint, check=False).api.inspect_container(
                level.container_id)
            started = levels.docker_time(info["State"].get("StartedAt"))
            if started and info["State"].get("Running"):
                details.uptime_seconds = time.time() - started
        except connect.API_ERRORS:
            pass
    if level.state != levels.READY or not level.endpoint:
        return details
    try:
        client = connect.client(level.endpoint, check=False)
        info = client.info()
        details.version = guard.text(info.get("ServerVersion"), 40) or details.version
        details.storage_driver = guard.text(info.get("Driver"), 40) or None
        if "snapshotter" in str(info.get("DriverStatus") or ""):
            details.storage_driver = f"{details.storage_driver} (containerd image store)"
        elif info.get("Driver") == "overlay2":
            details.storage_driver = "overlay2 (classic image store)"
        details.cgroup_version = guard.text(info.get("CgroupVersion"), 4) or None
        swarm = info.get("Swarm") if isinstance(info.get("Swarm"), dict) else {}
        if swarm.get("LocalNodeState") == "active":
            details.swarm = "manager" if swarm.get("ControlAvailable") is True else "worker"
        found = inside.contents(level)
        details.containers, details.images = found.containers, found.images
        details.volumes, details.networks = found.volumes, found.networks
    except connect.API_ERRORS as exc:
        details.error = guard.text(f"daemon did not answer: {exc}", 600)
    return details
