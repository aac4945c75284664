"""`make screenshots`: PNGs of the main window (and its header menu), the editor with problems, bulk edit, pending
changes, the publish preview, the sharing requests' inbox, form and signed trail, import.

Runs offscreen on a generated sample workspace in Chinese. Chinese text needs a CJK font
installed (fonts-noto-cjk on Debian); without one it renders as boxes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QFontDatabase, QPainter
from PySide6.QtWidgets import QApplication, QWidget

from steward import sample
from steward.files import template
from steward.sync import identity, syncer
from steward.sync.conflicts import Take
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.workspace import journal, query
from steward.workspace.journal import SetField
from steward.workspace.workspace import Workspace
from ui import demo as demo_setup
from ui.bulk_edit import BulkEditDialog
from ui.conflict_dialog import ConflictDialog
from ui.demo_requests import requester_folder
from ui.i18n import Translators
from ui.import_wizard import ImportWizard
from ui.main_window import MainWindow
from ui.pending_view import PendingChangesDialog
from ui.request_form import RequestForm
from ui.request_trail import RequestTrailDialog
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
    # The demo's set-up: a sample workspace synced with a local exchange, so the pending view and
    # the conflict dialog show what a steward meets after a sync.
    demo = demo_setup.prepare(work / "demo")
    exchange = demo.start_exchange()
    workspace = Workspace.open(demo.workspace_folder(1))
    _sync(workspace, exchange.url)
    settings = Settings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    settings.language = "zh_CN"
    translators = Translators()
    translators.install(app, "zh_CN")
    session = Session(workspace, settings)
    session.language = "zh"
    window = MainWindow(session, translators)
    window.resize(1366, 768)  # the screens departments have: the problems and changed columns must show
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
    _header_menu_shot(app, window, folder)

    with workspace.reading() as conn:
        broken = query.entry_pks(conn, query.EntryFilter(has_problems=True))
        broken_row = query.rows(conn, broken[:1])[0]
    window.select_entry(broken_row.id)
    _settle(app)
    # The steward makes sharing conditional: the conditions it now needs are asked for under their field.
    if broken_row.sharing_type != "conditional":
        session.apply([SetField(broken_row.id, "sharing_type", "conditional"),
                       SetField(broken_row.id, "sharing_conditions", "")], "共享类型")
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
    _publish_preview_shot(app, folder, window, session)

    _request_shots(app, folder, window, demo, settings)
    _conflict_shot(app, folder, demo, exchange.url, workspace, settings)

    wizard = ImportWizard(session, window)
    wizard.set_files([_import_sample(work / "部门编目表.xlsx", department)])
    wizard.show()
    wizard.next()
    while wizard.plan is None and wizard.failure is None:
        app.processEvents()
    _settle(app)
    _save(wizard, folder, "import-wizard")
    wizard.close()
    window.close()
    session.close()
    exchange.stop()
    return 0


def _publish_preview_shot(app: QApplication, folder: Path, window: MainWindow, session: Session) -> None:
    """Beside the edits above, one synced entry opened to the public and one closed: what the next sync publishes."""
    found = {}
    with session.workspace.reading() as conn:
        for open_type in ("not_open", "unconditional"):
            found[open_type] = conn.exec_driver_sql(
                "SELECT id FROM entries WHERE dirty = 0 AND error_count = 0 AND status = 'active' AND open_type = ? "
                "ORDER BY pk DESC LIMIT 1", (open_type,)).scalar_one()
    session.apply([SetField(found["not_open"], "open_type", "unconditional")], "开放属性")
    session.apply([SetField(found["unconditional"], "open_type", "not_open")], "开放属性",
                  reason="含个人信息，不宜开放")
    dialog = window.show_publish_preview()
    dialog.resize(1000, 360)
    while dialog.is_loading():
        app.processEvents()
    _settle(app)
    _save(dialog, folder, "publish-preview")
    dialog.close()


def _header_menu_shot(app: QApplication, window: MainWindow, folder: Path) -> None:
    """The table's header menu, painted where a right-click on the header opens it."""
    menu = window.table.header_menu()
    header = window.table.horizontalHeader()
    menu.popup(header.mapToGlobal(QPoint(header.sectionViewportPosition(2) + 20, header.height())))
    _settle(app)
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(window.mapFromGlobal(menu.pos()), menu.grab())
    painter.end()
    path = folder / "table-header-menu.png"
    shot.save(str(path))
    print(path)
    menu.close()


