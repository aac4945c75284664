"""`make screenshots`: PNGs of the main window, the editor with problems, bulk edit and pending changes.

Runs offscreen on a generated sample workspace in Chinese. Chinese text needs a CJK font
installed (fonts-noto-cjk on Debian); without one it renders as boxes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication, QWidget

from steward import journal, query, sample
from steward.journal import SetField
from steward.workspace import Workspace
from ui.bulk_edit import BulkEditDialog
from ui.i18n import Translators
from ui.main_window import MainWindow
from ui.pending_view import PendingChangesDialog
from ui.session import Session
from ui.settings import Settings


def _settle(app: QApplication, rounds: int = 40) -> None:
    for _ in range(rounds):
        app.processEvents()
    app.thread().msleep(50)
    for _ in range(rounds):
        app.processEvents()


def _save(widget: QWidget, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    widget.grab().save(str(path))
    print(path)
    return path


def _cjk_font_present() -> bool:
    return any("CJK" in family or "Noto Sans SC" in family for family in QFontDatabase.families())


def main(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not _cjk_font_present():
        print("warning: no CJK font installed; Chinese will render as boxes (apt-get install fonts-noto-cjk)")
    work = Path(tempfile.mkdtemp(prefix="steward-shots-"))
    department = sample.DEPARTMENTS[0]
    workspace = Workspace.create(work / "ws", department.code, department.name)
    journal.apply(workspace, [journal.CreateEntry(e) for e in sample.generate(department, 400, seed=11)])
    settings = Settings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    settings.language = "zh_CN"
    translators = Translators()
    translators.install(app, "zh_CN")
    session = Session(workspace, settings)
    session.language = "zh"
    window = MainWindow(session, translators)
    window.resize(1500, 900)
    window.show()
    while window.model.rowCount() == 0:
        app.processEvents()
    _settle(app)

    # Some local edits, so the changed markers and the pending view have something to show.
    with workspace.reading() as conn:
        pks = query.entry_pks(conn, query.EntryFilter())
        rows = query.rows(conn, pks[:6])
    for row in rows[:3]:
        session.apply([SetField(row.id, "update_frequency", "monthly")], "更新周期")
    journal.apply(workspace, [SetField(rows[3].id, "name", rows[3].name + "(修订)")])
    _settle(app)
    _save(window, folder, "main-window")

    with workspace.reading() as conn:
        broken = query.entry_pks(conn, query.EntryFilter(has_problems=True))
        broken_row = query.rows(conn, broken[:1])[0]
    window.select_entry(broken_row.id)
    _settle(app)
    _save(window.editor, folder, "entry-editor-problems")

    dialog = BulkEditDialog(session, [r.id for r in rows], window)
    dialog.show()
    _settle(app)
    _save(dialog, folder, "bulk-edit")
    dialog.close()

    pending = PendingChangesDialog(session, window)
    pending.resize(900, 420)
    pending.show()
    _settle(app)
    _save(pending, folder, "pending-changes")
    pending.close()
    window.close()
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots")))
