"""The live event stream of one daemon, as plain dicts, cancellable from another thread."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterator

from . import connect
from ..lazy import LazyModule

if TYPE_CHECKING:
    import docker
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")


class EventStream:
    """`for event in EventStream(endpoint)` blocks until events come; `close()` from any thread
    ends the loop. A broken stream raises; the caller decides how to retry."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self._stream = None
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        # A client of its own with no read timeout: an idle daemon sends nothing for a long time.
        client = docker.DockerClient(base_url=self.endpoint, timeout=None, version="auto")
        try:
            stream = self._stream = client.api.events(decode=True)
            if self._closed.is_set():
                return
            for event in stream:
                if self._closed.is_set():
                    return
                yield {"type": event.get("Type"), "action": event.get("Action"),
                       "id": (event.get("Actor") or {}).get("ID", ""),
                       "time_nano": event.get("timeNano"),  # the daemon's clock (the host's)
                       "attributes": (event.get("Actor") or {}).get("Attributes") or {}}
        except connect.API_ERRORS + (OSError, docker.errors.DockerException):
            if not self._closed.is_set():
                raise
        finally:
            client.close()

    def close(self) -> None:
        self._closed.set()
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception:  # noqa: BLE001 - closing a half-dead socket may fail any way
                pass