def _request_shots(app: QApplication, folder: Path, window: MainWindow, demo: demo_setup.Demo,
                   settings: Settings) -> None:
    """The inbox of the demo's sharing requests, one request's signed trail, and the other department's form."""
    inbox_dialog = window.show_inbox()
    inbox_dialog.resize(1100, 420)
    while inbox_dialog.is_loading() or inbox_dialog.model.rowCount() == 0:
        app.processEvents()
    inbox_dialog.select(inbox_dialog.model.request_row(0).summary.request_id)  # the overdue one, in red
    _settle(app)
    _save(inbox_dialog, folder, "requests-inbox")
    escalated = next(row.summary.request_id for row in (inbox_dialog.model.request_row(n)
                                                         for n in range(inbox_dialog.model.rowCount()))
                     if row is not None and row.summary.status == "denied")
    trail = RequestTrailDialog(window.session, escalated, window)
    trail.resize(1000, 480)
    trail.show()
    while trail.is_loading():
        app.processEvents()
    _settle(app)
    _save(trail, folder, "request-trail")
    trail.close()
    inbox_dialog.close()

    requester = Session(Workspace.open(requester_folder(demo)), settings)
    requester.language = "zh"
    with requester.workspace.reading() as conn:
        pks = query.entry_pks(conn, query.EntryFilter(sharing_types=frozenset({"conditional"})))
        entry = query.get_entry(requester.workspace, query.rows(conn, pks[-1:])[0].id)
    form = RequestForm(requester, entry, lambda: None)
    form.purpose.setPlainText("核验网约车平台企业的登记信息")
    form.scenario.setPlainText("网约车驾驶员背景核查，每月比对一次")
    for n in range(1, form.items.count(), 2):
        form.items.item(n).setCheckState(Qt.CheckState.Unchecked)
    form.show()
    _settle(app)
    _save(form, folder, "request-form")
    form.close()
    requester.close()


def _sync(workspace: Workspace, url: str) -> None:
    key = identity.signing_key(workspace, lambda _new: demo_setup.DEMO_PASSPHRASE)
    client = ExchangeClient(Connection(url), key)
    try:
        syncer.sync(workspace, client, key)
    finally:
        client.close()


def _conflict_shot(app: QApplication, folder: Path, demo: demo_setup.Demo, url: str, first: Workspace,
                   settings: Settings) -> None:
    """A second steward renames an entry the first renamed too: the dialog a steward then meets."""
    _sync(first, url)
    second = Workspace.open(demo_setup.steward_workspace(demo, 2))
    _sync(second, url)
    with first.reading() as conn:
        entry_id = conn.exec_driver_sql(
            "SELECT id FROM entries WHERE dirty = 0 AND error_count = 0 ORDER BY pk LIMIT 1").scalar_one()
    entry = query.get_entry(first, entry_id)
    journal.apply(first, [SetField(entry_id, "name", entry.name + "(按新名录更名)"),
                          SetField(entry_id, "update_frequency", "weekly")])
    journal.apply(second, [SetField(entry_id, "name", entry.name + "(二〇二六年版)"),
                           SetField(entry_id, "update_frequency", "monthly"),
                           SetField(entry_id, "abstract", entry.abstract + "补充:数据来源为业务系统。")])
    _sync(first, url)
    _sync(second, url)
    session = Session(second, settings)
    session.language = "zh"
    dialog = ConflictDialog(session)
    dialog.resize(1100, 420)
    dialog.show()
    while dialog.model.rowCount() == 0:
        app.processEvents()
    dialog.model.choose(0, Take.THEIRS)
    _settle(app)
    _save(dialog, folder, "conflict-dialog")
    dialog.close()
    session.close()


def _import_sample(path: Path, department: sample.Department) -> Path:
    """A department's sheet as they come: new entries, local words, and a few cells the import must refuse."""
    entries = list(sample.generate(department, 14, seed=23, first_sequence=900))
    entries[2].sharing_type = "conditional"
    entries[2].sharing_conditions = ""
    with template.open_workbook(path) as (entry_sheet, item_sheet):
        for n, entry in enumerate(entries):
            cells = template.entry_cells(entry)
            columns = {c.key: i for i, c in enumerate(template.ENTRY_COLUMNS)}
            if n == 1:
                cells[columns["sharing_type"]] = "按需共享"  # a local word: understood
                cells[columns["sharing_conditions"]] = "经审批后用于市场监管"
            if n == 4:
                cells[columns["open_type"]] = "看情况开放"
            if n == 6:
                cells[columns["published"]] = "明年三月"
            if n == 9:
                cells[columns["code"]] = template.entry_cells(entries[8])[columns["code"]]
            entry_sheet.append(cells)
            for m, item in enumerate(entry.items):
                row = template.item_cells(entry.code if n != 9 else entries[8].code, item)
                if n == 11 and m == 2:
                    row[3] = "十八"
                item_sheet.append(row)
    return path


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots")))
