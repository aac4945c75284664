"""File ▸ Import in the window: the wizard reads on a worker, previews every problem, imports as one undo step."""

from __future__ import annotations

from PySide6.QtWidgets import QWizard

from steward.catalogue.operations import OpKind
from steward.workspace import query
from tests.spreadsheets import catalogue_xlsx, entry_row, item_rows
from ui.import_wizard import ImportWizard, SeverityRole


def existing_entry(session):
    with session.workspace.reading() as conn:
        pks = query.entry_pks(conn, query.EntryFilter(has_problems=False, sharing_types=frozenset({"unconditional"})))
        row = query.rows(conn, pks[:1])[0]
    return query.get_entry(session.workspace, row.id)


def open_preview(qtbot, session, paths) -> ImportWizard:
    wizard = ImportWizard(session)
    qtbot.addWidget(wizard)
    wizard.show()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # no file chosen yet
    wizard.set_files(paths)
    with qtbot.waitSignal(wizard.plan_ready, timeout=20000):
        wizard.next()
    assert wizard.currentPage() is wizard.preview_page
    return wizard


def test_import_new_and_updated_entries_as_one_undo_step(qtbot, session, tmp_path):
    existing = existing_entry(session)
    update = entry_row(existing.code, name=existing.name, sharing_type="有条件共享", sharing_conditions="仅限监管",
                       update_frequency="每月")
    path = catalogue_xlsx(tmp_path / "目录.xlsx", [entry_row("319001/990001"), update], item_rows("319001/990001"))
    before = query.summary(session.workspace).entries
    wizard = open_preview(qtbot, session, [path])
    page = wizard.preview_page
    assert page.preview_model.rowCount() == 2
    actions = {page.preview_model.index(r, 1).data(): page.preview_model.index(r, 0).data() for r in range(2)}
    assert actions == {"319001/990001": "New", existing.code: "Update"}
    assert page.isComplete() and not page.skip_box.isEnabled()
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()

    summaries = []
    wizard.imported.connect(summaries.append)
    with qtbot.waitSignal(session.catalogue_changed, timeout=20000):
        wizard.accept()
    assert not wizard.isVisible()
    assert summaries and (summaries[0].paths, summaries[0].created, summaries[0].updated) == ([path], 1, 1)
    assert session.undo_stack.count() == 1 and session.undo_stack.undoText().startswith("Import")
    updated = query.get_entry(session.workspace, existing.id)
    assert (updated.sharing_type, updated.update_frequency) == ("conditional", "monthly")
    assert query.summary(session.workspace).entries == before + 1

    session.undo_stack.undo()  # one step takes the whole import back
    assert query.summary(session.workspace).entries == before
    restored = query.get_entry(session.workspace, existing.id)
    assert (restored.sharing_type, restored.update_frequency) == (existing.sharing_type, existing.update_frequency)


def test_rows_with_errors_are_shown_and_block_until_skipping_is_chosen(qtbot, session, tmp_path):
    entries = [entry_row("319001/990001"), entry_row("319001/990002", open_type="半开放")]
    path = catalogue_xlsx(tmp_path / "c.xlsx", entries, item_rows("319001/990001") + item_rows("319001/990002"))
    before = query.summary(session.workspace).entries
    wizard = open_preview(qtbot, session, [path])
    page = wizard.preview_page
    errors = [r for r in range(page.problems_model.rowCount())
              if page.problems_model.index(r, 0).data(SeverityRole) == "error"]
    assert errors
    wheres = {page.problems_model.index(r, 1).data() for r in errors}
    assert "资源目录 第 3 行 M 列（开放属性）" in wheres  # the session speaks Chinese
    assert not page.isComplete() and not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    assert "1 entries (with their data items) have errors" in page.summary.text()

    page.skip_box.setChecked(True)
    assert page.isComplete()
    with qtbot.waitSignal(session.catalogue_changed, timeout=20000):
        wizard.accept()
    assert query.summary(session.workspace).entries == before + 1
    assert wizard.rejected_file is not None and wizard.rejected_file.exists()
    assert wizard.rejected_file.parent == tmp_path


