"""A fixed tree for snapshot tests: the real app's screens and widgets, fed plain data instead
of an engine (pure rendering; every behaviour test uses the real engine)."""

from __future__ import annotations

from dindtui.app import DetailsLoaded, DindtuiApp, TreeLoaded
from dindtui.engine.details import ContainerRow, ImageRow, LevelDetails
from dindtui.engine.levels import Level
from dindtui.engine.spawn import ExitEvent
from dindtui.engine.usage import CleanupItem, CleanupPlan, UsageReport, VolumeUsage
from dindtui.widgets.cleanup_modal import CleanupModal
from dindtui.widgets.collapse import CollapseScreen

MB = 1_000_000


def fixed_tree(children: bool = True) -> Level:
    root = Level("host", "", 0, "ready", "unix:///var/run/docker.sock", version="20.10.24+dfsg1")
    if not children:
        return root
    l1 = Level("l1", "l1", 1, "ready", "unix:///run/dindtui/c/l1/docker.sock",
               socket_dir="/run/dindtui/c/l1", container_id="c1a2b3c4d5e6f7", volume="dindtui-l1-aa",
               privilege="capabilities", strategy="seed", version="26.1.5+dfsg1", parent=root)
    l2 = Level("l2", "l1/l2", 2, "ready", "unix:///run/dindtui/c/l1/c/l2/docker.sock",
               container_id="d2e3f4a5b6c7d8", volume="dindtui-l2-bb", privilege="privileged",
               strategy="seed", version="26.1.5+dfsg1", parent=l1)
    l3 = Level("l3", "l1/l2/l3", 3, "ready", "unix:///run/dindtui/c/l1/c/l2/c/l3/docker.sock",
               container_id="e3f4a5b6c7d8e9", volume="dindtui-l3-cc", privilege="privileged",
               strategy="seed", version="26.1.5+dfsg1", port=2376, parent=l2)
    side = Level("side", "l1/side", 2, "dead", None, container_id="f4a5b6c7d8e9f0",
                 volume="dindtui-side-dd", privilege="privileged", parent=l1)
    root.children, l1.children, l2.children = [l1], [l2, side], [l3]
    return root


def fixed_report() -> UsageReport:
    return UsageReport([
        VolumeUsage("dindtui-l1-aa", "", "l1", 1, "live", "c1", 12 * MB, 417 * MB),
        VolumeUsage("dindtui-l2-bb", "l1", "l1/l2", 2, "live", "d2", 8 * MB, 417 * MB),
        VolumeUsage("dindtui-l3-cc", "l1/l2", "l1/l2/l3", 3, "live", "e3", 31 * MB, 417 * MB),
        VolumeUsage("dindtui-side-dd", "l1", "l1/side", 2, "dead", "f4", 5 * MB, 417 * MB,
                    5 * MB),
        VolumeUsage("dindtui-old-ee", "", "old", 1, "orphan", None, 140 * MB, 0, 140 * MB),
    ], 196 * MB, "inode")


def fixed_details(path: str) -> LevelDetails:
    if path == "host":
        return LevelDetails("host", 0, "ready", "20.10.24+dfsg1", "overlay2", "1",
                            endpoint="unix:///var/run/docker.sock",
                            containers=[ContainerRow("c1a2b3c4d5e6", "dindtui-l1", "dindtui:latest",
                                                     "running", "Up 2 hours", True)],
                            images=[ImageRow("16331ace4159", ("dindtui:latest",), 413 * MB)])
    return LevelDetails(
        path, path.count("/") + 1, "ready", "26.1.5+dfsg1", "overlay2", "1", "privileged",
        "seed", "unix:///run/dindtui/c/l1/c/l2/c/l3/docker.sock", 2376, 3725.0, "dindtui-l3-cc",
        containers=[ContainerRow("0a1b2c3d4e5f", "web", "tiny", "running", "Up 5 minutes", False),
                    ContainerRow("1b2c3d4e5f60", "job", "tiny", "exited",
                                 "Exited (0) 2 minutes ago", False)],
        images=[ImageRow("16331ace4159", ("dindtui:latest",), 413 * MB),
                ImageRow("9f8e7d6c5b4a", ("tiny:latest",), 3 * MB)])


def fixed_plan() -> CleanupPlan:
    return CleanupPlan([CleanupItem("dindtui-side-dd", "l1", "l1/side", "dead", "f4", 5 * MB),
                        CleanupItem("dindtui-old-ee", "", "old", "orphan", None, 140 * MB)])


class SnapshotApp(DindtuiApp):
    """The real app with its engine calls replaced by the fixed data above."""

    def __init__(self, root: Level | None = None, error: str | None = None, select: str = ""):
        super().__init__(animation=True)
        self.spinning = False
        self.fixed_root, self.fixed_error, self.select = root, error, select

    def on_mount(self) -> None:
        self.report = fixed_report()
        self.post_message(TreeLoaded(self.fixed_root, self.fixed_error))
        if self.select:
            self.set_timer(0.05, lambda: self.query_one("#tree").select_path(self.select))

    def refresh_tree(self) -> None:
        pass

    def measure_usage(self) -> None:
        pass

    def watch_events(self, endpoint: str) -> None:
        pass

    def load_details(self, level: Level) -> None:
        self.post_message(DetailsLoaded(fixed_details(level.label)))

    def set_timer(self, delay, callback=None, **kwargs):
        if self.fixed_root is None and callback == self._retry:
            return None  # no retry loop in a snapshot
        return super().set_timer(delay, callback, **kwargs)


def collapse_frame() -> CollapseScreen:
    screen = CollapseScreen(spinning=False)
    return screen


COLLAPSE_EVENTS = [ExitEvent("l1/l2/l3", 3, "exiting", "e3f4a5b6c7d8"),
                   ExitEvent("l1/l2/l3", 3, "exited", "e3f4a5b6c7d8"),
                   ExitEvent("l1/l2", 2, "exiting", "d2e3f4a5b6c7"),
                   ExitEvent("l1/l2", 2, "exited", "d2e3f4a5b6c7"),
                   ExitEvent("l1", 1, "exiting", "c1a2b3c4d5e6")]

__all__ = ["SnapshotApp", "fixed_tree", "fixed_plan", "CleanupModal", "collapse_frame",
           "COLLAPSE_EVENTS"]
