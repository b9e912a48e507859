"""The main screen: the live tree, the selected level's details, the task bar; every key of the
TUI is bound here (the help screen is generated from these bindings). Actions ask the user what
they must (dialogs) and hand the work to the app's task runner."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from rich.markup import escape
from textual import events, on
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Tree

from .. import actions
from ..actions import bindings
from ..engine.tree import levels
from ..engine.explore.details import LevelDetails
from ..engine.explore.rows import ContainerRow, Hit
from ..engine.tree.levels import Level
from ..engine.lazy import LazyModule
from ..engine.progress import Progress
from ..model import parse_cluster_key, stopped_ancestor
from ..widgets.banner import Banner
from ..widgets.detail_pane import DetailPane
from ..widgets.footer import fit_footer
from ..widgets.greeting import Greeting
from ..widgets.kept import Kept
from ..widgets.level_tree import LevelTree
from ..widgets.swarm_panel import SwarmNodesTable, SwarmServicesTable
from ..widgets.tables import ContainersTable, ImagesTable, VolumesTable, selected_key
from ..widgets.task_bar import TaskBar
from .search import SearchScreen

if TYPE_CHECKING:
    from ..engine.disk.usage import CleanupPlan
    from . import dialogs
    from . import usage as usage_screen
    from .dialogs import ClusterRequest
    from ..controls import Controls
    from ..engine.swarm.view import SwarmView
else:  # the dialogs are no part of a first frame (engine/lazy.py)
    dialogs = LazyModule("dindtui.screens.dialogs")
    usage_screen = LazyModule("dindtui.screens.usage")

W = TypeVar("W", bound=Widget)



class MainScreen(Screen[None]):
    DEFAULT_CSS = """
    MainScreen #main { height: 1fr; }
    MainScreen.narrow LevelTree { min-width: 30; width: 1fr; }
    MainScreen.narrow DetailPane { width: 1fr; padding: 0; }
    MainScreen Greeting { width: 3fr; border: round $secondary; }
    MainScreen .hidden { display: none; }
    """
    BINDINGS = bindings(actions.MAIN)

    def __init__(self) -> None:
        super().__init__()
        self._kept = Kept(self)

    @property
    def dindtui(self) -> "Controls":
        return cast("Controls", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner()
        with Horizontal(id="main"):
            yield LevelTree(id="tree")
            yield DetailPane(id="detail", classes="hidden")
            yield Greeting(id="greeting", spinning=self.dindtui.spinning)
        yield TaskBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LevelTree).focus()
        self.fit(self.size.width)
        self.dindtui.main_composed()  # the first tree, in the first frame when it is read

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """As Textual's, with `?` and `q` first: the footer lists them first, so that no
        focused table's keys push them off a narrow terminal."""
        found = super().active_bindings
        first = {key: found[key] for key in ("question_mark", "q") if key in found}
        return first | {key: value for key, value in found.items() if key not in first}

    def on_resize(self, event: events.Resize) -> None:
        self.fit(event.size.width)

    def fit(self, width: int) -> None:
        """Below NARROW columns (an 80x24 terminal): the tree's labels, the tabs and the footer
        say less, so that names, states, `?` and `q` are never cut."""
        narrow = fit_footer(self, width)
        self.set_class(narrow, "narrow")
        self.query_one(LevelTree).set_compact(narrow)
        self.query_one(DetailPane).set_narrow(narrow)

    # ----------------------------------------------------------------- drawing
    # Called by the app for every model change; a message can arrive before this screen is
    # composed or after it is torn down (a worker finishing as the app quits): then nothing
    # is drawn.

    def _one(self, kind: type[W]) -> W | None:
        """The screen's one `kind` widget (kept: every round of readings asks)."""
        return self._kept.one(kind)

    def visible_paths(self) -> set[str] | None:
        """The levels whose lines are on screen (None before the tree is there)."""
        trees = self.query(LevelTree)
        return trees.first().visible_paths() if trees else None

    def show_tree(self) -> None:
        app = self.dindtui
        tree, greeting, pane = self._one(LevelTree), self._one(Greeting), self._one(DetailPane)
        if app.roots is None or tree is None or greeting is None or pane is None:
            return
        sizes = {v.level: v.bytes for v in app.report.volumes
                 if v.state == "live"} if app.report else {}
        tree.show(app.roots, sizes, app.streams)
        empty = not app.has_levels()
        greeting.show(empty)
        pane.set_class(empty, "hidden")
        if not empty and not pane.built:
            self.call_after_refresh(pane.build)  # after the frame that draws the tree

    def select_path(self, path: str) -> None:
        """Move the tree's cursor to a level (the app follows the highlight)."""
        tree = self._one(LevelTree)
        if tree is not None:
            tree.select_path(path)

    def show_unreachable(self, error: str) -> None:
        banner, tree = self._one(Banner), self._one(LevelTree)
        if banner is not None and tree is not None:
            banner.show_error(error)
            tree.show_unreachable()

    def show_banner(self, error: str) -> None:
        """Some engines do not answer (several engines: the others are shown)."""
        banner = self._one(Banner)
        if banner is not None:
            banner.show_error(error)

    def clear_banner(self) -> None:
        banner = self._one(Banner)
        if banner is not None:
            banner.clear()

    def show_details(self, details: LevelDetails) -> None:
        app, pane = self.dindtui, self._one(DetailPane)
        if pane is not None and details.path == (app.selected_path or "host"):
            volume = app.report.by_level().get(app.selected_path) if app.report else None
            pane.show(details, volume, app.container_usage(app.selected_path))
            if self._going_to is not None and self._going_to.level == app.selected_path:
                hit, self._going_to = self._going_to, None
                if hit.kind == "container":
                    pane.show_tab("containers")
                    pane.query_one(ContainersTable).select_id(hit.id)
                else:
                    pane.show_tab("images")
                    pane.query_one(ImagesTable).select_id(hit.id)
            if self._cluster_shown and details.swarm:
                pane.activate("swarm")  # a cluster's line: its swarm, the tree keeps the keys
            if not details.swarm:
                pane.show_swarm(None)

    _cluster_shown = False

    def show_swarm(self, view: "SwarmView | None", error: str = "") -> None:
        pane = self._one(DetailPane)
        if pane is not None:
            pane.show_swarm(view, error)

    def swarm_on_screen(self) -> bool:
        pane = self._one(DetailPane)
        return (pane is not None and pane.in_swarm and pane.active_tab == "swarm"
                and self.app.screen is self)

    def show_stats(self) -> None:
        """A round of CPU and memory readings: the tree's figures and the level's graphs."""
        app = self.dindtui
        tree, pane = self._one(LevelTree), self._one(DetailPane)
        if tree is not None and app.roots is not None:
            tree.show_usage(app.level_usage())
        if pane is not None:
            level = app.selected_level()
            if level is not None:
                pane.show_usage(level.depth, app.level_usage().get(level.path),
                                app.container_usage(level.path),
                                app.disk_history.get(level.path, ()))

    def task_started(self, title: str) -> None:
        bar = self._one(TaskBar)
        if bar is not None:
            bar.start(title)

    def task_progress(self, report: Progress) -> None:
        bar = self._one(TaskBar)
        if bar is not None:
            bar.report(report)

    def task_finished(self) -> None:
        bar = self._one(TaskBar)
        if bar is not None:
            bar.finish()

    _going_to: Hit | None = None

    def go_to(self, hit: Hit) -> None:
        """Show a search result: its level selected in the tree, its row in the level's table
        (once the level's details arrive)."""
        self._going_to = hit
        tree = self._one(LevelTree)
        if tree is not None:
            tree.select_path(hit.level)
        if self.dindtui.selected_path == hit.level:
            self.dindtui.reload_selected()

    @on(Tree.NodeHighlighted)
    def node_highlighted(self, message: Tree.NodeHighlighted) -> None:
        data = message.node.data or ""
        self._cluster_shown = parse_cluster_key(data) is not None
        if self._cluster_shown:  # a cluster's line: the level that speaks for its swarm
            manager = self.dindtui.cluster_manager(data)
            if manager is None:
                return
            data = manager.path
        self.dindtui.select(data)

    # ----------------------------------------------------------------- actions

    def _target(self, doing: str, allow_root: bool = False) -> Level | None:
        level = self.dindtui.selected_level()
        if level is None:
            self.notify("the tree is still loading", severity="warning")
            return None
        if level.depth == 0 and not allow_root:
            self.notify(f"select a level to {doing} (level 0 is the engine itself)",
                        severity="warning")
            return None
        holder = stopped_ancestor(level)
        if holder is not None:
            if doing == "revive" and holder.state in levels.STOPPED:
                return holder  # what brings this one back
            self.notify(f"level {level.label} is inside {holder.label}, which is "
                        f"{holder.state}: it cannot {doing}"
                        + (f" (v on {holder.label} revives both)"
                           if holder.state in levels.STOPPED else ""), severity="error")
            return None
        return level

    def _ready_parent(self, doing: str, cannot: str) -> Level | None:
        """The selected level (level 0 included) when its daemon answers, to act under it."""
        parent = self._target(doing, allow_root=True)
        if parent is not None and parent.state != levels.READY:
            self.notify(f"level {parent.label} is {parent.state}: it cannot {cannot}",
                        severity="error")
            return None
        return parent

    def action_spawn(self) -> None:
        parent = self._ready_parent("spawn under", "spawn")
        if parent is None:
            return
        app = self.dindtui

        dialog = dialogs.NameDialog(parent.label, app.engine.default_name(parent), frozenset(
            level.name for level in levels.root_of(parent).walk()))

        def chosen(name: str | None) -> None:
            if name and app.start_task(f"spawning {name} under {parent.label}"):
                app.spawn_level(parent.path, name, dialog.store or None)

        self.app.push_screen(dialog, chosen)

    def action_cluster(self) -> None:
        parent = self._ready_parent("make a cluster under", "hold a cluster")
        if parent is None:
            return
        app = self.dindtui
        taken = frozenset(level.name for level in levels.root_of(parent).walk()) | frozenset(
            level.cluster for level in levels.root_of(parent).walk() if level.cluster)
        default = next(name for n in range(1, 100)
                       if (name := "swarm" if n == 1 else f"swarm{n}") not in taken
                       and f"{name}-m1" not in taken)

        def chosen(request: ClusterRequest | None) -> None:
            if request is not None and app.start_task(
                    f"cluster {request.name} under {parent.label}"):
                app.create_cluster(parent.path, request)

        self.app.push_screen(dialogs.ClusterDialog(parent.label, default, taken), chosen)

    def action_exit_level(self) -> None:
        level = self._target("exit")
        if level is None:
            return
        app = self.dindtui
        below = sum(1 for _ in level.walk()) - 1
        question = (f"Exit level [b]{level.path}[/b]"
                    + (f" and the {below} level(s) below it" if below else "")
                    + "? Their volumes are kept until you clean them up.")

        def confirmed(yes: bool | None) -> None:
            if yes and app.start_task(f"exiting {level.path}"):
                if app.animation and level.children:
                    app.show_collapse(level.path)
                app.exit_level(level.path, "exit")

        self.app.push_screen(dialogs.ConfirmDialog(question, "Exit"), confirmed)

    def action_shell(self) -> None:
        level = self._target("shell into")
        if level is None:
            return
        if level.state in levels.STOPPED or level.state == levels.PAUSED:
            self.notify(f"level {level.path} is {level.state}: nothing to shell into"
                        + (" (press v to revive it)" if level.state in levels.STOPPED else ""),
                        severity="error")
            return
        self.dindtui.open_shell(level)
        self.dindtui.refresh_tree()

    def action_copy_path(self) -> None:
        level = self.dindtui.selected_level()
        if level is None:
            return
        self.app.copy_to_clipboard(level.label)
        self.notify(f"copied {level.label}", timeout=2)

    def action_drill_in(self) -> None:
        """enter on a level: into its containers; on a cluster's line: into its swarm."""
        pane = self._one(DetailPane)
        if pane is not None and not pane.has_class("hidden"):
            pane.show_tab("swarm" if self._cluster_shown and pane.in_swarm else "containers")

    def action_back_to_tree(self) -> None:
        self.query_one(LevelTree).focus()

    def action_show_tab(self, tab: str) -> None:
        pane = self._one(DetailPane)
        if pane is None or pane.has_class("hidden"):
            self.notify("spawn a level first (n): level 0 alone has nothing to show",
                        severity="warning")
            return
        if tab == "swarm" and not pane.in_swarm:
            self.notify("this level is in no swarm: `dindtui cluster create NAME` makes a "
                        "cluster, or `docker swarm init` in the level's shell",
                        severity="warning")
            return
        pane.show_tab(tab)

    # ----------------------------------------------------------------- a swarm (tab 6)

    def _swarm_manager(self) -> Level | None:
        pane, level = self._one(DetailPane), self.dindtui.selected_level()
        view = pane.swarm_view if pane is not None else None
        if level is None or view is None or not view.manager:
            self.notify("select a manager of the swarm: a worker cannot change it",
                        severity="warning")
            return None
        return level

    def _node_level(self) -> Level | None:
        """The level of the node under the cursor: a sibling of the manager with that name."""
        table, manager = self._one(SwarmNodesTable), self.dindtui.selected_level()
        node = table.selected if table is not None else None
        if node is None or manager is None:
            self.notify("no node selected", severity="warning")
            return None
        parent = manager.parent
        level = next((c for c in (parent.children if parent is not None else [])
                      if c.name == node.hostname), None)
        if level is None:
            self.notify(f"node {node.hostname} is no level of this tree beside "
                        f"{manager.label}", severity="error")
        return level

    def action_node_availability(self) -> None:
        manager, table = self._swarm_manager(), self._one(SwarmNodesTable)
        node = table.selected if table is not None else None
        if manager is None or node is None:
            return
        self.dindtui.set_availability(manager, node.hostname,
                                      "active" if node.availability != "active" else "drain")

    def action_kill_node(self) -> None:
        level = self._node_level()
        if level is not None:
            self.dindtui.kill_level(level)

    def action_revive_node(self) -> None:
        level = self._node_level()
        if level is None:
            return
        if level.state not in levels.STOPPED:
            self.notify(f"level {level.label} is {level.state}: nothing to revive",
                        severity="warning")
            return
        if self.dindtui.start_task(f"revive {level.label}"):
            self.dindtui.revive_level(level.path)

    def action_scale_service(self, delta: int) -> None:
        manager, table = self._swarm_manager(), self._one(SwarmServicesTable)
        service = table.selected if table is not None else None
        if manager is None:
            return
        if service is None:
            self.notify("no service selected", severity="warning")
            return
        if service.wanted is None:
            self.notify(f"{service.name} is global: one task per node", severity="warning")
            return
        self.dindtui.scale_service(manager, service.name, max(0, service.wanted + delta))

    def action_find(self) -> None:
        def found(hit: Hit | None) -> None:
            if hit is not None:
                self.go_to(hit)

        self.app.push_screen(SearchScreen(), found)

    def _container(self) -> tuple[Level, ContainerRow] | None:
        level, table = self.dindtui.selected_level(), self._one(ContainersTable)
        row = table.selected if table is not None else None
        if level is None or row is None:
            self.notify("no container selected", severity="warning")
            return None
        return level, row

    @on(DataTable.RowSelected, "ContainersTable")
    def container_chosen(self, event: DataTable.RowSelected) -> None:
        self.open_container()

    def open_container(self, tab: str = "logs") -> None:
        chosen = self._container()
        if chosen is None:
            return
        level, row = chosen
        if row.is_level and row.level_path is not None:
            self.query_one(LevelTree).select_path(row.level_path)
            self.query_one(LevelTree).focus()
            return
        self.dindtui.open_container(level, row, tab)

    def action_container_logs(self) -> None:
        self.open_container("logs")

    def action_container_inspect(self) -> None:
        self.open_container("inspect")

    def action_container_shell(self) -> None:
        chosen = self._container()
        if chosen is not None:
            self.dindtui.container_shell(*chosen)

    def action_container_act(self, action: str) -> None:
        chosen = self._container()
        if chosen is not None:
            self.dindtui.confirm_container_action(*chosen, action)

    def action_remove_image(self) -> None:
        self._remove_in_level("image")

    def action_remove_volume(self) -> None:
        self._remove_in_level("volume")

    def _remove_in_level(self, kind: str) -> None:
        """The image or volume under the table's cursor, removed after a yes."""
        level = self._target(f"remove a {kind} in", allow_root=True)
        pane = self._one(DetailPane)
        if level is None or pane is None:
            return
        table = pane.query_one(ImagesTable if kind == "image" else VolumesTable)
        key = selected_key(table)
        if key is None:
            self.notify(f"no {kind} selected", severity="warning")
            return
        shown = table.name_of(key)
        app = self.dindtui
        question = (f"Remove {kind} [b]{escape(shown)}[/b] from level "
                    f"[b]{escape(level.label)}[/b]? "
                    + ("Its layers go unless another image shares them; an image a container "
                       "uses stays." if kind == "image" else
                       "Its data goes; a volume in use stays."))

        def confirmed(yes: bool | None) -> None:
            if yes and app.start_task(f"removing {kind} {shown} in {level.label}"):
                app.remove_in_level(level, kind, key)

        self.app.push_screen(dialogs.ConfirmDialog(question, "Remove"), confirmed)

    def action_run_image(self) -> None:
        level = self._target("run an image in", allow_root=True)
        if level is None:
            return
        if level.state != levels.READY:
            self.notify(f"level {level.label} is {level.state}: nothing can run in it",
                        severity="error")
            return
        pane = self._one(DetailPane)
        image, tags = "", cast("tuple[str, ...]", ())
        if pane is not None and pane.details is not None:
            tags = tuple(t for row in pane.details.images for t in row.tags if t != "<none>")
            chosen = pane.query_one(ImagesTable).selected
            if chosen is not None and (pane.active_tab == "images" or not tags):
                image = chosen.tags[0] if chosen.tags[0] != "<none>" else chosen.id
        self.dindtui.ask_run(level, image, tags)

    def action_bring_images(self) -> None:
        level = self._target("bring images into")
        if level is None:
            return
        if level.state != levels.READY:
            self.notify(f"level {level.label} is {level.state}: nothing can be brought into it",
                        severity="error")
            return
        self.dindtui.ask_bring(level)

    def action_usage(self) -> None:
        self.app.push_screen(usage_screen.UsageScreen(self.dindtui.report))
        self.dindtui.measure_usage()

    def action_cleanup(self) -> None:
        if self.dindtui.start_task("planning cleanup"):
            self.dindtui.plan_cleanup()

    def confirm_cleanup(self, plan: CleanupPlan) -> None:
        app = self.dindtui

        def confirmed(yes: bool | None) -> None:
            if yes and app.start_task("cleaning up"):
                app.apply_cleanup(plan)

        self.app.push_screen(dialogs.CleanupDialog(plan), confirmed)

    def action_revive(self) -> None:
        level = self._target("revive", allow_root=True)
        if level is None:
            return
        what = "every stopped level" if level.depth == 0 else level.path
        if self.dindtui.start_task(f"reviving {what}"):
            self.dindtui.revive_level(level.path)

    def action_refresh(self) -> None:
        self.dindtui.refresh_tree()
        self.dindtui.measure_usage()

    def action_help(self) -> None:
        from .help import HelpScreen  # Markdown and its parser: only when asked for (start-up)
        self.app.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        app = self.dindtui
        if not app.has_levels():
            self.app.exit(0)
            return

        def chosen(choice: str | None) -> None:
            if choice == "keep":
                self.app.exit(0)
            elif choice == "collapse":
                app.collapse_all(then_quit=True)

        inside = sum(1 for level in app.all_levels() if level.depth)
        self.app.push_screen(dialogs.QuitDialog(inside), chosen)

    def action_collapse_all(self) -> None:
        self.dindtui.collapse_all()

