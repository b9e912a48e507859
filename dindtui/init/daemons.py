"""containerd and dockerd: started together (after a seed), supervised, stopped together, and
what a reboot would start again."""

from __future__ import annotations

import json
import os
import signal
import time

from .common import (
    DOCKERD_LOG,
    EXIT_BAD_INPUT,
    EXIT_DOCKERD,
    EXIT_SEED,
    SEED_DB_MARKER,
    SEED_MARKER,
    STOP_SIGNALS,
    InitError,
    env_seconds,
    log,
    shutdown_timeout,
)
from . import api
from .setup import image_store, remove_stale_pid_files
from .supervise import Stopping, Supervisor, connects, ping, spawn, tail

TYPE_CHECKING = False  # typing is for mypy: not imported when every level's init starts
if TYPE_CHECKING:
    from typing import Any, Callable

CONTAINERD = "/usr/bin/containerd"
CONTAINERD_SOCKET = "/var/run/docker/containerd/containerd.sock"
# DINDTUI_CONTAINERD=system: laid out as a packaged Docker 29 is, a system containerd rooted
# outside Docker's data root (the level's volume is then mounted at /var/lib).
SYSTEM_CONTAINERD = ("/run/containerd/containerd.sock", "/var/lib/containerd", "/run/containerd")


def containerd_layout() -> tuple[str, str, str]:
    """(address, root, state) of this level's containerd."""
    kind = os.environ.get("DINDTUI_CONTAINERD", "").strip()
    if kind not in ("", "docker", "system"):
        raise InitError(f"DINDTUI_CONTAINERD must be docker or system, got {kind!r}",
                        EXIT_BAD_INPUT)
    if kind == "system":
        return SYSTEM_CONTAINERD
    return (CONTAINERD_SOCKET, "/var/lib/docker/containerd/daemon",
            "/var/run/docker/containerd/daemon")
CONTAINERD_CONFIG = "/run/dindtui-containerd.toml"
CONTAINERD_PID = "/run/dindtui-containerd.pid"  # this level's own (pidof also sees deeper ones)


