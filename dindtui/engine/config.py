"""Every DINDTUI_* setting in one place, read from the environment and checked: a bad value is one
line and a usage error, never a traceback deep inside a command."""

from __future__ import annotations

import math
import os
import re

from .errors import DindtuiError

NAMESPACE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,15}")
DEFAULT_STATE_DIR = "/run/dindtui"


class BadSetting(DindtuiError):
    """A DINDTUI_* variable with a value dindtui cannot use (a usage error: exit status 2)."""


def namespace() -> str:
    """The namespace every command is scoped to: levels made under another one are invisible.
    "" is the default namespace (levels made without DINDTUI_NAMESPACE)."""
    value = os.environ.get("DINDTUI_NAMESPACE", "")
    if value and not NAMESPACE_RE.fullmatch(value):
        raise BadSetting(f"DINDTUI_NAMESPACE must be 1-16 lowercase letters, digits or '-', "
                         f"starting with a letter or digit, got {value!r}")
    return value


def state_dir() -> str:
    value = os.environ.get("DINDTUI_STATE_DIR", DEFAULT_STATE_DIR)
    if not value or not os.path.isabs(value) or "\n" in value:
        raise BadSetting(f"DINDTUI_STATE_DIR must be an absolute path, got {value!r}")
    return os.path.normpath(value)


def seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise BadSetting(f"{name} must be a number of seconds above 0, got {value!r}")
    return number


def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, "")
    if value == "":
        return default
    if value not in allowed:
        raise BadSetting(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def flag(name: str) -> bool:
    return choice(name, ("0", "1"), "0") == "1"


def image() -> str:
    value = os.environ.get("DINDTUI_IMAGE", "dindtui:latest")
    if not value or any(c.isspace() for c in value):
        raise BadSetting(f"DINDTUI_IMAGE must be an image name, got {value!r}")
    return value


POOL_MAX = 4


def pool_size() -> int:
    """How many warm levels to keep under a parent (lifecycle/pool.py): DINDTUI_POOL, 0-4;
    0 (no pool) when unset."""
    value = os.environ.get("DINDTUI_POOL", "")
    if value == "":
        return 0
    if not (value.isdigit() and int(value) <= POOL_MAX):
        raise BadSetting(f"DINDTUI_POOL must be a number of warm levels from 0 to {POOL_MAX}, "
                         f"got {value!r}")
    return int(value)


def validate() -> None:
    """Check every setting at once, before a command does anything."""
    namespace()
    state_dir()
    image()
    seconds("DINDTUI_READY_TIMEOUT", 90)
    choice("DINDTUI_STRATEGY", ("auto", "seed", "stream"), "auto")
    flag("DINDTUI_NO_ANIMATION")
    flag("DINDTUI_DEBUG")
    pool_size()


# The Docker engines a level image can carry (`image build --docker`, `spawn --docker`):
# Debian's bookworm, trixie and forky. engine/lifecycle/images.py's FLAVOURS builds them.
DOCKER_VERSIONS = ("20.10", "26", "28")
