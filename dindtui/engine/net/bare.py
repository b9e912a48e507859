"""Reads of a daemon's API over its unix socket with the standard library alone: one HTTP/1.0
GET, the answer read to its end within a deadline and a size bound, parsed as JSON.

Discovery reads every daemon of the tree this way (`connect.read_json`): a listing costs a
fraction of a millisecond of this process's time instead of the few the docker SDK's HTTP stack
takes, and `dindtui ls` and the TUI's first tree need not import that stack at all. Sockets
this process serves (tunnels, the ssh proxy: a new connection there is an exec or an ssh
session) and TCP engines keep the SDK's kept-alive clients."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from ..errors import DindtuiError

LIMIT = 64 << 20  # bytes an answer may take (1,000 containers listed: about 2 MB)


class BareError(DindtuiError):
    """The daemon could not be asked, or answered something other than 200 and JSON."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def get_json(path: str, url: str, timeout: float = 20.0, limit: int = LIMIT) -> Any:
    """GET `url` ("/containers/json?all=1") from the daemon listening on unix socket `path`."""
    return request(path, "GET", url, timeout, limit)


def post(path: str, url: str, timeout: float = 20.0) -> Any:
    """POST `url` with no body ("/containers/ID/kill?signal=CONT"): the answer, None when the
    daemon says nothing (204)."""
    return request(path, "POST", url, timeout, 1 << 20)


def request(path: str, method: str, url: str, timeout: float, limit: int) -> Any:
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            length = "Content-Length: 0\r\n" if method == "POST" else ""
            sock.sendall(f"{method} {url} HTTP/1.0\r\nHost: docker\r\n{length}\r\n"
                         .encode("ascii"))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BareError(f"no whole answer to {url} within {timeout:g} s")
                sock.settimeout(left)
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise BareError(f"the answer to {url} is larger than {limit >> 20} MB")
                chunks.append(chunk)
    except TimeoutError:
        raise BareError(f"no whole answer to {url} within {timeout:g} s") from None
    except OSError as exc:
        raise BareError(f"{url}: {exc.strerror or exc}") from None
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise BareError(f"{url}: not an HTTP answer")
    status = int(parts[1])
    if any(line.lower().startswith("transfer-encoding:") and "chunked" in line.lower()
           for line in lines[1:]):
        body = _unchunk(body)  # an HTTP/1.0 request should never get one; read it anyway
    try:
        answer = json.loads(body) if body.strip() else None
    except ValueError:
        raise BareError(f"{url}: the answer is not JSON (HTTP {status})", status) from None
    if status not in (200, 201, 204):
        message = answer.get("message") if isinstance(answer, dict) else None
        raise BareError(f"{url}: HTTP {status}: {str(message or '')[:300]}", status)
    return answer


def _unchunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            raise BareError("a chunked answer that cannot be read") from None
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return b"".join(out)
