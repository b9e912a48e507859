"""Every UI flow of the TUI, driven with Pilot through a fake engine (tests/fake_engine.py): no
Docker, a few seconds for the whole file. Each flow's engine behaviour has its own test against
the real engine (test_tui.py, test_engine.py, test_faults.py); these check the UI around it:
dialogs, the busy guard, error paths, retries, quitting, live events."""

from __future__ import annotations

import dataclasses
import gc
import io
import os
import time

import pytest
from rich.console import Console
from textual.widgets import Button, DataTable, TabbedContent

import fake_engine
from fake_engine import FakeEngine, fixed_details, fixed_usage
from helpers import loaded, screen_text, until
from dindtui import app as app_module
from dindtui import actions
from dindtui.app import DindtuiApp
from dindtui.engine.tree import levels
from dindtui.engine.errors import DindtuiError
from dindtui.engine.explore import inside
from dindtui.engine.explore.inside import ContainerRow
from dindtui.engine.disk.usage import CleanupPlan
from dindtui.messages import DaemonEvent
from dindtui.screens.collapse import CollapseScreen
from dindtui.screens.dialogs import CleanupDialog, ConfirmDialog, NameDialog, QuitDialog
from dindtui.screens.container import ContainerScreen
from dindtui.screens.dialogs import RunDialog
from dindtui.screens.help import HelpScreen
from dindtui.screens.main import MainScreen
from dindtui.screens.search import SearchScreen
from dindtui.widgets.detail_pane import DetailPane
from dindtui.widgets.tables import ContainersTable, ImagesTable
from dindtui.widgets.banner import Banner
from dindtui.widgets.level_tree import LevelTree

pytestmark = pytest.mark.engine_free  # the fast layer: no Docker engine

SIZE = (120, 36)


class Harness:
    """The app on a fake engine, with what it notified."""

    def __init__(self, engine: FakeEngine | None = None, animation: bool = False):
        self.engine = engine or FakeEngine()
        self.app = DindtuiApp(animation=animation, engine=self.engine)
        self.notes: list[tuple[str, str]] = []

    def errors(self) -> list[str]:
        return [text for text, severity in self.notes if severity == "error"]

    def infos(self) -> list[str]:
        return [text for text, severity in self.notes if severity == "information"]


@pytest.fixture
async def ui(monkeypatch):
    harness = Harness()

    async def start(engine: FakeEngine | None = None, animation: bool = False):
        if engine is not None:
            harness.engine = engine
            harness.app = DindtuiApp(animation=animation, engine=engine)
        else:
            harness.app.animation = animation
        app = harness.app
        monkeypatch.setattr(app, "notify", lambda text, severity="information", **kw:
                            harness.notes.append((text, severity)))
        return app

    harness.start = start
    yield harness


async def select(pilot, app, path: str) -> None:
    app.query_one(LevelTree).select_path(path)
    await until(pilot, lambda: app.selected_path == path, f"selection of {path}")


async def spawn_dialog_under(pilot, app, path: str) -> None:
    await loaded(pilot, app)
    await select(pilot, app, path)
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, NameDialog), "the name dialog")


async def test_spawn_asks_a_name_then_shows_the_new_level(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await spawn_dialog_under(pilot, app, "l1")
        await pilot.press("end", "ctrl+u", *"web", "enter")  # typed over the proposed name
        await until(pilot, lambda: ui.engine.called("spawn") and not app._busy, "the spawn")
        assert ui.engine.called("spawn") == [("l1", "web")]
        assert "level l1/web ready" in ui.infos()[-1]
        await until(pilot, lambda: "l1/web" in [lv.path for lv in app.all_levels()], "the tree")


async def test_the_spawn_dialog_says_what_is_wrong_with_a_name_as_it_is_typed(ui):
    """Nothing typed is dropped: an invalid, empty or taken name is said at once, the Spawn
    button is off, and Enter spawns nothing until the name is valid."""
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await spawn_dialog_under(pilot, app, "l1")
        dialog = app.screen
        name, problem = dialog.query_one("#name"), dialog.query_one("#name-problem")
        button = dialog.query_one("#spawn")
        for typed, said in [("Café日本x", "invalid level name"), ("A B", "invalid level name"),
                            ("", "a level needs a name"), ("l2", "is taken in this tree"),
                            ("x" * 25, "invalid level name")]:
            await pilot.press("end", "ctrl+u", *typed)
            assert name.value == typed  # kept as typed, never filtered
            await until(pilot, lambda said=said: said in str(problem.render()),
                        f"the problem of {typed!r}")
            assert button.disabled
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, NameDialog) and not ui.engine.called("spawn")
        await pilot.press("end", "ctrl+u", *"ok-2")
        await until(pilot, lambda: str(problem.render()) == "" and not button.disabled, "valid")
        await pilot.press("enter")
        await until(pilot, lambda: ui.engine.called("spawn") and not app._busy, "the spawn")
        assert ui.engine.called("spawn") == [("l1", "ok-2")]


async def test_the_spawn_dialog_chooses_the_image_store(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await spawn_dialog_under(pilot, app, "l1")
        app.screen.query_one("#store").value = "containerd"
        await pilot.press("end", "ctrl+u", *"cs")
        app.screen.query_one("#name").focus()
        await pilot.press("enter")
        await until(pilot, lambda: ui.engine.called("spawn") and not app._busy, "the spawn")
        assert ui.engine.called("spawn") == [("l1", "cs", "containerd")]


async def test_a_second_task_while_one_runs_is_refused_then_allowed(ui):
    engine = FakeEngine(hold={"spawn"})
    app = await ui.start(engine)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NameDialog), "the name dialog")
        await pilot.press("enter")
        await until(pilot, lambda: engine.called("spawn"), "the spawn to start")
        await pilot.press("c")  # cleanup while spawning
        assert any("still running" in text for text, _ in ui.notes)
        assert not engine.called("plan_cleanup")
        engine.release.set()
        await until(pilot, lambda: not app._busy, "the spawn to end")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CleanupDialog), "the cleanup dialog")


@pytest.mark.parametrize("failure, shown", [
    (DindtuiError("level name 'x' is taken"), "level name 'x' is taken"),
    (RuntimeError("container vanished"), "unexpected error: RuntimeError: container vanished"),
])
async def test_a_failing_task_says_why_and_frees_the_ui(ui, failure, shown):
    engine = FakeEngine(fail={"spawn": failure})
    app = await ui.start(engine)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for _ in range(2):  # and again: the UI is not stuck "busy"
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, NameDialog), "the name dialog")
            await pilot.press("enter")
            await until(pilot, lambda: not app._busy and len(ui.errors()) >= 1, "the error")
        assert ui.errors() == [shown, shown]


