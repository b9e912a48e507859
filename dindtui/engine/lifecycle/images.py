"""Images: build the level image (bootstrapping a base when no registry answers), and move
images down the tree — by streaming `save -> load` through the API, or by seeding a fresh data
root with hardlinks to the parent's layers (docs/architecture.md)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Iterator, NoReturn

from .. import config, guard
from ..errors import BuildFailed, DindtuiError, DiskFull, ImageMissing
from ..net import connect
from ..progress import Progress, ProgressCallback, no_progress
from ..tree import levels
from ..tree.levels import Level
from ..lazy import LazyModule

if TYPE_CHECKING:
    import docker.errors
    from docker import DockerClient
else:  # imported when first used (lazy.py): the SDK is no part of a first frame
    docker = LazyModule("docker")

DEFAULT_IMAGE = os.environ.get("DINDTUI_IMAGE", "dindtui:latest")
DEFAULT_BASE = "debian:trixie-slim"
BOOTSTRAP_BASE = "dindtui-base:trixie"
BOOTSTRAP_SUITE = "trixie"
INPUTS_LABEL = "dindtui.inputs"


@dataclass(frozen=True)
class Flavour:
    """A level image by the Docker engine inside it: Debian's three (bookworm's 20.10, trixie's
    26, forky's 28 on a trixie base)."""

    docker: str            # what `--docker` names: "20.10", "26", "28"
    suite: str             # the base's Debian suite
    engine_suite: str      # where docker.io comes from ("": the base's own)
    extra_packages: str    # the CLI and its plugins, where the suite has them apart

    @property
    def base(self) -> str:
        return f"debian:{self.suite}-slim"

    @property
    def bootstrap_base(self) -> str:
        return f"dindtui-base:{self.suite}"

    def tag(self, default: str = DEFAULT_IMAGE) -> str:
        """The image's name: the default for Docker 26, else REPOSITORY:docker-VERSION."""
        if self.docker == DEFAULT_DOCKER:
            return default
        repository = default.rpartition(":")[0] if ":" in default.rsplit("/", 1)[-1] \
            else default
        return f"{repository}:docker-{self.docker}"

    @property
    def build_args(self) -> dict[str, str]:
        return {"DOCKER_SUITE": self.engine_suite, "EXTRA_PACKAGES": self.extra_packages}


DEFAULT_DOCKER = "26"
FLAVOURS = {
    "20.10": Flavour("20.10", "bookworm", "", "libpython3-stdlib"),  # json is not minimal there
    "26": Flavour("26", "trixie", "", "docker-cli docker-compose docker-buildx"),
    "28": Flavour("28", "trixie", "forky", "docker-cli docker-compose docker-buildx"),
}

assert tuple(FLAVOURS) == config.DOCKER_VERSIONS


def flavour(engine: str | None) -> Flavour:
    """The flavour `--docker` names (None: the default, Docker 26)."""
    wanted = (engine or DEFAULT_DOCKER).strip()
    if wanted not in FLAVOURS:
        raise DindtuiError(f"no level image for Docker {wanted!r}: choose one of "
                           f"{', '.join(FLAVOURS)}")
    return FLAVOURS[wanted]
OVERLAY2, CONTAINERD = "overlay2", "containerd"


# --------------------------------------------------------------------------- build

def _package_file(name: str) -> bytes:
    return resources.files("dindtui").joinpath(name).read_bytes()


def build_inputs() -> dict[str, bytes]:
    """The build context: the Dockerfile and the init (its entry and its package), read from
    the installed package."""
    files = {"Dockerfile": _package_file("data/Dockerfile"),
             "dindtui/inner_init.py": _package_file("inner_init.py")}
    for entry in sorted(resources.files("dindtui").joinpath("init").iterdir(),
                        key=lambda e: e.name):
        if entry.name.endswith((".py", ".sh")):
            files[f"dindtui/init/{entry.name}"] = entry.read_bytes()
    return files


def flavour_inputs(files: dict[str, bytes], base_id: str, kind: Flavour) -> str:
    """The inputs hash of one flavour's image: the files, its base, its build arguments."""
    return inputs_hash(files, base_id + json.dumps(kind.build_args, sort_keys=True))


