"""The dream is collapsing: one frame per level, nested like the tree. As each level really
exits (the engine's exit events, deepest first), its prompt types `exit` and its frame folds
into its parent's; when the last one is gone the spinning top wobbles. Any key skips it (the
exit goes on in its worker)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Static

from ..engine.tree.levels import Level
from ..widgets.spin_top import SpinTop

if TYPE_CHECKING:  # the lifecycle is no part of a first frame
    from ..engine.lifecycle.exiting import ExitEvent

WAITING, EXITING, EXITED = "waiting", "exiting", "exited"


@dataclass
class Frame:
    """One level of the dream: its place, and how far its exit has come."""

    path: str
    name: str
    depth: int
    children: list[Frame] = field(default_factory=list)
    state: str = WAITING
    container_id: str = ""
    folded: list[str] = field(default_factory=list)  # children gone, innermost first

    @classmethod
    def of(cls, level: Level) -> Frame:
        return cls(level.path, level.name, level.depth, [cls.of(c) for c in level.children],
                   container_id=(level.container_id or "")[:12])

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def render_frame(frame: Frame) -> RenderableType:
    prompt = Text.assemble((f"root@{frame.container_id or frame.name}", "green"), ":/# ")
    if frame.state == EXITING:
        prompt.append("exit", style="bold")
        prompt.append("▌", style="blink")
    parts: list[RenderableType] = [prompt]
    for name in frame.folded:
        parts.append(Text(f"  ↳ {name} folded in", style="dim green"))
    for child in frame.children:
        if child.state != EXITED:
            parts.append(render_frame(child))
    style = {"waiting": "dim", "exiting": "bold red"}.get(frame.state, "dim")
    return Panel(Group(*parts), title=Text(f" {frame.depth} {frame.name} ", style=style),
                 title_align="left", border_style=style, padding=(0, 1))


class CollapseScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    CollapseScreen { align: center middle; background: $background 85%; }
    CollapseScreen > Horizontal { width: 100; max-width: 96%; height: auto; max-height: 90%;
                                  border: thick $accent; background: $surface; padding: 1 2; }
    CollapseScreen #frames { width: 1fr; height: auto; min-height: 10; margin-left: 3; }
    """

    def __init__(self, levels: list[Level] | None = None, title: str = "The dream is "
                 "collapsing…", *, spinning: bool = True):
        super().__init__()
        self.title_text = title
        self.spinning = spinning
        self.frames = [Frame.of(level) for level in levels or []]
        self.history: list[tuple[str, str]] = []  # (path, phase), as the exits happened
        self.done = False

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield SpinTop(spinning=self.spinning)
            with Vertical(id="frames"):
                yield Static(Text(self.title_text, style="bold"), id="title")
                yield Static(self._dream(), id="dream")

    def _find(self, path: str) -> tuple[Frame | None, Frame | None]:
        """The frame of `path` and its parent frame."""
        for top in self.frames:
            for frame in top.walk():
                for child in frame.children:
                    if child.path == path:
                        return child, frame
            if top.path == path:
                return top, None
        return None, None

    def _dream(self) -> RenderableType:
        shown = [render_frame(f) for f in self.frames if f.state != EXITED]
        if not shown:
            return Text("(every level has exited)", style="dim")
        return Group(*shown)

    def add_event(self, event: ExitEvent) -> None:
        """One real step of the exit: the level is exiting, or has exited (its volume freed
        after that is no step of the dream)."""
        if event.phase not in (EXITING, EXITED):
            return
        self.history.append((event.path, event.phase))
        frame, parent = self._find(event.path)
        if frame is None:  # a level the screen was not told about: a frame at the top
            frame = Frame(event.path, event.path.rsplit("/", 1)[-1], event.depth,
                          container_id=event.container_id)
            self.frames.append(frame)
        frame.container_id = event.container_id or frame.container_id
        frame.state = EXITING if event.phase == "exiting" else EXITED
        if frame.state == EXITED and parent is not None:
            parent.folded.append(frame.name)
        self.query_one("#dream", Static).update(self._dream())
        if self.frames and all(f.state == EXITED for f in self.frames):
            self.query_one(SpinTop).wobble()

    def finish(self, message: str = "…and you wake up.") -> None:
        self.done = True
        self.query_one("#title", Static).update(Text(message, style="bold"))
        self.query_one(SpinTop).wobble()
        self.set_timer(2.0, self._close)

    def _close(self) -> None:
        if self.is_attached and self.app.screen is self:
            self.dismiss(None)

    def on_key(self, event: Key) -> None:
        event.stop()
        self.dismiss(None)  # skip: the exit itself goes on in its worker