async def test_a_killed_level_s_children_stay_shown_unreachable_and_v_revives_it(ui):
    """A level killed under the TUI: what was inside it stays in the tree, marked unreachable
    with the reason; its pane says its contents are not known (never '0 containers'); an
    action on a level inside it says why it cannot; v on it revives the stopped level."""
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        killed = fake_engine.fixed_tree()
        l2 = levels.find(killed, "l1/l2")
        l2.state, l2.endpoint, l2.children = levels.EXITED, None, []
        ui.engine.tree = killed
        app.refresh_tree()
        await until(pilot, lambda: levels.find_in(app.roots, "l1/l2").state == "exited",
                    "the level exited")
        node = app.query_one(LevelTree)._by_path.get("l1/l2/l3")
        assert node is not None and "?" in str(node.label)  # shown, unreachable
        await select(pilot, app, "l1/l2")
        facts = app.query_one("#facts")

        def said() -> str:
            console = Console(width=200, file=io.StringIO(), record=True)
            console.print(facts.content)
            return " ".join(console.export_text().split())

        await until(pilot, lambda: "v revives it" in said(), "the pane's word")
        assert "0 containers" not in said()
        await select(pilot, app, "l1/l2/l3")
        await pilot.press("x")
        await until(pilot, lambda: any("inside l1/l2, which is exited" in e for e in ui.errors()),
                    "why it cannot exit")
        assert not ui.engine.called("exit_level")
        await pilot.press("v")
        await until(pilot, lambda: ui.engine.called("revive"), "the revive")
        assert ui.engine.called("revive") == [("l1/l2",)]


async def test_at_80x24_names_states_tabs_and_the_quit_and_help_keys_all_show(ui):
    app = await ui.start()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1/l2/l3")
        await until(pilot, lambda: app.query_one(ContainersTable).row_count == 2, "containers")
        await pilot.pause()
        shown = screen_text(app)
        for words in ("? help", "q quit", "l1", "l2", "l3", "side", "dead", "ctr 1/2", "img 2",
                      "vol 1", "net 2"):
            assert words in shown, (words, shown)
        await pilot.press("2")
        await pilot.pause()
        shown = screen_text(app)
        assert "running" in shown and "exited" in shown and "web" in shown, shown
        await pilot.press("d")
        await until(pilot, lambda: "freeable" in screen_text(app), "the disk screen")
        shown = screen_text(app)
        table = shown.split("\n", 1)[1]  # below the header (its subtitle ends in "…")
        assert "l1/l2/l3" in table and "140.0 MB" in table and "…" not in table, shown


async def test_an_unreachable_engine_shows_the_banner_retries_and_recovers(ui, monkeypatch):
    monkeypatch.setattr(app_module, "RETRY_SECONDS", 0.05)
    engine = FakeEngine(tree=None)
    app = await ui.start(engine)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.query_one(Banner)
        await until(pilot, lambda: app.tree_loads >= 3 and banner.display, "retries, the banner")
        assert "no Docker engine answers" in str(banner.render())
        engine.tree = __import__("fake_engine").fixed_tree()
        await until(pilot, lambda: app.roots is not None, "the tree once the engine answers")
        await until(pilot, lambda: not banner.display, "the banner to go")


async def test_quit_with_live_levels_asks_and_keeps_them(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit dialog")
        await pilot.press("escape")  # stay
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        await pilot.press("q", "q")
        await until(pilot, lambda: not app.is_running, "the app to quit")
    assert app.return_value == 0 and not ui.engine.called("collapse")


async def test_collapse_all_and_quit_shows_the_collapse_and_exits(ui):
    app = await ui.start(animation=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit dialog")
        await pilot.click("#collapse")
        await until(pilot, lambda: not app.is_running, "the app to quit", timeout=10)
    assert ui.engine.called("collapse") == [()]
    assert app.return_value == 0


async def test_exit_asks_first_and_shows_the_collapse_for_a_subtree(ui):
    app = await ui.start(animation=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1/l2")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        assert "1 level(s) below it" in str(app.screen.question)
        await pilot.press("escape")
        assert not ui.engine.called("exit_level")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        # Held until the screen is seen: it closes 2 s after the exit ends, and a loaded CI
        # machine once let a fake exit end and its screen close between two looks.
        ui.engine.hold.add("exit_level")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, CollapseScreen), "the collapse")
        collapse = app.screen
        ui.engine.release.set()
        await until(pilot, lambda: not app._busy, "the exit")
        assert ui.engine.called("exit_level") == [("l1/l2",)]
        [frame] = collapse.frames  # the subtree being exited, nested as in the tree
        assert frame.path == "l1/l2" and [c.path for c in frame.children] == ["l1/l2/l3"]
        assert collapse.history == [("l1/l2/l3", "exiting"), ("l1/l2/l3", "exited"),
                                    ("l1/l2", "exiting"), ("l1/l2", "exited")]
        assert frame.folded == ["l3"] and frame.state == "exited"


async def test_level_0_cannot_be_exited_and_the_host_is_never_a_shell_target(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "")
        await pilot.press("x", "s")
        assert [text for text, _ in ui.notes if "level 0 is the engine" in text] != []
        assert isinstance(app.screen, MainScreen) and not ui.engine.called("shell")


async def test_cleanup_shows_the_plan_and_frees_it_on_y(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CleanupDialog), "the cleanup dialog")
        assert app.screen.query_one("#confirm", Button).label.plain == "Free 145.0 MB"
        await pilot.press("y")
        await until(pilot, lambda: ui.engine.called("apply_cleanup") and not app._busy, "clean")
        assert ui.engine.called("apply_cleanup") == [(["dindtui-side-dd", "dindtui-old-ee"],)]
        assert "removed 2 volume(s), freed 145.0 MB" in ui.infos()


async def test_cleanup_with_nothing_to_free_says_so_and_closes(ui):
    app = await ui.start(FakeEngine(plan=CleanupPlan([])))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CleanupDialog), "the cleanup dialog")
        assert "Nothing to clean" in str(app.screen.query_one("Static").render())
        assert app.screen.focused is app.screen.query_one("#cancel")
        await pilot.press("y")  # nothing to confirm: y frees nothing
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        assert not ui.engine.called("apply_cleanup")


