"""Hardlink seeding of a fresh data root from a parent's: overlay2 layers, or containerd's blobs
and snapshots with new bolt databases."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import signal
import stat as stat_mod
import subprocess
import time
from typing import Any

from .bolt import Bucket, bolt_read, bolt_write
from .common import (
    EXIT_BAD_INPUT,
    EXIT_SEED,
    SEED_DB_MARKER,
    SEED_MARKER,
    STORES,
    InitError,
    copy_file,
)


def seed(source_root: str, target_root: str, image_ids: list[str]) -> dict[str, Any]:
    """Hardlink the layers of `image_ids` from one overlay2 data root into a fresh one.

    Copies image configs, the layer entries of those images only, a repositories index restricted
    to them, each layer directory's small files and short links; hardlinks the `diff` trees.
    Never touches container layers. Returns counts for the caller to report.
    """
    src_image = os.path.join(source_root, "image", "overlay2")
    dst_image = os.path.join(target_root, "image", "overlay2")
    if os.path.exists(os.path.join(target_root, "image")) or os.path.exists(
            os.path.join(target_root, "overlay2")):
        raise InitError(f"seed target {target_root} is not empty", EXIT_SEED)
    for required in ("imagedb/content/sha256", "layerdb/sha256", "repositories.json"):
        if not os.path.exists(os.path.join(src_image, required)):
            raise InitError(f"source data root has no overlay2 {required}", EXIT_SEED)
    stats = {"images": 0, "layers": 0, "linked_bytes": 0}
    chain_ids: set[str] = set()
    diff_trees: list[tuple[str, str]] = []
    for image_id in image_ids:
        digest = _digest_parts(image_id.encode())[1]
        config_path = os.path.join(src_image, "imagedb/content/sha256", digest)
        with open(config_path, "rb") as handle:
            config = json.loads(handle.read(SMALL_FILE_LIMIT))
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") if isinstance(config, dict) \
            else None
        if not isinstance(diff_ids, list):
            raise InitError(f"image {digest[:12]} has no list of layers", EXIT_SEED)
        chain = None
        for diff_id in diff_ids:
            _digest_parts(str(diff_id).encode())
            chain = diff_id if chain is None else "sha256:" + hashlib.sha256(
                f"{chain} {diff_id}".encode()).hexdigest()
            chain_ids.add(chain.split(":", 1)[1])
        for sub in ("content", "metadata"):
            src = os.path.join(src_image, "imagedb", sub, "sha256", digest)
            if os.path.exists(src):
                dst = os.path.join(dst_image, "imagedb", sub, "sha256", digest)
                copy_tree(src, dst, stats, link=False)
        stats["images"] += 1
    for chain in sorted(chain_ids):
        src_layer = os.path.join(src_image, "layerdb/sha256", chain)
        copy_tree(src_layer, os.path.join(dst_image, "layerdb/sha256", chain), stats, link=False)
        with open(os.path.join(src_layer, "cache-id")) as handle:
            cache_id = handle.read(200).strip()
        if not re.fullmatch(r"[0-9a-f]{64}", cache_id):
            raise InitError(f"layer {chain[:12]} has no valid cache-id", EXIT_SEED)
        src_dir = os.path.join(source_root, "overlay2", cache_id)
        dst_dir = os.path.join(target_root, "overlay2", cache_id)
        os.makedirs(dst_dir)
        for entry in os.listdir(src_dir):
            src = os.path.join(src_dir, entry)
            if entry == "diff":
                diff_trees.append((src, os.path.join(dst_dir, entry)))
            elif entry in ("link", "lower", "committed"):
                copy_file(src, os.path.join(dst_dir, entry))
            elif entry == "work":
                os.makedirs(os.path.join(dst_dir, entry))
        with open(os.path.join(src_dir, "link")) as handle:
            short = handle.read(200).strip()
        if not re.fullmatch(r"[A-Z0-9]{26}", short):
            raise InitError(f"layer {cache_id[:12]} has no valid short link", EXIT_SEED)
        links = os.path.join(target_root, "overlay2", "l")
        os.makedirs(links, exist_ok=True)
        os.symlink(f"../{cache_id}/diff", os.path.join(links, short))
        with open(os.path.join(src_layer, "size")) as handle:
            stats["linked_bytes"] += int(handle.read(40).strip() or 0)
        stats["layers"] += 1
    link_trees(diff_trees, stats)
    with open(os.path.join(src_image, "repositories.json")) as handle:
        repositories = json.loads(handle.read(SMALL_FILE_LIMIT)).get("Repositories", {})
    wanted = set(image_ids)
    kept = {}
    for repo, refs in repositories.items():
        refs = {ref: img for ref, img in refs.items() if img in wanted}
        if refs:
            kept[repo] = refs
    with open(os.path.join(dst_image, "repositories.json"), "w") as handle:
        json.dump({"Repositories": kept}, handle)
    return stats


CONTAINERD_ROOT = "containerd/daemon"            # under a level's data root (the init's --root)
CONTENT = "io.containerd.content.v1.content"
METADATA_DB = "io.containerd.metadata.v1.bolt/meta.db"
SNAPSHOTTER = "io.containerd.snapshotter.v1.overlayfs"
NAMESPACE = "moby"                                # dockerd's containerd namespace
KIND_COMMITTED = 3


GC_CONTENT, GC_SNAPSHOT, GC_IMAGE = (b"containerd.io/gc.ref.content",
                                     b"containerd.io/gc.ref.snapshot.overlayfs",
                                     b"containerd.io/gc.ref.image")


DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


def _digest_parts(digest: bytes) -> tuple[str, str]:
    """("sha256", hex) of a content digest read from a database; an InitError for anything
    else (a key written to make a path such as ../../x)."""
    algorithm, _, hexdigest = digest.decode("ascii", errors="replace").partition(":")
    if len(hexdigest) != DIGEST_HEX.get(algorithm, -1) or \
            hexdigest.strip("0123456789abcdef"):
        raise InitError(f"not a content digest: {digest[:80]!r}", EXIT_SEED)
    return algorithm, hexdigest


def _uvarint(data: bytes, at: int = 0) -> tuple[int, int]:
    value = shift = 0
    while True:
        if shift > 63:
            raise InitError("a varint longer than 64 bits", EXIT_SEED)
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def _varint(data: bytes | None) -> int:
    if not data:
        return 0
    value = _uvarint(data)[0]
    return (value >> 1) ^ -(value & 1)       # Go's binary.Varint: zigzag


def _labels(bucket: Bucket) -> dict[bytes, bytes]:
    labels = bucket.bucket("labels")
    return {k: v for k, v in labels.items.items() if isinstance(v, bytes)} if labels else {}


def containerd_closure(namespace: Bucket, backend: Bucket, image_ids: list[str]) -> dict[str, Any]:
    """What the images `image_ids` (docker's ids on this store: their target's digest) hold:
    their image records, every content blob they reference, and every snapshot, following
    containerd's own garbage-collection references (gc.ref labels, snapshot parents). Only
    committed snapshots are taken: active and view ones are containers' writable layers."""
    images = namespace.bucket("images") or Bucket()
    blobs = namespace.bucket("content", "blob") or Bucket()
    metasnaps = namespace.bucket("snapshots", "overlayfs") or Bucket()
    committed = backend.bucket("v1", "snapshots") or Bucket()
    wanted = set(image_ids)
    kept: dict[str, dict[bytes, Bucket]] = {"images": {}, "blobs": {}, "snapshots": {}}
    todo: list[tuple[str, bytes]] = [
        ("image", name) for name, record in images.items.items()
        if isinstance(record, Bucket) and (record.bucket("target") or Bucket()).value("digest")
        in {i.encode() for i in wanted}]

    def follow(labels: dict[bytes, bytes]) -> None:
        for key, value in labels.items():
            if key.startswith(GC_SNAPSHOT):
                todo.append(("snapshot", value))
            elif key.startswith(GC_CONTENT):
                todo.append(("blob", value))
            elif key.startswith(GC_IMAGE):
                todo.append(("image", value))

    while todo:
        kind, key = todo.pop()
        if key in kept[kind + "s"]:
            continue
        if kind == "image":
            record = images.items.get(key)
            if isinstance(record, Bucket):
                kept["images"][key] = record
                todo.append(("blob", (record.bucket("target") or Bucket()).value("digest") or b""))
                follow(_labels(record))
        elif kind == "blob":
            record = blobs.items.get(key)
            if isinstance(record, Bucket):
                kept["blobs"][key] = record
                follow(_labels(record))
        else:
            snapshot = metasnaps.items.get(key)
            if not isinstance(snapshot, Bucket):
                continue
            name = snapshot.value("name")
            found = committed.items.get(name) if name else None
            if isinstance(found, Bucket) and found.value("kind") == bytes([KIND_COMMITTED]):
                kept["snapshots"][key] = snapshot
                if parent := snapshot.value("parent"):
                    todo.append(("snapshot", parent))
                follow(_labels(snapshot))
    return kept


