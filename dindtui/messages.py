"""Every message the TUI passes around: workers and the event watcher post them, the app and
its screens handle them. Small dataclasses; a burst of the same kind collapses into one where
only the newest matters (`can_replace`)."""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

from textual.message import Message

from .engine.api import LogFollowing
from .engine.explore.details import LevelDetails
from .engine.explore.rows import Hit
from .engine.tree.levels import Level
from .engine.progress import Progress

if TYPE_CHECKING:  # no part of a first frame: the lifecycle, disk usage, the swarm's view
    from .engine.disk.usage import CleanupPlan, UsageReport
    from .engine.lifecycle.exiting import ExitEvent
    from .engine.swarm.view import SwarmView


@dataclass
class TreeLoaded(Message):
    """Every engine's tree discovered, one root each (None: the only engine did not answer,
    with the error; with several engines, one that does not answer is a root marked so)."""

    roots: list[Level] | None
    error: str | None = None
    cpu_seconds: float | None = None  # what reading it cost this process (None: not measured)


@dataclass
class SubtreeLoaded(Message):
    """One daemon's subtree read again, to graft in place of the level with its path."""

    fresh: Level


@dataclass
class DetailsLoaded(Message):
    details: LevelDetails


@dataclass
class SwarmLoaded(Message):
    """The swarm of the level at `path` as it reports it (None: it is in none)."""

    path: str
    view: SwarmView | None
    error: str | None = None


@dataclass
class UsageMeasured(Message):
    report: UsageReport | None
    error: str | None = None
    cpu_seconds: float = 0.0  # what the walk cost this process


@dataclass
class DaemonEvent(Message):
    """One event of one daemon, as the watcher saw it."""

    endpoint: str
    event: dict


@dataclass
class StreamState(Message):
    endpoint: str
    state: str  # live, retrying


@dataclass
class TaskProgress(Message):
    report: Progress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TaskProgress) and message.report.stage == self.report.stage


@dataclass
class TaskDone(Message):
    kind: str
    text: str
    error: bool = False


@dataclass
class LevelExited(Message):
    event: ExitEvent


@dataclass
class PlanReady(Message):
    plan: CleanupPlan


@dataclass
class StatsRound(Message):
    """The stats sampler read its containers again (the newest round replaces a pending one)."""

    keys: set

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatsRound)


@dataclass
class InspectLoaded(Message):
    key: str
    data: dict | None
    error: str | None = None


@dataclass
class LogsReady(Message):
    """A container's log follower has lines (posted from its thread; the screen drains them)."""

    follower: LogFollowing

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogsReady) and message.follower is self.follower


@dataclass
class IndexLoaded(Message):
    """Every container and image of the tree, for the find screen (and problems met)."""

    hits: list[Hit]
    problems: list[str]
