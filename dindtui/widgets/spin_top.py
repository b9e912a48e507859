"""The spinning top from assets/spintop.txt: turns while something is collapsing or waiting."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from textual.timer import Timer
from textual.widgets import Static


@lru_cache(maxsize=1)
def load_frames() -> tuple[str, ...]:
    """Frames of the top: the asset's blocks between lines holding only '%%', comments out."""
    text = resources.files("dindtui").joinpath("data/spintop.txt").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    frames: list[str] = []
    current: list[str] = []
    for line in lines + ["%%"]:
        if line.strip() == "%%":
            if current:
                frames.append("\n".join(current))
            current = []
        else:
            current.append(line)
    # Same width and height for every frame, so the top turns in place instead of jumping.
    width = max(len(line) for frame in frames for line in frame.splitlines())
    height = max(len(frame.splitlines()) for frame in frames)
    return tuple("\n".join(line.ljust(width) for line in
                           frame.splitlines() + [""] * (height - len(frame.splitlines())))
                 for frame in frames)


class SpinTop(Static):
    """A turning top. `spinning=False` holds one frame still (for snapshots)."""

    DEFAULT_CSS = """
    SpinTop { width: auto; height: auto; color: $accent; }
    """

    def __init__(self, *, spinning: bool = True, frame: int = 0, interval: float = 0.12,
                 **kwargs) -> None:
        self.frames = load_frames()
        self.frame = frame % len(self.frames)
        self.spinning = spinning
        self.interval = interval
        self._timer: Timer | None = None
        super().__init__(self.frames[self.frame], **kwargs)

    def on_mount(self) -> None:
        if self.spinning:
            self._timer = self.set_interval(self.interval, self.advance)

    def pause(self) -> None:
        """Hidden: no timer wakes the app (idle CPU)."""
        if self._timer is not None:
            self._timer.pause()

    def resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()

    def wobble(self) -> None:
        """The dream is over: the top slows down and wobbles from side to side (does it
        fall?). Held still, it shows its wobbled pose."""
        if getattr(self, "_wobbling", False):
            return
        self._wobbling = True
        self._tilt = 0
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.spinning:
            self._slow = self.interval
            self.set_timer(self._slow, self._wobble_step)
        else:
            self.styles.padding = (0, 0, 0, 1)

    def _wobble_step(self) -> None:
        self._tilt = (self._tilt + 1) % 4
        self.styles.padding = (0, 0, 0, (0, 1, 2, 1)[self._tilt])
        self.frame = (self.frame + 1) % len(self.frames)
        self.update(self.frames[self.frame])
        self._slow = min(self._slow * 1.25, 0.6)
        self.set_timer(self._slow, self._wobble_step)

    def advance(self) -> None:
        if not self.region:  # hidden (the greeting behind a tree): no work, no repaint
            return
        self.frame = (self.frame + 1) % len(self.frames)
        self.update(self.frames[self.frame])
