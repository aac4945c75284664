"""The Chinese UI is Chinese: with the zh_CN catalogues loaded, no English word shows in any window or dialog.

One walker (`shown_texts`) reads every text a widget tree puts on screen or gives a screen reader; each test
opens a real window or dialog in Chinese and fails on the English words in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel, QAbstractListModel, QCoreApplication, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFileDialog,
    QFileSystemModel,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QSpinBox,
    QTabWidget,
    QTextEdit,
    QWidget,
    QWizard,
)

from steward.catalogue.vocabulary import vocabulary
from steward.sync import conflicts
from steward.sync.merge import FieldConflict
from steward.sync.requests.inbox import Box
from steward.workspace.journal import SetField, default_author
from tests.spreadsheets import catalogue_xlsx, entry_row, item_rows
from tests.ui import sharing_requests
from tests.ui.conftest import a_profile, first_entry, ids_where
from ui.bulk_edit import BulkEditDialog
from ui.conflict_dialog import ConflictDialog
from ui.export_dialog import ExportDialog
from ui.first_start import FirstStartDialog, WorkspaceFailureDialog
from ui.history_view import HistoryDialog
from ui.import_wizard import ImportWizard
from ui.main_window import MainWindow
from ui.pending_view import PendingChangesDialog
from ui.profile_dialog import OpenProfileDialog
from ui.reason_dialog import ReasonDialog
from ui.request_answer import AnswerDialog, Answering
from ui.request_form import RequestForm, not_shared_notice
from ui.request_trail import RequestTrailDialog
from ui.requests_view import RequestsDialog
from ui.settings_dialog import SettingsDialog

# Runs of Latin letters; a single letter (a data type code, a mnemonic) is no word.
WORD = re.compile(r"[A-Za-z]{2,}")
# Latin words the Chinese UI keeps: names of formats, encodings and standards, and the keys of the keyboard.
ALLOWED = frozenset({
    "Excel", "CSV", "DCAT", "AP", "JSON", "XLSX", "URL", "HTTP", "HTTPS", "TLS", "PEM", "CA", "UTF", "GBK",
    "Ctrl", "Shift", "Alt", "Del", "Delete", "Esc", "Enter", "Return", "Tab", "Backspace", "Ins", "Home", "End",
    "PgUp", "PgDown", "Space",
})
# Names of several words or with a hyphen, and what is no word at all: removed before looking for words.
NOT_WORDS = re.compile(
    r"Project Open Data|JSON-LD|Turtle|urn:uuid"
    r"|[a-z]+://[!-~]+"                                          # https://exchange.example:8443/v1
    r"|(?:[0-9a-f]{4} ){3,}[0-9a-f]{4}"                          # key fingerprints, in groups of four digits
    r"|[!-~]*[/\\][!-~]*"                                        # /home/x/ws, C:\x, 319002/000901
    r"|\*\.[A-Za-z0-9]+|(?<![A-Za-z0-9.])\.[A-Za-z0-9]+"         # *.xlsx, .jsonld
    r"|[\w-]+(?:\.[A-Za-z0-9-]+)+"                               # data.json, 目录.xlsx
    r"|(?<![0-9A-Za-z])(?=[0-9A-Za-z]*\d)[0-9A-Za-z]{6,}(?![0-9A-Za-z])"  # codes, key ids: letters with digits
)
# Whole texts that stay as they are: each language named in its own words where it is chosen, and the format
# types the national standard lists, which are names of products and file formats (MySQL, SQL Server, OFD).
FORMAT_TYPES: list[list[str]] = [term.extra.get("types", []) for term in vocabulary("format_category").terms]  # type: ignore[misc]
AS_THEY_ARE = frozenset({"中文", "English", *(kind for kinds in FORMAT_TYPES for kind in kinds)})
ROWS_READ = 20  # of each item view: enough to meet every kind of row the sample has


def english_words(text: str) -> list[str]:
    return [w for w in WORD.findall(NOT_WORDS.sub(" ", re.sub(r"<[^>]+>|&\w+;", " ", text))) if w not in ALLOWED]


def _columns(model: QAbstractItemModel, parent: QModelIndex) -> int:
    # PySide makes a list model's columnCount private: it has one column.
    return 1 if isinstance(model, QAbstractListModel) else model.columnCount(parent)


def _model_texts(model: QAbstractItemModel, parent: QModelIndex, depth: int) -> Iterator[tuple[str, str]]:
    name = type(model).__name__
    for row in range(min(model.rowCount(parent), ROWS_READ)):
        for column in range(_columns(model, parent)):
            if isinstance(model, QFileSystemModel) and column == 0:
                continue  # the names of files and folders are the steward's
            index = model.index(row, column, parent)
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = index.data(role)
                if isinstance(value, str):
                    yield f"{name}[{row},{column}]", value
        if depth:
            yield from _model_texts(model, model.index(row, 0, parent), depth - 1)


def _action_texts(action: QAction, where: str) -> Iterator[tuple[str, str]]:
    yield f"{where} action", action.text()
    yield f"{where} action tip", action.toolTip()
    yield f"{where} action status tip", action.statusTip()
    if action.menu() is not None:
        yield from shown_texts(action.menu())


def shown_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for every text `root` and its children show or give a screen reader, shown now or later.

    Hidden children count (the other wizard page, the error label that appears on a mistake); so do the
    menus of actions, the rows and headers of item views, and the standard context menu of text fields.
    """
    for widget in [root, *root.findChildren(QWidget)]:
        where = f"{type(widget).__name__}({widget.objectName()})"
        if widget.isWindow():
            yield f"{where} title", widget.windowTitle()
        for kind in ("toolTip", "statusTip", "whatsThis", "accessibleName", "accessibleDescription"):
            yield f"{where} {kind}", getattr(widget, kind)()
        for action in widget.actions():
            yield from _action_texts(action, where)
        if isinstance(widget, QLabel | QAbstractButton):
            yield where, widget.text()
        if isinstance(widget, QGroupBox):
            yield where, widget.title()
        if isinstance(widget, QMenu):
            yield where, widget.title()
        if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit):
            yield f"{where} placeholder", widget.placeholderText()
            yield where, widget.text() if isinstance(widget, QLineEdit) else widget.toPlainText()
            menu = widget.createStandardContextMenu()
            yield from (pair for action in menu.actions() for pair in _action_texts(action, f"{where} context menu"))
            menu.deleteLater()
        if isinstance(widget, QComboBox):
            yield from ((f"{where} item", widget.itemText(i)) for i in range(widget.count()))
        if isinstance(widget, QSpinBox):
            yield from ((where, text) for text in (widget.specialValueText(), widget.prefix(), widget.suffix()))
        if isinstance(widget, QTabWidget):
            yield from ((f"{where} tab", widget.tabText(i)) for i in range(widget.count()))
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for orientation, count in ((Qt.Orientation.Horizontal, _columns(model, QModelIndex())),
                                       (Qt.Orientation.Vertical, model.rowCount(QModelIndex()))):
                for section in range(min(count, ROWS_READ)):
                    header = model.headerData(section, orientation, Qt.ItemDataRole.DisplayRole)
                    if isinstance(header, str):
                        yield f"{where} header", header
            yield from _model_texts(model, QModelIndex(), depth=2)
        if isinstance(widget, QWizard):
            for button in QWizard.WizardButton:
                if button.value <= QWizard.WizardButton.CustomButton3.value:
                    yield f"{where} button", widget.buttonText(button)
            for page_id in widget.pageIds():
                page = widget.page(page_id)
                yield f"{where} page", page.title()
                yield f"{where} page", page.subTitle()
        if isinstance(widget, QMainWindow):
            yield f"{where} status", widget.statusBar().currentMessage()


