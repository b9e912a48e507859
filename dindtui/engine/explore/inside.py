"""What runs inside one level's daemon: its containers, images, volumes and networks; a
container's logs, inspect, stats and lifecycle; running an image; and one search over every
level of the tree. The TUI's explore views and the CLI's `ps`, `logs` and `stats` use this.

A container that is itself a level (a child of this level, proven by `levels.recognise` during
discovery) is marked as one and is never stopped or removed from here: levels exit through
`exiting.exit_level`, which exits the levels inside them first."""

from __future__ import annotations

import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import gate, guard
from ..errors import DindtuiError
from ..net import connect
from ..tree import levels
from ..tree.levels import Level
from ..lazy import LazyModule
# The rows, the hits and the actions' words live in rows.py (plain data the TUI's first frame
# imports without this module); named here too, as every caller has known them.
from .rows import ACTIONS as ACTIONS, DESTRUCTIVE as DESTRUCTIVE, STOP_TIMEOUT as STOP_TIMEOUT
from .rows import Contents as Contents, Hit as Hit, search as search
from .rows import ContainerRow as ContainerRow, ImageRow as ImageRow
from .rows import NetworkRow as NetworkRow, VolumeRow as VolumeRow
from .rows import docker_age as docker_age, human_duration as human_duration
from .rows import FULL_ID

if TYPE_CHECKING:
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")

def explanation(exc: BaseException) -> str:
    """A daemon's error as one line of harmless text."""
    text = getattr(exc, "explanation", None) or str(exc)
    return guard.text(" ".join(str(text).split()), 600)


def level_client(level: Level) -> DockerClient:
    """The SDK client of the level's own daemon; an error that says why when it cannot answer."""
    if level.state != levels.READY or not level.endpoint:
        raise DindtuiError(f"level {level.label} is {level.state}: its daemon cannot be asked"
                           + (" (`dindtui revive` starts it)" if level.state in levels.STOPPED
                              else ""))
    return connect.client(level.endpoint, check=False)


def _ports(summary: dict[str, Any]) -> str:
    seen: list[str] = []
    for port in summary.get("Ports") or []:
        inner = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
        text = (f"{port.get('IP') or '0.0.0.0'}:{port['PublicPort']}->{inner}"
                if port.get("PublicPort") else inner)
        if text not in seen and not (port.get("IP") == "::" and text.replace("::", "0.0.0.0")
                                     in seen):
            seen.append(text)
    return ", ".join(seen)


def _children_by_container(level: Level) -> dict[str, Level]:
    return {child.container_id: child for child in level.children if child.container_id}


def container_rows(level: Level, client: DockerClient | None = None,
                   summaries: list[dict[str, Any]] | None = None) -> list[ContainerRow]:
    """The level's containers (`summaries`: the daemon's list, when already asked for)."""
    if summaries is None:
        summaries = (client or level_client(level)).api.containers(all=True)
    read_at = time.time()
    children = _children_by_container(level)
    rows = []
    for summary in summaries:
        if not isinstance(summary, dict) or not isinstance(summary.get("Id"), str):
            continue  # not a container a daemon could list: nothing to show or act on
        child = children.get(summary["Id"]) or children.get(summary["Id"][:12])
        try:
            ports = _ports(summary)
        except (AttributeError, KeyError, TypeError):
            ports = "?"
        names = summary.get("Names")
        created = summary.get("Created")
        status = guard.text(summary.get("Status"), 80)
        age = docker_age(status) if summary.get("State") == "running" else None
        rows.append(ContainerRow(
            guard.text(summary["Id"][:12], 12),
            guard.text(names[0] if isinstance(names, list) and names else "/?", 128)[1:],
            guard.text(summary.get("Image"), 200), guard.text(summary.get("State"), 20),
            status, is_level=child is not None, level_path=child.path if child else None,
            protected=("it is level " + child.path) if child else (
                guard.shape_of_summary(summary) or ""),
            ports=guard.text(ports, 200), command=guard.text(summary.get("Command"), 300),
            created=created if isinstance(created, int) else 0,
            up_since=None if age is None else read_at - age,
            full_id=summary["Id"] if FULL_ID.fullmatch(str(summary["Id"])) else ""))
    rows.sort(key=lambda r: (r.state != "running", r.name))
    return rows


def _number(value: object) -> int:
    return value if isinstance(value, int) else 0


