"""Everything the TUI asks of Docker, as one object the app is given. The app never reaches
past it, so a test can hand the app another object with the same methods (a fake tree, a
failure on demand) and drive every UI flow in seconds without an engine; the real-engine tests
drive this one."""

from __future__ import annotations

from . import details, inside, levels, live, shell, usage
from . import spawn as spawning
from typing import Callable

from .levels import Level
from .progress import ProgressCallback
from .watcher import EventCallback, EventWatcher, StateCallback


class Engine:
    def discover(self) -> Level:
        return levels.discover()

    def reread(self, level: Level) -> Level:
        return live.reread(level)

    def details(self, level: Level) -> details.LevelDetails:
        return details.level_details(level)

    def measure(self) -> usage.UsageReport:
        return usage.measure(levels.discover())

    def default_name(self, parent: Level) -> str:
        return spawning.default_name(parent)

    def spawn(self, parent_path: str, name: str, progress: ProgressCallback,
              store: str | None = None) -> spawning.SpawnResult:
        parent = levels.find(levels.discover(), parent_path)
        return spawning.spawn(parent, name, store=store, progress=progress)

    def exit_level(self, path: str, on_event: spawning.ExitCallback) -> list[str]:
        return spawning.exit_level(levels.find(levels.discover(), path), on_event=on_event)

    def collapse(self, on_event: spawning.ExitCallback) -> list[str]:
        return spawning.collapse(levels.discover(), on_event=on_event)

    def revive(self, path: str, progress: ProgressCallback) -> list[str]:
        return spawning.revive(levels.find(levels.discover(), path), progress)

    def plan_cleanup(self) -> usage.CleanupPlan:
        return usage.plan_cleanup(levels.discover())

    def apply_cleanup(self, plan: usage.CleanupPlan,
                      progress: ProgressCallback) -> list[usage.CleanupItem]:
        return usage.apply_cleanup(levels.discover(), plan, progress=progress)

    def shell(self, level: Level) -> int:
        """An interactive shell on this process's terminal (the caller suspends its UI)."""
        return shell.interactive(level)

    def container_shell(self, level: Level, ref: str) -> int:
        """A shell inside one container of the level, on this process's terminal."""
        return shell.container_shell(level, ref)

    def inspect(self, level: Level, ref: str) -> dict:
        return inside.inspect(level, ref)

    def act(self, level: Level, ref: str, action: str) -> str:
        return inside.act(level, ref, action)

    def run(self, level: Level, image: str, command: str, name: str) -> inside.ContainerRow:
        return inside.run(level, image, command, name)

    def follow_logs(self, level: Level, ref: str,
                    on_ready: Callable[[], None]) -> inside.LogFollower:
        return inside.LogFollower(level, ref, on_ready).start()

    def sampler(self, on_round: Callable[[set[str]], None]) -> inside.StatsSampler:
        return inside.StatsSampler(on_round)

    def index(self, root: Level) -> tuple[list[inside.Hit], list[str]]:
        return inside.index(root)

    def watcher(self, on_event: EventCallback, on_state: StateCallback) -> EventWatcher:
        return EventWatcher(on_event, on_state)
