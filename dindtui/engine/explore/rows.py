"""What the explore views show, as plain data: a level's containers, images, volumes and
networks as rows, a thing found anywhere in the tree, and the words of a container's actions.
No Docker here (inside.py reads them): the TUI's first frame imports this, not the readers."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

FULL_ID = re.compile(r"[0-9a-f]{64}")

ACTIONS = ("start", "stop", "restart", "kill", "remove")
DESTRUCTIVE = ("stop", "restart", "kill", "remove")
STOP_TIMEOUT = 10  # seconds a stopped container gets before it is killed (docker's default)


@dataclass(frozen=True)
class ContainerRow:
    id: str                 # the short id (12 hex digits), as `docker ps` shows it
    name: str
    image: str
    state: str              # Docker's word: running, exited, paused, ...
    status: str             # Docker's line: "Up 5 minutes", "Exited (0) 2 hours ago"
    is_level: bool = False  # a dindtui level (a child of this level in the tree)
    level_path: str | None = None
    protected: str = ""     # why no action may touch it (a level of any namespace, a helper)
    ports: str = ""
    command: str = ""
    created: int = 0
    up_since: float | None = None  # when it started, as its status said when it was read
    full_id: str = ""       # all 64 hex digits (the sampler finds its cgroup files by it)

    @property
    def uptime(self) -> str:
        """How long it has run, aged to now (Docker's words: "5 minutes")."""
        return self.uptime_at(time.time())

    def uptime_at(self, now: float) -> str:
        if self.state != "running":
            return ""
        if self.up_since is None:
            return self.status[3:] if self.status.startswith("Up ") else ""
        return human_duration(now - self.up_since)

    def status_at(self, now: float) -> str:
        """Docker's status line, its running time aged to now ("Up 6 minutes (healthy)")."""
        if self.state != "running" or self.up_since is None:
            return self.status
        _, _, note = self.status.partition(" (")
        return f"Up {self.uptime_at(now)}" + (f" ({note}" if note else "")


_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
          "month": 2592000, "year": 31536000}
_AGE = re.compile(r"Up (?:(Less than a second)|About an? (minute|hour)|(\d+) (second|minute|"
                  r"hour|day|week|month|year)s?)(?: \(.*\))?")


def docker_age(status: str) -> float | None:
    """The seconds a running container's status line says it has run ("Up 5 minutes" -> 300);
    None when it says nothing Docker's own words would."""
    found = _AGE.fullmatch(status)
    if found is None:
        return None
    if found.group(1):
        return 0.0
    if found.group(2):
        return float(_UNITS[found.group(2)])
    return float(int(found.group(3)) * _UNITS[found.group(4)])


def human_duration(seconds: float) -> str:
    """Docker's words for a running time (go-units' HumanDuration), as `docker ps` says it."""
    if seconds < 1:
        return "Less than a second"
    if int(seconds) == 1:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds // 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


@dataclass(frozen=True)
class ImageRow:
    id: str
    tags: tuple[str, ...]
    size: int
    used_by: int = 0        # containers of this level made from it
    created: int = 0


@dataclass(frozen=True)
class VolumeRow:
    name: str
    driver: str
    used_by: int = 0
    level_path: str | None = None  # the volume of a child level


@dataclass(frozen=True)
class NetworkRow:
    id: str
    name: str
    driver: str
    scope: str
    containers: int = 0


@dataclass
class Contents:
    containers: list[ContainerRow] = field(default_factory=list)
    images: list[ImageRow] = field(default_factory=list)
    volumes: list[VolumeRow] = field(default_factory=list)
    networks: list[NetworkRow] = field(default_factory=list)



@dataclass(frozen=True)
class Hit:
    """One thing found somewhere in the tree: a container or an image of a level."""

    level: str          # the level's path ("" for level 0)
    kind: str           # container or image
    name: str           # container name, or the image's first tag
    id: str
    detail: str         # image and state of a container; every tag and size of an image
    text: str           # what a query is matched against

    @property
    def where(self) -> str:
        return self.level or "host"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("text")
        return data



def search(hits: list[Hit], query: str) -> list[Hit]:
    """Hits whose name, image, id, tags or command contain every word of the query."""
    words = query.lower().split()
    found = [hit for hit in hits if all(word in hit.text or word in hit.where
                                        for word in words)]
    return sorted(found, key=lambda h: (h.kind != "container", h.level.count("/"), h.level,
                                        h.name))