class Daemons:
    """containerd and dockerd: started together, supervised (a daemon that dies is started
    again, with a back-off), stopped together."""

    MAX_CRASHES = 5        # in CRASH_WINDOW seconds: then the level gives up, with a status
    CRASH_WINDOW = 120.0

    def __init__(self, sup: Supervisor, argv: list[str], foreground_log: bool) -> None:
        self.sup = sup
        self.argv = argv
        self.foreground_log = foreground_log
        self.log_path = None if foreground_log else DOCKERD_LOG
        self.containerd: int | None = None
        self.dockerd: int | None = None
        self.crashes: list[float] = []
        self.restarts = 0

    def grace(self) -> float:
        return shutdown_timeout() + 3

    def ready_deadline(self) -> float:
        return time.monotonic() + env_seconds("DINDTUI_READY_TIMEOUT", 60)

    def start(self) -> None:
        """containerd first, so dockerd connects at once instead of after its own start-up
        back-off (about a second saved on every level), then dockerd until it answers."""
        remove_stale_pid_files()
        deadline = self.ready_deadline()
        seeded = os.environ.get("DINDTUI_AWAIT_SEED") == "1"
        # A seed of the containerd image store writes containerd's own databases: containerd
        # may only open them once the seed is complete. An overlay2 seed is dockerd's alone.
        if seeded and image_store() == "containerd":
            self._await_seed(deadline, databases_only=True)
        self._start_containerd(deadline)
        if seeded:
            self._await_seed(deadline)
        self._start_dockerd(deadline)

    def _start_containerd(self, deadline: float) -> None:
        if not os.access(CONTAINERD, os.X_OK):
            return
        with open(CONTAINERD_CONFIG, "w") as config:
            config.write('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
        socket_path, root, state = containerd_layout()
        self.containerd = spawn([CONTAINERD, "--config", CONTAINERD_CONFIG,
                                 "--address", socket_path, "--root", root, "--state", state],
                                self.log_path, session=True)
        with open(CONTAINERD_PID, "w") as handle:
            handle.write(f"{self.containerd}\n")
        self._wait("containerd", self.containerd, lambda: connects(socket_path), deadline)

    def _start_dockerd(self, deadline: float) -> None:
        argv = self.argv + ([f"--containerd={containerd_layout()[0]}"] if self.containerd
                            else [])
        try:
            os.remove("/var/run/docker.pid")
        except OSError:
            pass
        self.dockerd = spawn(argv, self.log_path, session=True)
        self._wait("dockerd", self.dockerd, ping, deadline)

    def _wait(self, name: str, pid: int, answers: Callable[[], bool], deadline: float) -> None:
        while not answers():
            if not self.sup.alive(pid):
                self.stop()
                raise InitError(f"{name} exited with status {self.sup.status[pid]} before "
                                "answering: " + ("see the log above" if self.foreground_log
                                                 else tail(DOCKERD_LOG)), EXIT_DOCKERD)
            if time.monotonic() > deadline:
                self.stop()
                raise InitError(f"{name} did not answer within the ready timeout: "
                                f"{tail(DOCKERD_LOG)}", EXIT_DOCKERD)
            info = self.sup.wait(0.02)
            if info is not None and info.si_signo in STOP_SIGNALS:
                self.stop()
                raise Stopping(info.si_signo)

    def _await_seed(self, deadline: float, databases_only: bool = False) -> None:
        """The engine seeds this level's data root while the container starts: dockerd may
        only read it once the seeder has written its marker. `databases_only`: return as soon
        as a containerd seed has written containerd's databases (its blobs and snapshot trees
        are still being linked; containerd only reads them when asked for an image)."""
        markers = [os.path.join("/var/lib/docker", SEED_MARKER)]
        if databases_only:
            markers.append(os.path.join("/var/lib/docker", SEED_DB_MARKER))
        outcome = None
        while outcome is None:
            for marker in markers:
                try:
                    with open(marker) as handle:
                        outcome = handle.read().strip()
                    break
                except FileNotFoundError:
                    pass
            if outcome is not None:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise InitError("the image seed did not finish within the ready timeout",
                                EXIT_SEED)
            info = self.sup.wait(0.02)
            if info is not None and info.si_signo in STOP_SIGNALS:
                self.stop()
                raise Stopping(info.si_signo)
        if outcome != "ok":
            self.stop()
            raise InitError(f"the image seed failed: {outcome}", EXIT_SEED)

    def supervise(self) -> None:
        """Call after every wake-up: start again whichever daemon died. containerd holds the
        level's containers (the levels below included) and dockerd runs with live-restore, so
        neither restart stops them. Gives up, with a status, after too many crashes."""
        containerd_died = self.containerd is not None and not self.sup.alive(self.containerd)
        dockerd_died = self.dockerd is not None and not self.sup.alive(self.dockerd)
        if not containerd_died and not dockerd_died:
            return
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < self.CRASH_WINDOW] + [now]
        which = "containerd" if containerd_died else "dockerd"
        died = self.containerd if containerd_died else self.dockerd
        assert died is not None
        status = self.sup.status[died]
        if len(self.crashes) > self.MAX_CRASHES:
            self.stop()
            raise InitError(f"{which} exited with status {status}, the {len(self.crashes)}th "
                            f"crash in {self.CRASH_WINDOW:.0f}s: giving up", EXIT_DOCKERD)
        delay = min(0.25 * 2 ** (len(self.crashes) - 1), 8.0)
        log(f"{which} exited unexpectedly (status {status}); starting it again in {delay:g}s")
        self._pause(delay)
        deadline = self.ready_deadline()
        if containerd_died:
            # dockerd must make its connection to containerd anew: restart it too, gracefully
            # (live-restore: its containers stay up).
            if self.dockerd is not None and self.sup.alive(self.dockerd):
                self.sup.stop(self.dockerd, self.grace())
            self._start_containerd(deadline)
        self._start_dockerd(deadline)
        self.restarts += 1
        log(f"{which} is back; the daemon answers again (restart {self.restarts})")

    def _pause(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            info = self.sup.wait(until - time.monotonic())
            if info is not None and info.si_signo in STOP_SIGNALS:
                self.stop()
                raise Stopping(info.si_signo)

    def stop_containers(self) -> bool:
        """dockerd runs with live-restore, which leaves containers running when it stops: stop
        them first, as dockerd would, all at once: each with its own stop timeout when it has
        one (a level nested here has, to stop what runs inside it first), else the shutdown
        timeout. What ran is written down, so that the next start brings back the containers
        whose restart policy asks for it (`restart_after_reboot`). False when dockerd could
        not stop them within their budget: a daemon that broken gets no long grace after."""
        if self.dockerd is None or not self.sup.alive(self.dockerd):
            return True
        timeout = int(shutdown_timeout() + 0.999)
        healthy = True
        try:
            running = api.inspect(api.container_ids("running"))
            write_reboot_record([c["Id"] for c in running])
            stops = []
            for container in running:
                own = (container.get("Config") or {}).get("StopTimeout")
                wait = own if isinstance(own, int) and 0 <= own <= 600 else timeout
                stops.append((f"/containers/{container['Id']}/stop?t={wait}", wait))
            # Sent at once, each answered when its container stopped. One budget for them
            # all: the longest stop timeout, and two seconds for dockerd to report (a daemon
            # that cannot, its containerd broken, is not waited for).
            deadline = time.monotonic() + max((wait for _, wait in stops), default=0) + 2
            answered = api.each_at_once("POST", [path for path, _ in stops], deadline)
            # 204 stopped, 304 already stopped, 404 gone meanwhile
            healthy = all(answered.get(path) in (204, 304, 404) for path, _ in stops)
            if healthy and running and not wait_until_saved_stopped(
                    [c["Id"] for c in running], time.monotonic() + SAVED_WAIT):
                log(f"warning: dockerd had not written down every stopped container within "
                    f"{SAVED_WAIT:g}s; the next start may find some dead (exit code 255)")
        except (OSError, ValueError) as exc:
            log(f"warning: stopping the containers before dockerd failed ({exc})")
            healthy = False
        if not healthy:
            log("dockerd did not stop the containers within their stop timeout: it is stopped "
                "with a short grace")
        return healthy

    def restart_after_reboot(self) -> None:
        """What a reboot does for Docker, for this level after it was stopped or killed: start
        again every stopped container whose restart policy is `always`, and every
        `unless-stopped` one that the user did not stop (it was running when the level went
        down). Levels nested here are left to `dindtui revive`, which starts them parents
        first. Never fails the level: a problem is a log line."""
        recorded = read_reboot_record()
        try:
            containers = "/var/lib/docker/containers"
            if not recorded and not (os.path.isdir(containers) and os.listdir(containers)):
                return  # a new level: nothing to bring back, and no time spent on it
            chosen = []
            for container in api.inspect(api.container_ids("exited")):
                labels = (container.get("Config") or {}).get("Labels") or {}
                if "dindtui.owner" in labels:
                    continue
                policy = ((container.get("HostConfig") or {}).get("RestartPolicy") or {}).get(
                    "Name")
                if policy == "always" or (policy == "unless-stopped" and (
                        container["Id"] in recorded or not manually_stopped(container["Id"]))):
                    chosen.append(container["Id"])
            if chosen:
                answered = api.each_at_once("POST", [f"/containers/{i}/start" for i in chosen],
                                            time.monotonic() + 60)
                failed = len([s for s in answered.values() if s not in (204, 304)])
                failed += len(chosen) - len(answered)
                log(f"started {len(chosen)} container(s) again, as their restart policy asks "
                    "after a restart" + (f" ({failed} could not be started)" if failed else ""))
        except (OSError, ValueError) as exc:
            log(f"warning: restarting containers after the level's restart failed ({exc})")
        finally:
            try:
                os.remove(REBOOT_RECORD)
            except OSError:
                pass

    dozing = False

    def doze(self) -> None:
        """Stop both daemons (SIGSTOP) until `wake`: a warm pool's level uses no CPU."""
        for pid in (self.dockerd, self.containerd):
            if pid is not None and self.sup.alive(pid):
                os.kill(pid, signal.SIGSTOP)
        self.dozing = True

    def wake(self) -> None:
        for pid in (self.containerd, self.dockerd):
            if pid is not None and self.sup.alive(pid):
                os.kill(pid, signal.SIGCONT)
        self.dozing = False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Containers, then dockerd, then containerd: the two daemons share one grace period
        (each exits in well under a second when healthy), then are killed."""
        if self.dozing:
            self.wake()
        healthy = self.stop_containers()
        deadline = time.monotonic() + (self.grace() if healthy else 1.0)
        for pid in (self.dockerd, self.containerd):
            if pid is not None:
                self.sup.stop(pid, max(deadline - time.monotonic(), 0.5), sig)


REBOOT_RECORD = "/var/lib/docker/.dindtui-running"  # containers running when the level stopped


def write_reboot_record(ids: list[str]) -> None:
    try:
        with open(REBOOT_RECORD + ".tmp", "w") as handle:
            json.dump(ids, handle)
        os.replace(REBOOT_RECORD + ".tmp", REBOOT_RECORD)
    except OSError as exc:
        log(f"warning: cannot note the running containers ({exc})")


def read_reboot_record() -> set[str]:
    """The ids written at the last stop: a file in the level's volume, so read as any
    file there, bounded and checked."""
    try:
        with open(REBOOT_RECORD, "rb") as handle:
            ids = json.loads(handle.read(1 << 20))
    except (OSError, ValueError):
        return set()
    return {i for i in ids if isinstance(i, str) and api.CONTAINER_ID.fullmatch(i)} \
        if isinstance(ids, list) else set()


def saved_config(container_id: str) -> dict[str, Any] | None:
    """dockerd's own record of a container on disk (config.v2.json), read bounded; None when
    it cannot be read."""
    try:
        with open(os.path.join("/var/lib/docker/containers", container_id, "config.v2.json"),
                  "rb") as handle:
            config = json.loads(handle.read(8 << 20))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def manually_stopped(container_id: str) -> bool:
    """dockerd's own record of a `docker stop` (HasBeenManuallyStopped); True when unsure."""
    config = saved_config(container_id)
    return config is None or config.get("HasBeenManuallyStopped") is not False


SAVED_WAIT = 2.0  # seconds a stop waits for dockerd to write down the containers it stopped


def wait_until_saved_stopped(ids: list[str], deadline: float) -> bool:
    """dockerd answers a stop once the container stopped, and writes that to disk just after;
    stopped itself before it did (75 ms later here, with live-restore it does not wait), it
    leaves the container marked running, and the next start finds it dead (exit code 255,
    not the 137 of its kill). Waits until every one is written down as not running (or is
    gone), until `deadline`; False when some were not."""
    def still_running(container_id: str) -> bool:
        if not os.path.isdir(os.path.join("/var/lib/docker/containers", container_id)):
            return False  # removed (--rm): nothing left to write down
        state = (saved_config(container_id) or {}).get("State")
        return not isinstance(state, dict) or state.get("Running") is not False

    left = list(ids)
    while True:
        left = [i for i in left if still_running(i)]
        if not left or time.monotonic() >= deadline:
            return not left
        time.sleep(0.02)
