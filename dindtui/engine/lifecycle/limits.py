"""The resource limits a level's container asks for, whatever the engine's defaults.

A daemon needs many open files (a container holds several in dockerd and containerd) and
processes; an engine's default for containers may be as low as 1024 open files (Docker 29,
an engine with `--default-ulimit`), which stops a level at about 165 containers. So a level
asks for its limits explicitly, as high as its parent daemon can give: an engine cannot raise a
container's limit above its own without CAP_SYS_RESOURCE (this project's host lacks it; Podman
applies limits of its own that its process cannot raise), so a start refused with "error
setting rlimit type 7" (open files) or "type 6" (processes) is tried again one step lower.
What worked is remembered per daemon, and a level's own limits (a label) are where its
children start."""

from __future__ import annotations

from typing import TYPE_CHECKING

import re
import threading
from dataclasses import dataclass

from ..tree.levels import LABEL_LIMITS
from . import privileges
from ..lazy import LazyModule

if TYPE_CHECKING:
    import docker.types
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")

LABEL = LABEL_LIMITS  # "NOFILE:NPROC" a level's container asked for: where its children start
NOFILE = (1048576, 524288, 262144, 131072, 65536, 32768, 16384, 8192, 4096)
NPROC = (4194304, 1048576, 262144, 65536, 32768, 16384, 8192, 4096)
_RLIMIT = re.compile(r"rlimit type (\d+)")
RLIMIT_NPROC, RLIMIT_NOFILE = 6, 7
MEMORY = "limits "  # the key prefix in privileges' memory file

_worked: dict[str, "Limits"] = {}  # endpoint -> the limits a level last started with there
_lock = threading.Lock()


@dataclass(frozen=True)
class Limits:
    nofile: int
    nproc: int

    def ulimits(self) -> list[docker.types.Ulimit]:
        return [docker.types.Ulimit(name="nofile", soft=self.nofile, hard=self.nofile),
                docker.types.Ulimit(name="nproc", soft=self.nproc, hard=self.nproc)]

    @property
    def label(self) -> str:
        return f"{self.nofile}:{self.nproc}"

    @classmethod
    def parse(cls, text: object) -> "Limits | None":
        """A label's limits, when they are two of the steps (anything else is ignored)."""
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4,8}:[0-9]{4,8}", text):
            return None
        nofile, nproc = (int(x) for x in text.split(":"))
        return cls(nofile, nproc) if nofile in NOFILE and nproc in NPROC else None


HIGHEST = Limits(NOFILE[0], NPROC[0])


def first(endpoint: str, parent_label: object = None) -> Limits:
    """Where to start on the daemon at `endpoint`: what worked there before, else the limits
    of the level that daemon runs in (a level's children cannot get more), else the highest."""
    with _lock:
        if endpoint in _worked:
            return _worked[endpoint]
    return (Limits.parse(privileges.recall(MEMORY + endpoint)) or Limits.parse(parent_label)
            or HIGHEST)


def refused(error: str) -> bool:
    """The engine refused the limits (its own are lower), not something else."""
    return "rlimit" in error.lower()


def lower(limits: Limits, error: str) -> Limits | None:
    """One step down for the limit the error names (both when it names none); None when
    there is no lower step."""
    named = {int(n) for n in _RLIMIT.findall(error)} or {RLIMIT_NOFILE, RLIMIT_NPROC}
    nofile, nproc = limits.nofile, limits.nproc
    if RLIMIT_NOFILE in named:
        lower_ones = [n for n in NOFILE if n < nofile]
        if not lower_ones:
            return None
        nofile = lower_ones[0]
    if RLIMIT_NPROC in named:
        lower_ones = [n for n in NPROC if n < nproc]
        if not lower_ones:
            return None
        nproc = lower_ones[0]
    return Limits(nofile, nproc)


def remember(endpoint: str, limits: Limits) -> None:
    with _lock:
        if _worked.get(endpoint) == limits:
            return
        _worked[endpoint] = limits
    privileges.write_down(MEMORY + endpoint, limits.label)
