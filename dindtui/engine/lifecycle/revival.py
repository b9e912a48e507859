"""Revive: stopped levels started again, parents first (a reboot, an engine restart, a crash),
and levels exited with their volume kept made again on it, with their children."""

from __future__ import annotations

from .. import gate
from ..disk import cgroups
from ..errors import DindtuiError, UnknownLevel
from ..net import connect
from ..progress import Progress, ProgressCallback, no_progress
from ..tree import discovery, levels, place
from ..tree.levels import Level
from . import images, privileges
from .exiting import _now_ready
from .spawn import STORES, _Starting, _wait_ready


def revive(level: Level, progress: ProgressCallback = no_progress) -> list[str]:
    """Bring back `level` when its container stopped (a daemon crash, an engine restart, a
    reboot), then, recursively, every stopped level inside it, with their data as they were.
    Level 0 revives every level of the tree. Returns the paths started, parents first."""
    revived: list[str] = []
    if level.depth and level.state in levels.STOPPED:
        _start_stopped(level, progress)
        revived.append(level.path)
    elif level.depth and level.state == levels.PAUSED:
        progress(Progress("revive", f"{level.path} is paused: left as it is (docker unpause)"))
        return revived
    if level.state == levels.READY:
        for child in list(level.children):
            revived += revive(child, progress)
    return revived


def _start_stopped(level: Level, progress: ProgressCallback) -> None:
    client = levels.parent_client(level)
    if gate.level_container(level) is None:
        raise DindtuiError(f"level {level.path} is gone: its container was removed")
    if level.parent is not None and level.parent.depth == 0 and not place.is_remote(level):
        connect.ensure_dir(levels.required(level.socket_dir, "its socket directory"))  # reboot
    if level.parent is not None and level.volume:  # what its dead containers left (v1)
        cgroups.remove_leftovers_of(level.parent, level.volume)
    progress(Progress("revive", f"starting {level.path}"))
    try:
        client.api.start(level.container_id)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"level {level.path} could not be started: "
                           f"{getattr(exc, 'explanation', None) or exc}") from None
    _now_ready(client, level, progress)


def revive_volume(parent: Level, name: str, progress: ProgressCallback = no_progress,
                  image: str | None = None) -> tuple[list[str], str]:
    """A level that was exited with its volume kept: a new container on that volume (the
    newest of that name when there are several), then its stopped levels inside. Returns the
    paths started and the volume used."""
    levels.require_ready(parent, "revive a level under it")
    levels.validate_name(name)
    client = connect.client(parent.endpoint, check=False)
    try:
        listed = client.api.volumes(filters={"label": f"{levels.LABEL_NAME}={name}"})
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"listing volumes on {parent.label} failed: {exc}") from None
    candidates = [v for v in listed.get("Volumes") or [] if levels.is_level_volume(v)
                  and not client.api.containers(all=True, filters={"volume": v["Name"]})]
    if not candidates:
        raise UnknownLevel(f"no level {name!r} under {parent.label} and no kept volume of that "
                           "name to revive it from")
    chosen = max(candidates, key=lambda v: v.get("CreatedAt") or "")
    volume = chosen["Name"]
    # The image store the data was written in (labelled since stores exist): a daemon started
    # on the other store would show none of it.
    store = (chosen.get("Labels") or {}).get(levels.LABEL_STORE)
    store = store if store in STORES else None
    image = image or images.DEFAULT_IMAGE
    images.image_id(client, image)
    known = next((c.privilege for c in parent.children if c.privilege), None)
    at = place.Place.of(parent)
    level = _Starting(at, name, client, image, privileges.candidates(at.endpoint, known), None,
                      progress, store)
    level.volume = volume  # kept data: no seed, no stream
    level.create("revived", await_seed=False)
    try:
        level.claim_socket_dir()
        level.start()
        sock = level.at.child_socket(name, level.container, level.host_socket_dir)
        _wait_ready(client, levels.required(level.container, "the container"), sock, name,
                    progress)
    except BaseException:
        level.undo()  # the container and directory it made; never the kept volume
        raise
    child = Level(name=name, path=f"{parent.path}/{name}" if parent.path else name,
                  depth=parent.depth + 1, state=levels.READY,
                  endpoint=connect.endpoint_for_socket(sock), socket_dir=level.host_socket_dir,
                  container_id=level.container, container_name=levels.container_name(name),
                  container_state="running", volume=volume, privilege=level.mode, store=store,
                  parent=parent, version=connect.ping_socket(sock).version)
    parent.children.append(child)
    discovery.discover_below(child)
    revived = [child.path] + [p for c in child.children for p in revive(c, progress)]
    for kept in kept_level_names(child):  # its children were exited with it: make them again
        revived += revive_volume(child, kept, progress, image)[0]
    return revived, volume


def kept_level_names(level: Level) -> list[str]:
    """Names of levels under `level` that exist only as a kept volume (no container at all)."""
    client = connect.client(level.endpoint, check=False)
    try:
        listed = client.api.volumes(filters={
            "label": f"{levels.LABEL_OWNER}={levels.OWNER}"}).get("Volumes") or []
        used = {m.get("Name") for c in client.api.containers(all=True)
                for m in c.get("Mounts") or []}
    except connect.API_ERRORS:
        return []
    present = {c.name for c in level.children}
    return sorted({v["Labels"][levels.LABEL_NAME] for v in listed if levels.is_level_volume(v)
                   and v["Name"] not in used} - present)
