"""The gate every action on a container passes, and the bounded reading of what levels write.

Everything a level or a container writes is hostile input: labels, names, log lines, files in
its volume, databases, its daemon's answers. It is read with a bound (size, count, depth,
time), checked, and shown as text, never obeyed. This module holds the pieces every path shares:

- `text`: any value from a level as one harmless line (terminal controls shown, never sent);
- `port`: a label's port number, or None;
- `container_shape` / `check_container`: why a container must not be touched from an explore
  view (a level of any namespace, one of dindtui's helpers, or data that cannot be read), and
  the refusal raised just before acting;
- `read_capped`: a stream read up to a limit.

No Textual and no Docker calls here: the callers pass what the daemon answered."""

from __future__ import annotations

import re
from typing import Any, Iterable

from .errors import DindtuiError

# C0 controls but tab, DEL and C1 controls (ESC, CSI, OSC ... start terminal sequences), and the
# bidirectional overrides that reorder what a line appears to say.
_OTHER_CONTROLS = "\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS_BUT_TAB = re.compile(f"[{_OTHER_CONTROLS}]")
_CONTROLS_AND_TAB = re.compile(f"[\x09{_OTHER_CONTROLS}]")
TEXT_LIMIT = 4096       # characters of a name, label or status line shown
LINE_LIMIT = 65536      # bytes of one log line kept; the rest is cut and marked


def _visible(match: "re.Match[str]") -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)          # ␛ for ESC, ␊ for a newline, ...
    if code == 0x7F:
        return "\u2421"                    # ␡
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def text(value: object, limit: int = TEXT_LIMIT, *, tabs: bool = False) -> str:
    """`value` (anything a level wrote) as one line of harmless text: at most `limit`
    characters (then "…"), every control character shown as a visible symbol (ESC as ␛) so
    that nothing reaches the terminal as a command. `tabs`: keep tabs (log lines)."""
    if value is None:
        return ""
    line = value if isinstance(value, str) else str(value)
    if len(line) > limit:
        line = line[:limit] + "…"
    return (_CONTROLS_BUT_TAB if tabs else _CONTROLS_AND_TAB).sub(_visible, line)


def port(value: object) -> int | None:
    """A TCP port from a label: 1-65535 written in ASCII digits, else None."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,5}", value):
        number = int(value)
        return number if 0 < number < 65536 else None
    return None


# ----------------------------------------------------------------------------- containers

# Labels dindtui puts on the containers it makes (never on an image: a container made from the
# level image inherits only `dindtui.image` and `dindtui.inputs`, and is the user's).
OWN_LABELS = ("dindtui.owner", "dindtui.name", "dindtui.volume", "dindtui.namespace",
              "dindtui.level", "dindtui.parent", "dindtui.socketdir", "dindtui.helper",
              "dindtui.probe", "dindtui.spawn")
SOCKET_MOUNT = "/run/dindtui"
DATA_ROOT = "/var/lib/docker"
NAME_PREFIX = "dindtui-"


def container_shape(labels: object, name: object, mounts: object) -> str | None:
    """Why a container may not be stopped, killed or removed from an explore view, or None
    when it is an ordinary container. Judged by its shape, in every namespace: a level of any
    namespace (dindtui's labels, a socket directory at /run/dindtui, or a level's name with a
    volume at /var/lib/docker), one of dindtui's helpers, or data too odd to prove either."""
    if not isinstance(labels, dict) or not isinstance(mounts, list) or \
            not isinstance(name, str):
        return "its labels, name or mounts cannot be read, so it cannot be proved not a level"
    ours = sorted(key for key in labels if key in OWN_LABELS)
    if ours:
        namespace = labels.get("dindtui.namespace")
        if "dindtui.helper" in labels or "dindtui.probe" in labels:
            return "it is one of dindtui's helper containers"
        if isinstance(namespace, str) and namespace:
            return f"it is a dindtui level of namespace {text(namespace, 40)!r}"
        return "it carries dindtui's level labels (" + ", ".join(ours[:3]) + ")"
    for mount in mounts:
        if not isinstance(mount, dict):
            return "its mounts cannot be read, so it cannot be proved not a level"
        if mount.get("Destination") == SOCKET_MOUNT:
            return f"it binds a dindtui socket directory at {SOCKET_MOUNT}"
    if name.lstrip("/").startswith(NAME_PREFIX) and any(
            mount.get("Destination") == DATA_ROOT for mount in mounts):
        return f"it is named like a dindtui level and holds a daemon's {DATA_ROOT}"
    return None


def shape_of_inspect(info: object) -> str | None:
    """`container_shape` of a container's inspect data."""
    if not isinstance(info, dict) or not isinstance(info.get("Config"), dict):
        return "its inspect data cannot be read, so it cannot be proved not a level"
    return container_shape(info["Config"].get("Labels") or {}, info.get("Name"),
                           info.get("Mounts") or [])


def shape_of_summary(summary: dict[str, Any]) -> str | None:
    """`container_shape` of one entry of a daemon's container list."""
    names = summary.get("Names")
    name = names[0] if isinstance(names, list) and names and isinstance(names[0], str) else None
    return container_shape(summary.get("Labels") or {}, name, summary.get("Mounts") or [])


def check_container(info: object, action: str, where: str) -> None:
    """The gate: raise, saying why, when `info` (inspected just now) is a container dindtui
    must not `action` from an explore view. Levels exit with `dindtui exit` (deepest first,
    re-verified), and another namespace's are never touched."""
    reason = shape_of_inspect(info)
    if reason is None:
        return
    name = text((info.get("Name") if isinstance(info, dict) else None) or "?", 80).lstrip("/")
    hint = ("; a level of this namespace exits with x (`dindtui exit`) and starts again with "
            "v (`dindtui revive`)") if "namespace" not in reason else ""
    raise DindtuiError(f"refusing to {action} {name} in {where}: {reason}{hint}")


# ----------------------------------------------------------------------------- reading

class TooLarge(DindtuiError):
    """A level answered with more than dindtui reads."""


def read_capped(chunks: Iterable[bytes], limit: int, what: str) -> bytes:
    """Join `chunks` (a stream's pieces) while they stay under `limit` bytes; TooLarge past."""
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) > limit:
            raise TooLarge(f"{what} is larger than {limit} bytes: not read")
    return bytes(out)