def _copy_dirs(source: str, target: str, relative: str) -> None:
    """Make `relative` and its parents under `target` with the source's modes and owners."""
    path = ""
    for part in relative.split("/"):
        path = os.path.join(path, part)
        src, dst = os.path.join(source, path), os.path.join(target, path)
        if not os.path.exists(dst):
            st = os.lstat(src)
            os.mkdir(dst, stat_mod.S_IMODE(st.st_mode))
            os.lchown(dst, st.st_uid, st.st_gid)
            os.chmod(dst, stat_mod.S_IMODE(st.st_mode))


def seed_containerd(source_root: str, target_root: str, image_ids: list[str],
                    source_containerd: str | None = None) -> dict[str, Any]:
    """Seed a fresh data root's containerd image store from a parent's: new bolt databases
    holding only the images' records (no container, lease or ingest records, and only committed
    snapshots), the content blobs hardlinked, the snapshots' trees hardlinked.
    `source_containerd`: the parent's containerd root when it is a system containerd outside
    Docker's data root (a packaged Docker 29: /var/lib/containerd), on the same mount."""
    source = source_containerd or os.path.join(source_root, CONTAINERD_ROOT)
    target = os.path.join(target_root, CONTAINERD_ROOT)
    if os.path.exists(os.path.join(target_root, "containerd")) or os.path.exists(
            os.path.join(target_root, "image")):
        raise InitError(f"seed target {target_root} is not empty", EXIT_SEED)
    for required in (METADATA_DB, SNAPSHOTTER + "/metadata.db", CONTENT + "/blobs/sha256"):
        if not os.path.exists(os.path.join(source, required)):
            raise InitError(f"source data root has no containerd {required}", EXIT_SEED)
    meta, meta_page, meta_txid = bolt_read(os.path.join(source, METADATA_DB))
    backend, backend_page, backend_txid = bolt_read(
        os.path.join(source, SNAPSHOTTER, "metadata.db"))
    v1 = meta.bucket("v1")
    namespace = meta.bucket("v1", NAMESPACE)
    if v1 is None or namespace is None:
        raise InitError("the source's containerd holds no images (no moby namespace)", EXIT_SEED)
    kept = containerd_closure(namespace, backend, image_ids)
    missing = set(image_ids) - {
        ((r.bucket("target") or Bucket()).value("digest") or b"").decode()
        for r in kept["images"].values()}
    if missing:
        raise InitError(f"images not in the source's containerd store: {sorted(missing)}",
                        EXIT_SEED)

    def copy_of(bucket: Bucket | None, items: dict[bytes, Any] | None = None) -> Bucket:
        return Bucket(bucket.sequence if bucket else 0, items if items is not None else {})

    snaps = namespace.bucket("snapshots", "overlayfs")
    snapshots = {}
    for key, record in kept["snapshots"].items():
        children = record.bucket("children")
        items = dict(record.items)
        if children is not None:
            items[b"children"] = copy_of(children, {k: v for k, v in children.items.items()
                                                    if k in kept["snapshots"]})
        snapshots[key] = Bucket(record.sequence, items)
    content = namespace.bucket("content")
    new_namespace = copy_of(namespace, {
        b"images": copy_of(namespace.bucket("images"), kept["images"]),
        b"content": copy_of(content, {
            b"blob": copy_of(namespace.bucket("content", "blob"), kept["blobs"]),
            b"ingests": Bucket()}),
        b"snapshots": copy_of(namespace.bucket("snapshots"),
                              {b"overlayfs": copy_of(snaps, snapshots)}),
        b"leases": Bucket(), b"containers": Bucket()})
    if namespace.bucket("labels") is not None:
        new_namespace.items[b"labels"] = namespace.items[b"labels"]
    new_v1 = copy_of(v1, {k: v for k, v in v1.items.items() if isinstance(v, bytes)})
    new_v1.items[NAMESPACE.encode()] = new_namespace
    new_meta = copy_of(meta, {b"v1": new_v1})

    names = {record.value("name") for record in kept["snapshots"].values()}
    bv1 = backend.bucket("v1") or Bucket()
    bsnaps = backend.bucket("v1", "snapshots") or Bucket()
    bparents = backend.bucket("v1", "parents") or Bucket()
    chosen = {name: record for name in names
              if name is not None and isinstance(record := bsnaps.items.get(name), Bucket)}
    ids = {_uvarint(record.value("id") or b"\0")[0] for record in chosen.values()}

    def both_kept(key: bytes) -> bool:
        parent, at = _uvarint(key)
        return parent in ids and _uvarint(key, at + 1)[0] in ids

    new_backend = copy_of(backend, {b"v1": copy_of(bv1, {
        k: v for k, v in bv1.items.items() if isinstance(v, bytes)} | {
        b"snapshots": copy_of(bsnaps, chosen),
        b"parents": copy_of(bparents, {k: v for k, v in bparents.items.items()
                                       if both_kept(k)})})})

    stats: dict[str, Any] = {"images": len(kept["images"]), "layers": len(chosen), "blobs": 0,
                   "linked_bytes": 0, "store": "containerd"}
    if source_containerd is None:
        _copy_dirs(source_root, target_root, CONTAINERD_ROOT)
    else:  # the child's containerd is the init's, under its data root, owned by root
        os.makedirs(os.path.join(target_root, CONTAINERD_ROOT), mode=0o711, exist_ok=True)
    for relative in (os.path.dirname(METADATA_DB), SNAPSHOTTER + "/snapshots",
                     CONTENT + "/blobs/sha256", CONTENT + "/ingest"):
        if os.path.exists(os.path.join(source, relative)):
            _copy_dirs(source, target, relative)
    for relative, tree, page, txid in ((METADATA_DB, new_meta, meta_page, meta_txid),
                                       (SNAPSHOTTER + "/metadata.db", new_backend, backend_page,
                                        backend_txid)):
        bolt_write(os.path.join(target, relative), tree, page, txid)
        st = os.stat(os.path.join(source, relative))
        os.chmod(os.path.join(target, relative), stat_mod.S_IMODE(st.st_mode))
    # containerd may start now: it reads blobs and snapshot trees only when asked for them,
    # and dockerd (which asks) waits for the seed's final marker.
    write_marker(target_root, "ok", SEED_DB_MARKER)
    for digest in sorted(kept["blobs"]):
        algorithm, hexdigest = _digest_parts(digest)  # a key names a path: checked first
        src = os.path.join(source, CONTENT, "blobs", algorithm, hexdigest)
        if os.path.exists(src):
            os.link(src, os.path.join(target, CONTENT, "blobs", algorithm, hexdigest))
            stats["blobs"] += 1
            stats["linked_bytes"] += _varint(kept["blobs"][digest].value("size"))
    trees = []
    for record in chosen.values():
        number = str(_uvarint(record.value("id") or b"\0")[0])
        trees.append((os.path.join(source, SNAPSHOTTER, "snapshots", number),
                      os.path.join(target, SNAPSHOTTER, "snapshots", number)))
        stats["linked_bytes"] += _varint(record.value("size"))
    link_trees(trees, stats)
    return stats