async def test_a_dead_level_offers_revive_not_a_shell(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1/side")
        await pilot.press("s")
        assert "press v to revive it" in ui.errors()[-1]
        await pilot.press("v")
        await until(pilot, lambda: ui.engine.called("revive") and not app._busy, "the revive")
        assert ui.engine.called("revive") == [("l1/side",)]
        assert "revived 1 level(s): l1/side" in ui.infos()


async def test_help_lists_every_key_of_the_main_screen(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = app.screen.query_one("Markdown")._markdown
        for binding in [*MainScreen.BINDINGS, *LevelTree.BINDINGS, *ContainersTable.BINDINGS,
                        *ContainerScreen.BINDINGS, *ImagesTable.BINDINGS]:
            assert binding.tooltip in text
        assert "| `/` | find a container" in text
        assert "| `/` | filter the log" in text


def test_the_readme_lists_every_key_as_the_help_does():
    expected = actions.markdown("###")
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    assert expected in readme, "README's key tables differ from the registry: run " \
        "scripts/readme.py"


async def test_an_event_reaches_the_tree_at_once_and_only_that_daemon_is_read_again(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        discovered = len(ui.engine.called("discover"))
        l1 = levels.find_in(app.roots, "l1")
        l2 = levels.find_in(app.roots, "l1/l2")
        event = {"type": "container", "action": "die", "id": l2.container_id,
                 "attributes": {levels.LABEL_NAME: "l2",
                                levels.LABEL_NAMESPACE: os.environ["DINDTUI_NAMESPACE"]}}
        app.post_message(DaemonEvent(l1.endpoint, event))
        await pilot.pause()
        node = next(n for n in app.query_one(LevelTree)._tree_lines if n.node.data == "l1/l2")
        assert "exited" in str(node.node.label)  # drawn before any Docker call
        # Nothing is known below it now: what was seen there stays, unreachable, as after a read
        below = levels.find_in(app.roots, "l1/l2").children
        assert [(c.path, c.state) for c in below] == [("l1/l2/l3", levels.UNREACHABLE)]
        await until(pilot, lambda: ui.engine.called("reread"), "the lazy re-read")
        assert ui.engine.called("reread") == [("l1",)]
        assert len(ui.engine.called("discover")) == discovered  # never the whole tree


# ------------------------------------------------------------------ exploring a level


async def into_containers(pilot, app, path: str = "l1/l2/l3") -> ContainersTable:
    await loaded(pilot, app)
    await select(pilot, app, path)
    table = app.query_one(ContainersTable)
    await until(pilot, lambda: table.row_count == 2, "the level's containers")
    app.query_one(LevelTree).focus()
    await pilot.press("enter")  # drills in: the containers tab, focused
    await until(pilot, lambda: table.has_focus, "the containers table focused")
    assert app.query_one(DetailPane).active_tab == "containers"
    return table


def test_running_times_in_docker_s_words_read_back_and_aged():
    for seconds, words in [(0.4, "Less than a second"), (1, "1 second"), (59, "59 seconds"),
                           (61, "About a minute"), (300, "5 minutes"), (3600, "About an hour"),
                           (7200, "2 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks"),
                           (90 * 86400, "3 months"), (800 * 86400, "2 years")]:
        assert inside.human_duration(seconds) == words
        if seconds >= 1:
            assert inside.human_duration(inside.docker_age("Up " + words)) == words
    assert inside.docker_age("Up 5 minutes (healthy)") == 300
    assert inside.docker_age("Exited (0) 2 minutes ago") is None
    assert inside.docker_age("Up \x1b[31m5 minutes") is None  # odd text: shown as it came
    row = ContainerRow("a" * 12, "web", "x", "running", "Up 2 hours (healthy)", up_since=1000.0)
    assert row.status_at(1000.0 + 3 * 86400) == "Up 3 days (healthy)"
    assert row.uptime_at(1000.0 + 90) == "About a minute"


async def test_running_times_move_on_screen_between_readings(ui, monkeypatch):
    """A container's running time ages in the table and in its screen's title, without a new
    reading of the daemon (issue: "3 seconds" stayed for minutes)."""
    def details(path, depth=None):
        # started 55.5 s before the daemon is read, so that a slow machine's seconds between the
        # reading and the look below still show seconds (CI once saw "About a minute" already)
        made = fixed_details(path, depth)
        return dataclasses.replace(made, containers=[
            dataclasses.replace(row, status="Up 55 seconds", up_since=time.time() - 55.5)
            if row.state == "running" else row for row in made.containers])

    monkeypatch.setattr(fake_engine, "fixed_details", details)
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        table = await into_containers(pilot, app)
        reads = len(ui.engine.called("details"))
        assert table.get_cell("0a1b2c3d4e5f", "uptime") in {f"{n} seconds" for n in range(55, 60)}
        await until(pilot, lambda: table.get_cell("0a1b2c3d4e5f", "uptime") == "About a minute",
                    "the running time to move on", 10)
        assert len(ui.engine.called("details")) == reads  # aged on screen, not read again
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "the container")
        title = app.screen.query_one("#title")
        assert "Up About a minute" in str(title.render())
        await pilot.press("escape")


async def test_the_log_status_says_what_the_view_does_after_a_scroll(ui):
    """Scrolling up pauses the view (and says so); new lines do not move it; `f` or End follows
    again; `f` while following stops where the view is."""
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await into_containers(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "the container")
        screen = app.screen
        log = screen.query_one("Log")
        status = screen.query_one("#log-status")
        ui.engine.follower.feed([f"line {n}" for n in range(200)])
        await until(pilot, lambda: log.line_count == 230 and log.is_vertical_scroll_end,
                    "the lines, followed")
        assert "following" in str(status.render())
        await pilot.press("pageup")
        await until(pilot, lambda: "paused" in str(status.render()), "the pause said")
        where = log.scroll_y
        ui.engine.follower.feed(["more"] * 20)
        await until(pilot, lambda: log.line_count == 250, "new lines")
        assert log.scroll_y == where and not log.is_vertical_scroll_end
        await pilot.press("f")
        await until(pilot, lambda: log.is_vertical_scroll_end, "the end again")
        assert "following" in str(status.render())
        await pilot.press("f")  # stop here
        assert "paused" in str(status.render())
        ui.engine.follower.feed(["later"] * 5)
        await until(pilot, lambda: log.line_count == 255, "new lines")
        assert not log.is_vertical_scroll_end
        await pilot.press("end")
        await until(pilot, lambda: "following" in str(status.render()), "End follows")
        await pilot.press("escape")


async def test_the_log_filter_is_a_regex_with_a_count_and_plain_text_when_it_is_not_one(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await into_containers(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "the container")
        screen = app.screen
        log, status = screen.query_one("Log"), screen.query_one("#log-status")
        await until(pilot, lambda: log.line_count == 30, "the first lines")
        await pilot.press("slash", *"post.*(401|500)")
        await until(pilot, lambda: 0 < log.line_count < 30, "the regex applied")
        assert all(("401" in line or "500" in line) and "POST" in line for line in log.lines)
        assert f"{log.line_count} of 30 lines match" in str(status.render())
        await pilot.press("ctrl+u", *"(401")
        await until(pilot, lambda: "not a regex" in str(status.render()), "the plain-text note")
        assert all("(401" in line for line in log.lines)  # as text: no line has "(401"
        await pilot.press("escape")


async def test_tables_sort_copy_and_move_as_lazydocker_users_expect(ui):
    """o sorts by the next column (O reverses, a header click sorts by it), y copies the row's
    id and Y its name through the terminal's clipboard, j/k/g/G move, in the tree too."""
    app = await ui.start()
    copied: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.copy_to_clipboard = copied.append
        table = await into_containers(pilot, app)
        assert [row.value for row in table.rows] == ["0a1b2c3d4e5f", "1b2c3d4e5f60"]
        await pilot.press("o")  # by name: job before web
        await until(pilot, lambda: table.sort_column == "name", "sorted by name")
        assert [row.value for row in table.rows] == ["1b2c3d4e5f60", "0a1b2c3d4e5f"]
        await pilot.press("O")
        await until(pilot, lambda: [row.value for row in table.rows][0] == "0a1b2c3d4e5f",
                    "reversed")
        table.post_message(DataTable.HeaderSelected(table, table.columns["state"].key, 2,
                                                    table.columns["state"].label))
        await until(pilot, lambda: table.sort_column == "state", "a header click")
        assert [row.value for row in table.rows][0] == "0a1b2c3d4e5f"  # running first
        await pilot.press("g", "j")
        assert table.cursor_row == 1
        await pilot.press("k")
        assert table.cursor_row == 0
        await pilot.press("G")
        assert table.cursor_row == 1
        await pilot.press("y", "Y")
        assert copied == ["1b2c3d4e5f60", "job"]
        await pilot.press("escape")  # back to the tree
        tree = app.query_one(LevelTree)
        await until(pilot, lambda: tree.has_focus, "the tree")
        await pilot.press("g")
        assert tree.cursor_line == 0
        await pilot.press("j", "j")
        assert tree.cursor_line == 2
        await pilot.press("y")
        assert copied[-1] == app.selected_path == "l1/l2"


async def test_enter_drills_into_a_container_whose_logs_follow_filter_and_show_time(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await into_containers(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "the container")
        screen = app.screen
        log = screen.query_one("Log")
        await until(pilot, lambda: log.line_count == 30, "the first lines")
        assert ui.engine.called("follow_logs") == [("l1/l2/l3", "0a1b2c3d4e5f")]
        assert log.lines[0] == "POST /login 401 denied"  # timestamps hidden by default
        ui.engine.follower.feed(["2026-11-29T09:01:00.000000000Z POST /login 200 welcome"])
        await until(pilot, lambda: log.line_count == 31, "a new line, followed")
        await pilot.press("slash", *"login")
        await until(pilot, lambda: log.line_count == 11, "only the matching lines")
        assert all("login" in line for line in log.lines)
        await pilot.press("enter", "t")
        await until(pilot, lambda: log.lines[0].startswith("09:00:00.000 "), "timestamps")
        ui.engine.follower.feed(["2026-11-29T09:02:00.000000000Z GET / 200"])
        await pilot.pause(0.1)
        assert log.line_count == 11  # a line that does not match stays out
        await pilot.press("escape")  # closes the filter: every line again
        await until(pilot, lambda: log.line_count == 32, "every line again")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ContainerScreen), "back")
        assert ui.engine.follower.closed


async def test_destructive_container_keys_ask_first_and_start_does_not(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await into_containers(pilot, app)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert ui.engine.called("act") == []
        for key, action in (("S", "stop"), ("K", "kill"), ("R", "restart"), ("D", "remove")):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            await pilot.press("y")
            await until(pilot, lambda action=action: ui.engine.called("act")[-1:] == [
                ("l1/l2/l3", "0a1b2c3d4e5f", action)] and not app._busy, action)
        await pilot.press("down", "U")  # the exited one: started without a question
        await until(pilot, lambda: ui.engine.called("act")[-1:] == [
            ("l1/l2/l3", "1b2c3d4e5f60", "start")], "start")


async def test_a_level_s_own_container_is_never_stopped_from_the_table(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "")
        table = app.query_one(ContainersTable)
        await until(pilot, lambda: table.row_count == 1, "level 0's containers")
        app.query_one(DetailPane).show_tab("containers")
        await pilot.press("D")
        await pilot.pause(0.1)
        assert "is level" in ui.errors()[-1] and not isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")  # a level's row leads to the level in the tree
        await until(pilot, lambda: app.selected_path == "l1", "the level selected")
        assert ui.engine.called("act") == []


async def test_shell_into_a_container_goes_through_the_one_method(ui):
    app = await ui.start()
    opened = []
    app.container_shell = lambda level, row: opened.append((level.path, row.name))
    async with app.run_test(size=SIZE) as pilot:
        await into_containers(pilot, app)
        await pilot.press("s")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "the container")
        await pilot.press("s")
        assert opened == [("l1/l2/l3", "web"), ("l1/l2/l3", "web")]


async def test_run_an_image_from_the_images_tab(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1/l2/l3")
        await until(pilot, lambda: app.query_one(ImagesTable).row_count == 2, "images")
        await pilot.press("3", "down", "r")
        await until(pilot, lambda: isinstance(app.screen, RunDialog), "the run dialog")
        assert app.screen.query_one("#image").value == "tiny:latest"
        await pilot.press(*"/bin/sleep 1d", "tab", *"napper", "enter")
        await until(pilot, lambda: ui.engine.called("run") and not app._busy, "the run")
        assert ui.engine.called("run") == [("l1/l2/l3", "tiny:latest", "/bin/sleep 1d",
                                            "napper")]
        assert any("napper (tiny:latest) is running in l1/l2/l3" in t for t in ui.infos())


async def test_the_run_dialog_offers_the_images_of_the_levels_above_and_brings_one_down(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1/l2/l3")
        await until(pilot, lambda: app.query_one(ImagesTable).row_count == 2, "images")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RunDialog), "the run dialog")
        offered = str(app.screen.query_one("#above").render())
        assert "alpine:3.20 (host)" in offered and "tiny" not in offered  # tiny is here
        field = app.screen.query_one("#image")
        field.focus()
        await pilot.press("end", "ctrl+u", *"alp", "right")  # the suggestion, completed
        assert field.value == "alpine:3.20"
        await pilot.press("enter")
        await until(pilot, lambda: ui.engine.called("run") and not app._busy, "the run")
        assert ui.engine.called("push") == [("l1/l2/l3", "alpine:3.20")]
        assert ui.engine.called("run")[0][:2] == ("l1/l2/l3", "alpine:3.20")


async def test_a_run_that_ends_at_once_says_so_with_its_last_line(ui):
    """The level image's entrypoint refuses to run without privilege: the run must not say
    'running' (issue: 'ticker (dindtui:latest) is running in l1/l2')."""
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1/l2/l3")
        await until(pilot, lambda: app.query_one(ImagesTable).row_count == 2, "images")
        await pilot.press("3", "r")
        await until(pilot, lambda: isinstance(app.screen, RunDialog), "the run dialog")
        assert app.screen.query_one("#image").value == "dindtui:latest"
        await pilot.press("tab", *"ticker", "enter")
        await until(pilot, lambda: ui.errors(), "the error")
        assert ui.errors() == ["ticker (dindtui:latest) exited at once with status 3 in "
                               "l1/l2/l3: dindtui-init: not enough privilege to run a Docker "
                               "daemon"]
        assert not any("running" in text for text in ui.infos())


async def test_d_removes_an_image_or_a_volume_of_the_level_after_a_yes(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1/l2/l3")
        await until(pilot, lambda: app.query_one(ImagesTable).row_count == 2, "images")
        await pilot.press("3", "down", "D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "tiny:latest" in str(app.screen.query_one("Static").render())
        await pilot.press("escape")  # no: nothing happens
        await pilot.pause()
        assert not ui.engine.called("remove_image")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await until(pilot, lambda: ui.engine.called("remove_image") and not app._busy, "done")
        assert ui.engine.called("remove_image") == [("l1/l2/l3", "9f8e7d6c5b4a")]
        await pilot.press("4", "D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await until(pilot, lambda: ui.engine.called("remove_volume") and not app._busy, "done")
        assert ui.engine.called("remove_volume") == [("l1/l2/l3", "data")]
        assert any("volume data removed from l1/l2/l3" in text for text in ui.infos())


async def test_find_goes_to_the_level_and_the_row(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen)
                    and app.screen.hits is not None, "the index")
        await pilot.press(*"job l1/l2/l3")
        await until(pilot, lambda: len(app.screen.shown) == 1, "one hit")
        await pilot.press("enter")
        table = app.query_one(ContainersTable)
        await until(pilot, lambda: app.selected_path == "l1/l2/l3" and table.selected
                    is not None and table.selected.name == "job", "the row of job")
        assert app.query_one(DetailPane).active_tab == "containers"


async def test_readings_reach_the_tree_the_graphs_and_the_table(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        table = await into_containers(pilot, app)
        targets = ui.engine.stats.targets
        assert "level:l1/l2/l3" in targets and "l1/l2/l3:0a1b2c3d4e5f" in targets
        assert "l1/l2/l3:1b2c3d4e5f60" not in targets  # exited: nothing to read
        ui.engine.stats.read({"level:l1/l2/l3": fixed_usage(),
                              "l1/l2/l3:0a1b2c3d4e5f": fixed_usage()})
        await pilot.pause(0.1)
        label = app.query_one(LevelTree)._by_path["l1/l2/l3"].label.plain
        assert "69M" in label and "21%" in label
        assert str(table.get_row("0a1b2c3d4e5f")[5]) == "69.0 MB"
        # The graphs are on the level tab, off screen: drawn when it shows, not before.
        graph = app.query_one("#cpu-graph")
        assert "21.0%" not in str(graph.query_one(".label").render())
        app.query_one(DetailPane).activate("level")
        await until(pilot, lambda: "21.0%" in str(graph.query_one(".label").render()),
                    "the graph drawn as its tab shows")
        # And the table, off screen now, gets the next round when its tab shows again.
        later = fixed_usage()
        later.memory.append(99_000_000)
        ui.engine.stats.read({"level:l1/l2/l3": fixed_usage(), "l1/l2/l3:0a1b2c3d4e5f": later})
        await pilot.pause(0.1)
        assert str(table.get_row("0a1b2c3d4e5f")[5]) == "69.0 MB"
        app.query_one(DetailPane).activate("containers")
        await until(pilot, lambda: str(table.get_row("0a1b2c3d4e5f")[5]) == "99.0 MB",
                    "the table's figures as its tab shows")


async def test_the_command_palette_has_container_actions_and_tree_search(ui):
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await into_containers(pilot, app)
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        for action in actions.CONTAINER:
            assert f"Container: {action.label}" in commands
        assert "Find" in commands and "Run" in commands and "Collapse all" in commands
        assert "Help" not in commands  # the palette is not where the help is opened
        # A palette command runs the action it names, on the row under the cursor.
        await commands["Container: logs"].callback()
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "the logs")
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        assert "Timestamps" in commands and "Stats" in commands
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")


async def test_the_safety_net_poll_reads_the_tree_only_when_the_last_read_is_old(ui):
    """Any whole read resets the poll's wait (a task's refresh, a retry): a poll due moments
    after one reads nothing; one due after the wait reads the tree again."""
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        reads = len([c for c in ui.engine.calls if c[0] == "discover"])
        app._poll()
        await pilot.pause(0.2)
        assert len([c for c in ui.engine.calls if c[0] == "discover"]) == reads
        app._tree_read_at -= app._poll_every
        app._poll()
        await until(pilot, lambda: len([c for c in ui.engine.calls
                                        if c[0] == "discover"]) == reads + 1, "a poll")


# ------------------------------------------------------------------ several engines

async def test_several_engines_one_root_each_and_every_action_under_each(ui):
    """`dindtui -H A -H B -H C`: one top node per engine, the paths beginning with its label;
    spawn, exit, shell and find act in the tree they are asked in; an engine that does not
    answer is shown as such, with the banner, while the others work."""
    forest = __import__("fake_engine").fixed_forest()
    engine = FakeEngine(forest=forest)
    app = await ui.start(engine, animation=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.query_one(LevelTree)
        tops = [str(node.label) for node in tree.root.children]
        assert not tree.show_root and len(tops) == 3
        assert tops[0].startswith("◆ 0 host") and tops[1].startswith("◆ 0 10.0.0.7:2376")
        assert tops[2].startswith("◆ 0 ci") and "unreachable" in tops[2]
        banner = app.query_one(Banner)
        assert banner.display and "ci: no Docker engine answers at ssh://ci.example" in str(
            banner.render())
        # The first engine is selected at start: its level 0 is in the detail pane.
        await until(pilot, lambda: app.selected_path == "host", "the first engine")

        await spawn_dialog_under(pilot, app, "10.0.0.7:2376")
        assert app.screen.parent_label == "10.0.0.7:2376"
        await pilot.press("end", "ctrl+u", *"far1", "enter")
        await until(pilot, lambda: engine.called("spawn") and not app._busy, "the spawn")
        assert engine.called("spawn") == [("10.0.0.7:2376", "far1")]
        assert "level 10.0.0.7:2376/far1 ready" in ui.infos()[-1]
        await until(pilot, lambda: "10.0.0.7:2376/far1" in tree._by_path, "the new node")

        opened: list[str] = []
        app.open_shell = lambda level: opened.append(level.path)  # a headless app cannot suspend
        await select(pilot, app, "10.0.0.7:2376/l1/deep")
        await pilot.press("s")
        await until(pilot, lambda: opened, "the shell")
        assert opened == ["10.0.0.7:2376/l1/deep"]

        await select(pilot, app, "10.0.0.7:2376")
        await pilot.press("x")  # a level 0 is an engine: it cannot be exited
        assert not isinstance(app.screen, ConfirmDialog)
        await select(pilot, app, "10.0.0.7:2376/l1")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: engine.called("exit_level") and not app._busy, "the exit")
        assert engine.called("exit_level") == [("10.0.0.7:2376/l1",)]
        # The exited level was selected: its nearest level still there is now.
        await until(pilot, lambda: app.selected_path == "10.0.0.7:2376", "the parent selected")
        assert "host/l1" in tree._by_path and "10.0.0.7:2376/l1" not in tree._by_path


async def test_several_engines_search_revive_and_collapse_reach_every_tree(ui):
    forest = __import__("fake_engine").fixed_forest()
    engine = FakeEngine(forest=forest)
    app = await ui.start(engine, animation=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen.hits,
                    "the index")
        assert {hit.level for hit in app.screen.hits} >= {"host", "host/l1", "10.0.0.7:2376",
                                                          "10.0.0.7:2376/l1/deep"}
        await pilot.press("escape")
        await select(pilot, app, "10.0.0.7:2376")
        await pilot.press("v")
        await until(pilot, lambda: engine.called("revive") and not app._busy, "the revive")
        assert engine.called("revive") == [("10.0.0.7:2376",)]
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit dialog")
        assert app.screen.count == 3
        await pilot.click("#collapse")
        await until(pilot, lambda: not app.is_running, "the app to quit", timeout=10)
    assert engine.called("collapse") == [()]
    assert [root.children for root in forest] == [[], [], []]


def _readings():
    """A level's readings as the sampler hands them over: `made(*cpu)` is a history of CPU
    percentages (the last the newest) at 50 MB, each call a new sample."""
    from dindtui.engine.explore import stats as stats_module

    samples = iter(range(1, 1000))

    def made(*cpu: float) -> stats_module.Usage:
        usage = stats_module.Usage()
        for value in cpu:
            usage.cpu.append(value)
            usage.memory.append(50_000_000)
        usage.last = stats_module.Sample(next(samples), 0, 0, 1, 50_000_000, 0)  # a new one
        return usage

    return made


async def test_a_round_of_idle_readings_draws_no_tree_line_again(ui, monkeypatch):
    """Textual draws again every line below a node whose label is set: a round of readings
    that changes nothing shown (an idle daemon's noise) sets no label — level 0's neither, which
    drew the whole tree every two seconds — and makes none (a round comes for every line on
    screen, every 2 s); a busy level's new reading makes and sets its own."""
    from dindtui.widgets import level_tree

    idle = _readings()
    made: list[str] = []
    real_label = level_tree.node_label
    monkeypatch.setattr(level_tree, "node_label", lambda level, *args, **kwargs: (
        made.append(level.path), real_label(level, *args, **kwargs))[1])
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.query_one(LevelTree)
        paths = ("l1", "l1/l2", "l1/l2/l3")
        ui.engine.stats.read({f"level:{p}": idle(0.2, 0.3, 0.1, 0.2, 0.3) for p in paths})
        await pilot.pause(0.1)
        assert set(made) >= set(paths)  # the first readings are shown
        updates = {p: tree._by_path[p]._updates for p in ("", *paths)}
        made.clear()
        ui.engine.stats.read({f"level:{p}": idle(0.3, 0.1, 0.2, 0.3, 0.4) for p in paths})
        await pilot.pause(0.1)
        assert {p: tree._by_path[p]._updates for p in ("", *paths)} == updates
        assert made == []
        busy = {f"level:{p}": idle(0.3, 0.1, 0.2, 0.3, 0.4) for p in paths}
        busy["level:l1/l2"] = idle(0.1, 0.2, 0.3, 0.4, 55.0)
        ui.engine.stats.read(busy)
        await pilot.pause(0.1)
        assert made == ["l1/l2"]
        assert tree._by_path["l1/l2"]._updates > updates["l1/l2"]
        assert tree._by_path[""]._updates == updates[""]
        assert tree._by_path["l1"]._updates == updates["l1"]


async def test_a_cpu_figure_holds_while_an_idle_daemon_s_readings_wander_around_it(ui):
    """Readings of 0.4, 1.3, 0.7 % rounded afresh flip a line between 0% and 1% every round
    (each flip draws the line and those below it again): the figure shown holds within a
    point of its readings, and moves when the use does."""
    usage = _readings()
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.query_one(LevelTree)
        history = [0.5, 0.6, 0.5, 0.6]
        ui.engine.stats.read({"level:l1/l2/l3": usage(*history, 0.4)})
        await pilot.pause(0.1)
        updates = tree._by_path["l1/l2/l3"]._updates
        assert "  0% " in tree._by_path["l1/l2/l3"].label.plain
        for wandering in (1.3, 0.7, 1.4, 0.2):
            ui.engine.stats.read({"level:l1/l2/l3": usage(*history, wandering)})
            await pilot.pause(0.1)
            assert tree._by_path["l1/l2/l3"]._updates == updates, wandering
        ui.engine.stats.read({"level:l1/l2/l3": usage(*history, 2.6)})
        await pilot.pause(0.1)
        assert "  3% " in tree._by_path["l1/l2/l3"].label.plain


async def test_a_stats_round_while_the_pane_is_being_built_is_no_crash(ui):
    """A reading can reach the graphs between their container's mounting and theirs (seen once
    in CI: the app died of it): it waits for the next round; the level's depth is applied once
    they are there."""
    from dindtui.widgets.detail_pane import ResourceGraphs
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        graphs = ResourceGraphs()
        graphs.show(1, fixed_usage(), [])   # nothing composed yet, not even mounted
        graphs.show_depth(0)
        await app.screen.mount(graphs)
        await until(pilot, graphs.composed, "the graphs")
        await pilot.pause()
        assert str(graphs.query_one(".note").render()).startswith("level 0 is the engine")
        assert app.is_running


async def test_the_container_screen_s_status_line_does_not_go_stale(ui, monkeypatch):
    from dindtui.screens import container as container_module
    monkeypatch.setattr(container_module, "STATUS_SECONDS", 0.1)
    fake = __import__("fake_engine")
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await into_containers(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "the container")
        title = app.screen.query_one("#title")
        assert "Up 5 minutes" in str(title.render())
        later = fake.fixed_details

        def aged(path, depth=None):
            details = later(path, depth)
            details.containers = [dataclasses.replace(row, status=row.status.replace(
                "5 minutes", "2 hours")) for row in details.containers]
            return details

        monkeypatch.setattr(fake, "fixed_details", aged)
        await until(pilot, lambda: "Up 2 hours" in str(title.render()), "the status again")


# ------------------------------------------------------------------ hostile input, shown

async def test_another_namespace_s_level_is_marked_and_no_key_acts_on_it(ui, monkeypatch):
    engine = FakeEngine()
    victim = ContainerRow("d4e5f6a7b8c9", "dindtui-other.victim", "dindtui:latest", "running",
                          "Up 1 hour", protected="it is a dindtui level of namespace 'other'")

    def details(level):
        found = fixed_details(level.label, level.depth)
        if level.depth == 0:
            found.containers.append(victim)
        return found

    monkeypatch.setattr(engine, "details", details)
    app = await ui.start(engine)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "")
        table = app.query_one(ContainersTable)
        await until(pilot, lambda: table.row_count == 2, "level 0's containers")
        app.query_one(DetailPane).show_tab("containers")
        table.focus()
        table.move_cursor(row=table.get_row_index("d4e5f6a7b8c9"))
        assert "other namespace" in str(table.get_row("d4e5f6a7b8c9")[0])
        for key in ("K", "D", "S", "R", "U"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert not isinstance(app.screen, ConfirmDialog)
            assert "namespace 'other'" in ui.errors()[-1]
        assert ui.engine.called("act") == []


async def test_what_a_container_writes_reaches_the_screen_as_text(ui):
    app = await ui.start()
    hostile = "\x1b[2J\x1b]52;c;aGk=\x07\x1b]0;owned\x07 \x9b31m red \u202eevil"
    async with app.run_test(size=SIZE) as pilot:
        await into_containers(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContainerScreen), "the container")
        log = app.screen.query_one("Log")
        await until(pilot, lambda: log.line_count == 30, "the first lines")
        ui.engine.follower.feed([f"2026-11-29T09:01:00.000000000Z {hostile}"])
        await until(pilot, lambda: log.line_count == 31, "the hostile line")
        shown = log.lines[-1]
        assert "␛[2J" in shown and "␛]52;c;aGk=␇" in shown and "\\x9b31m red" in shown
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e"
                       for c in shown), repr(shown)
    # A toast with a daemon's words: the app's own notify shows them as text, never markup.
    plain = DindtuiApp(animation=False, engine=FakeEngine())
    async with plain.run_test(size=SIZE) as pilot:
        plain.notify("failed: \x1b]0;owned\x07 [bold]not markup[/]", severity="error")
        await pilot.pause(0.1)
        [note] = list(plain._notifications)
        assert note.message == "failed: ␛]0;owned␇ [bold]not markup[/]" and not note.markup


# ------------------------------------------------------------------ a swarm (tab 6)

def swarm_panel(app):
    from dindtui.widgets.swarm_panel import SwarmPanel
    return app.query_one(SwarmPanel)


def tasks_on(app, node: str, service: str = "web") -> list[str]:
    view = swarm_panel(app).view
    return [t.label for t in view.tasks_by_node().get(node, []) if t.service == service] \
        if view else []


async def test_a_cluster_is_one_line_of_the_tree_and_its_swarm_is_drained_and_scaled(ui):
    """The cluster's line shows its swarm (tab 6) while the tree keeps the keys; enter goes
    into it; `a` drains a node and its tasks move; `+`/`-` scale a service; `K` kills a
    node's level after a yes."""
    from dindtui.model import cluster_key
    from dindtui.widgets.swarm_panel import SwarmNodesTable, SwarmServicesTable
    app = await ui.start(FakeEngine(tree=fake_engine.fixed_cluster_tree()))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.query_one(LevelTree)
        assert [str(n.label).split("  ")[0] for n in tree.root.children] == \
            ["● 1 l1", "⎈ demo"]
        cluster = tree.root.children[1]
        assert [n.data for n in cluster.children] == ["demo-m1", "demo-w1", "demo-w2"]
        tree.select_path(cluster_key("", "demo"))
        pane = app.query_one(DetailPane)
        await until(pilot, lambda: pane.active_tab == "swarm" and swarm_panel(app).view,
                    "the cluster's swarm", timeout=30)  # 10 s ran out once on a loaded machine
        assert app.selected_path == "demo-m1" and app.focused is tree
        assert "3/3 ready" in screen_text(app) and "leader demo-m1" in screen_text(app)
        assert tasks_on(app, "demo-w1") == ["web.2", "web.4"]

        await pilot.press("enter")
        nodes = app.query_one(SwarmNodesTable)
        await until(pilot, lambda: app.focused is nodes, "the nodes table")
        await pilot.press("down")  # demo-w1
        await pilot.press("a")
        await until(pilot, lambda: ui.engine.called("set_availability") and not app._busy,
                    "the drain")
        assert ui.engine.called("set_availability") == [("demo-m1", "demo-w1", "drain")]
        await until(pilot, lambda: not tasks_on(app, "demo-w1"), "no task on the drained node")
        assert sorted(tasks_on(app, "demo-m1") + tasks_on(app, "demo-w2")) == \
            ["web.1", "web.2", "web.3", "web.4"]
        assert "demo-w1 drain" in screen_text(app)
        await pilot.press("a")  # active again
        await until(pilot, lambda: len(ui.engine.called("set_availability")) == 2
                    and not app._busy, "the activation")
        assert ui.engine.called("set_availability")[-1] == ("demo-m1", "demo-w1", "active")

        services = app.query_one(SwarmServicesTable)
        services.focus()
        await pilot.press("plus")
        await until(pilot, lambda: ui.engine.called("scale_service") and not app._busy,
                    "the scale up")
        assert ui.engine.called("scale_service") == [("demo-m1", "web", 5)]
        await until(pilot, lambda: "5/5" in screen_text(app), "web at 5/5")
        await pilot.press("down", "plus")  # agent is global: refused with a word
        await until(pilot, lambda: any("global" in n for n, _ in ui.notes), "the refusal")
        assert len(ui.engine.called("scale_service")) == 1

        nodes.focus()
        await pilot.press("G")  # demo-w2
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("escape")
        assert not ui.engine.called("kill_level")
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: ui.engine.called("kill_level") and not app._busy, "the kill")
        assert ui.engine.called("kill_level") == [("demo-w2",)]


async def test_the_swarm_tab_is_only_for_swarm_nodes(ui):
    app = await ui.start(FakeEngine(tree=fake_engine.fixed_cluster_tree()))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1")
        await until(pilot, lambda: app.query_one(DetailPane).details is not None
                    and app.query_one(DetailPane).details.path == "l1", "l1's details")
        await pilot.press("6")
        assert any("in no swarm" in n for n, _ in ui.notes)
        assert app.query_one(DetailPane).active_tab != "swarm"
        await select(pilot, app, "demo-w1")  # a worker: says it, and where to look
        await until(pilot, lambda: app.query_one(DetailPane).in_swarm, "the swarm tab")
        await pilot.press("6")
        await until(pilot, lambda: swarm_panel(app).view is not None, "the worker's view")
        assert "this level is a worker" in screen_text(app)
        await pilot.press("a")
        assert any("select a manager" in n for n, _ in ui.notes)


async def test_w_makes_a_cluster_under_the_selected_level_asking_name_and_size(ui):
    from dindtui.screens.dialogs import ClusterDialog
    from textual.widgets import Input, Select
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, ClusterDialog), "the cluster dialog")
        dialog = app.screen
        assert dialog.query_one("#cluster-name", Input).value == "swarm"
        dialog.query_one("#cluster-name", Input).value = "l2"  # a level's name: refused
        await pilot.pause()
        assert "taken" in str(dialog.query_one("#cluster-problem").render())
        assert dialog.query_one("#create").disabled
        dialog.query_one("#cluster-name", Input).value = "Bad Name"
        await pilot.pause()
        assert "invalid cluster name" in str(dialog.query_one("#cluster-problem").render())
        dialog.query_one("#cluster-name", Input).value = "web"
        dialog.query_one("#managers", Select).value = 3
        await pilot.pause()
        await pilot.click("#create")
        await until(pilot, lambda: ui.engine.called("create_cluster") and not app._busy,
                    "the cluster")
        assert ui.engine.called("create_cluster") == [("l1", "web", 3, 2)]
        assert "cluster web: 5 nodes Ready" in ui.infos()[-1]
        await until(pilot, lambda: any(n.data == "⎈l1⎈web" for n in app.query_one(
            LevelTree).root.children[0].children), "the cluster's line in the tree")