def english_in(root: QWidget, own: Collection[str] = ()) -> list[str]:
    """Where `root` shows English, but for the language names and texts that are the steward's `own` data."""
    return sorted({f"{where}: {text!r}" for where, text in shown_texts(root)
                   if text not in AS_THEY_ARE and text not in own and english_words(text)})


def english_in_modal(qtbot, open_it: Callable[[], object], own: Collection[str] = ()) -> list[str]:
    """Open a modal dialog (a static QMessageBox, a QFileDialog), read it while it is up, close it."""
    found: list[str] = []

    def read() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, read)
            return
        found.extend(english_in(dialog, own))
        found.append("")  # read
        dialog.close()

    QTimer.singleShot(0, read)
    open_it()
    qtbot.waitUntil(lambda: "" in found, timeout=5000)
    return [f for f in found if f]


@pytest.fixture
def chinese(chinese_ui, session):
    """A session of the Chinese UI: the core's messages and labels in Chinese too."""
    session.settings.language = "zh_CN"
    session.language = "zh"
    return session


@pytest.fixture
def own(tmp_path) -> frozenset[str]:
    """Texts of the steward's, not the UI's: their login (the author of changes), the reason the sample was
    recorded with, the names of their folders."""
    return frozenset({default_author(), "sample", Path.home().name, *tmp_path.parts})


