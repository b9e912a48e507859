"""Progress reports: long engine work calls a `ProgressCallback` with `Progress` values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Progress:
    stage: str                 # short machine-friendly name: "build", "push", "seed", "wait", ...
    message: str = ""          # one human line
    done: Optional[int] = None  # units done (bytes, steps), when countable
    total: Optional[int] = None


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    pass
