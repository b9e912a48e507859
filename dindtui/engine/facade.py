"""The Engine: one object per process that both faces go through. The CLI and the TUI make it
from the command line (`Engine.from_command_line`); it owns the level 0s it was given (its
origins) and reaches every level through them. Nothing below it reads `--host`/`--context`, and
no module reads or writes DOCKER_HOST or DOCKER_CONTEXT once it is made.

What the TUI asks of it is the protocol in engine/api.py, which mypy holds this class and the
tests' fake engine to; the CLI uses the rest as well (builds, pushes, contexts, certificates)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .errors import DindtuiError
from .lazy import LazyModule
from .net import connect
from .progress import Progress, ProgressCallback, no_progress
from .tree import discovery, levels, live
from .tree.levels import Level
from .tree.place import Place

if TYPE_CHECKING:
    from .access import certs, reach
    from .disk import usage
    from .explore import details, inside, logs, shell, stats
    from .explore.shell import ExecResult
    from .lifecycle import exiting, images, pool, privileges, revival
    from .lifecycle import spawn as spawning
    from .net import watcher as watching
    from .net.watcher import EventCallback, EventWatcher, StateCallback
    from .swarm import clusters as swarm_clusters
    from .swarm import view as swarm_view
else:  # imported when first used (lazy.py): `ls` and the TUI's first frame need none of them
    def _lazy(name: str) -> LazyModule:
        return LazyModule(f"{__package__}.{name}")

    certs, reach, usage = _lazy("access.certs"), _lazy("access.reach"), _lazy("disk.usage")
    details, inside = _lazy("explore.details"), _lazy("explore.inside")
    logs, shell, stats = _lazy("explore.logs"), _lazy("explore.shell"), _lazy("explore.stats")
    exiting, images = _lazy("lifecycle.exiting"), _lazy("lifecycle.images")
    pool, privileges = _lazy("lifecycle.pool"), _lazy("lifecycle.privileges")
    revival, spawning = _lazy("lifecycle.revival"), _lazy("lifecycle.spawn")
    watching = _lazy("net.watcher")
    swarm_clusters, swarm_view = _lazy("swarm.clusters"), _lazy("swarm.view")


MAX_PARALLEL_SPAWNS = 32  # `spawn --count`: levels started at the same time, at most


class Engine:
    """Every level 0 of this process: one tree each. A path names a level in any of them (with
    several engines, a path begins with its engine's label)."""

    def __init__(self, origins: list[connect.Origin] | None = None) -> None:
        self.origins = list(origins) if origins else [connect.default_origin()]
        connect.know(self.origins)

    @classmethod
    def from_command_line(cls, engines: list[tuple[str, str]]) -> "Engine":
        """`engines`: the (`--host` | `--context`, value) pairs, in order; none: the default
        engine, as the docker CLI picks it (DOCKER_HOST, DOCKER_CONTEXT, its current context)."""
        return cls(connect.origins_for(engines))

    @property
    def several(self) -> bool:
        return len(self.origins) > 1

    @property
    def endpoint(self) -> str:
        """The first level 0's endpoint: where `image build` and `flags` act."""
        return self.origins[0].endpoint

    # ----------------------------------------------------------------- the trees

    def discover(self) -> list[Level]:
        return discovery.discover_all(self.origins)

    def discover_soon(self) -> Future[list[Level]]:
        """`discover` in a thread of its own, started now: the TUI's first tree, read while
        Textual loads and the screens are made (the daemons' answers are waits; loading is
        work). A daemon thread: a TUI that quits first does not wait for a slow engine."""
        first: Future[list[Level]] = Future()

        def read() -> None:
            try:
                first.set_result(self.discover())
            except BaseException as exc:  # noqa: BLE001 - whoever waits for it says it
                first.set_exception(exc)

        threading.Thread(target=read, daemon=True, name="first-tree").start()
        return first

    def tree(self, path: str = "") -> Level:
        """The tree (read afresh) that `path` is in."""
        return discovery.discover_tree(self.origins, path)

    def find(self, ref: str) -> Level:
        """A level by path or name, in the tree its path names (level 0 for "" or "host")."""
        return levels.find(self.tree(ref), ref)

    def place(self, ref: str) -> Place:
        """A level resolved once (tree/place.py): where it lives, for what acts on it."""
        return Place.of(self.find(ref))

    def forget_gone(self, roots: list[Level]) -> None:
        """Close the connections kept to daemons that are not in `roots` any more (a level
        exited by another process): a long session would otherwise hold them all."""
        connect.keep_only({level.endpoint for level in levels.walk_all(roots)
                           if level.endpoint})

    def reread(self, level: Level) -> Level:
        return live.reread(level)

    def details(self, level: Level) -> details.LevelDetails:
        return details.level_details(level)

    # ----------------------------------------------------------------- lifecycle

    def default_name(self, parent: Level) -> str:
        """The name a spawn under `parent` takes unless told: its first warm pool level's, which
        the spawn adopts; else l<depth>, l<depth>-2 ..."""
        return parent.pool[0].name if parent.pool else spawning.default_name(parent)

    def spawn(self, parent_path: str, name: str | None, progress: ProgressCallback,
              store: str | None = None, **options: Any) -> spawning.SpawnResult:
        """`options`: port, image, strategy, inherit_images (spawn.spawn's). With a warm pool
        (DINDTUI_POOL), a pool level is adopted when it fits, and the pool refilled behind."""
        at = self.place(parent_path)
        try:
            return pool.spawn_or_adopt(at, name, progress, store=store, **options)
        finally:
            self.refill_behind(at)

    def refill_behind(self, at: Place) -> None:
        """With DINDTUI_POOL set, fill `at`'s pool again in a process of its own that outlives
        this one (a CLI returns at once; its log: STATE_DIR/pool/fill.log)."""
        if pool.size() == 0 or at.level.state != levels.READY:
            return
        origin = next((o for o in self.origins if o.endpoint == at.engine), None)
        if origin is None:
            return
        engine = ["--context", origin.context] if origin.context else ["--host", origin.endpoint]
        log = pool.log_path()
        with open(log, "ab") as handle:
            subprocess.Popen([sys.executable, "-m", "dindtui", *engine, "pool", "fill",
                              at.level.tree_path or "host"],
                             stdin=subprocess.DEVNULL, stdout=handle, stderr=handle,
                             start_new_session=True, env=os.environ.copy())

    def pool_fill(self, path: str, count: int | None, progress: ProgressCallback) -> list[str]:
        return pool.fill(self.find(path), count, progress)

    def pool_drain(self, path: str) -> list[str]:
        return pool.drain(self.find(path))

    def spawn_many(self, parent_path: str, count: int, name: str | None,
                   progress: ProgressCallback, store: str | None = None,
                   **options: Any) -> list[spawning.SpawnResult | DindtuiError]:
        """`count` sibling levels under one parent, all at once (their daemons start side by
        side: about as long as the slowest, plus the CPU they need): one outcome each, in the
        order of their names (NAME-1.., or l2, l2-2, ..)."""
        at = self.place(parent_path)
        levels.require_ready(at.level, "spawn children under it")
        names = spawning.names_for(at, count, name)
        ready: list[str] = []
        lock = threading.Lock()

        def counted(report: Progress) -> None:
            if report.stage == "spawn" and report.message.endswith(" ready"):
                with lock:
                    ready.append(report.message)
                    progress(Progress("spawn", f"{len(ready)} of {count} levels ready",
                                      len(ready), count))

        facts = spawning.ParentFacts()  # the parent's /info and image id, asked once

        def one(child: str) -> spawning.SpawnResult | DindtuiError:
            try:
                return spawning.spawn(at, child, store=store, progress=counted, facts=facts,
                                      **options)
            except DindtuiError as exc:
                return exc

        progress(Progress("spawn", f"spawning {count} levels under {at.level.label}", 0, count))
        with ThreadPoolExecutor(max_workers=min(count, MAX_PARALLEL_SPAWNS)) as pool:
            return list(pool.map(one, names))

    def exit_level(self, path: str, on_event: exiting.ExitCallback | None,
                   rm_volume: bool = False, timeout: float | None = None) -> list[str]:
        """`timeout`: one budget for the whole subtree (exiting.exit_level)."""
        return exiting.exit_level(self.find(path), rm_volume=rm_volume, on_event=on_event,
                                  timeout=timeout)

    def collapse(self, on_event: exiting.ExitCallback | None,
                 rm_volume: bool = False, timeout: float | None = None) -> list[str]:
        """Every level of every engine that answers, deepest first, within one budget: an
        engine that is itself a level of another tree (published on this machine) before
        that tree."""
        deadline = exiting.deadline_after(timeout)
        roots = self.discover()
        exited: list[str] = []
        failed: list[str] = []
        for root in sorted(roots, key=lambda root: not discovery.held_by(root, roots)):
            if root.state != levels.READY:
                continue
            try:
                exited += exiting.collapse(root, rm_volume=rm_volume, on_event=on_event,
                                           deadline=deadline)
            except (DindtuiError, *connect.API_ERRORS) as exc:  # the other engines still collapse
                failed.append(f"{root.label}: {' '.join(str(exc).split())[:300]}")
        if failed:
            raise DindtuiError(f"exited {len(exited)} level(s), but not every engine's: "
                               + "; ".join(failed))
        return exited

    def kill_level(self, level: Level) -> str:
        """A fault on purpose: SIGKILL the level's container (`revive` starts it again)."""
        exiting.kill_level(level)
        return f"level {level.path} killed: `revive` starts it again"

    def revive(self, path: str, progress: ProgressCallback) -> list[str]:
        """A stopped level and what is inside it; level 0 ("" or "host"): every tree's levels
        (with several engines, the root path alone is one engine's tree)."""
        if path.strip("/") in ("", "host", "0") and self.several:
            return self.revive_all(progress)
        return revival.revive(self.find(path), progress)

    def revive_all(self, progress: ProgressCallback) -> list[str]:
        return [path for root in self.discover() if root.state == levels.READY
                for path in revival.revive(root, progress)]

    def revive_kept(self, path: str, progress: ProgressCallback) -> tuple[list[str], str]:
        """A level exited with its volume kept, made again on it (PARENT/NAME)."""
        parent_ref, _, name = path.strip("/").rpartition("/")
        return revival.revive_volume(self.find(parent_ref or self._root_ref(path)), name,
                                      progress)

    def _root_ref(self, path: str) -> str:
        return path.strip("/").split("/", 1)[0] if self.several else "host"

    # ----------------------------------------------------------------- disk

    def measure(self) -> usage.UsageReport:
        return usage.measure_all(self.discover())

    def plan_cleanup(self) -> usage.CleanupPlan:
        return usage.plan_cleanup_all(self.discover())

    def apply_cleanup(self, plan: usage.CleanupPlan,
                      progress: ProgressCallback) -> usage.CleanupResult:
        return usage.apply_cleanup_all(self.discover(), plan, progress=progress)

    # ----------------------------------------------------------------- inside a level

    def shell(self, level: Level, argv: list[str] | None = None) -> int:
        """An interactive shell on this process's terminal (the caller suspends its UI)."""
        return shell.interactive(level, argv)

    def container_shell(self, level: Level, ref: str, argv: list[str] | None = None) -> int:
        """A shell inside one container of the level, on this process's terminal."""
        return shell.container_shell(level, ref, argv)

    def exec(self, level: Level, argv: list[str]) -> ExecResult:
        return shell.exec_in(level, argv)

    def rows(self, level: Level) -> list[inside.ContainerRow]:
        try:
            return inside.container_rows(level)
        except connect.API_ERRORS as exc:
            raise DindtuiError(f"{level.label}: {inside.explanation(exc)}") from None

    def inspect(self, level: Level, ref: str) -> dict[str, Any]:
        return inside.inspect(level, ref)

    def act(self, level: Level, ref: str, action: str) -> str:
        return inside.act(level, ref, action)

    def run(self, level: Level, image: str, command: str, name: str) -> inside.Ran:
        return inside.run(level, image, command, name)

    def images_above(self, level: Level) -> dict[str, str]:
        """Tags the levels above `level` have and it lacks, each with the nearest that has it."""
        return inside.images_above(level)

    def remove_image(self, level: Level, ref: str) -> str:
        return inside.remove_image(level, ref)

    def remove_volume(self, level: Level, name: str) -> str:
        return inside.remove_volume(level, name)

    def log_lines(self, level: Level, ref: str, **options: Any) -> Iterator[str]:
        """`options`: tail, follow, timestamps (logs.log_lines's)."""
        return logs.log_lines(level, ref, **options)

    def follow_logs(self, level: Level, ref: str,
                    on_ready: Callable[[], None]) -> logs.LogFollower:
        return logs.LogFollower(level, ref, on_ready).start()

    def sampler(self, on_round: Callable[[set[str]], None]) -> stats.StatsSampler:
        return stats.StatsSampler(on_round)

    def stats(self, level: Level | None) -> dict[str, stats.Usage]:
        """One reading of CPU and memory (two samples a second apart): of the running
        containers inside `level`, by name; None: of every running level's container, by
        path, in every tree."""
        if level is not None:
            targets = {row.name: (level.endpoint or "", row.id)
                       for row in inside.container_rows(level) if row.state == "running"}
        else:
            targets = {key[len("level:"):]: pair for root in self.discover()
                       for key, pair in stats.level_targets(root).items()}
        return stats.stats_once(targets) if targets else {}

    def index(self, roots: list[Level]) -> tuple[list[inside.Hit], list[str]]:
        hits: list[inside.Hit] = []
        problems: list[str] = []
        for root in roots:
            if root.state != levels.READY:
                problems.append(f"{root.label}: {root.error or root.state}")
                continue
            found, trouble = inside.index(root)
            hits += found
            problems += trouble
        return hits, problems

    def watcher(self, on_event: EventCallback, on_state: StateCallback) -> EventWatcher:
        return watching.EventWatcher(on_event, on_state)

    # ----------------------------------------------------------------- images

    def build_image(self, tag: str | None, base: str | None, force: bool,
                    progress: ProgressCallback = no_progress,
                    engine: str | None = None) -> images.BuildResult:
        """`engine`: the Docker inside the image ("20.10", "26", "28"; None: 26); `tag` None:
        that flavour's name (dindtui:latest for 26, dindtui:docker-28 ...)."""
        return images.build_image(tag, base, force=force, progress=progress,
                                  endpoint=self.endpoint, engine=engine)

    def push(self, level: Level, image: str,
             progress: ProgressCallback = no_progress) -> images.PushResult:
        """`image` streamed into `level` from the nearest level above it that has it (its
        parent, else its grandparent, up to level 0): straight there, through no level in
        between."""
        levels.require_ready(level, "receive an image")
        if level.depth == 0 or level.parent is None:
            raise DindtuiError("level 0 is where images come from: push to a level below it")
        above, looked = images.nearest_with(level, image)
        if above is None:
            raise DindtuiError(f"image {image} is on no level above {level.label} (looked in "
                               f"{', '.join(looked)}): build or load it on one of them first")
        return images.push_image(levels.required(above.endpoint, "its endpoint"),
                                 levels.required(level.endpoint, "its endpoint"), image,
                                 progress)

    def flags(self, image: str) -> list[str]:
        """The `docker run` flags a level needs on the first engine (probed with `image`, or
        any local image when that one is missing)."""
        client = connect.client(self.endpoint)
        try:
            images.image_id(client, image)
        except DindtuiError:
            tagged = [t for i in client.images.list() for t in i.tags]
            if not tagged:
                raise DindtuiError("no local image to probe with: run `dindtui image build` "
                                   "first") from None
            image = tagged[0]
        return privileges.cli_flags(privileges.decide(client, image))

    # ----------------------------------------------------------------- clusters

    def clusters(self) -> list[swarm_clusters.Cluster]:
        return [c for root in self.discover() for c in swarm_clusters.clusters_in(root)]

    def find_cluster(self, ref: str) -> swarm_clusters.Cluster:
        return swarm_clusters.find(self.discover(), ref)

    def create_cluster(self, parent_path: str, name: str, managers: int, workers: int,
                       progress: ProgressCallback = no_progress,
                       store: str | None = None,
                       image: str | None = None) -> swarm_clusters.Created:
        return swarm_clusters.create(self.place(parent_path), name, managers, workers,
                                     store=store, image=image, progress=progress)

    def remove_cluster(self, ref: str, on_event: exiting.ExitCallback | None = None,
                       timeout: float | None = None) -> list[str]:
        return swarm_clusters.remove(self.find_cluster(ref), timeout=timeout, on_event=on_event)

    def push_cluster(self, ref: str, image: str,
                     progress: ProgressCallback = no_progress) -> list[images.PushResult]:
        """`image` into every node of the cluster that answers, side by side, each from the
        nearest level above it that has it."""
        cluster = self.find_cluster(ref)
        nodes = [n for n in cluster.nodes if n.state == levels.READY and n.endpoint]
        if not nodes:
            raise DindtuiError(f"no node of cluster {cluster.name} answers")
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            return list(pool.map(lambda node: self.push(node, image, progress), nodes))

    def swarm(self, level: Level) -> swarm_view.SwarmView | None:
        """`level`'s swarm as it knows it (a manager: nodes, services, tasks); None when the
        level is in no swarm."""
        return swarm_view.read(level)

    def set_availability(self, level: Level, node: str, availability: str) -> str:
        return swarm_view.set_availability(level, node, availability)

    def scale_service(self, level: Level, service: str, replicas: int) -> str:
        return swarm_view.scale(level, service, replicas)

    # ----------------------------------------------------------------- reach

    def env_lines(self, level: Level, tcp_directory: str | None = None) -> list[str]:
        if tcp_directory is not None:
            certs.fetch_client_certs(level, tcp_directory)
        return reach.env_lines(level, tcp_directory=tcp_directory)

    def fetch_certs(self, level: Level, directory: str | None) -> str:
        return certs.fetch_client_certs(level, directory or reach.certs_dir(level))

    def certs_dir(self, level: Level) -> str:
        return reach.certs_dir(level)

    def sync_contexts(self) -> reach.SyncResult:
        if self.several:
            raise DindtuiError(f"{len(self.origins)} engines given: docker contexts are made "
                               "for one engine's levels; give one --host or --context")
        return reach.sync_contexts(self.tree())

