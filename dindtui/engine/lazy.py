"""A module imported when first used: the facade names every part of the engine, but `ls` or the
TUI's first frame use few of them, and the rest (with the docker SDK and its HTTP stack behind
them) cost about 150 ms to import. `LazyModule("dindtui.engine.lifecycle.spawn")` stands for
the module; its first attribute read imports it (importlib's own locks make a thread that
asks while another imports wait for the whole module, never see half of it), every later one
reads the module kept. Modules that use it name the real module under
TYPE_CHECKING, so mypy checks every call as before."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    __slots__ = ("_name", "_loaded")

    def __init__(self, name: str) -> None:
        self._name = name
        self._loaded: ModuleType | None = None

    def _module(self) -> ModuleType:
        loaded = self._loaded
        if loaded is None:
            # Never sys.modules alone: a module another thread is importing is there already,
            # half made; import_module waits for it.
            loaded = self._loaded = importlib.import_module(self._name)
        return loaded

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._module(), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"
