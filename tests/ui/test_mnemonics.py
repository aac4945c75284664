"""Alt+letter reaches one thing in each scope: the window's menu bar and labels, each menu, each dialog."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QAbstractButton, QApplication, QDialog, QGroupBox, QLabel, QMainWindow, QMenu, QWidget

from steward.sync.requests.inbox import Box
from tests.ui import sharing_requests
from tests.ui.conftest import a_profile, first_entry, ids_where
from ui import demo
from ui.bulk_edit import BulkEditDialog
from ui.conflict_dialog import ConflictDialog
from ui.demo_mode import DemoMode
from ui.export_dialog import ExportDialog
from ui.first_start import FirstStartDialog
from ui.history_view import HistoryDialog
from ui.import_wizard import ImportWizard
from ui.main_window import MainWindow
from ui.pending_view import PendingChangesDialog
from ui.profile_dialog import OpenProfileDialog
from ui.reason_dialog import ReasonDialog
from ui.request_answer import AnswerDialog, Answering
from ui.request_form import RequestForm
from ui.request_trail import RequestTrailDialog
from ui.requests_view import RequestsDialog
from ui.settings_dialog import SettingsDialog


def mnemonic(text: str) -> str | None:
    """The letter after a single & in `text` (&& is an ampersand), upper case, or None."""
    found = re.search(r"&([^&\s])", text.replace("&&", ""))
    return found.group(1).upper() if found else None


def clashes(texts: list[str]) -> list[str]:
    """The texts whose mnemonic another text of the same scope has too."""
    letters = Counter(m for m in map(mnemonic, texts) if m)
    return [t for t in texts if letters.get(mnemonic(t) or "", 0) > 1]


def widget_texts(window: QWidget) -> list[str]:
    """The texts of the labels (with a buddy), buttons and checkable group boxes of `window` itself."""
    texts: list[str] = []
    for widget in window.findChildren(QWidget):
        if widget.window() is not window or isinstance(widget, QMenu):
            continue
        if (isinstance(widget, QLabel) and widget.buddy() is not None) or isinstance(widget, QAbstractButton):
            texts.append(widget.text())
        elif isinstance(widget, QGroupBox) and widget.isCheckable():
            texts.append(widget.title())
    return texts


def window_level_texts(window: QMainWindow) -> list[str]:
    """What Alt+letter reaches without opening a menu: the menu bar's titles and the window's labels and buttons."""
    return [action.text() for action in window.menuBar().actions()] + widget_texts(window)


def menu_scopes(window: QWidget) -> dict[str, list[str]]:
    """Each menu (and submenu) of the menu bar with the texts of its entries."""
    scopes: dict[str, list[str]] = {}

    def walk(menu: QMenu) -> None:
        scopes[menu.title()] = [action.text() for action in menu.actions() if not action.isSeparator()]
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu())

    for action in window.menuBar().actions():
        walk(action.menu())
    return scopes


def check_scopes(window: MainWindow) -> None:
    window_texts = window_level_texts(window)
    assert len([t for t in window_texts if mnemonic(t)]) >= 15  # the menu bar and the editor's labels
    assert clashes(window_texts) == []
    for title, texts in menu_scopes(window).items():
        assert clashes(texts) == [], title


@pytest.fixture
def window(qtbot, session):
    locale = QLocale()
    win = MainWindow(session)
    qtbot.addWidget(win)
    yield win
    win.close()
    win.translators.install(QApplication.instance(), "en")  # the tests after this one expect English
    QLocale.setDefault(locale)


def test_the_helpers_read_mnemonics_as_qt_does():
    assert [mnemonic(t) for t in ("&File", "Re&load", "发布日期(&T) *", "R&&D", "R&&&D", "none")] == [
        "F", "L", "T", None, "D", None]
    assert clashes(["&Demo", "发布日期(&D) *", "&File"]) == ["&Demo", "发布日期(&D) *"]


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_no_two_mnemonics_in_one_scope_of_the_window(window, language):
    window.apply_language(language)
    check_scopes(window)


@pytest.mark.usefixtures("memory_keyring")
@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_demo_menu_takes_no_mnemonic_of_the_window(qtbot, tmp_path, settings, window, language):
    mode = DemoMode(demo.prepare(tmp_path / "demo"), settings)
    try:
        mode.attach(window)
        window.apply_language(language)
        assert any(mnemonic(t) == "D" for t in window_level_texts(window))  # the demo's menu is there
        check_scopes(window)
    finally:
        mode.stop()


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_no_two_mnemonics_in_one_dialog(qtbot, window, session, settings, language):
    """Each dialog is a scope of its own (all its pages at once: a wizard's buttons stay while its pages change)."""
    window.apply_language(language)
    entry_ids = ids_where(session.workspace)
    dialogs: list[QDialog] = [
        BulkEditDialog(session, entry_ids, window), ExportDialog(session, window), SettingsDialog(settings, window),
        ConflictDialog(session, window), ImportWizard(session, window), HistoryDialog(session, entry_ids[0], window),
        PendingChangesDialog(session, window), FirstStartDialog(window), ReasonDialog("", window),
        OpenProfileDialog(a_profile(), Path("p.steward-profile"), window, folder=Path("ws")),
        RequestForm(session, first_entry(session.workspace), lambda: None, window),
        RequestsDialog(session, Box.INBOX, lambda: None, window),
        RequestsDialog(session, Box.MINE, lambda: None, window),
        RequestTrailDialog(session, sharing_requests.summary().request_id, window),
        *(AnswerDialog(answering, sharing_requests.summary(), window) for answering in Answering),
    ]
    for dialog in dialogs:
        texts = widget_texts(dialog)
        assert [t for t in texts if mnemonic(t)], type(dialog).__name__
        assert clashes(texts) == [], type(dialog).__name__
    session.runner.wait_all()