async def test_the_detail_pane_takes_details_and_swarms_at_any_step_of_building_its_tabs():
    """Textual composes a tab strip's tabs a step after its panes: a swarm reading or a level's
    details that arrive in between wait for the tabs, never raise (a CI run once failed on
    it: "No nodes match '#--content-tab-level'"). Tried at every step of that window."""
    import asyncio
    from textual.app import App
    from dindtui.widgets.swarm_panel import SwarmPanel

    class PaneApp(App):
        def compose(self):
            yield DetailPane()

    swarm = fake_engine.fixed_swarm()
    details = dataclasses.replace(fixed_details("l1"), swarm="manager")
    for steps in range(8):
        app = PaneApp()
        async with app.run_test(size=SIZE) as pilot:
            pane = app.query_one(DetailPane)
            pane.build()
            for _ in range(steps):
                await asyncio.sleep(0)
            pane.show_swarm(swarm)
            pane.show(details)
            pane.activate("swarm")
            await until(pilot, lambda pane=pane: pane.details is not None
                        and pane.active_tab == "swarm", f"the details shown after {steps} steps")
            assert pane.in_swarm and app.query_one(SwarmPanel).view is swarm
            label = str(pane.query_one(TabbedContent).get_tab("swarm").label)
            assert label == f"swarm {swarm.ready}/{len(swarm.nodes)}"


