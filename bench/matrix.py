"""Every engine people run, side by side: one small tree per combination of level 0 (this host's
Docker 20.10, Debian's Podman 4.3, a Docker 28 level or a Docker 28 level on the containerd
image store used as level 0 through its socket) and the engines of the levels under it
(Docker 20.10, 26, 28; cgroup v2 forced), and each feature tried on it the way a user would,
with the `dindtui` command: spawn (seeded or streamed, and why), ls, exec, shell, ps, logs,
stats, events, du, kill + revive, exit. Each cell is ✓ with its time, or ✗ with the one-line
reason. The README's table is this script's `--markdown` output (tests/test_architecture.py
checks its shape).
Ends with: RESULT combos=N all_ok=N

Usage: python bench/matrix.py [--markdown] [--only N,N]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

# A namespace of its own: the benchmark sees and removes only the levels it made.
os.environ.setdefault("DINDTUI_NAMESPACE", "bench-" + secrets.token_hex(3))

COLUMNS = ("spawn", "ls", "exec", "shell", "ps", "logs", "stats", "events", "du",
           "kill+revive", "exit")
TIMEOUT = 300  # seconds any one command may take


@dataclass
class Combo:
    """Level 0 (`kind`: docker, podman, level; `engine`: its version or level image), then
    the levels' Docker versions, outermost first; `cgroup` forced in every level."""

    level0: str
    levels: tuple[str, ...]
    cgroup: str | None = None
    store: str | None = None          # the level-0 level's image store (kind "level" only)
    cells: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        inner = " → ".join(self.levels) + (f" (cgroup {self.cgroup})" if self.cgroup else "")
        return f"{self.level0} → {inner}"


COMBOS = [
    Combo("docker 20.10", ("26", "26")),
    Combo("docker 20.10", ("28", "20.10", "26")),
    Combo("docker 20.10", ("20.10", "28")),
    Combo("docker 20.10", ("26", "26", "26"), cgroup="v2"),
    Combo("podman 4.3", ("26", "28")),
    Combo("docker 28 (a level)", ("20.10", "26")),
    Combo("docker 28, containerd store (a level)", ("26", "26"), store="containerd"),
    Combo("docker 28 packaged as 29 is (system containerd)", ("26", "26")),
]


def dindtui(*args: str, env: dict[str, str] | None = None,
            stdin: str | None = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dindtui", *args], input=stdin,
                          capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})})


