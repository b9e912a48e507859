"""What every part of the init shares: exit statuses, constants, the error, logging."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

EXIT_BAD_INPUT = 2
EXIT_PRIVILEGE = 3
EXIT_CGROUP = 4
EXIT_DOCKERD = 5
EXIT_SEED = 6
CGROUP_ROOT = "/sys/fs/cgroup"
DOCKERD_LOG = "/var/log/dockerd.log"
SOCKET_TREE_DIR = "/run/dindtui"
CAP_SYS_ADMIN = 21
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                     signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT)
# A warm pool's level (the engine's lifecycle/pool.py) dozes until a spawn adopts it: the init,
# told by DOZE_SIGNAL (`docker kill -s USR2`), stops its daemons with SIGSTOP, and starts them
# again on WAKE_SIGNAL. A stopped process still dies of SIGKILL, unlike a frozen one (`docker
# pause`): a level killed with a dozing level inside dies at once.
DOZE_SIGNAL, WAKE_SIGNAL = signal.SIGUSR2, signal.SIGCONT


SI_KERNEL = 0x80  # si_code of signals the kernel sends (a tty's ^C), as opposed to kill(2)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


class InitError(Exception):
    """A failure that ends the init with one clear line and a distinct status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def log(message: str) -> None:
    print(f"dindtui-init: {message}", file=sys.stderr, flush=True)


def run(*argv: str, check: bool = True) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def shutdown_timeout() -> float:
    return env_seconds("DINDTUI_SHUTDOWN_TIMEOUT", 5)


def env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < 1e6:
        raise InitError(f"{name} must be a number of seconds above 0, got {value!r}",
                        EXIT_BAD_INPUT)
    return number


SEED_MARKER = ".dindtui-seed"
SEED_DB_MARKER = ".dindtui-seed-db"  # a containerd seed's databases are in place


STORES = ("overlay2", "containerd")  # the image stores a level can be started on


def copy_file(src: str, dst: str) -> None:
    """shutil is not in python3-minimal: a plain byte copy (modes and owners are set by callers)."""
    with open(src, "rb") as source, open(dst, "wb") as target:
        while chunk := source.read(1 << 20):
            target.write(chunk)