def contents(level: Level) -> Contents:
    """Everything the level's daemon holds, in four lists (what `docker ps -a`, `images`,
    `volume ls` and `network ls` would show there)."""
    client = level_client(level)
    summaries = client.api.containers(all=True)  # asked once: rows, image use, volume use
    result = Contents(containers=container_rows(level, summaries=summaries))
    by_image: dict[str, int] = {}
    for summary in summaries:
        by_image[summary.get("ImageID", "")] = by_image.get(summary.get("ImageID", ""), 0) + 1
    for image in client.api.images():
        tags = image.get("RepoTags") if isinstance(image.get("RepoTags"), list) else None
        result.images.append(ImageRow(guard.text(str(image.get("Id")).split(":")[-1][:12]),
                                      tuple(guard.text(t, 200) for t in (tags or ["<none>"])),
                                      _number(image.get("Size")),
                                      by_image.get(image.get("Id"), 0),
                                      _number(image.get("Created"))))
    used: dict[str, int] = {}
    for summary in summaries:
        for mount in summary.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                used[mount["Name"]] = used.get(mount["Name"], 0) + 1
    child_volumes = {child.volume: child.path for child in level.children if child.volume}
    for volume in client.api.volumes().get("Volumes") or []:
        result.volumes.append(VolumeRow(guard.text(volume.get("Name"), 255),
                                        guard.text(volume.get("Driver"), 40),
                                        used.get(volume.get("Name"), 0),
                                        child_volumes.get(volume.get("Name"))))
    result.volumes.sort(key=lambda v: (v.level_path is None, v.name))
    for network in client.api.networks():
        result.networks.append(NetworkRow(guard.text(str(network.get("Id"))[:12]),
                                          guard.text(network.get("Name"), 255),
                                          guard.text(network.get("Driver"), 40),
                                          guard.text(network.get("Scope"), 20),
                                          len(network.get("Containers") or {})))
    result.networks.sort(key=lambda n: n.name)
    return result


# ----------------------------------------------------------------------------- one container

def resolve(level: Level, ref: str, client: DockerClient | None = None) -> dict[str, Any]:
    """The container `ref` (a name, an id, or an id prefix) of this level, inspected."""
    client = client or level_client(level)
    ref = ref.strip()
    if not ref:
        raise DindtuiError("no container named: give a name or an id")
    try:
        return dict(client.api.inspect_container(ref))
    except connect.API_ERRORS as exc:
        if getattr(exc, "status_code", None) == 404 or "No such container" in str(exc):
            raise DindtuiError(f"no container {ref!r} in level {level.label} "
                               f"(`dindtui ps {level.path or 'host'}` lists them)") from None
        raise DindtuiError(f"level {level.label} did not answer: {explanation(exc)}") from None


def inspect(level: Level, ref: str) -> dict[str, Any]:
    return resolve(level, ref)


def _the_level_it_is(level: Level, info: dict[str, Any]) -> Level | None:
    return _children_by_container(level).get(info["Id"])


def act(level: Level, ref: str, action: str) -> str:
    """start, stop, restart, kill or remove one container of the level; the line to show.
    A container that is a level is refused: it exits with `dindtui exit`, deepest first."""
    if action not in ACTIONS:
        raise DindtuiError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    client = level_client(level)
    info = resolve(level, ref, client)
    name = guard.text(info.get("Name"), 128).lstrip("/")
    child = _the_level_it_is(level, info)
    if child is not None:
        raise DindtuiError(f"{name} is level {child.path}: exit it with x (or `dindtui exit "
                           f"{child.path}`), which exits the levels inside it first; v "
                           "(`dindtui revive`) starts it again")
    gate.container(info, action, f"level {level.label}")  # no level of any namespace
    try:
        if action == "start":
            client.api.start(info["Id"])
        elif action == "stop":
            client.api.stop(info["Id"], timeout=STOP_TIMEOUT)
        elif action == "restart":
            client.api.restart(info["Id"], timeout=STOP_TIMEOUT)
        elif action == "kill":
            client.api.kill(info["Id"])
        else:
            client.api.remove_container(info["Id"], force=True)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"{action} {name} in {level.label} failed: {explanation(exc)}") \
            from None
    past = {"start": "started", "stop": "stopped", "restart": "restarted", "kill": "killed",
            "remove": "removed"}[action]
    return f"{name} {past} in {level.label}"


def remove_image(level: Level, ref: str) -> str:
    """An image of the level removed, as `docker rmi` (never forced: an image a container uses
    stays, and the daemon says which); the line to show."""
    client = level_client(level)
    try:
        client.api.remove_image(ref)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"image {guard.text(ref, 80)} in {level.label} was kept: "
                           f"{explanation(exc)}") from None
    return f"image {guard.text(ref, 80)} removed from {level.label}"


def remove_volume(level: Level, name: str) -> str:
    """A volume of the level removed, as `docker volume rm` (never forced: one in use stays),
    and never a level's data root (the gate); the line to show."""
    client = level_client(level)
    try:
        inspected = client.api.inspect_volume(name)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"volume {guard.text(name, 80)} in {level.label}: "
                           f"{explanation(exc)}") from None
    gate.plain_volume(inspected, f"level {level.label}")
    try:
        client.api.remove_volume(name)
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"volume {guard.text(name, 80)} in {level.label} was kept: "
                           f"{explanation(exc)}") from None
    return f"volume {guard.text(name, 80)} removed from {level.label}"