def inputs_hash(files: dict[str, bytes], base_id: str) -> str:
    digest = hashlib.sha256(base_id.encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()[:16]


def _context_tar(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755 if name.endswith((".py", ".sh")) else 0o644
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


@dataclass
class BuildResult:
    tag: str
    image_id: str
    built: bool            # False when an image with the same inputs already existed
    base: str
    bootstrapped: bool
    seconds: float
    size: int


def build_image(tag: str | None = DEFAULT_IMAGE, base: str | None = None, *,
                force: bool = False, progress: ProgressCallback = no_progress,
                endpoint: str | None = None, engine: str | None = None) -> BuildResult:
    """Build the level image on level 0 (`endpoint`; the default engine when None), with the
    Docker engine `engine` names ("20.10", "26", "28"; None: 26); `tag` None: the flavour's
    own name. Idempotent: unchanged inputs return in seconds."""
    started = time.monotonic()
    kind = flavour(engine)
    tag = tag or kind.tag()
    client = connect.client(endpoint, slow=True)
    base_image, bootstrapped = ensure_base(client, base, progress, kind)
    files = build_inputs()
    wanted = flavour_inputs(files, base_image.id, kind)
    if not force:
        try:
            existing = client.images.get(tag)
            if (existing.labels or {}).get(INPUTS_LABEL) == wanted:
                progress(Progress("build", f"{tag} is up to date (inputs {wanted})", 1, 1))
                return BuildResult(tag, existing.id, False, base_image.tags[0] if base_image.tags
                                   else base_image.id, bootstrapped,
                                   time.monotonic() - started, existing.attrs.get("Size", 0))
        except docker.errors.ImageNotFound:
            pass
    base_name = base_image.tags[0] if base_image.tags else base_image.id
    progress(Progress("build", f"building {tag} on {base_name}", 0, None))
    image_id = None
    step_total = files["Dockerfile"].decode().count("\n")
    try:
        for chunk in client.api.build(fileobj=_context_tar(files), custom_context=True, tag=tag,
                                      rm=True, forcerm=True, decode=True, timeout=None,
                                      buildargs={"BASE_IMAGE": base_name,
                                                 "DINDTUI_INPUTS": wanted,
                                                 **kind.build_args}):
            if "error" in chunk:
                raise BuildFailed(f"image build failed: {chunk['error'].strip()}")
            line = (chunk.get("stream") or "").strip()
            if line.startswith("Step "):
                done, _, total = line[5:].split(" ", 1)[0].partition("/")
                step_total = int(total or step_total)
                progress(Progress("build", line, int(done), step_total))
            elif line:
                progress(Progress("build", line[-200:]))
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    except connect.API_ERRORS as exc:
        raise BuildFailed(f"image build failed: {exc}") from None
    image = client.images.get(image_id or tag)
    progress(Progress("build", f"built {tag} ({image.attrs.get('Size', 0) / 1e6:.0f} MB)",
                      step_total, step_total))
    return BuildResult(tag, image.id, True, base_name, bootstrapped,
                       time.monotonic() - started, image.attrs.get("Size", 0))


def ensure_base(client: DockerClient, base: str | None, progress: ProgressCallback,
                kind: Flavour | None = None) -> tuple[Any, bool]:
    """The base image: local, else pulled, else (for the default) bootstrapped with debootstrap."""
    kind = kind or flavour(None)
    candidates = [base] if base else [kind.base, kind.bootstrap_base]
    for name in candidates:
        try:
            return client.images.get(name), False
        except docker.errors.ImageNotFound:
            continue
    first = candidates[0]
    progress(Progress("base", f"pulling {first}"))
    try:
        return client.images.pull(first), False
    except connect.API_ERRORS as exc:
        if base and base != kind.base:
            raise BuildFailed(f"base image {base} is neither local nor pullable: {exc}") from None
        progress(Progress("base", f"{first} cannot be pulled: bootstrapping "
                                  f"{kind.bootstrap_base} with debootstrap instead"))
    return bootstrap_base(client, progress, kind.suite), True


def bootstrap_base(client: DockerClient, progress: ProgressCallback,
                   suite: str = BOOTSTRAP_SUITE) -> Any:
    """debootstrap a minimal Debian `suite` and import it as dindtui-base:SUITE (needs root and
    debootstrap)."""
    if suite not in {f.suite for f in FLAVOURS.values()}:
        raise BuildFailed(f"no base for Debian {suite!r}")
    name = f"dindtui-base:{suite}"
    if shutil.which("debootstrap") is None:
        raise BuildFailed("no base image and no registry: install debootstrap "
                          "(apt-get install debootstrap) so dindtui can make one")
    if os.geteuid() != 0:
        raise BuildFailed("bootstrapping the base image needs root (debootstrap)")
    with tempfile.TemporaryDirectory(prefix="dindtui-rootfs-") as rootfs:
        process = subprocess.Popen(["debootstrap", "--variant=minbase", suite, rootfs],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tail: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            tail = (tail + [line.strip()])[-5:]
            if line.startswith("I: "):
                progress(Progress("base", "debootstrap: " + line[3:].strip()))
        if process.wait() != 0:
            raise BuildFailed("debootstrap failed: " + " | ".join(tail))
        slim(rootfs)
        progress(Progress("base", f"importing the root filesystem as {name}"))
        tar = subprocess.Popen(["tar", "-C", rootfs, "--exclude=./var/cache/apt/archives/*.deb",
                                "--exclude=./var/lib/apt/lists/*", "-c", "."],
                               stdout=subprocess.PIPE)
        repository, tag = name.split(":")
        archive = tar.stdout
        assert archive is not None
        try:
            client.api.import_image(src=iter(lambda: archive.read(1 << 20), b""),
                                    repository=repository, tag=tag)
        finally:
            archive.close()
            tar.wait()
    return client.images.get(name)


# What a level never reads, left out of a bootstrapped base as Debian's slim images leave it out:
# the layer is hardlinked file by file into every new level, and these were 2,200 of its 5,500
# entries. dpkg is told too, so the packages installed on top bring none of it either.
SLIM_PATHS = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
              "usr/share/groff", "usr/share/lintian", "usr/share/linda")
SLIM_DPKG = "etc/dpkg/dpkg.cfg.d/dindtui-slim"


def slim(rootfs: str) -> None:
    """Empty SLIM_PATHS in a bootstrapped root filesystem (the directories stay) and have dpkg
    skip them from now on."""
    for relative in SLIM_PATHS:
        top = os.path.join(rootfs, relative)
        if os.path.isdir(top) and not os.path.islink(top):
            for entry in os.scandir(top):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
    config_file = os.path.join(rootfs, SLIM_DPKG)
    os.makedirs(os.path.dirname(config_file), exist_ok=True)
    with open(config_file, "w") as handle:
        handle.write("# dindtui: levels read no documentation (images.slim)\n"
                     + "".join(f"path-exclude=/{relative}/*\n" for relative in SLIM_PATHS))


# --------------------------------------------------------------------------- streaming push

@dataclass
class PushResult:
    image: str
    image_id: str
    action: str          # "skipped" (same id there), "retagged", "loaded"
    bytes: int = 0
    seconds: float = 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds and self.bytes else 0.0


def image_id(client: DockerClient, name: str) -> str:
    try:
        return str(client.images.get(name).id)
    except docker.errors.ImageNotFound:
        raise ImageMissing(f"image {name} is missing" + (
            ": run `dindtui image build`" if name == DEFAULT_IMAGE else "")) from None
    except connect.API_ERRORS as exc:  # a daemon that cannot read its own store (broken)
        raise DindtuiError(f"the daemon could not look up image {name}: "
                           + guard.text(getattr(exc, "explanation", None) or exc, 300)) from None


def nearest_with(level: Level, image: str) -> tuple[Level | None, list[str]]:
    """The nearest level above `level` (its parent, else its grandparent, up to level 0) whose
    daemon has `image`, and the levels looked in on the way (for the message when none has)."""
    looked: list[str] = []
    above = level.parent
    while above is not None:
        if above.state == levels.READY and above.endpoint:
            try:
                image_id(connect.client(above.endpoint, check=False), image)
                return above, looked
            except ImageMissing:
                pass
        looked.append(f"{above.label} ({above.state})" if above.state != levels.READY
                      else above.label)
        above = above.parent
    return None, looked


def _split_tag(name: str) -> tuple[str, str]:
    repository, _, tag = name.rpartition(":")
    if not repository or "/" in tag:
        return name, "latest"
    return repository, tag


def push_image(source_endpoint: str, target_endpoint: str, name: str,
               progress: ProgressCallback = no_progress) -> PushResult:
    """Make image `name` available on the target daemon by streaming save -> load (no temp file).

    Skips the transfer when the target already has the same image id; re-tags when only the tag
    is missing there."""
    started = time.monotonic()
    source = connect.client(source_endpoint, slow=True)
    target = connect.client(target_endpoint, slow=True)
    wanted = image_id(source, name)
    try:
        there = target.images.get(name).id
    except docker.errors.ImageNotFound:
        there = None
    if there == wanted:
        progress(Progress("push", f"{name} already there", 1, 1))
        return PushResult(name, wanted, "skipped", seconds=time.monotonic() - started)
    try:
        target.images.get(wanted)
        repository, tag = _split_tag(name)
        target.api.tag(wanted, repository, tag)
        progress(Progress("push", f"{name} re-tagged", 1, 1))
        return PushResult(name, wanted, "retagged", seconds=time.monotonic() - started)
    except docker.errors.ImageNotFound:
        pass
    total = source.images.get(wanted).attrs.get("Size", 0)
    moved = 0

    platform = target_platform(target) if max(api_version(source), api_version(target)) \
        >= PLATFORM_API else None

    def chunks() -> Iterator[bytes]:
        nonlocal moved
        for chunk in _read_ahead(_save(source, name, platform)):
            moved += len(chunk)
            progress(Progress("push", f"moving {name}", moved, max(total, moved)))
            yield chunk

    try:
        for message in _load(target, chunks(), platform):
            if "error" in message or "errorDetail" in message:
                _raise_load_error(name, message.get("error") or str(message["errorDetail"]))
    except connect.API_ERRORS as exc:
        _raise_load_error(name, getattr(exc, "explanation", None) or str(exc))
    try:
        arrived = image_id(target, name)
    except ImageMissing:
        # A source that names it otherwise in its save (Podman: localhost/NAME): the image
        # is there by its id; give it the name asked for.
        try:
            target.images.get(wanted)
        except docker.errors.ImageNotFound:
            raise DindtuiError(f"{name} was loaded but is not there by its id or its name") \
                from None
        repository, tag = _split_tag(name)
        target.api.tag(wanted, repository, tag)
        arrived = wanted
    if arrived != wanted and not same_content(source, target, name):
        raise DindtuiError(f"{name} arrived with another id than the source's")
    progress(Progress("push", f"{name} loaded", moved, moved))
    return PushResult(name, wanted, "loaded", moved, time.monotonic() - started)


PLATFORM_API = (1, 48)  # Docker 28: save and load take a platform


def api_version(client: DockerClient) -> tuple[int, int]:
    try:
        major, minor = str(client.api._version).split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return 0, 0


def target_platform(target: DockerClient) -> str | None:
    """The target daemon's platform, as the save and load endpoints take it (JSON): a
    multi-platform index from a containerd store would otherwise be saved whole, and fail to
    load on the other side for want of the other platforms' layers."""
    try:
        version = target.version()
    except connect.API_ERRORS:
        return None
    return json.dumps({"os": version.get("Os") or "linux",
                       "architecture": version.get("Arch") or "amd64"})


def _save(source: DockerClient, name: str, platform: str | None) -> Iterator[bytes]:
    """`docker save` of one image, for one platform where the source's API allows it."""
    params = {"platform": platform} if platform and api_version(source) >= PLATFORM_API else {}
    response = source.api._get(source.api._url("/images/{0}/get", name), params=params,
                               stream=True)
    streamed: Iterator[bytes] = source.api._stream_raw_result(response, 1 << 20, False)
    return streamed


def _load(target: DockerClient, chunks: Iterator[bytes],
          platform: str | None) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"quiet": True}
    if platform and api_version(target) >= PLATFORM_API:
        params["platform"] = platform
    response = target.api._post(target.api._url("/images/load"), data=chunks, params=params,
                                stream=True)
    messages: Iterator[dict[str, Any]] = target.api._stream_helper(response, decode=True)
    return messages


def _read_ahead(source: Iterator[bytes], depth: int = 32) -> Iterator[bytes]:
    """Yield `source`'s chunks while a thread keeps reading ahead, so that the save stream and
    the load stream flow at the same time, as the two ends of a shell pipe do."""
    buffer: "queue.Queue[Any]" = queue.Queue(maxsize=depth)
    done = object()

    def read() -> None:
        try:
            for chunk in source:
                buffer.put(chunk)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer below
            buffer.put(exc)
        buffer.put(done)

    threading.Thread(target=read, daemon=True, name="save-reader").start()
    while (item := buffer.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


def _raise_load_error(name: str, text: str) -> NoReturn:
    if "no space left" in text.lower():
        raise DiskFull(f"disk full while loading {name}: free space (try `dindtui clean`)")
    raise DindtuiError(f"loading {name} failed: {text.strip()}")


# --------------------------------------------------------------------------- seeding

@dataclass
class SeedCheck:
    ok: bool
    reason: str = ""
    data_root: str = ""
    store: str = OVERLAY2          # the store seeded from and into
    containerd_root: str | None = None  # a system containerd's root, outside the data root


def same_content(source: DockerClient, target: DockerClient, name: str) -> bool:
    """The same image on two daemons whose ids differ by store: a containerd image store names
    an image by its manifest's digest, the classic store by its config's. Its layers (their
    uncompressed digests) and its creation time are the same whichever the store."""
    try:
        a, b = source.api.inspect_image(name), target.api.inspect_image(name)
    except connect.API_ERRORS:
        return False
    layers = (a.get("RootFS") or {}).get("Layers")
    return bool(layers) and layers == (b.get("RootFS") or {}).get("Layers") and \
        a.get("Created") == b.get("Created")


STORE_NAMES = {OVERLAY2: "the classic overlay2 image store",
               CONTAINERD: "the containerd image store"}


def daemon_store(info: dict[str, Any]) -> str:
    """Which image store a daemon's `info` describes: containerd's snapshotters say so in the
    driver status."""
    status = json.dumps(info.get("DriverStatus") or [])
    return CONTAINERD if "io.containerd.snapshotter" in status else OVERLAY2


def seed_check(client: DockerClient, target_store: str = OVERLAY2,
               info: Callable[[], dict[str, Any]] | None = None) -> SeedCheck:
    """Can the images be hardlinked out of this daemon's data root into a new level keeping
    them in `target_store`? Only between two stores of the same kind (overlay2 layers to
    overlay2, containerd content and snapshots to containerd), without user-namespace
    remapping. `info`: where the daemon's /info comes from (one asked already), else asked."""
    try:
        info_ = (info or client.info)()
    except connect.API_ERRORS as exc:
        return SeedCheck(False, f"docker info failed: {exc}")
    return _seed_check(info_, target_store)


def _seed_check(info: dict[str, Any], target_store: str) -> SeedCheck:
    source_store = daemon_store(info)
    if source_store != target_store:
        return SeedCheck(False, f"the parent keeps its images in {STORE_NAMES[source_store]} and "
                                f"the new level in {STORE_NAMES[target_store]}: the image is "
                                "streamed between them")
    if source_store == OVERLAY2 and info.get("Driver") != "overlay2":
        return SeedCheck(False, f"storage driver is {info.get('Driver')}, not overlay2")
    if source_store == CONTAINERD and info.get("Driver") != "overlayfs":
        return SeedCheck(False, f"containerd snapshotter is {info.get('Driver')}, not overlayfs")
    address = (info.get("Containerd") or {}).get("Address") or ""
    containerd_root = None
    if source_store == CONTAINERD and address and not address.startswith(
            ("/var/run/docker/", "/run/docker/")):
        # A system containerd (a packaged Docker 29) keeps its images under its own root,
        # /var/lib/containerd where it listens on /run/containerd/containerd.sock: seeded
        # from there, with Docker's data root and that root on one mount (the seeder says so
        # when they are not, and the image is streamed).
        if address.removeprefix("unix://") not in SYSTEM_CONTAINERD_SOCKETS:
            return SeedCheck(False, f"the parent's images are in a containerd of its own "
                                    f"({address}) whose root is not known")
        containerd_root = SYSTEM_CONTAINERD_ROOT
    if any("userns" in opt for opt in info.get("SecurityOptions") or []):
        return SeedCheck(False, "the daemon remaps user namespaces")
    return SeedCheck(True, data_root=info.get("DockerRootDir") or "/var/lib/docker",
                     store=source_store, containerd_root=containerd_root)


@dataclass
class SeedResult:
    images: list[str] = field(default_factory=list)
    layers: int = 0
    linked_bytes: int = 0
    seconds: float = 0.0


SYSTEM_CONTAINERD_SOCKETS = ("/run/containerd/containerd.sock",
                             "/var/run/containerd/containerd.sock")
SYSTEM_CONTAINERD_ROOT = "/var/lib/containerd"


def seed_command(source_root: str, target_root: str, ids: list[str],
                 store: str = OVERLAY2, containerd_root: str | None = None) -> list[str]:
    return ["/usr/local/bin/dindtui-init", "seed", f"--store={store}",
            *([f"--containerd-root={containerd_root}"] if containerd_root else []),
            source_root, target_root, *ids]


def parse_seed_output(output: str, ids: list[str], started: float) -> SeedResult:
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            stats = json.loads(line)
            return SeedResult(ids, stats["layers"], stats["linked_bytes"],
                              time.monotonic() - started)
    raise DindtuiError(f"seeding printed no result: {output.strip()[-300:]}")