async def test_the_sampler_is_told_which_levels_are_on_screen_and_follows_the_scroll(ui):
    """64 levels in an 80x24 window: only the lines on screen are read often (the sampler's
    cadence itself is tested on the real engine, test_explore.py)."""
    root = fake_engine.fixed_tree(children=False)
    for n in range(1, 65):
        root.children.append(levels.Level(
            f"w{n}", f"w{n}", 1, "ready", f"unix:///run/dindtui/c/w{n}/docker.sock",
            socket_dir=f"/run/dindtui/c/w{n}", container_id=f"{n:02d}" + "a" * 12,
            volume=f"dindtui-w{n}-aa", privilege="privileged", strategy="seed",
            version="26.1.5+dfsg1", parent=root))
    app = await ui.start(FakeEngine(tree=root))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        sampler = ui.engine.stats
        await until(pilot, lambda: sampler.visible is not None and "level:w1" in sampler.visible,
                    "the first lines on screen")
        assert len([k for k in sampler.targets if k.startswith("level:")]) == 64
        assert "level:w2" in sampler.visible and "level:w64" not in sampler.visible
        assert 5 <= len(sampler.visible) <= 24, sampler.visible
        app.query_one(LevelTree).scroll_end(animate=False)
        await until(pilot, lambda: "level:w64" in sampler.visible, "the last lines on screen")
        assert "level:w1" not in sampler.visible and len(sampler.visible) <= 24


