"""A progress line docked at the bottom while a long operation runs (spawn, clean, ...)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from ..engine.progress import Progress
from ..formatting import human


class TaskBar(Horizontal):
    DEFAULT_CSS = """
    TaskBar { display: none; height: 1; dock: bottom; margin-bottom: 1; padding: 0 1; }
    TaskBar.busy { display: block; }
    TaskBar Label { width: 1fr; }
    TaskBar ProgressBar { width: 50; }
    """

    def compose(self) -> ComposeResult:
        yield Label(id="task-label")

    def start(self, title: str) -> None:
        """The progress bar exists only while a task runs: an idle one still animates."""
        self.title = title
        self.query_one(Label).update(title)
        if not self.query(ProgressBar):
            self.mount(ProgressBar(id="task-progress", show_eta=False))
        self.add_class("busy")

    def report(self, report: Progress) -> None:
        detail = report.message
        if report.stage == "push" and report.done is not None:
            detail = f"moving image: {human(report.done)} of {human(report.total)}"
        self.query_one(Label).update(f"{self.title}: {detail}"[:120])
        bars = self.query(ProgressBar)
        if not bars:
            return
        bar = bars.first(ProgressBar)
        if report.total:
            bar.update(total=report.total, progress=report.done or 0)
        else:
            bar.update(total=None)

    def finish(self) -> None:
        self.remove_class("busy")
        self.query(ProgressBar).remove()