@pytest.fixture
def window(qtbot, chinese):
    """The main window on an entry with problems, after an edit (the undo action names it)."""
    window = MainWindow(chinese)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10000)
    window.select_entry(first_entry(chinese.workspace, "error_count > 0").id)
    with qtbot.waitSignal(window.model.loaded, timeout=10000):
        window.duplicate_entry()
    qtbot.waitUntil(lambda: window.editor.entry_id is not None, timeout=5000)
    yield window
    window.close()  # closing saves and reads once more: the answers come while the window is there to take them
    chinese.runner.wait_all()
    QApplication.processEvents()


def shown(qtbot, dialog: QWidget) -> QWidget:
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_the_walker_finds_english_where_there_is_some(qtbot, session, tmp_path):
    """In the English UI: without this the tests below could pass by reading nothing."""
    found = english_in(shown(qtbot, SettingsDialog(session.settings)))
    assert any("&Language" in f for f in found) and len(found) > 10


def test_the_main_window_has_no_english(window, own):
    assert window.undo_action.text() != QCoreApplication.translate("QUndoStack", "Undo")  # it names the edit
    assert not (found := english_in(window, own)), "\n".join(found)


@pytest.mark.parametrize("action", ["show_about", "erase_entry", "sync"])
def test_the_main_windows_message_boxes_have_no_english(qtbot, window, own, action):
    assert not (found := english_in_modal(qtbot, getattr(window, action), own)), "\n".join(found)


def test_qt_file_dialog_has_no_english(qtbot, chinese, own, tmp_path):
    """Qt's own file dialog (as on a desktop without a native one): its labels, buttons and file types."""
    folder = tmp_path / "导入"
    (folder / "文件夹").mkdir(parents=True)
    (folder / "目录.xlsx").write_bytes(b"")
    dialog = QFileDialog(None, QCoreApplication.translate("FilePage", "Import catalogue"), str(folder))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.setNameFilter(QCoreApplication.translate("FilePage", "Excel workbooks (*.xlsx)"))
    shown(qtbot, dialog)
    files = dialog.findChild(QFileSystemModel)
    qtbot.waitUntil(lambda: files.rowCount(files.index(str(folder))) == 2, timeout=5000)
    assert not (found := english_in(dialog, own)), "\n".join(found)


