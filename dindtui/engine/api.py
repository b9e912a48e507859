"""What the TUI asks of an engine, as typed protocols. `engine.facade.Engine` is the real one;
the tests' `FakeEngine` (tests/fake_engine.py) is another, and mypy holds both to these
protocols (pyproject's mypy `files` include the fake, which assigns itself to `TUIEngine`), so
the two cannot drift apart unnoticed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from concurrent.futures import Future
    from .disk.usage import CleanupPlan, CleanupResult, UsageReport
    from .explore.details import LevelDetails
    from .explore.inside import Hit, Ran
    from .explore.stats import Usage
    from .lifecycle import images
    from .lifecycle.exiting import ExitCallback
    from .lifecycle.spawn import SpawnResult
    from .progress import ProgressCallback
    from .swarm.clusters import Created
    from .swarm.view import SwarmView
    from .tree.levels import Level


class LogFollowing(Protocol):
    """A container's log followed in the background, drained by the screen."""

    ended: bool
    error: str | None

    def drain(self) -> list[str]: ...

    def close(self) -> None: ...


class Sampling(Protocol):
    """Stats read in the background for the containers the app names."""

    usage: dict[str, "Usage"]

    def follow(self, targets: dict[str, tuple[str, str]],
               visible: set[str] | None = None) -> None: ...

    def close(self) -> None: ...


class Watching(Protocol):
    """Event streams of the daemons the app names."""

    def watch(self, endpoints: set[str]) -> None: ...

    def close(self) -> None: ...


class TUIEngine(Protocol):
    """Everything the TUI asks of Docker. Every call may block: the app makes it in a worker
    thread, never in its event loop."""

    def discover(self) -> list["Level"]: ...

    def discover_soon(self) -> "Future[list[Level]]": ...

    def forget_gone(self, roots: list["Level"]) -> None: ...

    def reread(self, level: "Level") -> "Level": ...

    def details(self, level: "Level") -> "LevelDetails": ...

    def measure(self) -> "UsageReport": ...

    def default_name(self, parent: "Level") -> str: ...

    def spawn(self, parent_path: str, name: str, progress: "ProgressCallback",
              store: str | None = None) -> "SpawnResult": ...

    def exit_level(self, path: str, on_event: "ExitCallback",
                   rm_volume: bool = False, timeout: float | None = None) -> list[str]: ...

    def collapse(self, on_event: "ExitCallback", rm_volume: bool = False,
                 timeout: float | None = None) -> list[str]: ...

    def revive(self, path: str, progress: "ProgressCallback") -> list[str]: ...

    def plan_cleanup(self) -> "CleanupPlan": ...

    def apply_cleanup(self, plan: "CleanupPlan",
                      progress: "ProgressCallback") -> "CleanupResult": ...

    def shell(self, level: "Level") -> int: ...

    def container_shell(self, level: "Level", ref: str) -> int: ...

    def inspect(self, level: "Level", ref: str) -> dict[str, Any]: ...

    def act(self, level: "Level", ref: str, action: str) -> str: ...

    def run(self, level: "Level", image: str, command: str, name: str) -> "Ran": ...

    def images_above(self, level: "Level") -> dict[str, str]: ...

    def push(self, level: "Level", image: str,
             progress: "ProgressCallback" = ...) -> "images.PushResult": ...

    def remove_image(self, level: "Level", ref: str) -> str: ...

    def remove_volume(self, level: "Level", name: str) -> str: ...

    def follow_logs(self, level: "Level", ref: str,
                    on_ready: Callable[[], None]) -> LogFollowing: ...

    def sampler(self, on_round: Callable[[set[str]], None]) -> Sampling: ...

    def index(self, roots: list["Level"]) -> tuple[list["Hit"], list[str]]: ...

    def create_cluster(self, parent_path: str, name: str, managers: int, workers: int,
                       progress: "ProgressCallback") -> "Created": ...

    def swarm(self, level: "Level") -> "SwarmView | None": ...

    def set_availability(self, level: "Level", node: str, availability: str) -> str: ...

    def scale_service(self, level: "Level", service: str, replicas: int) -> str: ...

    def kill_level(self, level: "Level") -> str: ...

    def watcher(self, on_event: Callable[[str, dict[str, Any]], None],
                on_state: Callable[[str, str], None]) -> Watching: ...
