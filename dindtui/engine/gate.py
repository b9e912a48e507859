"""The one gate: every action that stops, kills or removes something passes here, whatever
asked for it (a CLI command, a key on any screen, a cleanup). Just before acting, the object is
read again from its daemon and must be provably ours and free to touch:

- `level_container`: a level's container is still that level (same id, still recognised by its
  shape, this namespace, the same name) before it is stopped, removed or started again;
- `level_volume`: a volume is a level volume of this namespace (labels and the name dindtui
  gives it, never a label alone), of that level, and used by nothing but stopped containers of
  that same level, which go with it; an orphan (no level named) that nothing uses and that
  was made or changed moments ago (`newly_made`) may be a spawn's, between its volume and its
  container, and clean keeps it (`remove_level_volume`
  removes one it allows, never forced: exit --rm-volume, a pool level's);
- `container`: a container acted on from an explore view is not a level of any namespace nor
  one of dindtui's helpers (`guard.check_container`);
- `plain_volume`: a volume removed from an explore view is no level's data root;
- `pool_member`, `remove_pool_member`: a warm pool's level (lifecycle/pool.py) is still that
  pool level, recognised by its shape and still named as one (never a level a spawn adopted in
  between), before it is paused, adopted or removed with its volume and socket directory;
- `remove_socket_dir`: a directory is removed only inside this namespace's level tree on this
  machine, and only when it is this user's.

A refusal is a `Refused` error that says why; nothing was touched."""

from __future__ import annotations

import os
import shutil
import stat
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import config, guard
from .errors import DindtuiError
from .net import connect
from .tree import levels
from .tree.levels import Level
from .tree.place import Place
from .lazy import LazyModule

if TYPE_CHECKING:
    import docker.errors
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")


class Refused(DindtuiError):
    """The gate said no: the object is not provably ours, or not free to touch."""


class Gone(Refused):
    """The object is not there (any more): nothing to touch."""


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


# A spawn makes its level's volume, then the container; when the engine refuses a privilege mode
# or a limit it removes that container and makes the next. Between those calls nothing uses the
# volume: for this long after its making, such a volume is the spawn's, never an orphan that
# clean may take. Docker's local driver dates a volume by its directory's last change (a level's
# daemon writes there as it stops), so an orphan is also "new" for this long after its level
# exited; a level's own exit --rm-volume is not held by it.
VOLUME_GRACE = 20.0


def volume_age(inspected: dict[str, Any]) -> float | None:
    """Seconds since the daemon made this volume (its CreatedAt, by this machine's clock), None
    when the daemon gave no time this reads."""
    created = inspected.get("CreatedAt")
    if not isinstance(created, str) or len(created) > 64:
        return None
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        return None
    return None if when.tzinfo is None else time.time() - when.timestamp()


def newly_made(inspected: dict[str, Any]) -> bool:
    """Made within VOLUME_GRACE (DINDTUI_VOLUME_GRACE) seconds, either way of this clock (an
    engine's clock a little ahead of this machine's)."""
    age = volume_age(inspected)
    return age is not None and abs(age) < config.seconds("DINDTUI_VOLUME_GRACE", VOLUME_GRACE)


