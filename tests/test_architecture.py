"""The rules docs/architecture.md states, checked on the code (engine-free): the layers (the
engine never imports Textual, UI code never imports Docker, the init only the standard
library), no import circles, the screens never importing the app, `--help` loading neither the
docker SDK nor Textual, and the map naming every module."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.engine_free
PACKAGE = os.path.join(os.path.dirname(__file__), "..", "dindtui")
MAP = os.path.join(os.path.dirname(__file__), "..", "docs", "architecture.md")
ROOT = os.path.join(os.path.dirname(__file__), "..")


def area(module: str) -> str:
    """dindtui.screens.main -> screens; dindtui -> ""."""
    return (module.split(".") + [""])[1]


def modules() -> dict[str, str]:
    """dotted name -> file, for every module of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3]
                found[relative.replace(os.sep, ".").removesuffix(".__init__")] = path
    return found


def imports(module: str, path: str) -> set[str]:
    """Every module `module` imports (absolute, dotted), TYPE_CHECKING ones included."""
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def own_imports(module: str, path: str, known: dict[str, str]) -> set[str]:
    return {name for name in imports(module, path) if name in known and name != module}


def test_no_module_of_the_package_is_in_an_import_circle():
    known = modules()
    graph = {module: own_imports(module, path, known) for module, path in known.items()}
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    circles = []

    def visit(node: str, stack: list[str], state: dict[str, int]) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                circles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack, state)
        stack.pop()
        state[node] = 2

    state: dict[str, int] = {}
    for module in sorted(graph):
        if module not in state:
            visit(module, [], state)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_no_two_folders_of_the_engine_import_each_other():
    known = modules()
    folder = {m: m.split(".")[2] for m in known
              if m.startswith("dindtui.engine.") and known[m].count(os.sep) >
              known["dindtui.engine.facade"].count(os.sep)}
    ties = {(folder[m], folder[t]) for m in folder for t in own_imports(m, known[m], known)
            if t in folder and folder[t] != folder[m]}
    assert len(set(folder.values())) >= 6
    both = sorted({tuple(sorted(tie)) for tie in ties if tie[::-1] in ties})
    assert not both, both


def test_the_engine_never_imports_textual():
    known = modules()
    engine = [m for m in known if m.startswith("dindtui.engine")]
    assert len(engine) > 20 and "dindtui.engine.facade" in engine
    loaded = subprocess.run([sys.executable, "-c", "import sys; " + "; ".join(
        f"import {m}" for m in engine) + "; print('textual' in sys.modules)"],
        capture_output=True, text=True)
    assert loaded.stdout.strip() == "False", loaded.stderr


def test_ui_code_never_imports_docker():
    known = modules()
    ui = [m for m in known if area(m) in ("app", "messages", "formatting", "model",
                                                  "controls", "widgets", "screens", "commands",
                                                  "cli")]
    assert len(ui) > 20
    for module in ui:
        names = imports(module, known[module])
        assert not any(n.split(".")[0] in ("docker", "requests") for n in names), module


def test_the_screens_and_widgets_never_import_the_app():
    known = modules()
    for module in known:
        if area(module) in ("screens", "widgets", "controls", "model"):
            assert "dindtui.app" not in imports(module, known[module]), module


def test_the_model_and_the_commands_import_no_textual():
    known = modules()
    for module in known:
        if area(module) in ("model", "controls", "commands", "cli", "formatting"):
            assert not any(n.split(".")[0] == "textual" for n in imports(module, known[module])), \
                module


def test_the_init_imports_the_standard_library_only():
    known = modules()
    init = [m for m in known if m == "dindtui.inner_init" or m.startswith("dindtui.init")]
    assert len(init) > 8
    for module in init:
        names = {n.split(".")[0] for n in imports(module, known[module])
                 if not n.startswith(("dindtui.init", "init"))}
        assert names <= set(sys.stdlib_module_names), (module, names)


