"""The core stays free of Qt, so the command line and the exchange never load a GUI toolkit."""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import steward

QT_PREFIXES = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken", "qtpy")
STEWARD_DIR = Path(steward.__file__).parent


def all_modules() -> list[str]:
    return sorted(
        info.name for info in pkgutil.walk_packages([str(STEWARD_DIR)], prefix="steward.")
        if info.name != "steward.__main__"  # runs the command line when imported
    )


def test_the_walk_finds_the_core_modules():
    modules = set(all_modules())
    assert {"steward.cli", "steward.workspace.journal", "steward.workspace.query", "steward.catalogue.rules",
            "steward.workspace.workspace", "steward.sync.syncer", "steward.files.importer"} <= modules
    assert "steward.workspace.migrations.versions" in modules


def test_importing_every_module_loads_no_qt():
    # alembic loads the migrations itself
    modules = [m for m in all_modules() if not m.startswith("steward.workspace.migrations.")]
    script = textwrap.dedent(f"""
        import importlib, sys
        for name in {modules!r}:
            importlib.import_module(name)
        loaded = sorted(m for m in sys.modules if m.startswith({QT_PREFIXES!r}))
        assert not loaded, loaded
        print(len({modules!r}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == len(modules) > 10


def test_running_the_command_line_loads_no_qt(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from steward import cli
        code = cli.main(["validate", {str(tmp_path / "none")!r}])
        loaded = sorted(m for m in sys.modules if m.startswith({QT_PREFIXES!r}))
        assert code == 2 and not loaded, (code, loaded)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


IMPORT_LINE = re.compile(r"^\s*(?:import|from)\s+(PySide\d?|PyQt\d?|shiboken\d?)\b", re.MULTILINE)


def imports(tree: ast.AST) -> Iterator[tuple[str, bool]]:
    """(module name, whether at module level) of every import statement and import_module("...") call."""
    top_level = {id(node) for node in getattr(tree, "body", [])}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top_level
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, id(node) in top_level
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module", "__import__"
        ):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield arg.value, False


def test_no_source_file_of_the_core_imports_qt():
    files = sorted(STEWARD_DIR.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not IMPORT_LINE.search(text), (path, IMPORT_LINE.search(text))
        for name, _ in imports(ast.parse(text)):
            assert not name.startswith(QT_PREFIXES), (path, name)


def test_the_core_loads_the_window_only_on_demand():
    """The window (ui/, which is Qt) may be imported by name inside a command, never at module level."""
    for path in sorted(STEWARD_DIR.rglob("*.py")):
        for name, top_level in imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name == "ui" or name.startswith("ui."):
                assert not top_level, (path, name)


def test_the_import_check_would_notice_qt():
    tree = ast.parse("import os\nfrom PySide6.QtCore import QObject\ndef f():\n    import ui.app\n")
    assert list(imports(tree)) == [("os", True), ("PySide6.QtCore", True), ("ui.app", False)]
    assert IMPORT_LINE.search("x = 1\nfrom PySide6 import QtCore\n")
    assert not IMPORT_LINE.search('MESSAGE = "install PySide6-Essentials"\n')


# No import circle between files ------------------------------------------------------------------

PACKAGES = ("steward", "ui", "exchange")
ROOT = STEWARD_DIR.parent


def module_files() -> dict[str, Path]:
    """Every module of steward/, ui/ and exchange/ by dotted name (packages by their __init__)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if ".migrations." not in f"{name}.":  # alembic loads those as scripts
                found[name] = path
    return found


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module name -> the modules among `sources` it imports, at module level or inside a function."""
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"
            ):
                targets = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            for target in targets:
                if target in sources and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_between_files():
    files = module_files()
    assert {"steward.cli", "ui.app", "exchange.app", "steward.sync.syncer"} <= set(files)
    graph = import_graph({name: path.read_text(encoding="utf-8") for name, path in files.items()})
    assert "ui.app" in graph["steward.cli"]  # the lazy import of the window counts too
    assert circles(graph) == []


def test_the_circle_check_would_notice_one():
    sources = {
        "steward.a": "from steward import b\n",
        "steward.b": "def f():\n    import steward.c\n",
        "steward.c": "from steward.a import thing\n",
        "steward.d": "import steward.a\n",
    }
    assert circles(import_graph(sources)) == [["steward.a", "steward.b", "steward.c"]]
