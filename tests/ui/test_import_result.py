"""After File ▸ Import: what the import did, in a window the steward can read, not a status bar line cut short."""

from __future__ import annotations

from PySide6.QtWidgets import QWizard

from steward.workspace import query
from tests.spreadsheets import catalogue_xlsx, entry_row, item_rows
from tests.ui.main_windows import close_window, open_window
from ui.import_result import ImportResultDialog


def imported(qtbot, window, path, *, skip_invalid: bool = False) -> ImportResultDialog:
    wizard = window.import_catalogue()
    wizard.set_files([path])
    with qtbot.waitSignal(wizard.plan_ready, timeout=20000):
        wizard.next()
    if skip_invalid:
        wizard.preview_page.skip_box.setChecked(True)
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    with qtbot.waitSignal(window.session.catalogue_changed, timeout=20000):
        wizard.accept()
    shown = [d for d in window.findChildren(ImportResultDialog) if d.isVisible()]
    assert len(shown) == 1
    return shown[0]


def test_the_counts_the_problems_and_the_rejected_rows_file_are_shown_in_a_dialog(qtbot, session, tmp_path):
    window = open_window(qtbot, session)
    entries = [entry_row("319001/990001"), entry_row("319001/990002"),
               entry_row("319001/990003", open_type="半开放")]
    items = item_rows("319001/990001") + item_rows("319001/990002") + item_rows("319001/990003")
    path = catalogue_xlsx(tmp_path / "部门目录.xlsx", entries, items)
    before = query.summary(session.workspace).entries

    dialog = imported(qtbot, window, path, skip_invalid=True)
    assert query.summary(session.workspace).entries == before + 2
    text = dialog.summary.text()
    assert "部门目录.xlsx" in text and "2 entries created" in text and "1 entries" in text
    rejected = dialog.outcome.rejected_file
    assert rejected is not None and rejected.exists() and rejected.parent == tmp_path
    assert dialog.rejected_path.text() == str(rejected)
    assert dialog.open_folder_button.isVisibleTo(dialog)
    problems = dialog.problems_view.model()
    assert problems.rowCount() >= 1
    assert any("开放属性" in problems.index(r, 1).data() for r in range(problems.rowCount()))
    assert window.statusBar().currentMessage() == ""  # nothing half-shown down there
    close_window(window)


def test_a_clean_import_says_so_without_a_problem_list(qtbot, session, tmp_path):
    window = open_window(qtbot, session)
    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row("319001/990001")], item_rows("319001/990001"))
    dialog = imported(qtbot, window, path)
    assert "1 entries created" in dialog.summary.text()
    assert not dialog.problems_view.isVisibleTo(dialog)
    assert not dialog.open_folder_button.isVisibleTo(dialog) and dialog.outcome.rejected_file is None
    close_window(window)
