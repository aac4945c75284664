"""File ▸ Export in the window: every format, on a worker, with the portal settings remembered."""

from __future__ import annotations

import json

from openpyxl import load_workbook
from PySide6.QtWidgets import QDialogButtonBox

from steward.workspace import query
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
    assert not ok.isEnabled()  # no file yet
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
    assert titles[0].replace("&", "") == "Import…"
    wizard = window.import_catalogue()
    assert wizard.isVisible()
    wizard.reject()
    dialog = window.export_catalogue()
    dialog.path_edit.setText(str(tmp_path / "c.xlsx"))
    with qtbot.waitSignal(dialog.exported, timeout=20000):
        dialog.accept()
    assert "c.xlsx" in window.statusBar().currentMessage()
