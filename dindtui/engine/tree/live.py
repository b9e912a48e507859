"""Keeping a discovered tree live: apply one daemon event to it at once (no Docker call), and
re-read a single daemon's subtree later, detached, for the caller to graft in. The TUI uses
both so that an event reaches the screen in milliseconds and the whole tree is never
re-discovered per event."""

from __future__ import annotations

import dataclasses
from typing import Any

from . import discovery, levels
from .levels import Level

# What a container event on a level's container says about that level, at once.
STATE_AFTER = {"create": levels.CREATED, "start": levels.STARTING, "restart": levels.STARTING,
               "unpause": levels.STARTING, "pause": levels.PAUSED, "die": levels.EXITED,
               "stop": levels.EXITED}


@dataclasses.dataclass
class Applied:
    changed: bool              # the tree changed: draw it again now
    reread: Level | None       # the daemon whose subtree should be read again (lazily)
    contents_of: Level | None  # a level whose contents (containers, images) changed


def daemon_of(root: Level, endpoint: str) -> Level | None:
    return next((level for level in root.walk() if level.endpoint == endpoint), None)


def apply_event(root: Level, endpoint: str, event: dict[str, Any]) -> Applied:
    """Apply one event from the daemon at `endpoint` to the tree under `root`, in place."""
    daemon = daemon_of(root, endpoint)
    if daemon is None:
        return Applied(False, None, None)
    if event.get("type") != "container":
        return Applied(False, None, daemon)  # images, volumes, networks: its contents
    attributes = event.get("attributes") or {}
    action = (event.get("action") or "").split(":", 1)[0]
    if levels.LABEL_NAME not in attributes:
        return Applied(False, None, daemon)  # an ordinary container inside this level
    if not levels.in_namespace(attributes):
        return Applied(False, None, None)
    child = next((c for c in daemon.children if c.container_id == event.get("id")), None)
    if child is None:
        return Applied(False, daemon, daemon)  # a new level (or a look-alike): read it
    if action == "destroy":
        daemon.children.remove(child)
        return Applied(True, daemon, daemon)
    state = STATE_AFTER.get(action)
    if state is None or state == child.state:
        return Applied(False, None, None)
    child.state = state
    child.container_state = {levels.STARTING: "running", levels.CREATED: "created",
                             levels.PAUSED: "paused", levels.EXITED: "exited"}[state]
    if state != levels.STARTING:
        # A stopped or frozen daemon answers nothing: what was below it is unknown now.
        child.endpoint, child.children, child.version = None, [], None
    return Applied(True, daemon, daemon)


def reread(level: Level) -> Level:
    """A fresh copy of `level` with its subtree read again from the daemons (the tree it came
    from is not touched: another thread may be drawing it)."""
    copy = dataclasses.replace(level, children=[], ignored=[])
    if copy.depth and copy.container_id and copy.parent is not None:
        # Its own state too: ask its parent about its container, then probe its daemon.
        pairs = [pair for pair in discovery._list_children(
            dataclasses.replace(copy.parent, children=[], ignored=[]))
            if pair[0].container_id == copy.container_id]
        if not pairs:
            copy.state = levels.REMOVING  # gone from its parent: the graft removes it
            return copy
        fresh, state = pairs[0]
        fresh.parent = copy.parent
        copy = fresh
        if not discovery._probe((copy, state)):
            return copy
    discovery.discover_below(copy)
    return copy


def graft(root: Level, fresh: Level) -> bool:
    """Put a re-read subtree in place of the level with the same path; False when that level is
    no longer in the tree."""
    if fresh.depth == 0:
        root.children, root.ignored, root.pool = fresh.children, fresh.ignored, fresh.pool
        for child in root.children:
            child.parent = root
        return True
    old = next((level for level in root.walk() if level.path == fresh.path), None)
    if old is None or old.parent is None:
        return False
    siblings = old.parent.children
    index = siblings.index(old)
    if fresh.state == levels.REMOVING and fresh.container_id == old.container_id:
        siblings.pop(index)
        return True
    fresh.parent = old.parent
    for child in fresh.children:
        child.parent = fresh
    siblings[index] = fresh
    return True