def level_volume(client: DockerClient, volume: str, daemon: Level,
                 name: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Before `volume` (on `daemon`) is removed: the name of its level, and the containers that
    use it and go with it (stopped levels of ours of that name). Refused when it is not
    provably a level volume of this namespace (or of level `name`), or when anything else
    uses it."""
    try:
        inspected = client.api.inspect_volume(volume)
    except docker.errors.NotFound:
        raise Gone(f"volume {volume} is gone") from None
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
    if name is None and not users and newly_made(inspected):
        # An orphan that clean would take; never a level's own volume after its exit, whose
        # daemon's last writes date it "now" too (the local driver's CreatedAt is its
        # directory's last change).
        raise Refused(f"kept {volume}: made or changed moments ago and used by nothing yet (a "
                      "spawn may be starting its level)")
    return owner, users


def pool_member(daemon: Level, member: Level) -> dict[str, Any] | None:
    """`member` of `daemon`'s warm pool inspected again: its data while it is still that pool
    level (same id, recognised, this namespace, still named as a pool level), None when it is
    gone. Refused when the container there is no longer one (adopted meanwhile, or not ours).
    Read bare when it can be (connect.read_json): an adoption needs no SDK."""
    container = levels.required(member.container_id, "its container")
    try:
        found = connect.read_json(levels.required(daemon.endpoint, "the endpoint"),
                                  f"/containers/{container}/json")
    except connect.READ_ERRORS as exc:
        if connect.status_of(exc) == 404:
            return None
        raise
    info: dict[str, Any] = found if isinstance(found, dict) else {}
    labels = (info.get("Config") or {}).get("Labels") or {}
    shown = (info.get("Name") or "/")[1:]
    reason = None if levels.in_namespace(labels) else "it belongs to another namespace"
    reason = reason or Place.of(daemon).recognise(labels, shown, info.get("Mounts") or [])
    if reason is None and not (Place.in_pool(labels, shown)
                               and labels.get(levels.LABEL_NAME) == member.name):
        reason = "it is no longer a pool level (a spawn adopted it)"
    if reason:
        raise Refused(f"refusing to touch container {(member.container_id or '?')[:12]}: "
                      f"{reason}")
    return dict(info)


def remove_pool_member(daemon: Level, member: Level) -> bool:
    """Remove a warm pool's level that no spawn adopted, with its volume and socket directory
    (nothing of a user's is in it: it never was a level). False when the gate refused or it was
    gone already."""
    client = connect.client(daemon.endpoint, check=False)
    try:
        if pool_member(daemon, member) is None:
            return False
        client.api.remove_container(member.container_id, force=True, v=True)
    except (Refused, docker.errors.NotFound):
        return False
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"removing the pool level {member.name} of {daemon.label} failed: "
                           f"{guard.text(str(exc), 200)}") from None
    if member.volume:
        remove_level_volume(client, daemon, member.volume, member.name)
    if member.socket_dir and not name_in_use(client, member.name):
        remove_socket_dir(member.socket_dir, daemon)
    if member in daemon.pool:
        daemon.pool.remove(member)
    return True


def remove_level_volume(client: DockerClient, daemon: Level, volume: str,
                        name: str | None = None) -> bool:
    """Remove a level's volume on `daemon` when `level_volume` says it is provably one of this
    namespace's level volumes (of level `name`) and nothing else uses it. Never forced; a
    container's removal may still hold it for a moment. False when refused or not removed."""
    return not why_volume_kept(client, daemon, volume, name)


def why_volume_kept(client: DockerClient, daemon: Level, volume: str,
                    name: str | None = None) -> str:
    """`remove_level_volume`, saying why the volume stays ("" when it is gone): the gate's
    refusal, or the engine's last answer."""
    answer = "the engine did not remove it"
    for attempt in range(10):
        try:
            level_volume(client, volume, daemon, name)
            client.api.remove_volume(volume)
            return ""
        except docker.errors.NotFound:
            return ""
        except Gone as exc:  # removed after all, when an earlier answer came too late
            return "" if attempt else str(exc)
        except Refused as exc:
            return str(exc)
        except connect.API_ERRORS as exc:
            answer = guard.text(str(exc), 200)
            time.sleep(0.3)
    return answer


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
    """Some container (a new spawn, say, or a pool level of that name) holds this level's
    container name right now."""
    wanted = levels.container_name(name)
    names = {wanted, wanted + levels.POOL_SUFFIX}
    try:
        found = client.api.containers(all=True, filters={"name": wanted})
    except connect.API_ERRORS:
        return True  # cannot tell: keep the directory
    return any(names & {n.lstrip("/") for n in c.get("Names") or []} for c in found)


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
    if os.path.dirname(path) == root:
        # The tree's last level gone: the directories made for it go too (rmdir: only when
        # empty): the namespace's, and another local engine's own (STATE_DIR/e/<hash>).
        # root is BASE/c or BASE/ns/<namespace>/c; BASE is STATE_DIR or STATE_DIR/e/<hash>.
        chain = [root, os.path.dirname(root), os.path.dirname(os.path.dirname(root))] \
            if config.namespace() else [root]
        base = os.path.dirname(chain[-1])
        if os.path.dirname(base) == os.path.join(connect.STATE_DIR, "e"):
            chain.append(base)
        elif not config.namespace():
            chain = []  # the default engine's own tree root stays
        else:
            chain = chain[:2]  # the default engine's STATE_DIR/ns stays
        for directory in chain:
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

