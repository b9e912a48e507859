"""What a level writes is hostile input, engine-free: bolt databases (a corpus of broken files
and a bounded random-mutation loop over real ones), a seed that meets them (it ends at once
with its failure marker), volume trees with symlink loops, log lines without a newline, terminal
escape sequences, odd labels, and names that must map to one context and one directory each.
The real-engine side of each is in test_hostile.py."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

import pytest

from dindtui.init import api, bolt, common
from dindtui.init import seed as seeding
from dindtui.engine.tree import discovery, levels
from dindtui.engine.tree.place import Place
from dindtui.engine import guard
from dindtui.engine.explore import logs
from dindtui.engine.access import reach
from dindtui.engine.disk.cgroups import container_ids

pytestmark = pytest.mark.engine_free
DATA = os.path.join(os.path.dirname(__file__), "data")
REAL_DATABASES = [os.path.join(DATA, name) for name in ("meta.db", "snapshots.db")]


@contextlib.contextmanager
def at_most(seconds: int, what: str):
    """Fail (instead of hanging the suite) when the body runs past `seconds`."""
    def expired(_signo, _frame):
        raise AssertionError(f"{what} did not end within {seconds}s: a hang")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ----------------------------------------------------------------------------- bolt

def sample_tree(keys: int = 400) -> bolt.Bucket:
    """A database shaped like containerd's: nested buckets, a bucket too big for one page."""
    images = bolt.Bucket(3, {f"docker.io/library/img{i}:latest".encode(): bolt.Bucket(0, {
        b"target": bolt.Bucket(0, {b"digest": b"sha256:" + f"{i:064x}".encode()})})
        for i in range(keys)})
    return bolt.Bucket(1, {b"v1": bolt.Bucket(0, {b"moby": bolt.Bucket(0, {b"images": images}),
                                              b"version": b"\x03"})})


def written(tmp_path, tree: bolt.Bucket | None = None, name: str = "meta.db") -> bytes:
    path = str(tmp_path / name)
    bolt.bolt_write(path, tree or sample_tree(), 4096, 10)
    with open(path, "rb") as f:
        return f.read()