async def test_b_brings_several_images_down_from_the_levels_above(ui):
    from dindtui.screens.dialogs import BringDialog
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "l1/l2/l3")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BringDialog), "the bring dialog")
        assert "alpine:3.20  from host" in screen_text(app)
        assert "tiny:latest  from l1" in screen_text(app)
        await pilot.press("space", "down", "space", "enter")
        await until(pilot, lambda: len(ui.engine.called("push")) == 2 and not app._busy,
                    "both images brought down")
        assert sorted(ui.engine.called("push")) == [("l1/l2/l3", "alpine:3.20"),
                                                    ("l1/l2/l3", "tiny:latest")]
        assert any("2 image(s) brought into l1/l2/l3" in note for note, _ in ui.notes)
        await select(pilot, app, "l1")  # nothing above it that it lacks: said, no dialog
        await pilot.press("b")
        await until(pilot, lambda: any("nothing to bring down" in n for n, _ in ui.notes),
                    "the note")
        assert not isinstance(app.screen, BringDialog)


async def test_a_disk_walk_that_cost_seconds_elsewhere_is_made_again_only_that_much_later(ui):
    """The walker is a process of its own: its CPU (the report's, not the app thread's clock)
    sets when the next walk comes, so that walks cost at most USAGE_CPU_SHARE of a CPU."""
    engine = FakeEngine()
    engine.report = dataclasses.replace(fake_engine.fixed_report(), cpu_seconds=4.0)
    app = await ui.start(engine)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await until(pilot, lambda: engine.called("measure") and app.model.report is not None,
                    "the first walk")
        await pilot.pause()
        wait = app._usage_due - time.monotonic()
        assert wait > 4.0 / app_module.USAGE_CPU_SHARE - 60, wait