def _tags(client: DockerClient) -> list[str]:
    """Every image tag on a daemon, as bounded text."""
    return [guard.text(tag, 200) for image in client.api.images()
            for tag in (image.get("RepoTags") if isinstance(image.get("RepoTags"), list) else [])
            if isinstance(tag, str) and tag != "<none>:<none>"]


def images_above(level: Level) -> dict[str, str]:
    """The tagged images of the levels above `level` (its parent up to level 0) that it does
    not have, each with the nearest level that has it: what a push (or a run that pushes
    first) can bring down. A level that does not answer is passed over."""
    own = set(_tags(level_client(level)))
    found: dict[str, str] = {}
    above = level.parent
    while above is not None:
        if above.state == levels.READY and above.endpoint:
            try:
                tags = _tags(connect.client(above.endpoint, check=False))
            except connect.API_ERRORS:
                tags = []
            for tag in tags:
                if tag not in own:
                    found.setdefault(tag, above.label)
        above = above.parent
    return found


RUN_SETTLE = 1.0  # seconds a new container is watched: one that ends by then is said so


@dataclass(frozen=True)
class Ran:
    """A container started by `run`: its row, and, when it ended within RUN_SETTLE seconds,
    its exit status and the last line it wrote (bounded text)."""

    row: ContainerRow
    exit_code: int | None = None
    last_line: str = ""


def run(level: Level, image: str, command: str = "", name: str = "") -> Ran:
    """`docker run -d` in the level: create and start, then watch it for RUN_SETTLE seconds;
    a container that ends meanwhile (an image whose entrypoint refuses, a one-shot command) is
    reported as ended, with its status and last line, never as running."""
    client = level_client(level)
    image = image.strip()
    if not image:
        raise DindtuiError("no image given")
    try:
        argv = shlex.split(command) if command.strip() else None
    except ValueError as exc:
        raise DindtuiError(f"the command cannot be read: {exc}") from None
    try:
        client.api.inspect_image(image)
    except connect.API_ERRORS:
        raise DindtuiError(f"level {level.label} has no image {image!r} (no registry is "
                           "pulled from here: `dindtui push` brings one down)") from None
    try:
        created = client.api.create_container(image, command=argv, name=name.strip() or None,
                                              detach=True)
        client.api.start(created["Id"])
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"run {image} in {level.label} failed: {explanation(exc)}") from None
    deadline = time.monotonic() + RUN_SETTLE
    exit_code: int | None = None
    while time.monotonic() < deadline:
        try:
            state = client.api.inspect_container(created["Id"])["State"]
        except connect.API_ERRORS:
            break
        if not state.get("Running") and state.get("Status") in ("exited", "dead"):
            code = state.get("ExitCode")
            exit_code = code if isinstance(code, int) else -1
            break
        time.sleep(0.1)
    last_line = ""
    if exit_code is not None:
        try:
            tail = client.api.logs(created["Id"], tail=5).decode(errors="replace")
        except connect.API_ERRORS:
            tail = ""
        lines = [line for line in tail.splitlines() if line.strip()]
        last_line = guard.text(lines[-1], 300) if lines else ""
    for row in container_rows(level, client):
        if created["Id"].startswith(row.id):
            return Ran(row, exit_code, last_line)
    raise DindtuiError(f"the container of {image} vanished from {level.label} at once")


# ----------------------------------------------------------------------------- the whole tree

def _hits(level: Level) -> list[Hit]:
    hits = []
    found = contents(level)
    for row in found.containers:
        detail = f"{row.image}  {row.state}" + ("  (a level)" if row.is_level else "")
        hits.append(Hit(level.path, "container", row.name, row.id, detail,
                        f"{row.name} {row.image} {row.id} {row.command}".lower()))
    for image in found.images:
        tags = ", ".join(image.tags)
        hits.append(Hit(level.path, "image", image.tags[0], image.id, tags,
                        f"{tags} {image.id}".lower()))
    return hits


def index(root: Level) -> tuple[list[Hit], list[str]]:
    """Every container and image of every level that answers, asked in parallel; and a line
    for each level that could not be asked."""
    ready = [lv for lv in root.walk() if lv.state == levels.READY and lv.endpoint]
    hits: list[Hit] = []
    problems = [f"{lv.label}: {lv.state}" for lv in root.walk()
                if lv.state != levels.READY and lv.depth]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [(lv, pool.submit(_hits, lv)) for lv in ready]
        for lv, future in futures:
            try:
                hits.extend(future.result())
            except (DindtuiError, *connect.API_ERRORS) as exc:
                problems.append(f"{lv.label}: {exc}")
    return hits, problems