def pages(data: bytes, page_size: int = 4096):
    """(pgid, flags, count) of every page that starts on a page boundary past the metas."""
    for pgid in range(2, len(data) // page_size):
        _, flags, count, _ = bolt.PAGE_HEADER.unpack_from(data, pgid * page_size)
        yield pgid, flags, count


def with_meta_root(data: bytes, root: int, page_size: int = 4096) -> bytes:
    """Both metas pointing at page `root`, their checksums right (so only the pages can be
    wrong, as in a database a level's container rewrote)."""
    out = bytearray(data)
    for offset in (0, page_size):
        body = bytearray(out[offset + bolt.PAGE_HEADER.size:
                             offset + bolt.PAGE_HEADER.size + bolt.META.size])
        fields = list(bolt.META.unpack(bytes(body)))
        fields[4] = root
        body = bolt.META.pack(*fields)
        out[offset + bolt.PAGE_HEADER.size:offset + bolt.PAGE_HEADER.size + bolt.META.size] = body
        struct.pack_into("<Q", out, offset + bolt.PAGE_HEADER.size + bolt.META.size,
                         bolt._fnv64a(body))
    return bytes(out)


def read_bytes(tmp_path, data: bytes, name: str = "bad.db"):
    path = tmp_path / name
    path.write_bytes(data)
    return bolt.bolt_read(str(path))


def test_a_written_database_reads_back(tmp_path):
    written(tmp_path)
    root, page_size, txid = bolt.bolt_read(str(tmp_path / "meta.db"))
    assert page_size == 4096 and txid == 11
    assert len(root.bucket("v1", "moby", "images").items) == 400


def hostile_corpus(tmp_path) -> dict[str, bytes]:
    good = written(tmp_path)
    branches = [(pgid, count) for pgid, flags, count in pages(good) if flags & bolt.PAGE_BRANCH]
    leaves = [pgid for pgid, flags, _ in pages(good) if flags & bolt.PAGE_LEAF]
    assert branches and leaves, "the sample must need a branch page"
    branch, count = branches[0]
    corpus = {}

    def patched(offset: int, fmt: str, *values) -> bytes:
        out = bytearray(good)
        struct.pack_into(fmt, out, offset, *values)
        return bytes(out)

    first_element = branch * 4096 + bolt.PAGE_HEADER.size
    corpus["a branch page pointing at itself"] = patched(first_element + 8, "<Q", branch)
    shared = bytearray(good)  # every element of the branch at one child: exponential before
    child = bolt.BRANCH_ELEMENT.unpack_from(good, first_element)[2]
    for i in range(count):
        struct.pack_into("<Q", shared, first_element + i * 16 + 8, child)
    corpus["every branch element at one page"] = bytes(shared)
    corpus["a branch element past the end"] = patched(first_element + 8, "<Q", 1 << 40)
    corpus["a meta page as a child"] = patched(first_element + 8, "<Q", 0)
    leaf = leaves[0] * 4096
    corpus["a leaf claiming 65535 elements"] = patched(leaf + 10, "<H", 0xFFFF)
    corpus["a key past its page"] = patched(leaf + bolt.PAGE_HEADER.size + 4, "<I", 1 << 30)
    corpus["a value of 4 GB"] = patched(leaf + bolt.PAGE_HEADER.size + 12, "<I", 0xFFFFFFFF)
    corpus["unknown page flags"] = patched(leaf + 8, "<H", 0x80)
    corpus["an overflow of 2^32 pages"] = patched(leaf + 12, "<I", 0xFFFFFFFF)
    corpus["the root past the end"] = with_meta_root(good, 1 << 20)
    corpus["the root at a meta page"] = with_meta_root(good, 1)
    corpus["cut in half"] = good[:len(good) // 2]
    corpus["only the metas"] = good[:8192]
    corpus["empty"] = b""
    corpus["random bytes"] = random.Random(1).randbytes(64 * 1024)
    # A leaf whose only element says "bucket" with a header too short to hold one.
    tiny = bolt.Bucket(0, {b"x": b"y"})
    base = written(tmp_path, tiny, "tiny.db")
    root_leaf = next(pgid for pgid, flags, _ in pages(base) if flags & bolt.PAGE_LEAF) * 4096
    corpus["an inline bucket of one byte"] = (lambda out: (
        struct.pack_into("<I", out, root_leaf + bolt.PAGE_HEADER.size, bolt.BUCKET_LEAF),
        bytes(out))[1])(bytearray(base))
    return corpus


def test_every_file_of_the_hostile_corpus_is_refused_in_one_line(tmp_path):
    for what, data in hostile_corpus(tmp_path).items():
        with at_most(5, what):
            try:
                read_bytes(tmp_path, data)
            except common.InitError as exc:
                assert exc.status == common.EXIT_SEED and "\n" not in str(exc), what
            else:
                # An overflow count past the end is cut at the end of the file: the page's
                # elements are still checked against what is there.
                assert what == "an overflow of 2^32 pages", f"{what}: read as if valid"


@pytest.mark.parametrize("real", [p for p in REAL_DATABASES if os.path.exists(p)]
                         or [None], ids=lambda p: os.path.basename(p) if p else "sample")
def test_random_mutations_end_in_a_read_or_a_clean_refusal(tmp_path, real):
    """Bounded: 300 mutants of a real database (from a containerd-store level), each read
    under a 5 s alarm; anything but a tree or an InitError fails the test."""
    if real is None:
        good = written(tmp_path)
    else:
        with open(real, "rb") as f:
            good = f.read()
    rng = random.Random(20261130)
    outcomes = {"read": 0, "refused": 0}
    page_size = 4096
    for round_ in range(300):
        out = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(2 * page_size, len(out) - 8)  # pages, not the checksummed metas
            if rng.random() < 0.5:
                out[at] = rng.randrange(256)
            else:  # a plausible-looking number where counts, offsets and page ids live
                struct.pack_into("<I", out, at, rng.choice(
                    [0, 1, 2, 3, 0xFFFF, 0xFFFFFFFF, len(out) // page_size, rng.randrange(64)]))
        with at_most(5, f"mutant {round_}"):
            try:
                read_bytes(tmp_path, bytes(out))
                outcomes["read"] += 1
            except common.InitError:
                outcomes["refused"] += 1
    assert outcomes["refused"] > 0, outcomes


def containerd_source(root, digest: bytes) -> None:
    """A data root with a containerd store whose one image names `digest`."""
    base = root / seeding.CONTAINERD_ROOT
    (base / "io.containerd.metadata.v1.bolt").mkdir(parents=True)
    (base / seeding.SNAPSHOTTER / "snapshots").mkdir(parents=True)
    (base / seeding.CONTENT / "blobs" / "sha256").mkdir(parents=True)
    image = bolt.Bucket(0, {b"target": bolt.Bucket(0, {b"digest": digest})})
    blob = bolt.Bucket(0, {b"size": b"\x02"})
    moby = bolt.Bucket(0, {b"images": bolt.Bucket(0, {b"evil:latest": image}),
                         b"content": bolt.Bucket(0, {b"blob": bolt.Bucket(0, {digest: blob})})})
    bolt.bolt_write(str(base / seeding.METADATA_DB), bolt.Bucket(0, {b"v1": bolt.Bucket(0, {
        b"moby": moby})}), 4096, 1)
    bolt.bolt_write(str(base / seeding.SNAPSHOTTER / "metadata.db"), bolt.Bucket(0, {
        b"v1": bolt.Bucket(0, {b"snapshots": bolt.Bucket()})}), 4096, 1)


def seed_fails(tmp_path, source, *images: str) -> str:
    target = tmp_path / "target"
    target.mkdir(exist_ok=True)
    with at_most(10, "the seed"):
        with pytest.raises(common.InitError) as raised:
            seeding.seed_main(["--store=containerd", str(source), str(target), *images])
    assert raised.value.status == common.EXIT_SEED
    marker = (target / common.SEED_MARKER).read_text()
    assert marker.startswith("failed: "), marker  # the level waiting on it stops at once
    return marker


def test_a_seed_from_a_hostile_database_ends_at_once_with_its_marker(tmp_path):
    source = tmp_path / "source"
    containerd_source(source, b"sha256:" + b"a" * 64)
    with open(source / seeding.CONTAINERD_ROOT / seeding.METADATA_DB, "r+b") as f:
        data = bytearray(f.read())
        for pgid, flags, _ in pages(bytes(data)):
            if flags & bolt.PAGE_LEAF:  # every leaf says it holds 65535 elements
                struct.pack_into("<H", data, pgid * 4096 + 10, 0xFFFF)
        f.seek(0)
        f.write(data)
    assert "not a readable bolt database" in seed_fails(tmp_path, source, "sha256:" + "a" * 64)


def test_a_key_that_names_a_path_outside_the_store_is_refused(tmp_path):
    source = tmp_path / "source"
    digest = b"sha256:../../../../../../escaped"
    containerd_source(source, digest)
    (tmp_path / "escaped").write_text("the seed must not link this")
    marker = seed_fails(tmp_path, source, digest.decode())
    assert "not a content digest" in marker
    assert not any("escaped" in names for _, _, names in os.walk(tmp_path / "target"))


def test_an_overlay2_layer_whose_cache_id_is_a_path_is_refused(tmp_path):
    source = tmp_path / "source"
    image_dir = source / "image" / "overlay2"
    diff = "sha256:" + "b" * 64
    config = {"rootfs": {"diff_ids": [diff]}}
    (image_dir / "imagedb" / "content" / "sha256").mkdir(parents=True)
    (image_dir / "imagedb" / "content" / "sha256" / ("c" * 64)).write_text(json.dumps(config))
    layer = image_dir / "layerdb" / "sha256" / ("b" * 64)
    layer.mkdir(parents=True)
    (layer / "cache-id").write_text("../../../../etc")
    (image_dir / "repositories.json").write_text("{}")
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(common.InitError):
        seeding.seed_main([str(source), str(target), "sha256:" + "c" * 64])
    assert "no valid cache-id" in (target / common.SEED_MARKER).read_text()


# ----------------------------------------------------------------------------- volume trees

def test_the_cgroup_walk_survives_symlink_loops_and_takes_only_real_container_ids(tmp_path):
    root = tmp_path / "data"
    real = "a" * 64
    (root / "containers" / real).mkdir(parents=True)
    (root / "containers" / real / "config.v2.json").write_text("{}")
    (root / "containers" / ("f" * 64)).mkdir()  # no config: a name, not a container
    (root / "containers" / ("e" * 64)).symlink_to(root / "containers" / real)
    volumes = root / "volumes"
    (volumes / "evil" / "_data" / "containers").mkdir(parents=True)
    (volumes / "evil" / "_data" / "volumes").mkdir()
    (volumes / "evil" / "_data" / "volumes" / "a").symlink_to("../..")
    (volumes / "evil" / "_data" / "volumes" / "b").symlink_to("../..")
    (volumes / "loop").symlink_to(root)
    (volumes / "mine" / "_data" / "containers" / ("d" * 64)).mkdir(parents=True)  # a user's
    (volumes / "mine" / "_data" / "containers" / ("d" * 64) / "config.v2.json").write_text("{}")
    nested = volumes / "dindtui-t.l2-0a1b2c" / "_data"
    (nested / "containers" / ("b" * 64)).mkdir(parents=True)
    (nested / "containers" / ("b" * 64) / "config.v2.json").write_text("{}")
    with at_most(10, "the walk"):
        found = container_ids(str(root))
    assert found == {real, "b" * 64}


def test_the_cgroup_walk_stops_at_its_bounds(tmp_path):
    root = tmp_path / "data"
    deepest = root
    for _ in range(40):  # data roots nested deeper than any tree of levels
        (deepest / "containers").mkdir(parents=True)
        deepest = deepest / "volumes" / "dindtui-v-abcdef" / "_data"
    (deepest / "containers" / ("c" * 64)).mkdir(parents=True)
    (deepest / "containers" / ("c" * 64) / "config.v2.json").write_text("{}")
    with at_most(10, "the walk"):
        assert container_ids(str(root)) == set()  # past MAX_NESTING: left, not followed
        assert container_ids(str(root), deadline=time.monotonic() - 1) == set()


# ----------------------------------------------------------------------------- the init's API

@contextlib.contextmanager
def daemon_answering(tmp_path, answer):
    """A socket where `answer(connection)` plays the daemon; counts the most connections open
    at once."""
    path = str(tmp_path / "d.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    state = {"open": 0, "most": 0}
    lock = threading.Lock()

    def serve(conn):
        with lock:
            state["open"] += 1
            state["most"] = max(state["most"], state["open"])
        try:
            conn.recv(4096)
            answer(conn)
        except OSError:
            pass
        finally:
            with lock:
                state["open"] -= 1
            conn.close()

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield path, state
    finally:
        server.close()


def test_the_inits_api_client_bounds_what_a_daemon_answers(tmp_path, monkeypatch):
    """The init asks its level's dockerd over the socket: an endless answer, one that is no
    HTTP, a bad chunk and a daemon that never answers all end in a refusal or a missing
    answer within the deadline, never a hang or a crash."""
    monkeypatch.setattr(api, "ANSWER_LIMIT", 1 << 20)

    def endless(conn):
        for _ in range(64):
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 65536)

    def not_http(conn):
        conn.sendall(b"\x1b]0;owned\x07 garbage\r\n\r\n{}")

    def bad_chunk(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")

    def negative_chunk(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nab\r\n")

    def silent(conn):
        time.sleep(3)

    for answer, refusal in ((endless, "over"), (not_http, "not HTTP"),
                            (bad_chunk, "chunk size"), (negative_chunk, "chunk size")):
        with daemon_answering(tmp_path, answer) as (path, _), at_most(10, answer.__name__):
            with pytest.raises(api.ApiError, match=refusal):
                api.request("GET", "/containers/json", 5, path)
        os.remove(path)
    with daemon_answering(tmp_path, silent) as (path, _), at_most(10, "the silent daemon"):
        monkeypatch.setattr(api, "SOCKET", path)
        started = time.monotonic()
        with pytest.raises(api.ApiError):
            api.request("GET", "/_ping", 0.5, path)
        assert api.each_at_once("POST", ["/containers/a/stop"] * 3,
                                time.monotonic() + 0.5) == {}
        assert time.monotonic() - started < 2.5


def test_the_inits_inspections_keep_only_what_names_a_container(tmp_path, monkeypatch):
    good, bad = "a" * 64, "b" * 64

    def answer(conn):  # one answer names a container, the other a path
        conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + json.dumps(
            {"Id": good} if state["next"].pop(0) else {"Id": "../../etc"}).encode())

    state = {"next": [True, False]}
    with daemon_answering(tmp_path, answer) as (path, _), at_most(10, "three inspections"):
        monkeypatch.setattr(api, "SOCKET", path)
        found = api.inspect([good, bad, "../not-an-id"])
    assert [c["Id"] for c in found] == [good]  # the answer's id checked
    assert state["next"] == []  # two asked: what is no id never reaches a request


def test_the_inits_stops_keep_at_most_their_window_open_and_all_are_answered(tmp_path,
                                                                              monkeypatch):
    def slow_ok(conn):
        time.sleep(0.05)
        conn.sendall(b"HTTP/1.0 204 No Content\r\n\r\n")

    monkeypatch.setattr(api, "open_at_most", lambda: 8)
    with daemon_answering(tmp_path, slow_ok) as (path, state), at_most(20, "40 stops"):
        monkeypatch.setattr(api, "SOCKET", path)
        paths = [f"/containers/{n}/stop?t=1" for n in range(40)]
        answered = api.each_at_once("POST", paths, time.monotonic() + 15)
    assert answered == {path: 204 for path in paths}
    assert 2 <= state["most"] <= 8  # side by side, never more than the window


def test_the_inits_stops_wait_for_a_free_descriptor_and_lose_none(tmp_path, monkeypatch):
    """Out of descriptors (a level's open-file limit reached), the requests not yet sent wait
    for one to be freed: every stop is still asked, none dropped."""
    def ok(conn):
        time.sleep(0.05)
        conn.sendall(b"HTTP/1.0 204 No Content\r\n\r\n")

    real, made = socket.socket, []

    def scarce(*args, **kwargs):  # a third descriptor never free while two are open
        if "fileno" in kwargs:  # (the test daemon's accept: not the init's)
            return real(*args, **kwargs)
        if len([s for s in made if s.fileno() != -1]) >= 2:
            raise OSError(24, "Too many open files")
        made.append(real(*args, **kwargs))
        return made[-1]

    with daemon_answering(tmp_path, ok) as (path, _), at_most(20, "12 stops"):
        monkeypatch.setattr(api, "SOCKET", path)
        monkeypatch.setattr(api.socket, "socket", scarce)
        paths = [f"/containers/{n}/stop?t=1" for n in range(12)]
        answered = api.each_at_once("POST", paths, time.monotonic() + 15)
    assert answered == {path: 204 for path in paths}


# ----------------------------------------------------------------------------- logs

def test_a_line_without_a_newline_is_cut_and_costs_a_bounded_memory():
    def flood():
        for _ in range(160):  # 10 MB, no newline
            yield b"x" * 65536
        yield b"\nnext\n"
    with at_most(10, "the flood"):
        lines = list(logs._lines_of(flood()))
    assert len(lines) == 2 and lines[1] == "next"
    assert lines[0].startswith("x" * guard.LINE_LIMIT)
    assert len(lines[0]) < guard.LINE_LIMIT + 100
    assert f"{160 * 65536 - guard.LINE_LIMIT} more bytes" in lines[0]


def test_a_log_frame_claiming_4_gb_is_passed_on_piece_by_piece():
    class Raw:
        def __init__(self, parts):
            self.parts = list(parts)

        def read1(self, _size):
            return self.parts.pop(0) if self.parts else b""

    class Response:
        def __init__(self, parts):
            self.raw = Raw(parts)

    stream = object.__new__(logs.LogStream)
    stream.tty = False
    head = b"\x01\x00\x00\x00" + (0xFFFFFFFF).to_bytes(4, "big")
    stream.response = Response([head[:3], head[3:] + b"abc", b"def\nghi"])
    assert b"".join(stream.chunks()) == b"abcdef\nghi"
    stream.response = Response([b"\x01\x00\x00\x00\x00\x00\x00\x02hi\x02\x00\x00\x00",
                                b"\x00\x00\x00\x03 yo"])
    assert b"".join(stream.chunks()) == b"hi yo"


# ----------------------------------------------------------------------------- text

@pytest.mark.parametrize("hostile", [
    "\x1b[2J\x1b[H", "\x1b]52;c;aGVsbG8=\x07", "\x1b]0;owned\x07", "\x9b31m", "a\rb", "\x00",
    "\u202eevil", "\x7f"])
def test_terminal_controls_are_shown_never_sent(hostile):
    shown = guard.text("before " + hostile + " after")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown), repr(shown)
    assert "\u202e" not in shown and shown.startswith("before ") and shown.endswith(" after")
    assert guard.text("a\tb", tabs=True) == "a\tb" and guard.text("x" * 5000).endswith("…")


def test_odd_labels_never_reach_a_number_or_a_crash():
    assert guard.port("²") is None and guard.port("٣") is None and guard.port("0") is None
    assert guard.port("65536") is None and guard.port("2376") == 2376 and guard.port(None) is None
    root = levels.Level("host", "", 0, levels.READY, "unix:///var/run/docker.sock")
    odd = {"Id": "1" * 64, "Names": ["/x"], "Labels": {"dindtui.owner": "dindtui",
                                                       "dindtui.port": "²", "weird": ["a"]}}
    with pytest.raises(ValueError):  # a label that is not text: the caller lists it as ignored
        discovery._child_of(Place.of(root), odd)


# ----------------------------------------------------------------------------- names

def level(path: str, endpoint: str = "unix:///var/run/docker.sock") -> levels.Level:
    parent = levels.Level("host", "", 0, levels.READY, endpoint)
    node = parent
    for name in path.split("/"):
        child = levels.Level(name, f"{node.path}/{name}".strip("/"), node.depth + 1,
                             levels.READY, None, parent=node)
        node.children.append(child)
        node = child
    return node


def test_context_names_and_certificate_directories_are_one_per_level(monkeypatch):
    paths = ["a/b", "a.b", "a_b", "a+b", "l1", "a/b/c", "a/b.c", "a.b/c"]
    paths = [p for p in paths if all(not levels.name_problem(n) for n in p.split("/"))]
    contexts: dict[str, set] = {}
    directories: dict[str, set] = {}
    for namespace in ("", "ns", "other"):
        monkeypatch.setenv("DINDTUI_NAMESPACE", namespace)
        for path in paths:
            for endpoint in ("unix:///var/run/docker.sock", "tcp://127.0.0.1:2376"):
                node = level(path, endpoint)
                contexts.setdefault(reach.context_name(node), set()).add((namespace, path))
                directories.setdefault(reach.certs_dir(node), set()).add(
                    (namespace, path, endpoint))
    assert all(len(owners) == 1 for owners in contexts.values()), contexts
    assert all(len(owners) == 1 for owners in directories.values()), directories
    monkeypatch.setenv("DINDTUI_NAMESPACE", "")
    assert reach.context_name(level("a/b")) != reach.context_name(level("a.b"))


def test_the_env_line_for_eval_quotes_the_certificate_path():
    node = level("l1")
    node.port, node.endpoint = 2376, "unix:///tmp/x.sock"
    lines = reach.env_lines(node, tcp_directory="/tmp/certs dir/$(touch pwned)")
    assert "export DOCKER_CERT_PATH='/tmp/certs dir/$(touch pwned)'" in lines


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