def link_trees(pairs: list[tuple[str, str]], stats: dict[str, Any]) -> None:
    """Hardlink each layer's content tree: GNU `cp -a --link` (owners, modes, times, xattrs such
    as overlay's opaque marks, and whiteout devices), every layer at once; Python if no cp."""
    if not os.access("/bin/cp", os.X_OK):
        for src, dst in pairs:
            copy_tree(src, dst, stats, link=True)
        return
    running = [(subprocess.Popen(["/bin/cp", "-a", "--link", src, dst], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True), src) for src, dst in pairs]
    failures = []
    for process, src in running:
        output = process.communicate()[0]
        if process.returncode != 0:
            failures.append(f"{src}: {output.strip()[-200:]}")
    if failures:
        raise OSError("linking layers failed: " + "; ".join(failures))


def copy_tree(src: str, dst: str, stats: dict[str, Any], link: bool) -> None:
    """Copy (or hardlink) a tree, keeping owners, modes, times, xattrs and special files."""
    st = os.lstat(src)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    copy_node(src, dst, st, stats, link)
    if not os.path.isdir(src) or os.path.islink(src):
        return
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target_dir = os.path.normpath(os.path.join(dst, rel))
        for name in dirs + files:
            path = os.path.join(root, name)
            copy_node(path, os.path.join(target_dir, name), os.lstat(path), stats, link)
    # Directory times last: creating entries changed them.
    for root, dirs, _ in os.walk(src):
        for name in [""] + dirs:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if not os.path.islink(path):
                target = os.path.normpath(os.path.join(dst, os.path.relpath(path, src)))
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def copy_node(src: str, dst: str, st: os.stat_result, stats: dict[str, Any], link: bool) -> None:
    mode = st.st_mode
    if stat_mod.S_ISDIR(mode):
        os.mkdir(dst, stat_mod.S_IMODE(mode))
    elif stat_mod.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
    elif stat_mod.S_ISREG(mode) and link:
        os.link(src, dst)
        return  # a hardlink shares owner, mode and xattrs with its source
    elif stat_mod.S_ISREG(mode):
        copy_file(src, dst)
    else:  # devices, fifos and overlay whiteouts (0:0 char devices)
        os.mknod(dst, mode, st.st_rdev)
    os.lchown(dst, st.st_uid, st.st_gid)
    if not stat_mod.S_ISLNK(mode):
        os.chmod(dst, stat_mod.S_IMODE(mode))
    try:
        for name in os.listxattr(src, follow_symlinks=False):
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False),
                        follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EPERM):
            raise
    if not stat_mod.S_ISDIR(mode):
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def write_marker(target: str, outcome: str, name: str = SEED_MARKER) -> None:
    """Tell a level waiting on this data root (DINDTUI_AWAIT_SEED) how the seed ended."""
    try:
        with open(os.path.join(target, name + ".tmp"), "w") as handle:
            handle.write(outcome + "\n")
        os.replace(os.path.join(target, name + ".tmp"), os.path.join(target, name))
    except OSError:
        pass


