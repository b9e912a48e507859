"""The owner of the per-daemon event threads: one thread per watched endpoint, each following
that daemon's event stream and reconnecting when it breaks. The UI says which endpoints to
watch and receives plain callbacks; it never starts or tracks a thread itself."""

from __future__ import annotations

import threading
from typing import Any, Callable

from .events import EventStream

RETRY_SECONDS = 2.0

EventCallback = Callable[[str, dict[str, Any]], None]   # (endpoint, event)
StateCallback = Callable[[str, str], None]    # (endpoint, "live" | "retrying")


class EventWatcher:
    def __init__(self, on_event: EventCallback, on_state: StateCallback,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.on_event, self.on_state = on_event, on_state
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._watched: dict[str, _Follower] = {}

    @property
    def endpoints(self) -> set[str]:
        with self._lock:
            return set(self._watched)

    def watch(self, endpoints: set[str]) -> None:
        """Follow exactly these endpoints: start the new ones, stop the ones not listed."""
        with self._lock:
            for endpoint in endpoints - set(self._watched):
                follower = _Follower(self, endpoint)
                self._watched[endpoint] = follower
                follower.start()
            for endpoint in set(self._watched) - endpoints:
                self._watched.pop(endpoint).stop()

    def close(self) -> None:
        self.watch(set())


class _Follower(threading.Thread):
    """Follows one daemon's events until stopped; says "live" or "retrying" as it goes."""

    def __init__(self, watcher: EventWatcher, endpoint: str) -> None:
        super().__init__(daemon=True, name=f"events {endpoint}")
        self.watcher, self.endpoint = watcher, endpoint
        self._stopped = threading.Event()
        self._stream: EventStream | None = None

    def stop(self) -> None:
        self._stopped.set()
        if self._stream is not None:
            self._stream.close()

    def run(self) -> None:
        while not self._stopped.is_set():
            self._stream = EventStream(self.endpoint)
            try:
                self.watcher.on_state(self.endpoint, "live")
                for event in self._stream:
                    if self._stopped.is_set():
                        return
                    self.watcher.on_event(self.endpoint, event)
            except Exception:  # noqa: BLE001 - any broken stream: say so, then reconnect
                pass
            if self._stopped.wait(0):
                return
            self.watcher.on_state(self.endpoint, "retrying")
            self._stopped.wait(self.watcher.retry_seconds)
