"""Modal dialogs. They share look and behaviour through `Dialog`: its DEFAULT_CSS is written
for the type `Dialog`, which every subclass matches, so no CSS is templated per dialog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from .. import actions
from ..actions import bindings
from ..engine.disk.usage import CleanupPlan
from ..engine.tree import levels
from ..formatting import STATE_STYLE, human

T = TypeVar("T")


class Dialog(ModalScreen[T]):
    """A box in the middle of the screen, a text, and a row of buttons on the right."""

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > Vertical { width: 70; height: auto; border: thick $primary; background: $surface;
                        padding: 1 2; }
    Dialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    Dialog Button { margin-left: 1; }
    """


class ConfirmDialog(Dialog[bool]):
    BINDINGS = bindings(actions.CONFIRM)

    def __init__(self, question: str, confirm: str = "Yes") -> None:
        super().__init__()
        self.question, self.confirm_label = question, confirm

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error")

    def on_mount(self) -> None:
        # Textual calls on_mount of every class of a dialog: a subclass may have no #confirm.
        for button in self.query("#confirm").results(Button):
            button.focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)


STORE_CHOICES = [("image store: what its Docker defaults to", ""),
                 ("image store: overlay2 (classic; seeded in about a second)", "overlay2"),
                 ("image store: containerd (images streamed for now)", "containerd")]


