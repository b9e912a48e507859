"""The main screen: the live tree, the selected level's details, the task bar; every key of the
TUI is bound here (the help screen is generated from these bindings). Actions ask the user what
they must (dialogs) and hand the work to the app's task runner."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Tree

from ..engine import levels
from ..engine.details import LevelDetails
from ..engine.errors import DindtuiError
from ..engine.levels import Level
from ..engine.progress import Progress
from ..engine.usage import CleanupPlan
from ..widgets.banner import Banner
from ..widgets.detail_pane import DetailPane
from ..widgets.greeting import Greeting
from ..widgets.level_tree import LevelTree
from ..widgets.task_bar import TaskBar
from .dialogs import CleanupDialog, ConfirmDialog, NameDialog, QuitDialog
from .help import HelpScreen
from .usage import UsageScreen

if TYPE_CHECKING:
    from ..app import DindtuiApp

W = TypeVar("W", bound=Widget)


class MainScreen(Screen[None]):
    DEFAULT_CSS = """
    MainScreen #main { height: 1fr; }
    MainScreen Greeting { width: 2fr; border: round $secondary; }
    MainScreen .hidden { display: none; }
    """
    BINDINGS = [
        Binding("n", "spawn", "spawn", tooltip="spawn a child level under the selected one"),
        Binding("x", "exit_level", "exit",
                tooltip="exit the selected level and everything below it"),
        Binding("s", "shell", "shell",
                tooltip="shell into the selected level (exit the shell to come back)"),
        Binding("d", "usage", "disk", tooltip="disk usage of every level's volume"),
        Binding("c", "cleanup", "cleanup",
                tooltip="cleanup: free the volumes of dead and exited levels"),
        Binding("v", "revive", "revive", tooltip="revive the selected stopped level and the "
                "stopped ones inside it (level 0: all)"),
        Binding("r", "refresh", "refresh", tooltip="refresh now"),
        Binding("question_mark", "help", "help", tooltip="this help"),
        Binding("q", "quit_app", "quit",
                tooltip="quit (levels keep running unless you collapse them)"),
    ]

    @property
    def dindtui(self) -> DindtuiApp:
        return cast("DindtuiApp", self.app)

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

    # ----------------------------------------------------------------- drawing
    # Called by the app for every model change; a message can arrive before this screen is
    # composed or after it is torn down (a worker finishing as the app quits): then nothing
    # is drawn.

    def _one(self, kind: type[W]) -> W | None:
        try:
            return self.query_one(kind)
        except NoMatches:
            return None

    def show_tree(self) -> None:
        app = self.dindtui
        tree, greeting, pane = self._one(LevelTree), self._one(Greeting), self._one(DetailPane)
        if app.root is None or tree is None or greeting is None or pane is None:
            return
        sizes = {v.level: v.bytes for v in app.report.volumes
                 if v.state == "live"} if app.report else {}
        tree.show(app.root, sizes, app.streams)
        empty = not app.root.children
        greeting.show(empty)
        pane.set_class(empty, "hidden")

    def show_unreachable(self, error: str) -> None:
        banner, tree = self._one(Banner), self._one(LevelTree)
        if banner is not None and tree is not None:
            banner.show_error(error)
            tree.show_unreachable()

    def clear_banner(self) -> None:
        banner = self._one(Banner)
        if banner is not None:
            banner.clear()

    def show_details(self, details: LevelDetails) -> None:
        app, pane = self.dindtui, self._one(DetailPane)
        if pane is not None and details.path == (app.selected_path or "host"):
            volume = app.report.by_level().get(app.selected_path) if app.report else None
            pane.show(details, volume)

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

    @on(Tree.NodeHighlighted)
    def node_highlighted(self, message: Tree.NodeHighlighted) -> None:
        self.dindtui.select(message.node.data or "")

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
        return level

    def action_spawn(self) -> None:
        parent = self._target("spawn under", allow_root=True)
        if parent is None:
            return
        if parent.state != levels.READY:
            self.notify(f"level {parent.label} is {parent.state}: it cannot spawn",
                        severity="error")
            return
        app = self.dindtui

        def chosen(name: str | None) -> None:
            if name and app.start_task(f"spawning {name} under {parent.label}"):
                app.spawn_level(parent.path, name)

        app.push_screen(NameDialog(parent.label, app.engine.default_name(parent)), chosen)

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
                    app.show_collapse()
                app.exit_level(level.path, "exit")

        app.push_screen(ConfirmDialog(question, "Exit"), confirmed)

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

    def action_usage(self) -> None:
        self.app.push_screen(UsageScreen(self.dindtui.report))
        self.dindtui.measure_usage()

    def action_cleanup(self) -> None:
        if self.dindtui.start_task("planning cleanup"):
            self.dindtui.plan_cleanup()

    def confirm_cleanup(self, plan: CleanupPlan) -> None:
        app = self.dindtui

        def confirmed(yes: bool | None) -> None:
            if yes and app.start_task("cleaning up"):
                app.apply_cleanup(plan)

        app.push_screen(CleanupDialog(plan), confirmed)

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
        self.app.push_screen(HelpScreen(list(self.BINDINGS) + list(LevelTree.BINDINGS)))

    def action_quit_app(self) -> None:
        app = self.dindtui
        if app.root is None or not app.root.children:
            app.exit(0)
            return

        def chosen(choice: str | None) -> None:
            if choice == "keep":
                app.exit(0)
            elif choice == "collapse":
                app.collapse_all(then_quit=True)

        app.push_screen(QuitDialog(sum(1 for _ in app.root.walk()) - 1), chosen)

    def action_collapse_all(self) -> None:
        self.dindtui.collapse_all()


def find_level(root: Level | None, path: str) -> Level | None:
    if root is None:
        return None
    try:
        return levels.find(root, path)
    except DindtuiError:
        return root
