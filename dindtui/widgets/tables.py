"""The tables of a level's contents (containers, images, volumes, networks), updated in place:
a new reading changes cells, not the table, so the cursor stays where the user put it."""

from __future__ import annotations

import time

from typing import Any, Callable, Generic, Iterable, TypeVar

from rich.text import Text
from textual.widgets import DataTable

from .. import actions
from ..actions import bindings
from ..engine.explore.rows import ContainerRow, ImageRow, NetworkRow, VolumeRow
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


class KeyedTable(DataTable):
    """A table whose rows are keyed by an id: `y` copies the id of the row under the cursor,
    `Y` its name, through the terminal's clipboard (OSC 52, as a remote terminal has it)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def name_of(self, key: str) -> str:
        return str(self.get_row(key)[0]).split("  ")[0]

    def action_copy_row(self, what: str = "id") -> None:
        key = selected_key(self)
        if key is None:
            self.notify("no row to copy", severity="warning")
            return
        text = key if what == "id" else self.name_of(key)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {text}", timeout=2)


class RowsTable(KeyedTable, Generic[R]):
    """A table of rows keyed by a short id: the row under the cursor, a row chosen by id (a
    search result), and an order the user chose (`o` the next column, `O` reversed, or a click
    on a header); none chosen: the engine's order."""

    SORT_KEYS: dict[str, Callable[[Any], Any]] = {}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.by_key: dict[str, R] = {}
        self.sort_column: str | None = None
        self.sort_reverse = False

    def ordered(self, rows: list[R]) -> list[R]:
        if self.sort_column is None:
            return rows
        key = self.SORT_KEYS[self.sort_column]
        return sorted(rows, key=key, reverse=self.sort_reverse)

    def sort_by(self, column: str) -> None:
        if column not in self.SORT_KEYS:
            return
        self.sort_reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column = column
        self.redraw()
        self.notify(f"sorted by {column}" + (", reversed" if self.sort_reverse else ""),
                    timeout=2)

    def action_sort_next(self) -> None:
        columns = list(self.SORT_KEYS)
        at = columns.index(self.sort_column) + 1 if self.sort_column in columns else 0
        self.sort_reverse = True  # sort_by flips it back for a new column
        self.sort_column = None
        self.sort_by(columns[at % len(columns)])

    def action_sort_reverse(self) -> None:
        if self.sort_column is not None:
            self.sort_by(self.sort_column)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    def redraw(self) -> None:
        """Draw the rows again in the chosen order."""

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

    SORT_KEYS: dict[str, Callable[[Any], Any]] = {
        "name": lambda row: row.name,
        "state": lambda row: (row.state != "running", row.state),
        "uptime": lambda row: -(row.up_since or 0.0), "image": lambda row: row.image,
        "cpu": lambda row: 0, "memory": lambda row: 0,  # by the latest reading: `ordered`
        "ports": lambda row: row.ports,
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.level_path = ""
        self.usage: dict[str, Usage] = {}
        # Name and state first: on a narrow terminal they are what must show.
        for column in ("name", "state", "uptime", "image", "cpu", "memory", "ports"):
            self.add_column(column, key=column)

    def ordered(self, rows: list[ContainerRow]) -> list[ContainerRow]:
        if self.sort_column not in ("cpu", "memory"):
            return super().ordered(rows)

        def reading(row: ContainerRow) -> float:
            usage = self.usage.get(row.id)
            now = None if usage is None else (
                usage.cpu_now if self.sort_column == "cpu" else usage.memory_now)
            return -1.0 if now is None else float(now)

        return sorted(rows, key=reading, reverse=not self.sort_reverse)  # the busiest first

    def redraw(self) -> None:
        self.show(self.level_path, list(self.by_key.values()), self.usage)

    def name_of(self, key: str) -> str:
        row = self.by_key.get(key)
        return row.name if row is not None else key

    def on_mount(self) -> None:
        self.set_interval(AGE_SECONDS, self.age)

    def age(self) -> None:
        """Running times move on screen between readings ("3 seconds", then "4 seconds"); a
        table not on screen (another tab, another screen) costs nothing."""
        if not self.is_on_screen:
            return
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
        self.usage = usage or {}
        rows = self.ordered(rows)
        self.by_key = {row.id: row for row in rows}
        sync(self, ((row.id, self._cells(row, self.usage.get(row.id))) for row in rows))

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
        return (name, Text(row.state, style=STATE_COLOURS.get(row.state, "")), row.uptime,
                row.image, cpu, memory, row.ports)

    _usage_waiting = False

    def show_usage(self, usage: dict[str, Usage]) -> None:
        """A round of readings: drawn now when the table is on screen, else when it shows
        (redrawing a hidden tab's table every two seconds laid the screen out each time)."""
        self.usage = usage
        if not self.is_on_screen:
            self._usage_waiting = True
            return
        self._usage_waiting = False
        self.show(self.level_path, list(self.by_key.values()), usage)

    def on_show(self) -> None:
        if self._usage_waiting:
            self.show_usage(self.usage)


class ImagesTable(RowsTable[ImageRow]):
    BINDINGS = bindings(actions.IMAGES_TABLE)
    SORT_KEYS: dict[str, Callable[[Any], Any]] = {
        "tags": lambda row: row.tags, "id": lambda row: row.id,
        "size": lambda row: -row.size, "used by": lambda row: -row.used_by,
    }

    def redraw(self) -> None:
        self.show(list(self.by_key.values()))

    def name_of(self, key: str) -> str:
        row = self.by_key.get(key)
        return row.tags[0] if row is not None and row.tags else key

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for column in ("tags", "id", "size", "used by"):
            self.add_column(column, key=column)

    def show(self, rows: list[ImageRow]) -> None:
        rows = self.ordered(rows)
        self.by_key = {row.id: row for row in rows}
        sync(self, ((row.id, (", ".join(row.tags), row.id, human(row.size),
                              f"{row.used_by} container(s)" if row.used_by else ""))
                    for row in rows))


class VolumesTable(KeyedTable):
    BINDINGS = bindings(actions.VOLUMES_TABLE)

    def name_of(self, key: str) -> str:
        return key  # a volume's name is its id

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
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


class NetworksTable(KeyedTable):
    BINDINGS = bindings(actions.PLAIN_TABLE)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_columns("name", "id", "driver", "scope", "containers")

    def show(self, rows: list[NetworkRow]) -> None:
        sync(self, ((row.id, (row.name, row.id, row.driver, row.scope, str(row.containers)))
                    for row in rows))
