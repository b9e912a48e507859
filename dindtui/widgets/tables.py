"""The tables of a level's contents (containers, images, volumes, networks), updated in place:
a new reading changes cells, not the table, so the cursor stays where the user put it."""

from __future__ import annotations

import time

from typing import Generic, Iterable, TypeVar

from rich.text import Text
from textual.widgets import DataTable

from .. import actions
from ..actions import bindings
from ..engine.explore.inside import ContainerRow, ImageRow, NetworkRow, VolumeRow
from ..engine.explore.stats import Usage
from ..formatting import human, percent, spark

# The keys that act on one container: the containers table binds them (the screen acts), and
# the container screen binds the same ones; the help and the command palette list them.

STATE_COLOURS = {"running": "green", "paused": "blue", "restarting": "yellow",
                 "created": "yellow", "exited": "red", "dead": "red", "removing": "red"}


def sync(table: DataTable, rows: Iterable[tuple[str, tuple]]) -> None:
    """Show `rows` (key, cells): cells are updated in place while the keys and their order
    stay; otherwise the table is refilled and the cursor goes back to the row it was on."""
    rows = list(rows)
    keys = [key for key, _ in rows]
    current = [row.value for row in table.rows]
    if keys == current:
        columns = list(table.columns)
        for key, cells in rows:
            old = table.get_row(key)
            for column, value, before in zip(columns, cells, old, strict=False):
                if str(value) != str(before):
                    table.update_cell(key, column, value, update_width=True)
        return
    on = None
    if table.row_count and 0 <= table.cursor_row < table.row_count:
        on = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if on in keys:
        table.move_cursor(row=keys.index(on))


def selected_key(table: DataTable) -> str | None:
    if not table.row_count or not 0 <= table.cursor_row < table.row_count:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value




R = TypeVar("R")


AGE_SECONDS = 1.0  # how often running times are drawn again


class RowsTable(DataTable, Generic[R]):
    """A table of rows keyed by a short id: the row under the cursor, and a row chosen by id
    (a search result)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.by_key: dict[str, R] = {}

    @property
    def selected(self) -> R | None:
        key = selected_key(self)
        return self.by_key.get(key) if key else None

    def select_id(self, an_id: str) -> None:
        keys = [row.value for row in self.rows]
        if an_id[:12] in keys:
            self.move_cursor(row=keys.index(an_id[:12]))


class ContainersTable(RowsTable[ContainerRow]):
    """The containers of one level; the container keys act on the row under the cursor."""

    BINDINGS = bindings(actions.CONTAINERS_TABLE)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.level_path = ""
        for column in ("name", "image", "state", "uptime", "cpu", "memory", "ports"):
            self.add_column(column, key=column)

    def on_mount(self) -> None:
        self.set_interval(AGE_SECONDS, self.age)

    def age(self) -> None:
        """Running times move on screen between readings ("3 seconds", then "4 seconds")."""
        now = time.time()
        keys = {row.value for row in self.rows}
        for row in self.by_key.values():
            if row.up_since is not None and row.id in keys:
                text = row.uptime_at(now)
                if self.get_cell(row.id, "uptime") != text:
                    self.update_cell(row.id, "uptime", text)

    def show(self, level_path: str, rows: list[ContainerRow],
             usage: dict[str, Usage] | None = None) -> None:
        self.level_path = level_path
        self.by_key = {row.id: row for row in rows}
        sync(self, ((row.id, self._cells(row, (usage or {}).get(row.id))) for row in rows))

    def _cells(self, row: ContainerRow, usage: Usage | None) -> tuple:
        name = Text(row.name, style="bold" if row.is_level else "")
        if row.is_level:
            name.append(" ⤷ level", style="cyan")
        elif row.protected:
            name.append(" ⊘ " + ("other namespace's level" if "namespace" in row.protected
                                 else "dindtui's, not yours to act on"), style="magenta")
        cpu = memory = ""
        if usage is not None and row.state == "running":
            cpu = f"{percent(usage.cpu_now)} {spark(usage.cpu, 6, 100)}".strip()
            memory = human(usage.memory_now)
        return (name, row.image, Text(row.state, style=STATE_COLOURS.get(row.state, "")),
                row.uptime, cpu, memory, row.ports)

    def show_usage(self, usage: dict[str, Usage]) -> None:
        self.show(self.level_path, list(self.by_key.values()), usage)


class ImagesTable(RowsTable[ImageRow]):
    BINDINGS = bindings(actions.IMAGES_TABLE)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_columns("tags", "id", "size", "used by")

    def show(self, rows: list[ImageRow]) -> None:
        self.by_key = {row.id: row for row in rows}
        sync(self, ((row.id, (", ".join(row.tags), row.id, human(row.size),
                              f"{row.used_by} container(s)" if row.used_by else ""))
                    for row in rows))


class VolumesTable(DataTable):
    BINDINGS = bindings(actions.PLAIN_TABLE)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.add_columns("name", "driver", "used by")

    def show(self, rows: list[VolumeRow]) -> None:
        def name(row: VolumeRow) -> Text:
            text = Text(row.name if len(row.name) <= 40 else row.name[:12] + "…")
            if row.level_path:
                text.append(f"  level {row.level_path}", style="cyan")
            return text

        sync(self, ((row.name, (name(row), row.driver,
                                f"{row.used_by} container(s)" if row.used_by else "unused"))
                    for row in rows))


class NetworksTable(DataTable):
    BINDINGS = bindings(actions.PLAIN_TABLE)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.add_columns("name", "id", "driver", "scope", "containers")

    def show(self, rows: list[NetworkRow]) -> None:
        sync(self, ((row.id, (row.name, row.id, row.driver, row.scope, str(row.containers)))
                    for row in rows))