async def test_quitting_as_the_first_tree_is_drawn_is_no_crash(ui, monkeypatch):
    """The detail pane builds its tabs after the frame that draws the first tree: an app that
    quits in between (a `q` typed at once) must not die of mounting them into a pane that is
    gone (it did: a traceback over the user's terminal)."""
    from dindtui.widgets.level_tree import LevelTree

    real_show = LevelTree.show

    def show_then_quit(self, roots, *args, **kwargs):
        real_show(self, roots, *args, **kwargs)
        if roots and roots[0].children:
            self.call_after_refresh(self.app.exit)

    monkeypatch.setattr(LevelTree, "show", show_then_quit)
    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: not app.is_running, "the app to quit", timeout=10)
    assert app._exception is None
    assert not app.query(DetailPane) or not app.query_one(DetailPane).built


async def test_the_collector_paused_for_the_start_runs_again_after_the_first_frame(ui):
    """`dindtui` starts with the garbage collector off (cli.py): after the first frame the app
    collects once, freezes what survives and turns the collector on again, whatever it shows."""
    app = await ui.start()
    app.collector_paused = True
    gc.disable()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, gc.isenabled, "the collector to be on again", timeout=10)
            assert "l3" in screen_text(app)  # after the frame that drew the tree
            assert gc.get_freeze_count() > 10_000  # Textual's and the app's own objects
            assert not app.collector_paused
    finally:
        gc.unfreeze()
        gc.enable()