class NameDialog(Dialog[str | None]):
    """Asks for the new level's name, with a default ready to accept, and its image store
    (`store` after the dialog closes; "" for Docker's default). What is not a valid name (or is
    taken in this tree) is said as it is typed, and never spawned: nothing typed is dropped or
    replaced behind the user's back."""

    BINDINGS = bindings(actions.CANCEL)
    DEFAULT_CSS = """
    NameDialog Select { margin-top: 1; }
    NameDialog #name-problem { color: $error; height: auto; }
    """

    def __init__(self, parent_label: str, default: str,
                 taken: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.parent_label, self.default, self.taken = parent_label, default, taken
        self.store = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Spawn a level under [b]{self.parent_label}[/b]. Its name:")
            yield Input(value=self.default, id="name", max_length=64)
            yield Static("", id="name-problem")
            yield Select(STORE_CHOICES, value="", allow_blank=False, id="store")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Spawn", id="spawn", variant="primary")

    def problem(self, name: str) -> str | None:
        if not name:
            return "a level needs a name"
        if name in self.taken:
            return f"level name {name!r} is taken in this tree: choose another"
        return levels.name_problem(name)

    @on(Input.Changed, "#name")
    def name_changed(self, event: Input.Changed) -> None:
        problem = self.problem(event.value)
        self.query_one("#name-problem", Static).update(Text(problem or ""))
        self.query_one("#spawn", Button).disabled = problem is not None

    @on(Input.Submitted)
    @on(Button.Pressed, "#spawn")
    def accept(self) -> None:
        name = self.query_one("#name", Input).value
        problem = self.problem(name)
        if problem is not None:
            self.query_one("#name-problem", Static).update(Text(problem))
            self.app.bell()
            return
        self.store = str(self.query_one("#store", Select).value or "")
        self.dismiss(name)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class ClusterRequest:
    name: str
    managers: int
    workers: int


class ClusterDialog(Dialog["ClusterRequest | None"]):
    """Asks for a cluster's name and its managers and workers; a name that is not valid, or
    whose nodes' names are taken in this tree, is said as it is typed."""

    BINDINGS = bindings(actions.CANCEL)
    DEFAULT_CSS = """
    ClusterDialog Select { margin-top: 1; width: 1fr; }
    ClusterDialog #cluster-problem { color: $error; height: auto; }
    """
    NAME_LIMIT = 20  # engine/swarm/clusters.py: room for "-m32" in a level's name

    def __init__(self, parent_label: str, default: str,
                 taken: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.parent_label, self.default, self.taken = parent_label, default, taken

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"A Docker Swarm of sibling levels under [b]{self.parent_label}[/b], "
                        "seeded with its images. The cluster's name:")
            yield Input(value=self.default, id="cluster-name", max_length=64)
            yield Static("", id="cluster-problem")
            with Horizontal():
                yield Select([(f"{n} manager{'s' if n > 1 else ''}", n) for n in (1, 3, 5)],
                             value=1, allow_blank=False, id="managers")
                yield Select([(f"{n} worker{'s' if n != 1 else ''}", n)
                              for n in (0, 1, 2, 3, 4, 5, 8)],
                             value=2, allow_blank=False, id="workers")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Create", id="create", variant="primary")

    def _counts(self) -> tuple[int, int]:
        managers = self.query_one("#managers", Select).value
        workers = self.query_one("#workers", Select).value
        return (managers if isinstance(managers, int) else 1,
                workers if isinstance(workers, int) else 0)

    def problem(self, name: str) -> str | None:
        if not name:
            return "a cluster needs a name"
        found = levels.name_problem(name)
        if found:
            return found.replace("level name", "cluster name")
        if len(name) > self.NAME_LIMIT:
            return f"at most {self.NAME_LIMIT} characters (its nodes are named {name}-m1, ...)"
        managers, workers = self._counts()
        nodes = [f"{name}-m{i}" for i in range(1, managers + 1)] + \
            [f"{name}-w{i}" for i in range(1, workers + 1)]
        taken = [n for n in nodes if n in self.taken]
        if name in self.taken or taken:
            return f"taken in this tree: {', '.join(taken or [name])}"
        return None

    @on(Input.Changed, "#cluster-name")
    @on(Select.Changed)
    def changed(self) -> None:
        problem = self.problem(self.query_one("#cluster-name", Input).value)
        self.query_one("#cluster-problem", Static).update(Text(problem or ""))
        self.query_one("#create", Button).disabled = problem is not None

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def accept(self) -> None:
        name = self.query_one("#cluster-name", Input).value
        problem = self.problem(name)
        if problem is not None:
            self.query_one("#cluster-problem", Static).update(Text(problem))
            self.app.bell()
            return
        self.dismiss(ClusterRequest(name, *self._counts()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class RunRequest:
    image: str
    command: str
    name: str
    push_first: bool = False  # an image of a level above: brought down, then run


class RunDialog(Dialog["RunRequest | None"]):
    """`docker run -d` in a level: the image (one of the level's own, or of a level above,
    brought down first), a command, a name. Tab completes an image's name."""

    BINDINGS = bindings(actions.CANCEL)
    DEFAULT_CSS = """
    RunDialog Input { margin-bottom: 1; }
    """

    def __init__(self, level_label: str, image: str = "", images: tuple[str, ...] = (),
                 above: dict[str, str] | None = None) -> None:
        super().__init__()
        self.level_label, self.image, self.images = level_label, image, images
        self.above = {tag: where for tag, where in (above or {}).items() if tag not in images}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Run a container in [b]{self.level_label}[/b] (detached).")
            yield Input(value=self.image, placeholder="image (this level's, or one from above)",
                        id="image", suggester=SuggestFromList([*self.images, *self.above]))
            yield Input(placeholder="command (empty: the image's own)", id="command")
            yield Input(placeholder="name (empty: Docker picks one)", id="name",
                        restrict=r"[a-zA-Z0-9_.-]*")
            if self.images:
                yield Static(Text("images here: " + ", ".join(self.images[:8]), style="dim"))
            if self.above:
                yield Static(Text("from the levels above (brought down first): " + ", ".join(
                    f"{tag} ({where})" for tag, where in list(self.above.items())[:8]),
                    style="dim"), id="above")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Run", id="run", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#command" if self.image else "#image", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#run")
    def accept(self) -> None:
        image = self.query_one("#image", Input).value.strip()
        if not image:
            self.notify("an image is needed", severity="warning")
            self.query_one("#image", Input).focus()
            return
        self.dismiss(RunRequest(image, self.query_one("#command", Input).value,
                                self.query_one("#name", Input).value,
                                push_first=image in self.above))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class BringDialog(Dialog["list[str] | None"]):
    """Images of the levels above brought down into a level, several at once: each from the
    nearest level that has it, straight there (through no level in between). Space ticks an
    image, Enter brings the ticked ones (or the highlighted one)."""

    BINDINGS = bindings(actions.CANCEL)
    DEFAULT_CSS = """
    BringDialog SelectionList { height: auto; max-height: 14; margin-bottom: 1; }
    """

    def __init__(self, level_label: str, above: dict[str, str]) -> None:
        super().__init__()
        self.level_label, self.above = level_label, dict(above)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Bring images down into [b]{self.level_label}[/b] "
                        "(space ticks, enter brings).")
            yield SelectionList[str](*[(Text(f"{tag}  from {where}"), tag)
                                       for tag, where in sorted(self.above.items())],
                                     id="images")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Bring down", id="bring", variant="primary")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter" and self.query_one(SelectionList).has_focus:
            event.stop()
            self.accept()

    @on(Button.Pressed, "#bring")
    def accept(self) -> None:
        images = self.query_one(SelectionList)
        chosen = list(images.selected)
        if not chosen and images.highlighted is not None:
            chosen = [images.get_option_at_index(images.highlighted).value]
        self.dismiss(chosen or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class QuitDialog(Dialog[str | None]):
    """Leaving with levels alive: keep them running (the default) or collapse them all."""

    BINDINGS = bindings(actions.QUIT)

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.count} level(s) are running. They keep running after you quit "
                         "unless you collapse them.")
            with Horizontal():
                yield Button("Stay", id="stay")
                yield Button("Collapse all and quit", id="collapse", variant="error")
                yield Button("Quit, keep levels", id="keep", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "stay" else event.button.id)

    def action_stay(self) -> None:
        self.dismiss(None)

    def action_keep(self) -> None:
        self.dismiss("keep")


def plan_table(plan: CleanupPlan) -> Table:
    table = Table(expand=True, box=None, padding=(0, 1))
    for column in ("level", "state", "on", "volume"):
        table.add_column(column, no_wrap=True)
    table.add_column("frees", justify="right", no_wrap=True)
    for item in plan.items:
        table.add_row(item.level, Text(item.state, style=STATE_STYLE.get(item.state, "yellow")),
                      item.daemon or "host", item.volume, human(item.bytes))
    return table


class CleanupDialog(ConfirmDialog):
    """The confirmation of a cleanup, with exactly what it would free."""

    DEFAULT_CSS = """
    CleanupDialog > Vertical { width: 100; }
    CleanupDialog VerticalScroll { height: auto; max-height: 16; }
    """
    BINDINGS = bindings(actions.CLEANUP)

    def __init__(self, plan: CleanupPlan) -> None:
        super().__init__("", f"Free {human(plan.total)}")
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical():
            if not self.plan.items:
                yield Static("Nothing to clean: every dindtui volume belongs to a live level.")
                with Horizontal():
                    yield Button("Close", id="cancel", variant="primary")
                return
            yield Static(f"Cleanup will remove {len(self.plan.items)} volume(s) of dead or "
                         "exited levels. Live levels are never touched.")
            with VerticalScroll():
                yield Static(plan_table(self.plan))
            yield Static(Text.assemble("Frees ", (human(self.plan.total), "bold"), " on disk."))
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error")

    def on_mount(self) -> None:
        if not self.plan.items:
            self.query_one("#cancel", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(bool(self.plan.items))
