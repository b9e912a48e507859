"""The level's own dockerd asked over its socket, without the docker CLI: every CLI call is a Go
program started (about 40 ms of CPU each here), and a level's graceful stop made three of them
while its parent's budget ran; 64 levels stopping at once spent more CPU on them than a 5-s
budget has on two cores. HTTP/1.0 (the daemon answers it without chunks and closes), standard
library only; an answer is bounded and its JSON checked by whoever reads it."""

from __future__ import annotations

import json
import re
import selectors
import socket
import time

SOCKET = "/var/run/docker.sock"
ANSWER_LIMIT = 32 << 20  # bytes of one answer read at the most (a list of many containers)
CONTAINER_ID = re.compile(r"[0-9a-f]{64}")

TYPE_CHECKING = False  # typing is for mypy: not imported when every level's init starts
if TYPE_CHECKING:
    from typing import Any


class ApiError(OSError):
    """The daemon could not be asked, or answered what no daemon answers."""


def _request_bytes(method: str, path: str) -> bytes:
    return (f"{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Length: 0\r\n\r\n").encode()


def _parse(raw: bytes) -> tuple[int, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    parts = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/") or \
            not parts[1].isdigit():
        raise ApiError("the daemon's answer is not HTTP")
    if b"\r\ntransfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return int(parts[1]), body


def _unchunk(body: bytes) -> bytes:
    out: list[bytes] = []
    at = 0
    while True:
        line_end = body.find(b"\r\n", at)
        if line_end < 0:
            raise ApiError("a chunked answer ended early")
        try:
            size = int(body[at:line_end].split(b";")[0], 16)
        except ValueError:
            size = -1
        if size < 0:
            raise ApiError("a chunked answer has a bad chunk size")
        if size == 0:
            return b"".join(out)
        out.append(body[line_end + 2:line_end + 2 + size])
        at = line_end + 2 + size + 2


def request(method: str, path: str, timeout: float = 10.0,
            sock_path: str = SOCKET) -> tuple[int, bytes]:
    """One request, its status and body (ApiError when the daemon cannot be asked in time)."""
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(sock_path)
            sock.sendall(_request_bytes(method, path))
            chunks, size = [], 0
            while size <= ANSWER_LIMIT:
                sock.settimeout(max(deadline - time.monotonic(), 0.01))
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            else:
                raise ApiError(f"the daemon's answer to {path} is over {ANSWER_LIMIT} bytes")
    except OSError as exc:
        if isinstance(exc, ApiError):
            raise
        raise ApiError(f"asking dockerd {method} {path}: {exc}") from None
    return _parse(b"".join(chunks))


def get_json(path: str, timeout: float = 10.0) -> Any:
    status, body = request("GET", path, timeout)
    if status != 200:
        raise ApiError(f"dockerd answered {status} to {path}")
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(f"dockerd's answer to {path} is not JSON") from None


def container_ids(status: str) -> list[str]:
    """The ids of the containers in `status` (running, exited, ...), checked."""
    filters = "".join(c if c.isalnum() else f"%{ord(c):02X}"  # (ASCII: urllib costs an import)
                      for c in json.dumps({"status": [status]}))
    listed = get_json(f"/containers/json?all=1&filters={filters}", 20)
    if not isinstance(listed, list):
        return []
    return [c["Id"] for c in listed if isinstance(c, dict) and isinstance(c.get("Id"), str)
            and CONTAINER_ID.fullmatch(c["Id"])]


def inspect(ids: list[str], timeout: float = 10.0) -> list[Any]:
    """Each container's inspection, asked side by side (a level with many containers is not
    inspected one after another while its budget runs); a container gone meanwhile, or an
    answer that is no container's, is left out."""
    paths = [f"/containers/{i}/json" for i in ids if CONTAINER_ID.fullmatch(i)]
    found = []
    for status, body in answers("GET", paths, time.monotonic() + timeout).values():
        if status != 200:
            continue
        try:
            container = json.loads(body)
        except ValueError:
            continue
        if isinstance(container, dict) and isinstance(container.get("Id"), str) and \
                CONTAINER_ID.fullmatch(container["Id"]):
            found.append(container)
    return found


def open_at_most() -> int:
    """Requests kept open at once: the docker CLI stops 50 containers at a time; more at once
    here, but never near the open-file limit (Podman gives a container 1,024)."""
    try:
        import resource  # (only when many are asked for: one import less at every start)
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        soft = 1024
    limit = soft if soft != -1 else 1 << 20
    return max(8, min(512, limit // 4))


def each_at_once(method: str, paths: list[str], deadline: float) -> dict[str, int]:
    """The same kind of request for every path, sent at once (up to `open_at_most`; each
    further one as soon as an answer frees its place) and waited for together until
    `deadline` (a stop answers only once its container stopped): the status of each path
    answered in time; the others are missing."""
    return {path: status for path, (status, _) in answers(method, paths, deadline).items()}


def answers(method: str, paths: list[str], deadline: float) -> dict[str, tuple[int, bytes]]:
    """`each_at_once`, with each answer's body."""
    answered: dict[str, tuple[int, bytes]] = {}
    pending: dict[socket.socket, tuple[str, list[bytes]]] = {}
    waiting = list(reversed(paths))
    room = open_at_most() if len(paths) > 8 else 8
    with selectors.DefaultSelector() as selector:
        try:
            while waiting or pending:
                while waiting and len(pending) < room:
                    try:
                        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    except OSError:
                        break  # no descriptor free now: asked again when one is
                    path = waiting.pop()
                    try:
                        sock.settimeout(max(deadline - time.monotonic(), 0.01))
                        sock.connect(SOCKET)
                        sock.sendall(_request_bytes(method, path))
                        sock.setblocking(False)
                    except OSError:
                        sock.close()
                        continue
                    pending[sock] = (path, [])
                    selector.register(sock, selectors.EVENT_READ)
                left = deadline - time.monotonic()
                if left <= 0 or not pending:
                    break
                for key, _ in selector.select(left):
                    sock = key.fileobj  # type: ignore[assignment]
                    path, chunks = pending[sock]
                    try:
                        chunk = sock.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    if chunk and sum(map(len, chunks)) <= ANSWER_LIMIT:
                        chunks.append(chunk)
                        continue
                    selector.unregister(sock)
                    sock.close()
                    del pending[sock]
                    try:
                        answered[path] = _parse(b"".join(chunks))
                    except ApiError:
                        pass
        finally:
            for sock in pending:
                sock.close()
    return answered
