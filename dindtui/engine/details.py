"""What the detail pane shows about one level: its daemon, its containers and its images."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import connect, levels
from .images import API_ERRORS
from .levels import Level


@dataclass(frozen=True)
class ContainerRow:
    id: str
    name: str
    image: str
    state: str
    status: str
    is_level: bool


@dataclass(frozen=True)
class ImageRow:
    id: str
    tags: tuple[str, ...]
    size: int


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
    error: str | None = None


def level_details(level: Level) -> LevelDetails:
    """Ask the level's daemon (and its parent, for the container) for everything shown."""
    details = LevelDetails(level.label, level.depth, level.state, level.version,
                           privilege=level.privilege, strategy=level.strategy,
                           endpoint=level.endpoint, port=level.port, volume=level.volume,
                           error=level.error)
    if level.depth and level.parent is not None and level.parent.endpoint:
        try:
            info = connect.client(level.parent.endpoint, check=False).api.inspect_container(
                level.container_id)
            started = levels.docker_time(info["State"].get("StartedAt"))
            if started and info["State"].get("Running"):
                details.uptime_seconds = time.time() - started
        except API_ERRORS:
            pass
    if level.state != levels.READY or not level.endpoint:
        return details
    try:
        client = connect.client(level.endpoint, check=False)
        info = client.info()
        details.version = info.get("ServerVersion") or details.version
        details.storage_driver = info.get("Driver")
        details.cgroup_version = info.get("CgroupVersion")
        for summary in client.api.containers(all=True):
            labels = summary.get("Labels") or {}
            details.containers.append(ContainerRow(
                summary["Id"][:12], (summary.get("Names") or ["/?"])[0][1:],
                summary.get("Image", ""), summary.get("State", ""), summary.get("Status", ""),
                levels.LABEL_NAME in labels))
        for image in client.api.images():
            details.images.append(ImageRow(image["Id"].split(":")[-1][:12],
                                           tuple(image.get("RepoTags") or ("<none>",)),
                                           image.get("Size", 0)))
    except API_ERRORS as exc:
        details.error = f"daemon did not answer: {exc}"
    return details
