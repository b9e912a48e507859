"""How to start a level's container on a given daemon: `--privileged` where that daemon accepts
it, else the capability-precise fallback (docs/architecture.md). Decided per daemon, because a
Docker 26 level accepts --privileged for its children even where the host engine refuses it."""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any

from ..errors import DindtuiError, ImageMissing, NotEnoughPrivilege
from ..lazy import LazyModule

if TYPE_CHECKING:
    import docker.errors
    import requests.exceptions
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")
    requests = LazyModule("requests")

PRIVILEGED = "privileged"
CAPABILITIES = "capabilities"

# Verified to depth 3 on a host whose bounding set lacks CAP_SYS_RESOURCE. Every flag is a single
# word, so `docker run $(dindtui flags) ...` survives the shell's word splitting.
CAPABILITY_FLAGS = [
    "--cap-add=ALL", "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined", "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
]

MEMORY_ENTRIES = 64  # what worked on each daemon, written down: the newest 64 daemons
_decided: dict[str, str] = {}   # daemon ID -> mode, from probes
_started: dict[str, str] = {}   # endpoint -> the mode a level last started with there
_lock = threading.Lock()


def host_config(client: DockerClient, mode: str, **options: Any) -> dict[str, Any]:
    """An API HostConfig for a container started in `mode`, plus any other SDK options."""
    if mode == PRIVILEGED:
        made: dict[str, Any] = client.api.create_host_config(privileged=True, **options)
        return made
    config: dict[str, Any] = client.api.create_host_config(
        cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"], **options)
    # The CLI's `--security-opt systempaths=unconfined`: nothing masked, nothing read-only.
    config["MaskedPaths"] = []
    config["ReadonlyPaths"] = []
    return config


def cli_flags(mode: str) -> list[str]:
    return ["--privileged"] if mode == PRIVILEGED else list(CAPABILITY_FLAGS)


def _try(client: DockerClient, image: str, mode: str) -> str | None:
    """Start a throwaway container of `image` in `mode`; None when it ran, else the error."""
    container = None
    try:
        container = client.api.create_container(
            image, entrypoint=["true"], labels={"dindtui.probe": "1"},
            host_config=host_config(client, mode))
        client.api.start(container)
        result = client.api.wait(container, timeout=30)
        return None if result.get("StatusCode") == 0 else f"exit {result.get('StatusCode')}"
    except docker.errors.ImageNotFound:
        raise ImageMissing(f"image {image} is missing on this daemon: run `dindtui image "
                           "build`") from None
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        return getattr(exc, "explanation", None) or str(exc)
    finally:
        if container is not None:
            try:
                client.api.remove_container(container, force=True, v=True)
            except (docker.errors.APIError, requests.exceptions.RequestException):
                pass


def _memory_file() -> str:
    from ..net.connect import STATE_DIR
    return os.path.join(STATE_DIR, "privileges.json")


def _remembered(endpoint: str) -> str | None:
    """The mode a level last started with on `endpoint`, in this process or an earlier one."""
    with _lock:
        if endpoint in _started:
            return _started[endpoint]
    return recall(endpoint)


def recall(key: str) -> str | None:
    """What an earlier process wrote down under `key` (the state directory's memory of what
    worked on each daemon: a speed-up only, never trusted beyond a first try)."""
    try:
        with open(_memory_file()) as handle:
            found = json.load(handle).get(key)
            return found if isinstance(found, str) else None
    except (OSError, ValueError, AttributeError):
        return None


def candidates(endpoint: str, known: str | None = None) -> list[str]:
    """Modes to try, best first, for a new level on the daemon at `endpoint`: the one its
    levels already use, else --privileged and then the capability fallback."""
    known = _remembered(endpoint) or known
    if known in (PRIVILEGED, CAPABILITIES):
        return [known] + [m for m in (PRIVILEGED, CAPABILITIES) if m != known]
    return [PRIVILEGED, CAPABILITIES]


def remember(endpoint: str, mode: str) -> None:
    with _lock:
        if _started.get(endpoint) == mode:
            return
        _started[endpoint] = mode
    write_down(endpoint, mode)


def write_down(key: str, value: str) -> None:
    with _lock:
        try:
            with open(_memory_file()) as handle:
                memory = json.load(handle)
        except (OSError, ValueError):
            memory = {}
        if not isinstance(memory, dict):
            memory = {}
        memory.pop(key, None)
        memory[key] = value  # the newest last: the oldest go first when the file is full
        while len(memory) > MEMORY_ENTRIES:
            memory.pop(next(iter(memory)))
        try:
            from ..net.connect import ensure_dir
            ensure_dir(os.path.dirname(_memory_file()))
            temporary = f"{_memory_file()}.{os.getpid()}.tmp"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "w") as handle:
                os.fchmod(handle.fileno(), 0o644)
                json.dump(memory, handle)
            os.replace(temporary, _memory_file())
        except (OSError, DindtuiError):
            pass  # only a speed-up: the next spawn tries --privileged first again


def refusal(error: str) -> bool:
    """A start that failed for want of privilege (the next mode may work), not for another
    reason (a missing file in the image, a broken daemon): those are said as they are."""
    text = error.lower()
    return any(word in text for word in ("operation not permitted", "permission denied",
                                         "apply caps", "privileged", "capabilit"))


def refused(exc: Exception | str) -> NotEnoughPrivilege:
    text = (getattr(exc, "explanation", None) or str(exc)).strip()
    return NotEnoughPrivilege("this engine can start neither privileged containers nor the "
                              f"capability fallback ({text}); a Docker daemon cannot run inside it")


def decide(client: DockerClient, image: str, known: str | None = None) -> str:
    """The privilege mode for new levels on `client`'s daemon, probing once per daemon.

    `known` is a mode already proven on that daemon (read from its levels' labels)."""
    daemon_id = client.info().get("ID", "")
    with _lock:
        if daemon_id in _decided:
            return _decided[daemon_id]
    if known in (PRIVILEGED, CAPABILITIES):
        mode = known
    else:
        privileged_error = _try(client, image, PRIVILEGED)
        mode = PRIVILEGED
        if privileged_error is not None:
            fallback_error = _try(client, image, CAPABILITIES)
            if fallback_error is not None:
                raise refused(fallback_error)
            mode = CAPABILITIES
    with _lock:
        _decided[daemon_id] = mode
    return mode
