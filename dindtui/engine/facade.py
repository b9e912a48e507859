"""Everything the TUI asks of Docker, as one object the app is given. The app never reaches
past it, so a test can hand the app another object with the same methods (a fake tree, a
failure on demand) and drive every UI flow in seconds without an engine; the real-engine tests
drive this one."""

from __future__ import annotations

from . import details, inside, levels, live, shell, usage
from . import spawn as spawning
from typing import Callable

from .errors import DindtuiError
from .images import API_ERRORS
from .levels import Level
from .progress import ProgressCallback
from .watcher import EventCallback, EventWatcher, StateCallback


class Engine:
    """Every level 0 this process was given (connect.origins): one tree each. Paths name a
    level in any of them (with several engines, a path begins with its engine's label)."""

    def discover(self) -> list[Level]:
        return levels.discover_all()

    def reread(self, level: Level) -> Level:
        return live.reread(level)

    def details(self, level: Level) -> details.LevelDetails:
        return details.level_details(level)

    def measure(self) -> usage.UsageReport:
        return usage.measure_all(levels.discover_all())

    def default_name(self, parent: Level) -> str:
        return spawning.default_name(parent)

    def spawn(self, parent_path: str, name: str, progress: ProgressCallback,
              store: str | None = None) -> spawning.SpawnResult:
        parent = levels.find(levels.discover_tree(parent_path), parent_path)
        return spawning.spawn(parent, name, store=store, progress=progress)

    def exit_level(self, path: str, on_event: spawning.ExitCallback) -> list[str]:
        return spawning.exit_level(levels.find(levels.discover_tree(path), path),
                                   on_event=on_event)

    def collapse(self, on_event: spawning.ExitCallback) -> list[str]:
        """Every level of every engine that answers, deepest first: an engine that is itself
        a level of another tree (published on this machine) before that tree."""
        roots = levels.discover_all()
        exited: list[str] = []
        failed: list[str] = []
        for root in sorted(roots, key=lambda root: not levels.held_by(root, roots)):
            if root.state != levels.READY:
                continue
            try:
                exited += spawning.collapse(root, on_event=on_event)
            except (DindtuiError,) + API_ERRORS as exc:  # the other engines still collapse
                failed.append(f"{root.label}: {' '.join(str(exc).split())[:300]}")
        if failed:
            raise DindtuiError(f"exited {len(exited)} level(s), but not every engine's: "
                               + "; ".join(failed))
        return exited

    def revive(self, path: str, progress: ProgressCallback) -> list[str]:
        return spawning.revive(levels.find(levels.discover_tree(path), path), progress)

    def plan_cleanup(self) -> usage.CleanupPlan:
        return usage.plan_cleanup_all(levels.discover_all())

    def apply_cleanup(self, plan: usage.CleanupPlan,
                      progress: ProgressCallback) -> list[usage.CleanupItem]:
        return usage.apply_cleanup_all(levels.discover_all(), plan, progress=progress)

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

    def index(self, roots: list[Level]) -> tuple[list[inside.Hit], list[str]]:
        hits: list[inside.Hit] = []
        problems: list[str] = []
        for root in roots:
            if root.state != levels.READY:
                problems.append(f"{root.label}: {root.error or root.state}")
                continue
            found, trouble = inside.index(root)
            hits += found
            problems += trouble
        return hits, problems

    def watcher(self, on_event: EventCallback, on_state: StateCallback) -> EventWatcher:
        return EventWatcher(on_event, on_state)