async def test_a_graph_s_axis_shows_when_the_pane_is_wide_enough_and_goes_when_it_narrows(ui):
    """The axis (lowest – highest · span) takes columns from the sparkline: it is laid out
    only on a graph at least Graph.AXIS_FROM wide, in the first frame at that width."""
    from dindtui.widgets.detail_pane import Axis

    app = await ui.start()
    async with app.run_test(size=(100, 36)) as pilot:
        await select(pilot, app, "l1/l2/l3")
        await until(pilot, lambda: app.query("#cpu-graph"), "the detail pane's graphs")
        app.query_one(DetailPane).activate("level")
        ui.engine.stats.read({"level:l1/l2/l3": fixed_usage()})
        graph = app.query_one("#cpu-graph")
        await until(pilot, lambda: "21.0%" in str(graph.query_one(".label").render()),
                    "the readings drawn")
        axis = graph.query_one(Axis)
        assert "60 s" in str(axis.render())  # it has its text...
        assert graph.size.width < graph.AXIS_FROM and axis.size.width == 0  # ...not the room
        assert "· 60 s" not in screen_text(app)
        await pilot.resize_terminal(190, 40)
        await until(pilot, lambda: "· 60 s" in screen_text(app), "the axis on a wide pane")
        assert graph.size.width >= graph.AXIS_FROM
        await pilot.resize_terminal(100, 36)
        await until(pilot, lambda: "· 60 s" not in screen_text(app), "the axis gone again")


async def test_details_reaching_a_container_screen_before_it_is_composed_are_no_crash(ui):
    """The app hands every open container screen the level's newest details and readings: one
    can arrive between the screen's push and its compose (a loaded machine: the app died of
    a query for the screen's title). They are kept, and the screen composes with them."""
    from dindtui.messages import DetailsLoaded

    app = await ui.start()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        details = fixed_details("l1/l2/l3")
        level = app.model.find("l1/l2/l3")
        row = next(r for r in details.containers if r.state == "running")
        screen = ContainerScreen(level, row)
        app.push_screen(screen)
        newer = dataclasses.replace(row, status="Up 3 hours")
        app.details_loaded(DetailsLoaded(dataclasses.replace(
            details, containers=[newer if r.id == row.id else r for r in details.containers])))
        await until(pilot, lambda: bool(screen.query("#title")), "the container screen")
        assert app._exception is None
        assert screen.row.status == "Up 3 hours"
