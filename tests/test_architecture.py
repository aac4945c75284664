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
    assert {"steward.cli", "steward.journal", "steward.query", "steward.rules", "steward.workspace"} <= modules
    assert "steward.migrations.versions" in modules


def test_importing_every_module_loads_no_qt():
    modules = [m for m in all_modules() if not m.startswith("steward.migrations.")]  # alembic loads those itself
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
