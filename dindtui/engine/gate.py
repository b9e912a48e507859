"""The one gate: every action that stops, kills or removes something passes here, whatever
asked for it (a CLI command, a key on any screen, a cleanup). Just before acting, the object is
read again from its daemon and must be provably ours and free to touch:

- `level_container`: a level's container is still that level (same id, still recognised by its
  shape, this namespace, the same name) before it is stopped, removed or started again;
- `level_volume`: a volume is a level volume of this namespace (labels and the name dindtui
  gives it, never a label alone), of that level, and used by nothing but stopped containers of
  that same level, which go with it;
- `container`: a container acted on from an explore view is not a level of any namespace nor
  one of dindtui's helpers (`guard.check_container`);
- `plain_volume`: a volume removed from an explore view is no level's data root;
- `remove_socket_dir`: a directory is removed only inside this namespace's level tree on this
  machine, and only when it is this user's.

A refusal is a `Refused` error that says why; nothing was touched."""

from __future__ import annotations

import os
import shutil
import stat
from typing import Any

import docker.errors
from docker import DockerClient

from . import config, guard
from .errors import DindtuiError
from .net import connect
from .net.connect import API_ERRORS
from .tree import levels
from .tree.levels import Level
from .tree.place import Place


class Refused(DindtuiError):
    """The gate said no: the object is not provably ours, or not free to touch."""


def level_container(level: Level) -> dict[str, Any] | None:
    """`level`'s container inspected again: its data when it is still this level, None when it
    is gone. Refused when the container there now is not ours."""
    client = levels.parent_client(level)
    try:
        info = client.api.inspect_container(level.container_id)
    except docker.errors.NotFound:
        return None
    labels = (info.get("Config") or {}).get("Labels") or {}
    reason = None if levels.in_namespace(labels) else "it belongs to another namespace"
    reason = reason or Place.of(levels.required(level.parent, "the parent")).recognise(
        labels, (info.get("Name") or "/")[1:], info.get("Mounts") or [])
    if reason is None and labels.get(levels.LABEL_NAME) != level.name:
        reason = f"it is now named {guard.text(labels.get(levels.LABEL_NAME), 40)!r}"
    if reason:
        raise Refused(f"refusing to touch container {(level.container_id or '?')[:12]}: "
                      f"{reason}")
    return dict(info)


def level_volume(client: DockerClient, volume: str, daemon: Level,
                 name: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Before `volume` (on `daemon`) is removed: the name of its level, and the containers that
    use it and go with it (stopped levels of ours of that name). Refused when it is not
    provably a level volume of this namespace (or of level `name`), or when anything else
    uses it."""
    try:
        inspected = client.api.inspect_volume(volume)
    except docker.errors.NotFound:
        raise Refused(f"volume {volume} is gone") from None
    labels = inspected.get("Labels") or {}
    if not levels.is_level_volume(inspected):
        raise Refused(f"kept {volume}: not provably dindtui's")
    owner = labels[levels.LABEL_NAME]
    if name is not None and owner != name:
        raise Refused(f"kept {volume}: it is level {guard.text(owner, 40)}'s, not {name}'s")
    users = client.api.containers(all=True, filters={"volume": volume})
    blocking = [u for u in users if not _stopped_level(daemon, u, owner)]
    if blocking:
        raise Refused(f"kept {volume}: in use by "
                      f"{guard.text((blocking[0].get('Names') or ['?'])[0], 80)}")
    return owner, users


def _stopped_level(daemon: Level, summary: dict[str, Any], name: str) -> bool:
    """This container is a level of ours named `name` on `daemon`, and it is stopped now."""
    labels = summary.get("Labels") or {}
    return (levels.in_namespace(labels) and labels.get(levels.LABEL_NAME) == name
            and Place.of(daemon).recognise(labels, (summary.get("Names") or ["/"])[0][1:],
                                           summary.get("Mounts") or []) is None
            and summary.get("State") in levels.STOPPED)


def container(info: object, action: str, where: str) -> None:
    """A container about to be started, stopped, killed or removed from an explore view."""
    try:
        guard.check_container(info, action, where)
    except DindtuiError as exc:
        raise Refused(str(exc)) from None


def plain_volume(inspected: dict[str, Any], where: str) -> None:
    """A volume about to be removed from an explore view is no level's: not one carrying
    dindtui's labels (a level's data root, of any namespace), not one named as dindtui names
    a level's volume. Those go with their level (exit --rm-volume, clean)."""
    labels = inspected.get("Labels")
    found = inspected.get("Name")
    name = found if isinstance(found, str) else ""
    if (labels if isinstance(labels, dict) else {}).get(levels.LABEL_OWNER) == levels.OWNER or \
            name.startswith(levels.CONTAINER_PREFIX):
        raise Refused(f"volume {guard.text(name, 80)} in {where} is a level's data root: it "
                      "goes with its level (exit --rm-volume, or clean once the level is gone)")


def name_in_use(client: DockerClient, name: str) -> bool:
    """Some container (a new spawn, say) holds this level's container name right now."""
    wanted = levels.container_name(name)
    try:
        found = client.api.containers(all=True, filters={"name": wanted})
    except API_ERRORS:
        return True  # cannot tell: keep the directory
    return any(wanted in [n.lstrip("/") for n in c.get("Names") or []] for c in found)


def remove_socket_dir(path: str, within: Level | Place) -> bool:
    """Remove a level's socket directory, and the short links that point into it, only when its
    real path lies inside this namespace's level tree of the engine whose tree holds `within`,
    and it is a directory of this user's. True when removed (or already gone)."""
    place = within if isinstance(within, Place) else Place.of(within)
    if place.remote:
        return True  # the directory is on the remote engine's machine, not this one's
    root = os.path.normpath(place.tree_root)
    path = os.path.normpath(path)
    rel = os.path.relpath(path, root)
    if rel == "." or rel.startswith("..") or \
            os.path.realpath(path) != os.path.join(os.path.realpath(root), rel):
        return False
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False
    shutil.rmtree(path, ignore_errors=True)
    if os.path.dirname(path) == root and config.namespace():
        # The namespace's last level gone: its directories go too (rmdir: only when empty).
        for directory in (root, os.path.dirname(root)):
            try:
                os.rmdir(directory)
            except OSError:
                break
    try:
        entries = list(os.scandir(connect.links_dir()))
    except OSError:
        entries = []
    for entry in entries:
        try:
            if entry.is_symlink() and entry.stat(follow_symlinks=False).st_uid == os.geteuid() \
                    and os.readlink(entry.path).startswith(path + "/"):
                os.unlink(entry.path)
        except OSError:
            pass
    return not os.path.lexists(path)