def test_an_unusable_file_is_explained_and_cannot_be_imported(qtbot, session, tmp_path):
    path = tmp_path / "scan.xlsx"
    path.write_bytes(b"%PDF-1.7\n" + bytes(64))
    wizard = open_preview(qtbot, session, [path])
    assert wizard.plan is None
    assert "scan.xlsx" in wizard.preview_page.summary.text()
    assert not wizard.preview_page.isComplete()

    doubled = catalogue_xlsx(tmp_path / "doubled.xlsx", [entry_row()], item_rows(),
                             item_headers=["信息资源代码", "信息项名称", "数据类型", "数据类型"])
    wizard.back()
    wizard.set_files([doubled])
    with qtbot.waitSignal(wizard.plan_ready, timeout=20000):
        wizard.next()
    model = wizard.preview_page.problems_model
    assert model.rowCount() == 1 and "数据类型" in model.index(0, 2).data()
    assert not wizard.preview_page.isComplete()


def test_the_import_is_recorded_with_its_reason(qtbot, session, tmp_path):
    existing = existing_entry(session)
    tighter = entry_row(existing.code, name=existing.name, sharing_type="不予共享", sharing_conditions="依据某条例",
                        open_type="不予开放")
    path = catalogue_xlsx(tmp_path / "收紧.xlsx", [tighter])
    wizard = open_preview(qtbot, session, [path])
    with qtbot.waitSignal(session.entries_changed, timeout=20000):
        wizard.accept()
    from steward.workspace import journal

    operations = [op for op in journal.history(session.workspace, existing.id) if op.kind is OpKind.SET]
    assert {op.reason for op in operations if op.field == "sharing_type"} == {"导入 收紧.xlsx"}


def test_the_blank_template_can_be_saved_from_the_first_page(qtbot, session, tmp_path):
    wizard = ImportWizard(session)
    qtbot.addWidget(wizard)
    assert wizard.write_template(tmp_path / "编目模板.xlsx")
    assert (tmp_path / "编目模板.xlsx").stat().st_size > 0


def test_rows_breaking_the_rules_can_be_kept_as_drafts(qtbot, session, tmp_path):
    entries = [entry_row("319001/990001"),
               entry_row("319001/990002", sharing_type="不予共享", sharing_conditions="依据《某条例》第八条",
                         sharing_method_category=None, sharing_method_type=None, open_type="无条件开放")]
    path = catalogue_xlsx(tmp_path / "c.xlsx", entries, item_rows("319001/990001") + item_rows("319001/990002"))
    before = query.summary(session.workspace).entries
    wizard = open_preview(qtbot, session, [path])
    page = wizard.preview_page
    assert not page.isComplete()  # a rule error refuses its rows like any other error
    assert page.keep_box.isEnabled() and not page.keep_box.isChecked()
    kinds = {page.problems_model.index(r, 0).data() for r in range(page.problems_model.rowCount())}
    assert "Error" in kinds

    page.keep_box.setChecked(True)
    assert page.isComplete() and wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    assert "1 entries break catalogue rules" in page.summary.text()
    kinds = {page.problems_model.index(r, 0).data() for r in range(page.problems_model.rowCount())}
    assert "Error (kept)" in kinds
    with qtbot.waitSignal(session.catalogue_changed, timeout=20000):
        wizard.accept()
    assert query.summary(session.workspace).entries == before + 2
    assert wizard.rejected_file is None
    kept = query.find_entry(session.workspace, "319001/990002")
    assert "open.not_shared_but_open" in {p.code for p in query.problems_of(session.workspace, kept.id)}


def test_the_check_boxes_and_the_finish_button_have_their_own_keys(qtbot, session):
    wizard = ImportWizard(session)
    qtbot.addWidget(wizard)
    page = wizard.preview_page
    texts = [page.skip_box.text(), page.keep_box.text(),
             *(wizard.buttonText(b) for b in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.BackButton,
                                              QWizard.WizardButton.NextButton, QWizard.WizardButton.CancelButton))]
    keys = [t[t.index("&") + 1].lower() for t in texts if "&" in t]
    assert len(keys) >= 3 and len(keys) == len(set(keys)), texts
