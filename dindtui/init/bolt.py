"""bbolt databases (containerd's) read and written with the standard library: the reader checks
every page id, count, offset and size against the file (hostile input), the writer makes a
fresh database bbolt opens as any other."""

from __future__ import annotations

import os
import struct
import time
from typing import Any

from .common import EXIT_SEED, InitError

BOLT_MAGIC, BOLT_VERSION = 0xED0CDAED, 2


PAGE_BRANCH, PAGE_LEAF, PAGE_META, PAGE_FREELIST = 0x01, 0x02, 0x04, 0x10


BUCKET_LEAF = 0x01
PAGE_HEADER = struct.Struct("<QHHI")
LEAF_ELEMENT = struct.Struct("<IIII")
BRANCH_ELEMENT = struct.Struct("<IIQ")
META = struct.Struct("<IIII QQ QQQ")   # magic, version, page size, flags, root (pgid, sequence),


class Bucket:
    """One bolt bucket in memory: its sequence (NextSequence's counter) and its keys, whose
    values are bytes or nested Buckets."""

    def __init__(self, sequence: int = 0, items: dict[bytes, Any] | None = None):
        self.sequence = sequence
        self.items: dict[bytes, bytes | Bucket] = items if items is not None else {}

    def bucket(self, *path: str | bytes) -> Bucket | None:
        node: Bucket | None = self
        for name in path:
            child = node.items.get(name.encode() if isinstance(name, str) else name) \
                if node is not None else None
            node = child if isinstance(child, Bucket) else None
        return node

    def value(self, key: str) -> bytes | None:
        value = self.items.get(key.encode())
        return value if isinstance(value, bytes) else None


def _fnv64a(data: bytes) -> int:
    value = 0xcbf29ce484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return value


BOLT_MAX_BYTES = 1 << 30     # a database larger than this is not read
BOLT_MAX_PAGES = 1 << 20     # pages visited in one database at the most
BOLT_MAX_NESTING = 64        # buckets inside buckets


def bolt_read(path: str) -> tuple[Bucket, int, int]:
    """The whole database as a tree of Buckets, its page size and txid. The file is read until
    two reads agree, so that a commit by the daemon owning it cannot tear the copy.

    The file is another daemon's (a level's, whose containers may have written it): every
    page id, count, offset and size is checked against the file, every page is read at most
    once (a page reached twice, as in a loop, ends the read), and so is the nesting and the
    number of pages; anything wrong is an InitError, never a hang, a crash or a read outside
    the file."""
    def broken(why: str) -> InitError:
        return InitError(f"{path} is not a readable bolt database: {why}", EXIT_SEED)

    def read_whole() -> bytes:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > BOLT_MAX_BYTES:
                raise broken(f"larger than {BOLT_MAX_BYTES} bytes")
            return handle.read(BOLT_MAX_BYTES + 1)

    data = read_whole()
    for _ in range(20):
        again = read_whole()
        if again == data:
            break
        data = again
        time.sleep(0.01)
    else:
        raise InitError(f"{path} kept changing while it was read", EXIT_SEED)
    if len(data) < 2 * 1024:
        raise broken("too short")
    page_size = struct.unpack_from("<I", data, PAGE_HEADER.size + 8)[0]
    if page_size < 1024 or page_size > 65536 or page_size & (page_size - 1):
        page_size = 4096     # meta 0 torn: bbolt then also tries the OS page size
    metas = []
    for offset in (0, page_size):
        if offset + PAGE_HEADER.size + META.size + 8 > len(data):
            continue
        fields = META.unpack_from(data, offset + PAGE_HEADER.size)
        checksum = struct.unpack_from("<Q", data, offset + PAGE_HEADER.size + META.size)[0]
        body = data[offset + PAGE_HEADER.size:offset + PAGE_HEADER.size + META.size]
        if fields[0] == BOLT_MAGIC and fields[1] == BOLT_VERSION and _fnv64a(body) == checksum \
                and 1024 <= fields[2] <= 65536 and not fields[2] & (fields[2] - 1):
            metas.append(fields)
    if not metas:
        raise InitError(f"{path} is not a bolt database", EXIT_SEED)
    meta = max(metas, key=lambda m: m[8])
    page_size = meta[2]
    visited: set[int] = set()

    def page(pgid: int) -> tuple[int, int]:
        """(offset, end) of page `pgid` and its overflow pages, checked."""
        if pgid < 2 or pgid in visited:
            raise broken(f"page {pgid} is reached twice or is a meta page")
        if len(visited) >= BOLT_MAX_PAGES:
            raise broken(f"more than {BOLT_MAX_PAGES} pages")
        offset = pgid * page_size
        if offset + PAGE_HEADER.size > len(data):
            raise broken(f"page {pgid} lies past the end of the file")
        visited.add(pgid)
        overflow = PAGE_HEADER.unpack_from(data, offset)[3]
        end = offset + (overflow + 1) * page_size
        if end > len(data):
            end = len(data)   # bbolt may leave the file's last page short
        return offset, end

    def read_node(buffer: bytes, offset: int, end: int, into: Bucket, nesting: int) -> None:
        pending = [(buffer, offset, end)]
        while pending:
            buf, at0, limit = pending.pop()
            _, flags, count, _ = PAGE_HEADER.unpack_from(buf, at0)
            elements = at0 + PAGE_HEADER.size
            size = BRANCH_ELEMENT.size if flags & PAGE_BRANCH else LEAF_ELEMENT.size
            if elements + count * size > limit:
                raise broken(f"{count} elements do not fit their page")
            if flags & PAGE_BRANCH:
                for i in range(count):
                    _, _, pgid = BRANCH_ELEMENT.unpack_from(buf, elements + i * size)
                    child, child_end = page(pgid)
                    pending.append((data, child, child_end))
            elif flags & PAGE_LEAF:
                for i in range(count):
                    at = elements + i * size
                    eflags, pos, ksize, vsize = LEAF_ELEMENT.unpack_from(buf, at)
                    if at + pos + ksize + vsize > limit:
                        raise broken("a key or value runs past its page")
                    key = bytes(buf[at + pos:at + pos + ksize])
                    value = bytes(buf[at + pos + ksize:at + pos + ksize + vsize])
                    into.items[key] = bucket(value, nesting + 1) if eflags & BUCKET_LEAF \
                        else value
            else:
                raise broken(f"a page has unknown flags {flags:#x}")

    def bucket(header: bytes, nesting: int) -> Bucket:
        if nesting > BOLT_MAX_NESTING:
            raise broken(f"buckets nested more than {BOLT_MAX_NESTING} deep")
        if len(header) < 16:
            raise broken("a bucket header is short")
        root, sequence = struct.unpack_from("<QQ", header)
        result = Bucket(sequence)
        if root == 0:            # an inline bucket: its page follows the header
            if len(header) < 16 + PAGE_HEADER.size:
                raise broken("an inline bucket is short")
            read_node(header, 16, len(header), result, nesting)
        else:
            offset, end = page(root)
            read_node(data, offset, end, result, nesting)
        return result

    root = Bucket(meta[5])
    offset, end = page(meta[4])
    read_node(data, offset, end, root, 0)
    return root, page_size, meta[8]


