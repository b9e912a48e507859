"""What the tests share besides fixtures (those are in conftest.py): running the real
`dindtui` and `docker` commands, reading `ls --json`, waiting with a deadline that says what it
waited for (in a thread or under a Pilot), and a loaded TUI."""

from __future__ import annotations

import json
import re
import os
import socket
import subprocess
import sys
import threading
import time


def run_cli(*args: str, input: str | None = None, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `dindtui` command, as a user would."""
    return subprocess.run([sys.executable, "-m", "dindtui", *args], input=input,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def ls_json(env: dict | None = None) -> dict:
    """The tree as `dindtui ls --json` prints it (it must succeed)."""
    result = run_cli("ls", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def node(tree: dict, path: str) -> dict | None:
    """The level at `path` in an `ls --json` tree, or None."""
    if tree["path"] == path:
        return tree
    return next((found for child in tree["children"] if (found := node(child, path))), None)


def exec_ok(path: str, script: str) -> str:
    """`dindtui exec PATH -- sh -c SCRIPT`, which must succeed; its output."""
    result = run_cli("exec", path, "--", "sh", "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, timeout: float = 60, step: float = 0.2):
    """The first true value of `predicate()`; fails, naming `what`, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(step)


async def until(pilot, predicate, what: str = "the screen", timeout: float = 30,
                step: float = 0.02) -> float:
    """Under a Pilot: let the app run until `predicate()` holds; the seconds it took. Fails,
    naming `what`, after `timeout` seconds."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"timed out after {timeout}s waiting for {what}"
        await pilot.pause(step)
    return time.monotonic() - start


async def loaded(pilot, app, timeout: float = 5) -> None:
    """The app has drawn its first tree (and, when there are levels, the detail pane)."""
    await until(pilot, lambda: app.roots is not None and app.tree_loads > 0, "the tree", timeout)
    if app.has_levels():  # the detail pane's tabs are made after the first tree is drawn
        await until(pilot, lambda: bool(app.query("#networks-table")), "the detail pane",
                    timeout)


def screen_text(app) -> str:
    """What the app's screen shows, as lines of text (from its SVG screenshot)."""
    import html
    import re

    rows: dict[float, list[tuple[float, str]]] = {}
    for found in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)" '
                             r'textLength="[\d.]+" clip-path="[^"]*">(.*?)</text>',
                             app.export_screenshot()):
        text = html.unescape(found.group(3)).replace("\xa0", " ")
        rows.setdefault(float(found.group(2)), []).append((float(found.group(1)), text))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            column = round(x / 12.2)
            line = line.ljust(column)[:column] + text + line[column + len(text):]
        lines.append(line)
    return "\n".join(lines)


# A two-service compose project built with buildx and brought up: web answers, probe reaches it
# by its service name and exits 0 (what CI jobs run inside Docker-in-Docker).
COMPOSE_PROJECT = r"""set -e
mkdir -p /tmp/demo && cd /tmp/demo
cat > app.py <<'PY'
import socket, sys, time
if sys.argv[1] == "serve":
    server = socket.create_server(("", 8000))
    while True:
        conn, _ = server.accept()
        conn.sendall(b"hello from web\n")
        conn.close()
for _ in range(150):  # the probe: up to 30 s for web to answer, by its service name
    try:
        with socket.create_connection(("web", 8000), timeout=2) as conn:
            print(conn.recv(100).decode().strip(), flush=True)
            sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
cat > Dockerfile <<'DF'
FROM dindtui:latest
COPY app.py /srv/app.py
ENTRYPOINT ["python3", "/srv/app.py"]
DF
cat > compose.yaml <<'YML'
services:
  web:
    build: .
    command: ["serve"]
  probe:
    build: .
    command: ["probe"]
    depends_on: [web]
YML
docker buildx version >/dev/null
docker compose -p demo up --build -d --quiet-pull 2>&1 | tail -3
state() { docker compose -p demo ps -a --format '{{.Service}} {{.State}}' | grep probe; }
i=0; while [ "$(state)" != "probe exited" ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
docker compose -p demo logs --no-log-prefix probe
docker compose -p demo ps -a --format '{{.Service}} {{.State}} {{.ExitCode}}'
docker compose -p demo down --rmi local -v 2>/dev/null
"""


class PtyTUI:
    """The real `dindtui` TUI in a pseudo-terminal of its own, as a user runs it."""

    def __init__(self, columns: int = 120, lines: int = 36) -> None:
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ.update({"TERM": "xterm-256color", "COLUMNS": str(columns),
                               "LINES": str(lines)})
            os.execvp(sys.executable, [sys.executable, "-m", "dindtui", "--no-animation"])
        self.seen = b""

    def read_until(self, marker: bytes, seconds: float) -> bytes:
        """Everything shown since the last `clear` until `marker` appears (or the time is
        up)."""
        import select
        deadline = time.monotonic() + seconds
        while marker not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:
                    break
        return self.seen

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def clear(self) -> None:
        self.seen = b""

    def close(self) -> None:
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


class RequestLog:
    """A unix socket in front of the engine's that passes every byte both ways and notes each
    request's method and path as it goes by (`seen`): what a command asked the engine, read
    as the engine read it. Use as a context manager; `endpoint` is what DOCKER_HOST takes."""

    REQUEST = re.compile(rb"(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (/\S*) HTTP/1\.[01]\r\n")

    def __init__(self, path: str, engine: str = "/var/run/docker.sock") -> None:
        self.path, self.engine, self.endpoint = path, engine, "unix://" + path
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._closed = False

    def __enter__(self) -> "RequestLog":
        self._server.bind(self.path)
        self._server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self._closed = True
        self._server.close()
        os.unlink(self.path)

    def paths(self, method: str, suffix: str) -> list[str]:
        """The paths (API version removed) of `method` requests ending with `suffix`."""
        with self._lock:
            found = [re.sub(r"^/v1\.\d+", "", path).split("?")[0]
                     for seen_method, path in self.seen if seen_method == method]
        return [path for path in found if path.endswith(suffix)]

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(self.engine)
            threading.Thread(target=self._pipe, args=(client, engine, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(engine, client, False),
                             daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        tail = b""
        try:
            while chunk := source.recv(1 << 16):
                if requests:  # whole lines only; a line cut between chunks waits for its end
                    data = tail + chunk
                    cut = data.rfind(b"\r\n")
                    whole, tail = (data[:cut + 2], data[cut:]) if cut >= 0 else (b"", data[-4096:])
                    with self._lock:
                        self.seen += [(m.decode(), p.decode())
                                      for m, p in self.REQUEST.findall(whole)]
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
