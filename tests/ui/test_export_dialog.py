"""File ▸ Export in the window: every format, on a worker, with the portal settings remembered."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from steward.workspace import query
from steward.workspace.query import EntryFilter
from tests.ui.conftest import make_entry
from tests.ui.main_windows import close_window, open_window
from ui.export_dialog import CHOICES, ExportDialog
from ui.main_window import MainWindow


def make_dialog(qtbot, session) -> ExportDialog:
    dialog = ExportDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_export_to_the_template_layout(qtbot, session, tmp_path):
    dialog = make_dialog(qtbot, session)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.path_edit.clear()
    assert not ok.isEnabled()  # no file
    assert not dialog.portal_box.isVisibleTo(dialog)
    dialog.path_edit.setText(str(tmp_path / "catalogue.xlsx"))
    with qtbot.waitSignal(dialog.exported, timeout=20000) as exported:
        dialog.accept()
    result = exported.args[0]
    assert result.written == query.summary(session.workspace).entries
    assert load_workbook(tmp_path / "catalogue.xlsx").sheetnames[:2] == ["资源目录", "信息项"]


def test_open_data_formats_ask_for_the_portal_and_remember_it(qtbot, session, tmp_path):
    dialog = make_dialog(qtbot, session)
    dialog.path_edit.setText(str(tmp_path / "catalogue.xlsx"))
    dialog.set_choice(".json")
    assert dialog.portal_box.isVisibleTo(dialog)
    assert dialog.path_edit.text().endswith("catalogue.json")  # the name follows the format
    dialog.base_edit.setText("ftp://not-a-portal")
    dialog.accept()
    assert dialog.isVisible() and "http" in dialog.error_label.text()

    dialog.base_edit.setText("https://data.example.gov.cn/catalogue")
    with qtbot.waitSignal(dialog.exported, timeout=20000):
        dialog.accept()
    data = json.loads((tmp_path / "catalogue.json").read_text(encoding="utf-8"))
    assert data["dataset"] and all(d["accessLevel"] != "non-public" for d in data["dataset"])
    assert data["dataset"][0]["landingPage"].startswith("https://data.example.gov.cn/catalogue/dataset/")
    assert session.settings.export_base_uri == "https://data.example.gov.cn/catalogue"

    again = make_dialog(qtbot, session)
    assert again.base_edit.text() == "https://data.example.gov.cn/catalogue"


def test_every_choice_writes_its_file(qtbot, session, tmp_path):
    for choice in CHOICES:
        dialog = make_dialog(qtbot, session)
        dialog.set_choice(choice.suffix)
        dialog.path_edit.setText(str(tmp_path / f"out{choice.suffix}"))
        with qtbot.waitSignal(dialog.exported, timeout=20000):
            dialog.accept()
        assert (tmp_path / f"out{choice.suffix}").stat().st_size > 0
    assert (tmp_path / "out_信息项.csv").exists()


def test_the_file_menu_offers_import_and_export(qtbot, session, tmp_path):
    window = MainWindow(session)
    qtbot.addWidget(window)
    titles = [a.text() for a in window.file_menu.actions()]
    assert window.import_action in window.file_menu.actions() and window.export_action in window.file_menu.actions()
    assert "Import…" in [t.replace("&", "") for t in titles]
    wizard = window.import_catalogue()
    assert wizard.isVisible()
    wizard.reject()
    dialog = window.export_catalogue()
    dialog.path_edit.setText(str(tmp_path / "c.xlsx"))
    with qtbot.waitSignal(dialog.exported, timeout=20000):
        dialog.accept()
    assert "c.xlsx" in window.statusBar().currentMessage()


def test_a_file_name_is_proposed_from_the_department_and_the_date(qtbot, session, tmp_path):
    dialog = make_dialog(qtbot, session)
    proposed = Path(dialog.path_edit.text())
    assert proposed.name == f"{session.workspace.department_name}_{date.today().isoformat()}.xlsx"
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.set_choice(".ttl")
    assert Path(dialog.path_edit.text()).name == proposed.with_suffix(".ttl").name

    dialog.set_choice(".csv")
    dialog.path_edit.setText(str(tmp_path / "out.csv"))
    with qtbot.waitSignal(dialog.exported, timeout=20000):
        dialog.accept()
    again = make_dialog(qtbot, session)  # the next export proposes the folder written to last
    assert Path(again.path_edit.text()).parent == tmp_path


def replace_button(box: QMessageBox):
    return next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)


def test_an_existing_file_is_replaced_only_when_the_steward_says_so(qtbot, session, tmp_path):
    target = tmp_path / "catalogue.xlsx"
    target.write_bytes(b"an earlier export")
    dialog = make_dialog(qtbot, session)
    dialog.path_edit.setText(str(target))
    dialog.accept()
    box = dialog.replace_box
    assert box is not None and box.isVisible() and "catalogue.xlsx" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert dialog.isVisible() and target.read_bytes() == b"an earlier export"

    dialog.accept()
    with qtbot.waitSignal(dialog.exported, timeout=20000):
        replace_button(dialog.replace_box).click()
    assert load_workbook(target).sheetnames[0] == "资源目录"
    assert not dialog.isVisible()


def test_csv_asks_when_the_data_items_file_beside_it_exists(qtbot, session, tmp_path):
    (tmp_path / "out_信息项.csv").write_text("earlier", encoding="utf-8")
    dialog = make_dialog(qtbot, session)
    dialog.set_choice(".csv")
    dialog.path_edit.setText(str(tmp_path / "out.csv"))
    dialog.accept()
    assert dialog.replace_box is not None and "out_信息项.csv" in dialog.replace_box.text()
    dialog.replace_box.button(QMessageBox.StandardButton.Cancel).click()
    assert not (tmp_path / "out.csv").exists()


def test_the_selection_or_the_filtered_rows_can_be_exported(qtbot, session, tmp_path):
    window = open_window(qtbot, session)
    qtbot.waitUntil(lambda: window.model.rowCount() == 60, timeout=10000)
    selection, flag = window.table.selectionModel(), window.table.selectionModel().SelectionFlag
    selection.select(window.model.index(2, 0), flag.ClearAndSelect | flag.Rows)
    for row in (5, 7):
        selection.select(window.model.index(row, 0), flag.Select | flag.Rows)
    dialog = window.export_catalogue()
    assert dialog.all_button.isChecked() and not dialog.filtered_button.isEnabled()  # no filter: all are shown
    assert "3" in dialog.selected_button.text()
    dialog.selected_button.setChecked(True)
    dialog.path_edit.setText(str(tmp_path / "selected.xlsx"))
    with qtbot.waitSignal(dialog.exported, timeout=20000) as exported:
        dialog.accept()
    assert exported.args[0].written == 3
    codes = {window.model.index(r, 0).data() for r in (2, 5, 7)}
    book = load_workbook(tmp_path / "selected.xlsx")["资源目录"]
    assert codes <= {cell for row in book.iter_rows(min_row=2, values_only=True) for cell in row}

    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.filters.boxes["sharing_type"]["not_shared"].setChecked(True)
    shown = window.model.rowCount()
    dialog = window.export_catalogue()
    assert dialog.filtered_button.isEnabled() and str(shown) in dialog.filtered_button.text()
    dialog.filtered_button.setChecked(True)
    dialog.path_edit.setText(str(tmp_path / "filtered.csv"))
    dialog.set_choice(".csv")
    with qtbot.waitSignal(dialog.exported, timeout=20000) as exported:
        dialog.accept()
    with session.workspace.reading() as conn:
        expected = query.count(conn, EntryFilter(sharing_types=frozenset({"not_shared"})))
    assert exported.args[0].written == shown == expected
    close_window(window)


def test_the_window_says_what_an_open_data_export_left_out_and_why(qtbot, session, tmp_path):
    make_entry(session.workspace, code="319002/000902", name="有条件开放但未写条件", open_type="conditional")
    window = open_window(qtbot, session)
    dialog = window.export_catalogue()
    dialog.set_choice(".json")
    dialog.base_edit.setText("https://data.example.gov.cn/catalogue")
    dialog.path_edit.setText(str(tmp_path / "open.json"))
    with qtbot.waitSignal(dialog.exported, timeout=20000) as exported:
        dialog.accept()
    result = exported.args[0]
    assert "319002/000902" in result.left_out_for_errors
    box = window.findChild(QMessageBox, "export_left_out")
    assert box is not None and box.isVisible()
    assert "319002/000902" in box.informativeText()
    said = f"{result.left_out_errors} entries were left out because they break a catalogue rule"
    assert said in box.informativeText()
    box.close()
    close_window(window)