def test_help_loads_neither_the_docker_sdk_nor_textual():
    loaded = subprocess.run([sys.executable, "-c", "import sys, contextlib, io\n"
                             "from dindtui import cli\n"
                             "with contextlib.redirect_stdout(io.StringIO()):\n"
                             "    try: cli.main(['--help'])\n"
                             "    except SystemExit: pass\n"
                             "print(sorted(m for m in ('docker', 'textual') if m in sys.modules))"],
                            capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_the_tui_and_the_engine_facade_import_no_docker_sdk():
    """The SDK and its HTTP stack (about 110 ms) are loaded when a client is first made: the
    TUI's first frame and `ls` read local daemons over the bare socket (lazy.py, bare.py)."""
    loaded = subprocess.run([sys.executable, "-c", "import sys\n"
                             "import dindtui.app, dindtui.engine.facade, dindtui.cli\n"
                             "print(sorted(m for m in ('docker', 'requests', 'urllib3') "
                             "if m in sys.modules))"], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_the_tui_s_start_builds_no_command_s_parser():
    """`dindtui` alone opens the TUI without the commands' modules and their parser (about
    20 ms of its start), nor the CLI's Rich output (progress bars, tables)."""
    loaded = subprocess.run([sys.executable, "-c", "import sys\n"
                             "import dindtui.app as app\n"
                             "app.run_app = lambda **kwargs: 0\n"
                             "from dindtui import cli\n"
                             "assert cli.main([]) == 0\n"
                             "print(sorted(m for m in sys.modules if m.startswith("
                             "('dindtui.commands.', 'rich.progress'))))"],
                            capture_output=True, text=True,
                            env={**os.environ, "DOCKER_HOST":
                                 "unix:///nonexistent/docker.sock"})
    assert loaded.returncode == 0 and loaded.stdout.strip() == "[]", loaded.stderr


def test_the_tui_starts_with_the_collector_paused_and_the_app_told_so():
    """`dindtui` alone turns the garbage collector off for the start (about 80 ms of it here)
    and tells the app, which turns it on again after the first frame; a command leaves it on."""
    probe = ("import gc\n"
             "import dindtui.app as app\n"
             "app.run_app = lambda **kwargs: print(gc.isenabled(), kwargs['collector_paused'])"
             " or 0\n"
             "from dindtui import cli\n"
             "assert cli.main([]) == 0\n")
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    started = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             env=env)
    assert started.stdout.split() == ["False", "True"], started.stderr
    command = subprocess.run([sys.executable, "-c", "import gc\nfrom dindtui import cli\n"
                              "cli.main(['ls'])\nprint(gc.isenabled())"],
                             capture_output=True, text=True, env=env)
    assert command.stdout.split()[-1:] == ["True"], command.stderr


def test_the_map_names_every_module():
    text = open(MAP).read()
    missing = [module for module, path in modules().items()
               if not path.endswith("__init__.py") and module != "dindtui.__main__"
               and f"{os.path.basename(path)}" not in text]
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_every_key_is_bound_from_the_one_registry():
    """No screen or widget makes a Binding of its own: every BINDINGS is `bindings(SCOPE)` of
    dindtui/actions.py, every scope there is bound somewhere, and no scope binds one key to two
    actions."""
    from dindtui import actions

    made_elsewhere, bound = [], set()
    for module, path in modules().items():
        tree = ast.parse(open(path).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Binding" \
                    and module != "dindtui.actions":
                made_elsewhere.append(f"{module}:{node.lineno}")
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "BINDINGS"
                                                    for t in node.targets):
                value = node.value
                assert isinstance(value, ast.Call) and getattr(value.func, "id", "") == \
                    "bindings", f"{module}:{node.lineno}: BINDINGS not from the registry"
                bound.add(ast.unparse(value.args[0]).removeprefix("actions."))
    assert not made_elsewhere, f"Binding made outside actions.py: {made_elsewhere}"
    scopes = {name for name, value in vars(actions).items()
              if any(value is scope for scope in actions.SCOPES.values())}
    assert scopes == bound, f"scopes bound nowhere: {scopes - bound}; unknown: {bound - scopes}"
    assert actions.clashes() == []


def test_the_registry_catches_a_key_bound_twice(monkeypatch):
    from dindtui import actions

    monkeypatch.setitem(actions.SCOPES, "main screen", actions.MAIN + (
        actions.Action("something_else", "n", "other", "another action on n"),))
    assert actions.clashes() == ["main screen: n is both spawn and something_else"]


def test_the_readme_s_engine_table_has_the_shape_of_a_matrix_run():
    """The README's compatibility table is bench/matrix.py's output: its columns, one row per
    combination, every cell a ✓ with a time or a ✗ with a reason."""
    import importlib.util
    path = os.path.join(ROOT, "bench", "matrix.py")
    spec = importlib.util.spec_from_file_location("matrix", path)
    matrix = importlib.util.module_from_spec(spec)
    sys.modules["matrix"] = matrix  # its dataclasses look their module up there
    spec.loader.exec_module(matrix)
    text = open(os.path.join(ROOT, "README.md")).read()
    start = text.index("<!-- matrix: bench/matrix.py --markdown -->")
    rows = text[start:text.index("<!-- /matrix -->")].strip().splitlines()[1:]
    assert rows[0] == matrix.table([]).splitlines()[0]
    assert rows[1] == matrix.table([]).splitlines()[1]
    names = [row.split(" | ")[0].lstrip("| ") for row in rows[2:]]
    assert names == [combo.name for combo in matrix.COMBOS]
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
        assert len(cells) == len(matrix.COLUMNS), row
        assert all(re.match(r"(✓ \d+\.\ds|✗ .+)", cell) for cell in cells), row
