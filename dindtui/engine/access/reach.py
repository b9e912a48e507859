"""Every level as an engine for other tools: the environment a shell needs (`dindtui env`), and
one docker CLI context per live level (`dindtui context sync`), kept in step with spawn and
exit once the user has asked for them.

A context is files under the docker CLI's config directory (`~/.docker/contexts`, or
`$DOCKER_CONFIG/contexts`): `meta/<sha256 of the name>/meta.json`, and TLS material under
`tls/<same>/docker/`. dindtui marks the contexts it writes (`Metadata.dindtui`, with the
namespace and the level's path) and removes only contexts carrying that mark, never one the
user made, even with a name that looks like ours."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import tempfile
from dataclasses import dataclass

from .. import config
from ..errors import DindtuiError
from ..net import connect
from ..tree import discovery, levels, place
from ..tree.levels import Level

CONTEXT_PREFIX = "dindtui-"
MARK = "dindtui"


def docker_config_dir() -> str:
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def contexts_dir() -> str:
    return os.path.join(docker_config_dir(), "contexts")


def context_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def context_name(level: Level) -> str:
    """dindtui-l1+l2 for level l1/l2; in a namespace NS, dindtui-NS++l1+l2. One name per level
    and one level per name: a level's name holds no `+` (nor does a namespace), so `+` can
    only stand for `/`, and `++` only after the namespace (`dindtui-a.b` is the level named
    `a.b`, never `a/b`)."""
    namespace = config.namespace()
    return CONTEXT_PREFIX + (f"{namespace}++" if namespace else "") + \
        level.tree_path.replace("/", "+")


def certs_dir(level: Level) -> str:
    """Where a level's client certificates go by default: one directory per engine, namespace
    and level (`~/.dindtui/certs/<engine>/<namespace or ->/l1+l2`), so that `a_b` and `a/b`,
    or `l1` of two namespaces or two engines, never share one."""
    endpoint = levels.required(levels.root_of(level).endpoint, "the endpoint of level 0")
    engine = hashlib.sha256(endpoint.encode()).hexdigest()[:12]
    return os.path.join(os.path.expanduser("~"), ".dindtui", "certs", engine,
                        config.namespace() or "-", level.tree_path.replace("/", "+"))


# ----------------------------------------------------------------------------- env

def env_lines(level: Level, *, tcp_directory: str | None = None) -> list[str]:
    """Shell lines that point DOCKER_HOST at the level. Through its socket (this machine), or,
    with `tcp_directory` (where its client certificates were written), through its TLS port."""
    if level.depth:
        levels.require_ready(level, "be reached")
    if level.depth and tcp_directory is None and place.is_remote(level):
        raise DindtuiError(f"level {level.path} is inside a remote engine: dindtui reaches it "
                           "through a tunnel that lives only as long as dindtui does; use "
                           f"`dindtui exec {level.path} -- docker ...` or `dindtui shell "
                           f"{level.path}`")
    endpoint = level.endpoint or ""
    if tcp_directory is not None:
        return [f"export DOCKER_HOST={shlex.quote(f'tcp://127.0.0.1:{level.port}')}",
                "export DOCKER_TLS_VERIFY=1",
                f"export DOCKER_CERT_PATH={shlex.quote(tcp_directory)}",
                "unset DOCKER_CONTEXT",
                f"# level {level.label}: eval \"$(dindtui env {level.path or 'host'})\""]
    return [f"export DOCKER_HOST={shlex.quote(endpoint)}",
            "unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_CONTEXT",
            f"# level {level.label}: eval \"$(dindtui env {level.path or 'host'})\""]


# ----------------------------------------------------------------------------- contexts

@dataclass(frozen=True)
class ContextInfo:
    name: str
    host: str
    path: str | None       # the level it stands for (dindtui's contexts only)
    namespace: str | None
    ours: bool
    engine: str | None = None  # the endpoint of the level's level 0 (None: written before
                               # contexts said so, by the default engine's tree)


def _write_private(path: str, text: str, mode: int = 0o644) -> None:
    """Written beside its place, then renamed: a reader never sees half a file."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".dindtui-")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def list_contexts() -> list[ContextInfo]:
    found: list[ContextInfo] = []
    meta_root = os.path.join(contexts_dir(), "meta")
    if not os.path.isdir(meta_root):
        return found
    for entry in sorted(os.listdir(meta_root)):
        try:
            with open(os.path.join(meta_root, entry, "meta.json")) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or context_id(meta.get("Name", "")) != entry:
            continue
        metadata = meta.get("Metadata")
        mark = metadata.get(MARK) if isinstance(metadata, dict) else None
        host = ((meta.get("Endpoints") or {}).get("docker") or {}).get("Host", "")
        if isinstance(mark, dict) and "path" in mark:
            found.append(ContextInfo(meta["Name"], host, mark["path"], mark.get("namespace"),
                                     True, mark.get("engine")))
        else:
            found.append(ContextInfo(meta["Name"], host, None, None, False))
    return found