def reason(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    text = lines[-1] if lines else f"exit status {result.returncode}"
    return text.removeprefix("dindtui: error: ")[:90]


class Cell:
    """Times one feature; ✓ with the seconds, or ✗ with the reason."""

    def __init__(self, combo: Combo, column: str) -> None:
        self.combo, self.column = combo, column

    def __enter__(self) -> "Cell":
        self.started = time.monotonic()
        self.note = ""
        return self

    def __exit__(self, kind, error, _trace) -> bool:
        seconds = time.monotonic() - self.started
        if error is None:
            self.combo.cells[self.column] = f"✓ {seconds:.1f}s" + (f" {self.note}"
                                                                    if self.note else "")
        else:
            self.combo.cells[self.column] = f"✗ {str(error)[:90]}"
        from dindtui.engine.errors import DindtuiError
        return kind is not None and issubclass(kind, (Failed, subprocess.SubprocessError,
                                                      OSError, KeyError, ValueError,
                                                      DindtuiError))


class Failed(Exception):
    pass


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        raise Failed(reason(result))
    return result


# ---------------------------------------------------------------- level 0 of each kind

class Podman:
    def __init__(self, needs: tuple[str, ...]) -> None:
        self.images = sorted({image_of(v) for v in needs})  # level 0 holds the levels' images

    def __enter__(self) -> str:
        if shutil.which("podman") is None:
            raise Failed("podman is not installed")
        self.dir = tempfile.mkdtemp(prefix="dindtui-matrix-")
        sock = os.path.join(self.dir, "podman.sock")
        self.service = subprocess.Popen(["podman", "system", "service", "--time=0",
                                         f"unix://{sock}"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        self.loaded = [image for image in self.images if subprocess.run(
            ["podman", "image", "exists", f"localhost/{image}"]).returncode != 0]
        for image in self.loaded:  # as a Podman user would: docker save | podman load
            save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
            subprocess.run(["podman", "load", "-q"], stdin=save.stdout, check=True,
                           stdout=subprocess.DEVNULL, timeout=TIMEOUT)
            save.wait(timeout=60)
        return f"unix://{sock}"

    def __exit__(self, *_: object) -> None:
        for image in self.loaded:
            subprocess.run(["podman", "rmi", "-f", f"localhost/{image}"],
                           capture_output=True, timeout=60)
        self.service.terminate()
        self.service.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class LevelAsEngine:
    """A Docker 28 level of this host, its socket used as level 0 by the commands (as
    `eval "$(dindtui env LEVEL)"` does), holding the level images the tree needs."""

    def __init__(self, prefix: str, store: str | None, needs: tuple[str, ...]) -> None:
        self.name, self.store, self.needs = f"{prefix}e", store, needs

    def __enter__(self) -> str:
        args = ["spawn", "--name", self.name, "--docker", "28", "--json"]
        if self.store:
            args += ["--store", self.store]
        ok(dindtui(*args))
        tree = json.loads(ok(dindtui("ls", "--json")).stdout)
        level = next(c for c in tree["children"] if c["name"] == self.name)
        for image in sorted({image_of(v) for v in self.needs}):  # level 0 holds them all
            ok(dindtui("push", self.name, image))
        return level["endpoint"]

    def __exit__(self, *_: object) -> None:
        dindtui("exit", "--rm-volume", "-t", "0", self.name)


class Packaged:
    """A Docker-29-style level 0 (bench/packaged.py), holding the levels' images."""

    def __init__(self, needs: tuple[str, ...]) -> None:
        self.needs = needs

    def __enter__(self) -> str:
        from packaged import PackagedHost
        from dindtui.engine.lifecycle import images
        from dindtui.engine.net import connect
        self.host = PackagedHost()
        env = self.host.__enter__()
        for image in sorted({image_of(v) for v in self.needs} - {images.DEFAULT_IMAGE}):
            images.push_image(connect.default_endpoint(), env["DOCKER_HOST"], image)
        os.environ["DINDTUI_STATE_DIR"] = env["DINDTUI_STATE_DIR"]  # its bind sources' root
        return env["DOCKER_HOST"]

    def __exit__(self, *_: object) -> None:
        os.environ.pop("DINDTUI_STATE_DIR", None)
        self.host.__exit__()


# ---------------------------------------------------------------- one combination

def try_combo(combo: Combo, prefix: str) -> None:
    level0: object
    if combo.level0.startswith("podman"):
        level0 = Podman(combo.levels)
    elif combo.level0.startswith("docker 28 packaged"):
        level0 = Packaged(combo.levels)
    elif combo.level0.startswith("docker 28"):
        level0 = LevelAsEngine(prefix, combo.store, combo.levels)
    else:
        level0 = None
    try:
        endpoint = level0.__enter__() if level0 is not None else ""  # type: ignore[attr-defined]
    except (Failed, subprocess.SubprocessError, OSError, StopIteration) as exc:
        for column in COLUMNS:
            combo.cells[column] = f"✗ level 0: {str(exc)[:80]}"
        return
    env = {"DOCKER_HOST": endpoint} if endpoint else {}
    try:
        features(combo, prefix, env)
    finally:
        if level0 is not None:
            level0.__exit__(None, None, None)  # type: ignore[attr-defined]


def features(combo: Combo, prefix: str, env: dict[str, str]) -> None:
    paths: list[str] = []
    with Cell(combo, "spawn") as cell:
        parent, how = "host", []
        for depth, version in enumerate(combo.levels, start=1):
            args = ["spawn", parent, "--name", f"{prefix}{depth}", "--docker", version, "--json"]
            if combo.cgroup:
                args += ["--cgroup", combo.cgroup]
            made = json.loads(ok(dindtui(*args, env=env)).stdout)
            parent = made["level"]
            paths.append(parent)
            how.append(made["strategy"] if made["strategy"] == "seed" else
                       f"stream: {made['fallback_reason']}")
        cell.note = "(" + ", ".join(how) + ")"
    if len(paths) != len(combo.levels):
        for column in COLUMNS[1:]:
            combo.cells[column] = "✗ no tree"
        return
    deepest = paths[-1]
    try:
        with Cell(combo, "ls"):
            tree = json.loads(ok(dindtui("ls", "--json", env=env)).stdout)
            found = {n["path"]: n for n in walk(tree)}
            bad = [p for p in paths if found.get(p, {}).get("state") != "ready"]
            if bad:
                raise Failed(f"not ready: {', '.join(bad)}")
        with Cell(combo, "exec"):
            ok(dindtui("exec", deepest, "--", "docker", "version", env=env))
        with Cell(combo, "shell"):
            if "in-42" not in ok(dindtui("shell", deepest, "sh", "-c", "echo in-$((6*7))",
                                         env=env)).stdout:
                raise Failed("the shell's output did not come back")
        with Cell(combo, "ps"):
            ok(dindtui("exec", deepest, "--", "docker", "run", "-d", "--name", "talker",
                       "--entrypoint", "sh", image_of(combo.levels[-1]), "-c",
                       "echo hello-matrix; sleep 600", env=env))
            rows = json.loads(ok(dindtui("ps", deepest, "--json", env=env)).stdout)
            if "talker" not in {r["name"] for r in rows}:
                raise Failed("the container is not listed")
        with Cell(combo, "logs"):
            for _ in range(50):
                if "hello-matrix" in dindtui("logs", deepest, "talker", env=env).stdout:
                    break
                time.sleep(0.2)
            else:
                raise Failed("the log line did not come")
        with Cell(combo, "stats"):
            rows = json.loads(ok(dindtui("stats", "--json", env=env)).stdout)
            read = {r["name"] for r in rows if r.get("memory_bytes")}
            missing = [p for p in paths if p not in read]
            if missing:
                raise Failed(f"no reading for {', '.join(missing)}")
        with Cell(combo, "events"):
            # In a process of its own, with the command's environment (its state directory
            # and its engine), as the TUI would watch it.
            ok(subprocess.run([sys.executable, __file__, "--events", deepest,
                               image_of(combo.levels[-1])], capture_output=True, text=True,
                              timeout=60, env={**os.environ, **env}))
        with Cell(combo, "du"):
            report = json.loads(ok(dindtui("du", "--json", env=env)).stdout)
            listed = {v["level"] for v in report["volumes"]}
            missing = [p for p in paths if p not in listed]
            if missing:
                raise Failed(f"not measured: {', '.join(missing)}")
        with Cell(combo, "kill+revive"):
            ok(dindtui("kill", deepest, env=env))
            ok(dindtui("revive", deepest, env=env))
    finally:
        with Cell(combo, "exit"):
            ok(dindtui("exit", "--rm-volume", "-t", "2", paths[0], env=env))


def walk(node: dict) -> list[dict]:
    return [node] + [n for child in node.get("children", []) for n in walk(child)]


def image_of(version: str) -> str:
    return "dindtui:latest" if version == "26" else f"dindtui:docker-{version}"


def events(path: str, image: str) -> None:
    """A container made in the level is seen on its daemon's event stream (as the TUI's),
    through an Engine of this process (its endpoint may be a tunnel this process serves)."""
    from dindtui.engine.facade import Engine
    from dindtui.engine.net.events import EventStream
    engine = Engine()
    level = engine.find(path)
    stream, seen = EventStream(level.endpoint or ""), threading.Event()

    def watch() -> None:
        try:
            for event in stream:
                if event["type"] == "container" and event["action"] == "create":
                    seen.set()
                    return
        except Exception:  # noqa: BLE001 - reported as no event below
            return

    threading.Thread(target=watch, daemon=True).start()
    time.sleep(0.5)
    ok(dindtui("exec", path, "--", "docker", "create", "--name", "quiet", image))
    if not seen.wait(15):
        stream.close()
        raise Failed("no event within 15 s")
    stream.close()


def table(combos: list[Combo]) -> str:
    rows = ["| engines | " + " | ".join(COLUMNS) + " |",
            "|---|" + "---|" * len(COLUMNS)]
    for combo in combos:
        rows.append(f"| {combo.name} | " + " | ".join(
            combo.cells.get(c, "–").replace("|", "/") for c in COLUMNS) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="the table only, as Markdown")
    parser.add_argument("--only", help="the combinations to run, by number (1-based)")
    parser.add_argument("--events", nargs=2, metavar=("LEVEL", "IMAGE"),
                        help=argparse.SUPPRESS)  # one events check, in a process of its own
    args = parser.parse_args()
    if args.events:
        try:
            events(*args.events)
        except Exception as exc:  # noqa: BLE001 - one line for the cell
            raise SystemExit(str(exc)[:200]) from None
        return
    combos = COMBOS
    if args.only:
        combos = [COMBOS[int(n) - 1] for n in args.only.split(",")]
    from dindtui.engine.lifecycle import images
    for version in ("20.10", "26", "28"):
        images.build_image(None, engine=version)
    for number, combo in enumerate(combos, start=1):
        started = time.monotonic()
        try_combo(combo, f"x{secrets.token_hex(2)}{number}-")
        if not args.markdown:
            print(f"{combo.name}: {time.monotonic() - started:.0f}s", file=sys.stderr)
    print(table(combos))
    all_ok = sum(1 for c in combos if all(c.cells.get(col, "").startswith("✓")
                                          for col in COLUMNS))
    if not args.markdown:
        print(f"\nRESULT combos={len(combos)} all_ok={all_ok}")


if __name__ == "__main__":
    main()
