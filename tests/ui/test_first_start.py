"""First start and a failed open: create a workspace, open the sample, open a folder, or choose another."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog

from steward import sample
from steward.sync.pending import pending_changes
from steward.workspace import query
from steward.workspace.workspace import DB_FILE, Workspace
from ui import first_start
from ui.first_start import FirstStartDialog, WorkspaceFailureDialog, choose_workspace_after_failure

VALID = sample.DEPARTMENTS[1].code
INVALID = VALID[:-1] + ("0" if VALID[-1] != "0" else "1")  # a wrong check character


@pytest.fixture
def dialog(qtbot, tmp_path):
    dlg = FirstStartDialog(default_folder=tmp_path / "default", language="en")
    qtbot.addWidget(dlg)
    return dlg


def test_the_default_folder_is_offered(dialog, tmp_path):
    assert dialog.folder_edit.text() == str(tmp_path / "default")
    assert dialog.mode() == FirstStartDialog.CREATE


def test_an_invalid_code_shows_the_message_and_creates_nothing(qtbot, dialog, tmp_path):
    dialog.name_edit.setText("上海市卫生健康委员会")  # QTest types Latin-1 only
    qtbot.keyClicks(dialog.code_edit, INVALID)
    assert "not a valid unified social credit code" in dialog.code_message.text()
    assert not dialog.can_continue()

    dialog.accept()  # as Enter would: refused

    assert dialog.result() != QDialog.DialogCode.Accepted
    assert not (tmp_path / "default" / DB_FILE).exists()
    assert not dialog.error.isHidden()


def test_a_short_code_says_how_long_it_must_be(qtbot, dialog):
    qtbot.keyClicks(dialog.code_edit, "11310000")
    assert "18 characters; 8 typed" in dialog.code_message.text()


def test_a_valid_code_creates_the_workspace(qtbot, dialog, tmp_path):
    folder = tmp_path / "mine"
    dialog.name_edit.setText("上海市卫生健康委员会")  # QTest types Latin-1 only
    qtbot.keyClicks(dialog.code_edit, " " + VALID.lower() + " ")  # pasted with spaces, typed in lower case
    dialog.folder_edit.setText(str(folder))
    assert dialog.code_message.text() == ""
    assert dialog.can_continue()

    dialog.accept()

    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.chosen_path() == folder
    with Workspace.open(folder) as ws:
        assert (ws.department_code, ws.department_name) == (VALID, "上海市卫生健康委员会")


def test_a_missing_name_is_refused(qtbot, dialog, tmp_path):
    qtbot.keyClicks(dialog.code_edit, VALID)
    assert not dialog.can_continue()
    dialog.accept()
    assert "department name is required" in dialog.error.text()
    assert not (tmp_path / "default" / DB_FILE).exists()


def test_creating_where_a_workspace_exists_says_so(qtbot, dialog, tmp_path):
    folder = tmp_path / "taken"
    Workspace.create(folder, VALID, "Existing").close()
    dialog.name_edit.setText("Another")  # QTest types Latin-1 only
    qtbot.keyClicks(dialog.code_edit, VALID)
    dialog.folder_edit.setText(str(folder))
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "already a workspace" in dialog.error.text()


def test_the_sample_workspace_is_created_with_entries(dialog, tmp_path):
    dialog.set_mode(FirstStartDialog.SAMPLE)
    assert dialog.can_continue()
    dialog.accept()
    assert dialog.chosen_path() == tmp_path / "default"
    with Workspace.open(tmp_path / "default") as ws:
        assert query.summary(ws).entries == sample.DEMO_ENTRIES


def test_opening_a_folder_that_is_no_workspace_shows_why(qtbot, dialog, tmp_path):
    dialog.set_mode(FirstStartDialog.OPEN)
    assert not dialog.can_continue()
    dialog.open_edit.setText(str(tmp_path / "nothing here"))
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "nothing here" in dialog.error.text()


def test_opening_an_existing_workspace(dialog, sample_workspace):
    dialog.set_mode(FirstStartDialog.OPEN)
    dialog.open_edit.setText(str(sample_workspace.folder))
    dialog.accept()
    assert dialog.chosen_path() == sample_workspace.folder


def test_the_folder_chooser_fills_the_folder(dialog, monkeypatch, tmp_path):
    monkeypatch.setattr(first_start.QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    assert not dialog.open_button.isEnabled()  # only the chosen option's fields are active
    dialog.open_radio.click()
    dialog.open_button.click()
    assert dialog.open_edit.text() == str(tmp_path)
    assert dialog.can_continue()


def test_errors_are_in_the_users_language(qtbot, tmp_path):
    dlg = FirstStartDialog(default_folder=tmp_path, language="zh")
    qtbot.addWidget(dlg)
    dlg.set_mode(FirstStartDialog.OPEN)
    dlg.open_edit.setText(str(tmp_path / "无"))
    dlg.accept()
    assert "工作区" in dlg.error.text()


# After a failed open ------------------------------------------------------------------------


@pytest.fixture
def failure(qtbot, tmp_path):
    dlg = WorkspaceFailureDialog("The workspace file is damaged", default_folder=tmp_path / "sample", language="en")
    qtbot.addWidget(dlg)
    return dlg


def test_failure_shows_the_message(failure):
    assert failure.detail.text() == "The workspace file is damaged"


def test_failure_open_sample_makes_and_returns_it(failure, tmp_path):
    failure.sample_button.click()
    assert failure.result() == QDialog.DialogCode.Accepted
    assert failure.chosen_path() == tmp_path / "sample"
    assert (tmp_path / "sample" / DB_FILE).exists()


def test_failure_open_another_folder(failure, monkeypatch, tmp_path):
    monkeypatch.setattr(first_start.QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "other"))
    failure.open_button.click()
    assert failure.chosen_path() == tmp_path / "other"


def test_failure_open_another_folder_cancelled_stays(failure, monkeypatch):
    monkeypatch.setattr(first_start.QFileDialog, "getExistingDirectory", lambda *a, **k: "")
    failure.open_button.click()
    assert failure.chosen_path() is None
    assert failure.result() != QDialog.DialogCode.Accepted


def test_failure_create_new(failure, monkeypatch, tmp_path):
    folder = tmp_path / "new"

    def fill_and_accept(dialog: FirstStartDialog) -> int:
        dialog.name_edit.setText("部门")
        dialog.code_edit.setText(VALID)
        dialog.folder_edit.setText(str(folder))
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(FirstStartDialog, "exec", fill_and_accept)
    failure.create_button.click()
    assert failure.chosen_path() == folder
    assert (folder / DB_FILE).exists()


def _click_later(name: str) -> None:
    def click() -> None:
        dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, WorkspaceFailureDialog) and w.isVisible()]
        if dialogs:
            getattr(dialogs[0], name).click()
        else:
            QTimer.singleShot(20, click)

    QTimer.singleShot(0, click)


def test_choose_after_failure_quit_returns_none(qtbot):
    _click_later("quit_button")
    assert choose_workspace_after_failure("broken", None) is None


def test_choose_after_failure_returns_the_sample(qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(first_start, "default_path", lambda: tmp_path / "default")
    _click_later("sample_button")
    assert choose_workspace_after_failure("broken", None) == tmp_path / "default"
    with Workspace.open(tmp_path / "default") as ws:
        assert pending_changes(ws)  # the generated entries


def test_every_input_has_an_accessible_name_and_a_buddy(dialog):
    from PySide6.QtWidgets import QLabel, QLineEdit

    inputs = dialog.findChildren(QLineEdit)
    assert inputs and all(w.accessibleName() for w in inputs)
    assert set(inputs) <= {label.buddy() for label in dialog.findChildren(QLabel)}