def write_context(level: Level) -> str:
    """The context of `level`, marked as dindtui's with its namespace, path and engine."""
    name = context_name(level)
    existing = {c.name: c for c in list_contexts()}
    if name in existing and not existing[name].ours:
        raise DindtuiError(f"a docker context named {name} exists and dindtui did not make "
                           "it: left as it is")
    meta = {"Name": name,
            "Metadata": {"Description": f"dindtui level {level.path} (depth {level.depth})",
                         MARK: {"path": level.tree_path, "namespace": config.namespace(),
                                "engine": levels.root_of(level).endpoint}},
            "Endpoints": {"docker": {"Host": level.endpoint, "SkipTLSVerify": False}}}
    _write_private(os.path.join(contexts_dir(), "meta", context_id(name), "meta.json"),
                   json.dumps(meta))
    return name


def remove_context(info: ContextInfo) -> None:
    if not info.ours:  # never a context dindtui did not write
        raise DindtuiError(f"context {info.name} was not made by dindtui")
    for part in ("meta", "tls"):
        shutil.rmtree(os.path.join(contexts_dir(), part, context_id(info.name)),
                      ignore_errors=True)


@dataclass
class SyncResult:
    created: list[str]
    updated: list[str]
    removed: list[str]
    skipped: list[str]


def _of(info: ContextInfo, engine: str) -> bool:
    """A context of ours, of this namespace, naming a level of `engine`'s tree."""
    return info.ours and info.namespace == config.namespace() and (
        info.engine == engine or (info.engine is None and engine == connect.default_endpoint()))


def sync_contexts(root: Level) -> SyncResult:
    """One context per live level of this namespace in `root`'s tree; the contexts of its
    levels that are gone (dindtui's own, of this namespace and engine) removed. A stopped level
    keeps its context: its socket comes back at the same path when it is revived."""
    if place.is_remote(root):
        raise DindtuiError("level 0 is a remote engine: its levels are reached through tunnels "
                           "that live only as long as dindtui does, so no docker context can "
                           "name them")
    engine = levels.required(root.endpoint, "the endpoint of level 0")
    follow_contexts(engine, True)
    result = SyncResult([], [], [], [])
    live = {lv.tree_path: lv for lv in root.walk()
            if lv.depth and lv.state == levels.READY and lv.endpoint}
    in_tree = {lv.tree_path for lv in root.walk() if lv.depth}
    existing = {c.name: c for c in list_contexts()}
    for level in live.values():
        name = context_name(level)
        before = existing.get(name)
        if before is not None and not before.ours:
            result.skipped.append(f"{name}: a context of that name was not made by dindtui")
            continue
        if before is not None and not _of(before, engine):
            result.skipped.append(f"{name}: that context names a level of another engine "
                                  f"({before.engine or 'the default one'})")
            continue
        if before is not None and before.host == level.endpoint and \
                before.path == level.tree_path and before.engine == engine:
            continue
        write_context(level)
        (result.updated if before is not None else result.created).append(name)
    current = {context_name(level) for level in live.values()}
    for info in existing.values():
        # Gone from the tree, or written under an older naming (renamed: made anew above).
        if _of(info, engine) and (info.path not in in_tree or
                                  (info.path in live and info.name not in current)):
            remove_context(info)
            result.removed.append(info.name)
    return result


def _following_mark(engine: str) -> str:
    """The file that says the user asked for contexts of this engine's levels in this
    namespace (`context sync`), until `context rm`: beside the contexts, in the docker CLI's
    configuration, so that it goes where they go."""
    key = hashlib.sha256(f"{engine}\n{config.namespace()}".encode()).hexdigest()[:16]
    return os.path.join(docker_config_dir(), "dindtui-contexts", key)


def follow_contexts(engine: str, on: bool) -> None:
    path = _following_mark(engine)
    if on:
        _write_private(path, engine + "\n")
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def contexts_in_use(engine: str) -> bool:
    """The user has asked for contexts of this engine's levels (`context sync`, or some of this
    namespace's exist): keep them in step, also after the last level went and the next one
    comes."""
    return os.path.isfile(_following_mark(engine)) or \
        any(_of(c, engine) for c in list_contexts())


def keep_in_step(level: Level) -> str | None:
    """After a spawn, an exit or a revive in the tree of `level`: once the user has contexts
    for this namespace and this engine's levels, they follow the tree. A failure here never
    fails the operation; it is returned as a line."""
    engine = levels.root_of(level).endpoint
    if engine is None or connect.is_remote(engine):
        return None  # no context can name a level of a remote engine (sync_contexts says why)
    try:
        if contexts_in_use(engine):
            origin = connect.origin_of(engine) or connect.Origin(engine)
            sync_contexts(discovery.discover(discovery.root_level(origin)))
    except Exception as exc:  # noqa: BLE001 - contexts are a convenience beside the tree
        return f"docker contexts not updated: {exc}"
    return None
