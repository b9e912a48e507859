"""`dindtui-init live-restore on|off`: turn the level's live-restore on or off through dockerd's
own reload, for swarm mode (which refuses live-restore).

A level's dockerd runs with live-restore: after a crash the init starts it again and the
level's containers (the levels nested in it included) keep running. Swarm mode refuses it
("--live-restore daemon configuration is incompatible with swarm mode"), so a level that
joins a swarm gives it up first: the setting is written to daemon.json and dockerd reloads it on
SIGHUP, with no restart and nothing stopped. The level image's `docker` command does this before
`docker swarm init` and `docker swarm join`, and after a `docker swarm leave` turns it on again;
the engine does it for `dindtui cluster create`. The init chooses at start: a level that is a
swarm node (its swarm state is on its volume) starts without live-restore.
"""

from __future__ import annotations

import os
import signal
import time

from . import api
from .common import EXIT_BAD_INPUT, EXIT_DOCKERD, InitError, log
from .setup import DAEMON_JSON, read_daemon_config, write_daemon_config

DOCKERD_PID = "/var/run/docker.pid"
RELOAD_TIMEOUT = 10.0


def live_restore_enabled() -> bool | None:
    """What the daemon says (None: it cannot be asked), asked over its socket: the docker CLI
    was one Go program started every 50 ms of the wait for a reload."""
    try:
        info = api.get_json("/info", 5)
    except api.ApiError:
        return None
    value = info.get("LiveRestoreEnabled") if isinstance(info, dict) else None
    return value if isinstance(value, bool) else None


def dockerd_pid(path: str = DOCKERD_PID) -> int:
    try:
        with open(path) as f:
            text = f.read(32).strip()
    except OSError:
        text = ""
    if not (text.isascii() and text.isdigit()):
        raise InitError(f"dockerd is not running here (no pid in {path})", EXIT_DOCKERD)
    return int(text)


def set_live_restore(on: bool, path: str = DAEMON_JSON) -> bool:
    """Write the setting and have dockerd reload it; True when it changed. Waits (bounded) until
    the daemon reports the new value."""
    if live_restore_enabled() is on:
        return False
    config = read_daemon_config(path)
    config["live-restore"] = on
    write_daemon_config(config, path)
    os.kill(dockerd_pid(), signal.SIGHUP)
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        if live_restore_enabled() is on:
            return True
        time.sleep(0.05)
    raise InitError(f"dockerd did not reload live-restore={str(on).lower()} within "
                    f"{RELOAD_TIMEOUT:g}s (see /var/log/dockerd.log)", EXIT_DOCKERD)


def live_restore_main(argv: list[str]) -> int:
    if argv not in (["on"], ["off"]):
        raise InitError("usage: dindtui-init live-restore on|off", EXIT_BAD_INPUT)
    on = argv[0] == "on"
    if set_live_restore(on):
        log("live-restore is on again" if on else
            "live-restore is off for swarm mode: a crash of this level's dockerd now stops "
            "its containers (swarm reschedules its tasks)")
    return 0