@pytest.mark.parametrize("make", [
    pytest.param(lambda s, _p: SettingsDialog(s.settings), id="settings"),
    pytest.param(lambda s, _p: ExportDialog(s), id="export"),
    pytest.param(lambda s, _p: BulkEditDialog(s, ids_where(s.workspace)), id="bulk edit"),
    pytest.param(lambda _s, _p: ReasonDialog(QCoreApplication.translate(
        "MainWindow", "Retiring keeps the entry on record but withdraws it from the catalogue.")), id="reason"),
    pytest.param(lambda _s, p: FirstStartDialog(default_folder=p / "new"), id="first start"),
    pytest.param(lambda _s, p: WorkspaceFailureDialog("", default_folder=p / "sample"), id="workspace failure"),
    pytest.param(lambda s, _p: HistoryDialog(s, first_entry(s.workspace).id), id="history"),
    pytest.param(lambda s, p: OpenProfileDialog(a_profile(), p / "上海市卫生健康委员会.steward-profile",
                                                folder=p / "上海市卫生健康委员会", language="zh"), id="open profile"),
    pytest.param(lambda s, _p: PendingChangesDialog(s), id="pending"),
    pytest.param(lambda s, _p: ImportWizard(s), id="import file page"),
    pytest.param(lambda s, _p: RequestForm(s, first_entry(s.workspace), lambda: None), id="request form"),
    pytest.param(lambda s, _p: not_shared_notice(first_entry(s.workspace), None), id="not shared notice"),
    *(pytest.param(lambda _s, _p, a=answering: AnswerDialog(a, sharing_requests.summary()), id=f"{answering} dialog")
      for answering in Answering),
])
def test_each_dialog_has_no_english(qtbot, chinese, own, tmp_path, make):
    dialog = shown(qtbot, make(chinese, tmp_path))
    chinese.runner.wait_all()  # what the dialog reads on opening, shown before it is looked at
    QApplication.processEvents()
    qtbot.waitUntil(lambda: not getattr(dialog, "is_loading", bool)(), timeout=5000)
    assert not (found := english_in(dialog, own)), "\n".join(found)


def test_the_conflict_dialog_has_no_english(qtbot, chinese, own):
    entry = first_entry(chinese.workspace, "error_count = 0")
    chinese.apply([SetField(entry.id, "name", "本地改的名称")], "改名")
    with chinese.workspace.writing() as conn:
        conflicts.record(conn, [FieldConflict(entry.id, "name", None, entry.name, "本地改的名称", "对方改的名称"),
                                FieldConflict(entry.id, "sharing_type", None, "unconditional", "conditional",
                                              "not_shared")], "changeset-1")
    dialog = shown(qtbot, ConflictDialog(chinese))
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=5000)
    assert not (found := english_in(dialog, own)), "\n".join(found)


def test_the_import_preview_has_no_english(qtbot, chinese, own, tmp_path):
    rows = [entry_row("319001/990001"), entry_row("319001/990002", open_type="半开放")]
    path = catalogue_xlsx(tmp_path / "目录.xlsx", rows, item_rows("319001/990001"))
    wizard = shown(qtbot, ImportWizard(chinese))
    wizard.set_files([path])
    with qtbot.waitSignal(wizard.plan_ready, timeout=20000):
        wizard.next()
    assert not (found := english_in(wizard, own)), "\n".join(found)


@pytest.mark.parametrize("box", list(Box)[:2])
def test_the_request_lists_have_no_english(qtbot, chinese, own, box):
    dialog = shown(qtbot, RequestsDialog(chinese, box, lambda: None))
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=5000)
    dialog.model.set_rows(sharing_requests.rows())  # a request overdue, one waiting, one answered
    dialog.view.selectRow(0)
    assert not (found := english_in(dialog, own)), "\n".join(found)


def test_a_requests_signed_trail_has_no_english(qtbot, chinese, own):
    dialog = shown(qtbot, RequestTrailDialog(chinese, sharing_requests.summary().request_id))
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=5000)
    dialog.set_read(sharing_requests.trail())  # verified, the authority's, and one not sent yet
    assert not (found := english_in(dialog, own)), "\n".join(found)
    # Departments by name, the code beside it in full-width parentheses, as Chinese writes them.
    using, provider = sharing_requests.USING, sharing_requests.PROVIDER
    assert dialog.labels["parties"][1].text() == \
        f"{sharing_requests.USING_NAME}（{using}） 向 {sharing_requests.PROVIDER_NAME}（{provider}） 申请"
    assert dialog.model.item(0, dialog.SIGNER).text() == f"李四（{sharing_requests.USING_NAME}，{using}）"