def bolt_write(path: str, root: Bucket, page_size: int, txid: int) -> None:
    """Write `root` as a fresh bolt database: metas, an empty freelist, then every bucket's
    leaves (sorted keys, as bolt's binary search needs), with branch pages above when a bucket
    needs more than one leaf. bbolt reads it as any other file and rewrites pages as it goes."""
    pages: list[bytes] = []              # page-aligned blobs, starting at page 3
    next_pgid = [3]

    def put(flags: int, elements: list[tuple[Any, ...]], branch: bool) -> int:
        size = PAGE_HEADER.size + len(elements) * 16
        size += sum(len(key) + (0 if branch else len(value)) for key, *_, value in elements)
        pgid = next_pgid[0]
        overflow = (size + page_size - 1) // page_size - 1
        buffer = bytearray((overflow + 1) * page_size)
        PAGE_HEADER.pack_into(buffer, 0, pgid, flags, len(elements), overflow)
        data_at = PAGE_HEADER.size + len(elements) * 16
        for i, element in enumerate(elements):
            at = PAGE_HEADER.size + i * 16
            if branch:
                key, child = element[0], element[1]
                BRANCH_ELEMENT.pack_into(buffer, at, data_at - at, len(key), child)
                buffer[data_at:data_at + len(key)] = key
                data_at += len(key)
            else:
                key, eflags, value = element
                LEAF_ELEMENT.pack_into(buffer, at, eflags, data_at - at, len(key), len(value))
                buffer[data_at:data_at + len(key) + len(value)] = key + value
                data_at += len(key) + len(value)
        pages.append(bytes(buffer))
        next_pgid[0] += overflow + 1
        return pgid

    def write_bucket(bucket: Bucket) -> int:
        elements = []
        for key in sorted(bucket.items):
            value = bucket.items[key]
            if isinstance(value, Bucket):
                child = write_bucket(value)
                elements.append((key, BUCKET_LEAF, struct.pack("<QQ", child, value.sequence)))
            else:
                elements.append((key, 0, value))
        leaves: list[list[Any]] = []
        current: list[Any] = []
        used = PAGE_HEADER.size
        for element in elements:
            size = 16 + len(element[0]) + len(element[2])
            if current and (used + size > page_size or len(current) == 0xFFFF):
                leaves.append(current)
                current, used = [], PAGE_HEADER.size
            current.append(element)
            used += size
        leaves.append(current)
        level = [(leaf[0][0] if leaf else b"", put(PAGE_LEAF, leaf, False)) for leaf in leaves]
        while len(level) > 1:     # branch pages until one root
            level = [(group[0][0], put(PAGE_BRANCH, [(k, p, b"") for k, p in group], True))
                     for group in (level[i:i + 0xFFFF] for i in range(0, len(level), 0xFFFF))]
        return level[0][1]

    root_pgid = write_bucket(root)
    with open(path + ".tmp", "wb") as handle:
        for pgid in (0, 1):
            page = bytearray(page_size)
            PAGE_HEADER.pack_into(page, 0, pgid, PAGE_META, 0, 0)
            body = META.pack(BOLT_MAGIC, BOLT_VERSION, page_size, 0, root_pgid, root.sequence,
                             2, next_pgid[0], txid + pgid)
            page[PAGE_HEADER.size:PAGE_HEADER.size + META.size] = body
            struct.pack_into("<Q", page, PAGE_HEADER.size + META.size, _fnv64a(body))
            handle.write(page)
        freelist = bytearray(page_size)
        PAGE_HEADER.pack_into(freelist, 0, 2, PAGE_FREELIST, 0, 0)
        handle.write(freelist)
        for blob in pages:
            handle.write(blob)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(path + ".tmp", path)