SEED_SECONDS = 120       # a seed that takes longer fails (and the spawn streams instead)
SMALL_FILE_LIMIT = 16 << 20  # bytes of an image config or repositories.json read at the most


def seed_main(argv: list[str]) -> int:
    """`dindtui-init seed [--store=S] SOURCE_ROOT TARGET_ROOT IMAGE_ID...`: prints one JSON line
    of counts."""
    store, containerd = "overlay2", None
    while argv[:1] and argv[0].startswith(("--store=", "--containerd-root=")):
        option, _, value = argv[0].partition("=")
        if option == "--store":
            store = value
        else:
            containerd = value
        argv = argv[1:]
    if store not in STORES or len(argv) < 3 or (containerd is not None and (
            store != "containerd" or not os.path.isabs(containerd))):
        raise InitError("usage: dindtui-init seed [--store=overlay2|containerd] "
                        "[--containerd-root=ABSOLUTE-PATH] SOURCE_ROOT "
                        "TARGET_ROOT IMAGE_ID...", EXIT_BAD_INPUT)
    source, target, images = argv[0], argv[1], argv[2:]
    started = time.monotonic()

    def too_long(_signo: int, _frame: object) -> None:
        raise InitError(f"seeding took longer than {SEED_SECONDS}s", EXIT_SEED)

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(SEED_SECONDS)
    try:
        stats = (seed_containerd(source, target, images, containerd) if store == "containerd"
                 else seed(source, target, images))
    except Exception as exc:  # noqa: BLE001 - whatever the source holds: a marker, one line
        error = exc if isinstance(exc, InitError) else InitError(
            f"seeding failed: {type(exc).__name__}: {str(exc)[:300]}", EXIT_SEED)
        write_marker(target, f"failed: {error}")
        raise error from None
    finally:
        signal.alarm(0)
    write_marker(target, "ok")
    stats["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(stats), flush=True)
    return 0
