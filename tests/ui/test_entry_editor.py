"""The entry editor against a real workspace: every edit is stored at once, undoable, checked and explained."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QInputMethodEvent, QWheelEvent
from PySide6.QtWidgets import QAbstractItemView, QApplication, QComboBox, QLabel, QLineEdit, QPlainTextEdit, QWidget

from steward.catalogue import rules
from steward.catalogue.messages import render
from steward.catalogue.model import ENTRY_FIELDS, DataItem, Entry
from steward.catalogue.operations import OpKind
from steward.catalogue.vocabulary import label
from steward.workspace import journal, query
from tests.helpers import accept_pending
from tests.ui import reasons
from tests.ui.conftest import DEPARTMENT, make_entry
from ui import entry_editor
from ui.entry_editor import EntryEditor
from ui.items_model import ItemsModel
from ui.problems_panel import SeverityRole
from ui.reason_dialog import ReasonDialog


@pytest.fixture
def shown(qtbot, editor):
    """The editor in an active window, so keyboard focus can be checked."""
    editor.show()
    qtbot.waitExposed(editor)
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow)
    return editor


def stored(session, entry_id) -> Entry:
    return query.get_entry(session.workspace, entry_id)


def field_ops(session, entry_id, field):
    return [op for op in journal.history(session.workspace, entry_id) if op.kind is OpKind.SET and op.field == field]


def choose(editor: EntryEditor, field: str, key: str | None) -> None:
    """Pick `key` from the combo box's list, as a click on it does (the list sets the row, then says `activated`)."""
    combo = editor.field_widget(field)
    assert isinstance(combo, QComboBox)
    row = combo.findData(key) if key else 0
    assert row >= 0
    combo.setCurrentIndex(row)
    combo.activated.emit(row)


def type_text(qtbot, widget, text: str) -> None:
    """Type `text` as a person does: ASCII key by key, Chinese as an input method's commit."""
    if text.isascii():
        qtbot.keyClicks(widget, text)
        return
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def type_and_finish(qtbot, widget: QLineEdit, text: str) -> None:
    widget.selectAll()
    if text:
        type_text(qtbot, widget, text)
    else:
        qtbot.keyClick(widget, Qt.Key.Key_Delete)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


# Showing ------------------------------------------------------------------------------------


def test_every_field_of_the_entry_is_shown_with_its_core_label(editor, session):
    entry_id = make_entry(session.workspace, related_codes=["319002/000001", "319002/000002"])
    with_loaded = []
    editor.entry_loaded.connect(with_loaded.append)
    editor.set_entry(entry_id)
    assert with_loaded == [entry_id] and editor.entry_id == entry_id
    for spec in ENTRY_FIELDS:
        assert editor.field_widget(spec.key) is not None
        assert spec.zh in editor.field_label(spec.key).text() or spec.key == "sharing_conditions"
    assert editor.field_widget("name").text() == "企业登记信息"
    assert editor.field_widget("related_codes").text() == "319002/000001, 319002/000002"
    assert isinstance(editor.field_widget("abstract"), QPlainTextEdit)
    assert editor.field_widget("update_frequency").currentData() == "daily"
    assert editor.field_widget("update_frequency").currentText() == "每日"
    assert editor.field_widget("update_frequency").itemData(0) is None  # the empty choice
    status = editor.field_widget("status")
    assert isinstance(status, QLabel) and status.text() == label("status", "active", "zh")
    assert "企业登记信息" in editor.heading.text()
    # the classification's levels, named
    assert "目 002" in editor.levels_label.text()
    # the format category's usual types are offered
    format_type = editor.field_widget("format_type")
    assert format_type.currentText() == "MySQL"
    assert "Oracle" in [format_type.itemText(n) for n in range(format_type.count())]


def test_no_entry_leaves_an_empty_disabled_form(editor, session):
    editor.set_entry(make_entry(session.workspace))
    editor.set_entry(None)
    assert editor.entry_id is None
    assert not editor.content.isEnabled()
    assert editor.field_widget("name").text() == ""
    assert editor.items_model.rowCount() == 0


def test_required_fields_have_a_marked_label_and_a_mnemonic(editor, session):
    editor.set_entry(make_entry(session.workspace))
    name_label = editor.field_label("name")
    assert name_label.text() == "信息资源名称(&N) *"
    assert name_label.buddy() is editor.field_widget("name")
    assert editor.field_label("format_type").text() == "信息资源格式类型"
    assert editor.field_widget("name").accessibleName() == "信息资源名称"


def test_labels_follow_the_session_language(editor, session):
    editor.set_entry(make_entry(session.workspace))
    session.language = "en"
    editor.retranslate()
    assert editor.field_label("name").text() == "Resource &name *"
    assert editor.field_widget("update_frequency").currentText() == "Daily"
    assert editor.field_widget("update_frequency").currentData() == "daily"
    assert editor.items_model.headerData(ItemsModel.NAME, Qt.Orientation.Horizontal) == "Data item name"
    assert session.undo_stack.count() == 0  # showing labels again changes nothing


# Saving as typed ------------------------------------------------------------------------------


def test_editing_a_text_field_stores_it_and_records_an_operation(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    type_and_finish(qtbot, editor.field_widget("name"), "个体工商户登记信息")
    assert stored(session, entry_id).name == "个体工商户登记信息"
    ops = field_ops(session, entry_id, "name")
    assert [(op.old, op.new) for op in ops] == [("企业登记信息", "个体工商户登记信息")]
    assert session.undo_stack.count() == 1
    assert "信息资源名称" in session.undo_stack.undoText()


def test_typing_is_saved_after_a_pause_and_merged_into_one_undo_step(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    line = editor.field_widget("name")
    line.end(False)
    type_text(qtbot, line, "一")
    qtbot.waitUntil(lambda: stored(session, entry_id).name == "企业登记信息一", timeout=3000)
    type_text(qtbot, line, "二")
    qtbot.waitUntil(lambda: stored(session, entry_id).name == "企业登记信息一二", timeout=3000)
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert len(field_ops(session, entry_id, "name")) == 2  # two saves ...
    assert session.undo_stack.count() == 1  # ... one undo step
    session.undo_stack.undo()
    assert stored(session, entry_id).name == "企业登记信息"
    assert line.text() == "企业登记信息"


def test_a_new_visit_to_the_field_is_a_new_undo_step(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    line = editor.field_widget("name")
    type_and_finish(qtbot, line, "甲")
    type_and_finish(qtbot, line, "乙")
    assert session.undo_stack.count() == 2
    session.undo_stack.undo()
    assert stored(session, entry_id).name == "甲"


def test_text_being_typed_is_not_rewritten_by_the_reload_after_saving(qtbot, shown, session):
    entry_id = make_entry(session.workspace)
    shown.set_entry(entry_id)
    line = shown.field_widget("name")
    line.setFocus()
    qtbot.waitUntil(line.hasFocus)
    line.end(False)
    type_text(qtbot, line, " 二 ")  # the stored value is stripped; the space being typed must stay
    qtbot.waitUntil(lambda: stored(session, entry_id).name == "企业登记信息 二", timeout=3000)
    assert line.text() == "企业登记信息 二 "
    assert line.cursorPosition() == len(line.text())


def test_flush_saves_text_typed_a_moment_ago(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    abstract = editor.field_widget("abstract")
    abstract.setPlainText("新的摘要")  # textChanged: counts as typing
    assert stored(session, entry_id).abstract == "记录企业登记的基本情况"
    editor.flush()
    assert stored(session, entry_id).abstract == "新的摘要"


def test_choosing_another_entry_saves_the_typing_to_the_first(qtbot, editor, session):
    first, second = make_entry(session.workspace), make_entry(session.workspace, code="319002/000902")
    editor.set_entry(first)
    line = editor.field_widget("name")
    line.end(False)
    type_text(qtbot, line, "改")
    editor.set_entry(second)
    assert stored(session, first).name == "企业登记信息改"
    assert stored(session, second).name == "企业登记信息"
    assert line.text() == "企业登记信息"


def test_typed_codes_and_lists_are_parsed_by_the_core(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    type_and_finish(qtbot, editor.field_widget("related_codes"), "319002/000001、 319002/000002,,319002/000003")
    type_and_finish(qtbot, editor.field_widget("provider_code"), DEPARTMENT.code.lower())
    type_and_finish(qtbot, editor.field_widget("code"), "319002 / 000901")
    entry = stored(session, entry_id)
    assert entry.related_codes == ["319002/000001", "319002/000002", "319002/000003"]
    assert entry.provider_code == DEPARTMENT.code
    assert entry.code == "319002/000901"
    assert editor.field_widget("related_codes").text() == "319002/000001, 319002/000002, 319002/000003"


def test_a_combo_change_is_stored(editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    choose(editor, "update_frequency", "monthly")
    assert stored(session, entry_id).update_frequency == "monthly"
    choose(editor, "update_frequency", None)
    assert stored(session, entry_id).update_frequency is None
    assert session.undo_stack.count() == 2


def test_the_format_category_offers_its_types_and_a_picked_type_is_stored(editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    choose(editor, "format_category", "spreadsheet")
    combo = editor.field_widget("format_type")
    assert [combo.itemText(n) for n in range(combo.count())] == ["et", "xls", "xlsx"]
    assert combo.currentText() == "MySQL"  # what was stored stays until the steward changes it
    combo.setCurrentIndex(2)  # a pick from the list: the text is set, then activated
    combo.activated.emit(2)
    assert stored(session, entry_id).format_type == "xlsx"


# Restrictive changes need a reason ------------------------------------------------------------


def test_a_more_restrictive_sharing_type_asks_for_a_reason(monkeypatch, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    asked: list[str] = []
    monkeypatch.setattr(ReasonDialog, "ask", staticmethod(lambda text, parent=None: asked.append(text)))
    choose(editor, "sharing_type", "conditional")
    assert len(asked) == 1 and "有条件共享" in asked[0]
    assert stored(session, entry_id).sharing_type == "unconditional"  # cancelled: nothing stored
    assert editor.field_widget("sharing_type").currentData() == "unconditional"  # and the combo is back
    assert session.undo_stack.count() == 0

    monkeypatch.setattr(ReasonDialog, "ask", staticmethod(lambda text, parent=None: "个人信息保护法要求审批"))
    choose(editor, "sharing_type", "conditional")
    assert stored(session, entry_id).sharing_type == "conditional"
    [op] = field_ops(session, entry_id, "sharing_type")
    assert op.reason == "个人信息保护法要求审批"
    assert session.undo_stack.count() == 1


def test_a_more_restrictive_open_type_asks_too_but_opening_up_does_not(monkeypatch, editor, session):
    entry_id = make_entry(session.workspace, open_type="conditional", open_conditions="实名申请")
    editor.set_entry(entry_id)
    asked: list[str] = []
    monkeypatch.setattr(ReasonDialog, "ask", staticmethod(lambda text, parent=None: asked.append(text) or "涉密"))
    choose(editor, "open_type", "unconditional")
    assert asked == []
    assert stored(session, entry_id).open_type == "unconditional"
    choose(editor, "open_type", "not_open")
    assert len(asked) == 1
    assert field_ops(session, entry_id, "open_type")[-1].reason == "涉密"


# Condition fields follow the attributes ---------------------------------------------------------


def test_condition_fields_appear_and_are_required_as_the_types_require(monkeypatch, editor, session):
    monkeypatch.setattr(ReasonDialog, "ask", staticmethod(lambda text, parent=None: "理由"))
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    assert not editor.is_field_shown("sharing_conditions")
    assert editor.is_field_shown("sharing_method_category") and editor.is_field_shown("sharing_method_type")
    assert editor.field_label("sharing_method_type").text().endswith("*")
    assert not editor.is_field_shown("open_conditions")

    choose(editor, "sharing_type", "conditional")
    assert editor.is_field_shown("sharing_conditions")
    assert editor.field_label("sharing_conditions").text() == "共享条件 *"
    assert editor.is_field_shown("sharing_method_category")

    choose(editor, "sharing_type", "not_shared")
    assert editor.is_field_shown("sharing_conditions")
    assert editor.field_label("sharing_conditions").text() == render("label.sharing_basis", lang="zh") + " *"
    assert editor.field_widget("sharing_conditions").accessibleName() == "不予共享依据"
    assert not editor.is_field_shown("sharing_method_category")
    assert not editor.is_field_shown("sharing_method_type")

    choose(editor, "open_type", "conditional")
    assert editor.is_field_shown("open_conditions")
    assert editor.field_label("open_conditions").text() == "开放条件 *"
    choose(editor, "open_type", "unconditional")
    assert not editor.is_field_shown("open_conditions")


def test_shown_condition_fields_are_what_the_core_says(monkeypatch, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    monkeypatch.setattr(ReasonDialog, "ask", staticmethod(lambda text, parent=None: "理由"))
    for sharing in (None, "unconditional", "conditional", "not_shared"):
        for opening in (None, "unconditional", "conditional", "not_open"):
            choose(editor, "sharing_type", sharing)
            choose(editor, "open_type", opening)
            needs = rules.dependent_fields(sharing, opening)
            shown = {f for f in entry_editor.DEPENDENT_FIELDS if editor.is_field_shown(f)}
            assert shown == set(needs), (sharing, opening)


def test_a_condition_typed_is_stored_and_clears_the_problem(qtbot, editor, session):
    entry_id = make_entry(session.workspace, sharing_type="conditional")
    editor.set_entry(entry_id)
    conditions = editor.field_widget("sharing_conditions")
    assert conditions.property("problem") == "error"
    assert conditions.toolTip() == render("sharing.conditions_required", {}, "zh")
    conditions.setFocus()
    conditions.setPlainText("经审批后共享")
    editor.flush()
    assert stored(session, entry_id).sharing_conditions == "经审批后共享"
    assert conditions.property("problem") == ""
    assert conditions.toolTip() == ""


# Problems ---------------------------------------------------------------------------------------


def test_an_invalid_date_is_stored_and_marked(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    published = editor.field_widget("published")
    assert published.property("problem") == ""
    type_and_finish(qtbot, published, "2024-13-45")
    assert stored(session, entry_id).published == "2024-13-45"  # work in progress is never refused
    message = render("published.invalid", {"value": "2024-13-45"}, "zh")
    assert published.property("problem") == "error"
    assert published.toolTip() == message
    assert published.accessibleDescription() == message
    assert message in [p.message("zh") for p in editor.problems_panel.problems()]
    type_and_finish(qtbot, published, "2024/2/3")  # written with slashes: the core's parsing decides
    assert stored(session, entry_id).published == "2024-02-03"


def test_a_pasted_control_character_is_stored_and_marked_at_its_field(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    abstract = editor.field_widget("abstract")
    abstract.setFocus()
    abstract.setPlainText("本局登记信息\x1b[31m")  # pasted from a terminal: the exchange would refuse it
    editor.flush()
    assert stored(session, entry_id).abstract == "本局登记信息\x1b[31m"  # work in progress is never refused
    message = render("text.refused_character", {"field": "abstract", "char": "U+001B"}, "zh")
    assert abstract.property("problem") == "error"
    assert abstract.toolTip() == message
    assert message in [p.message("zh") for p in editor.problems_panel.problems()]
    assert message in said_under(editor, "abstract")


def test_a_control_character_pasted_into_a_line_is_shown_at_the_field_while_the_steward_is_still_in_it(
        qtbot, shown, session):
    entry_id = make_entry(session.workspace)
    shown.set_entry(entry_id)
    name = shown.field_widget("name")
    name.setFocus()
    qtbot.waitUntil(name.hasFocus)
    name.end(False)
    QApplication.clipboard().setText("\x07")
    qtbot.keyClick(name, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    message = render("text.refused_character", {"field": "name", "char": "U+0007"}, "zh")
    qtbot.waitUntil(lambda: message in said_under(shown, "name"), timeout=5000)  # saved after the pause in typing
    assert name.hasFocus() and stored(session, entry_id).name == "企业登记信息\x07"


def said_under(editor: EntryEditor, field: str) -> str:
    """What the editor says under `field` (empty when nothing is shown there)."""
    label = editor.problem_label(field)
    return label.text() if label.isVisibleTo(editor) else ""


def in_view(editor: EntryEditor, widget: QWidget) -> bool:
    """Whether all of `widget` is inside the scrolled form's visible part."""
    viewport = editor.scroll.viewport()
    rect = QRect(widget.mapTo(viewport, QPoint(0, 0)), widget.size())
    return widget.isVisible() and viewport.rect().contains(rect)


def test_a_problem_shows_under_the_field_just_changed_and_goes_when_fixed(qtbot, shown, session):
    entry_id = make_entry(session.workspace)
    shown.set_entry(entry_id)
    name = shown.field_widget("name")
    assert all(said_under(shown, spec.key) == "" for spec in ENTRY_FIELDS)
    name.setFocus()
    type_and_finish(qtbot, name, "")
    message = render("required", {"field": "name"}, "zh")
    assert message in said_under(shown, "name")
    label = shown.problem_label("name")
    qtbot.waitUntil(lambda: in_view(shown, label))
    assert label.mapTo(shown, QPoint(0, 0)).y() >= name.mapTo(shown, QPoint(0, name.height())).y()  # under it
    assert abs(label.mapTo(shown, QPoint(0, 0)).x() - name.mapTo(shown, QPoint(0, 0)).x()) < 4  # aligned with it
    type_and_finish(qtbot, name, "企业登记信息")
    assert said_under(shown, "name") == ""


def test_every_field_with_a_problem_says_it_under_the_field(shown, session):
    shown.set_entry(make_entry(session.workspace, code="bad code", published="2024-13-45"))
    assert render("published.invalid", {"value": "2024-13-45"}, "zh") in said_under(shown, "published")
    [code_problem] = [p for p in shown.problems_panel.problems() if p.field == "code"]
    assert code_problem.message("zh") in said_under(shown, "code")
    assert said_under(shown, "name") == ""


def test_data_item_problems_are_said_under_the_items_table(shown, session):
    items = [DataItem(name="名称", data_type="C", position=1), DataItem(name="", data_type="N", position=2)]
    shown.set_entry(make_entry(session.workspace, items=items))
    [problem] = [p for p in shown.problems_panel.problems() if p.item_id == items[1].id]
    assert problem.message("zh") in said_under(shown, "items")


def test_the_problem_under_a_field_at_the_bottom_edge_is_scrolled_into_view(qtbot, shown, session):
    shown.resize(700, 420)
    shown.set_entry(make_entry(session.workspace))
    published = shown.field_widget("published")
    published.setFocus()
    qtbot.waitUntil(published.hasFocus)
    shown.scroll.ensureWidgetVisible(published, 0, 0)  # the field's lower edge on the viewport's
    qtbot.waitUntil(lambda: in_view(shown, published))
    type_and_finish(qtbot, published, "2024-13-45")
    qtbot.waitUntil(lambda: in_view(shown, shown.problem_label("published")))
    assert in_view(shown, published)


def test_problems_under_the_fields_follow_the_language(editor, session):
    editor.set_entry(make_entry(session.workspace, published="2024-13-45"))
    session.language = "en"
    QApplication.sendEvent(editor, QEvent(QEvent.Type.LanguageChange))
    assert render("published.invalid", {"value": "2024-13-45"}, "en") in said_under(editor, "published")
    assert editor.field_widget("published").toolTip() == render("published.invalid", {"value": "2024-13-45"}, "en")


def test_the_panel_lists_the_entry_problems_and_activating_one_focuses_its_field(qtbot, shown, session):
    entry_id = make_entry(session.workspace, code="bad code", published="", update_frequency=None)
    shown.set_entry(entry_id)
    problems = query.problems_of(session.workspace, entry_id)
    panel = shown.problems_panel
    assert panel.list.count() == len(problems) >= 3
    assert {(p.field, p.code) for p in panel.problems()} == {(p.field, p.code) for p in problems}
    first = panel.list.item(0)
    assert first.data(SeverityRole) == "error" and not first.icon().isNull()
    assert first.data(Qt.ItemDataRole.AccessibleTextRole) == "Error: " + panel.problems()[0].message("zh")
    row = next(n for n, p in enumerate(panel.problems()) if p.field == "code")
    with qtbot.waitSignal(panel.problem_activated) as signal:
        panel.activate_row(row)
    assert signal.args == ["code", None]
    qtbot.waitUntil(shown.field_widget("code").hasFocus)
    assert shown.field_widget("code").property("problem") == "error"


def test_activating_a_data_item_problem_selects_its_cell(qtbot, shown, session):
    items = [DataItem(name="名称", data_type="C", position=1), DataItem(name="", data_type="N", position=2)]
    entry_id = make_entry(session.workspace, items=items)
    shown.set_entry(entry_id)
    panel = shown.problems_panel
    [row] = [n for n, p in enumerate(panel.problems()) if p.item_id == items[1].id]
    panel.activate_row(row)
    current = shown.items_view.currentIndex()
    assert (current.row(), current.column()) == (1, ItemsModel.NAME)
    qtbot.waitUntil(shown.items_view.hasFocus)


def test_no_problems_says_so(editor, session):
    editor.set_entry(make_entry(session.workspace))
    assert editor.problems_panel.problems() == []
    assert editor.problems_panel.summary.text() == "No problems found."
    assert all(editor.field_widget(spec.key).property("problem") == "" for spec in ENTRY_FIELDS)


def test_problems_refresh_after_every_edit(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    type_and_finish(qtbot, editor.field_widget("name"), "")
    assert editor.field_widget("name").property("problem") == "error"
    assert [p.code for p in editor.problems_panel.problems()] == ["required"]
    session.undo_stack.undo()
    assert editor.problems_panel.problems() == []


# Undo -------------------------------------------------------------------------------------------


def test_undo_reloads_the_editor_with_the_old_value(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    choose(editor, "update_frequency", "weekly")
    type_and_finish(qtbot, editor.field_widget("provider"), "另一个部门")
    session.undo_stack.undo()
    assert editor.field_widget("provider").text() == DEPARTMENT.name
    session.undo_stack.undo()
    assert editor.field_widget("update_frequency").currentData() == "daily"
    assert stored(session, entry_id).update_frequency == "daily"
    assert session.undo_stack.count() == 2  # the reload itself stored nothing
    session.undo_stack.redo()
    assert editor.field_widget("update_frequency").currentData() == "weekly"


def test_a_value_outside_the_vocabulary_is_shown_and_kept(editor, session):
    entry_id = make_entry(session.workspace, update_frequency="每两年")
    editor.set_entry(entry_id)
    combo = editor.field_widget("update_frequency")
    assert combo.currentText() == "每两年"
    assert combo.property("problem") == "error"
    assert stored(session, entry_id).update_frequency == "每两年"
    editor.set_entry(make_entry(session.workspace, code="319002/000902"))
    assert combo.count() == 1 + 8  # the odd value does not stay in the list


def test_an_erased_entry_empties_the_editor(editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    session.apply([journal.EraseEntry(entry_id)], "erase")
    assert not editor.content.isEnabled()
    assert editor.heading.text() == "This entry no longer exists."


def test_a_refused_write_is_reported_not_raised(qtbot, editor, session, monkeypatch):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)

    def locked(*_args, **_kwargs):
        raise journal.StewardError("workspace.locked", path="ws")

    monkeypatch.setattr(journal, "apply", locked)
    with qtbot.waitSignal(session.failed):
        type_and_finish(qtbot, editor.field_widget("name"), "新名称")
    assert editor.field_widget("name").text() == "新名称"  # kept, to be saved on the next try
    monkeypatch.undo()
    editor.flush()
    assert stored(session, entry_id).name == "新名称"


def test_focus_goes_to_the_first_field_and_tabs_through_the_form(qtbot, shown, session):
    shown.set_entry(make_entry(session.workspace))
    shown.setFocus()
    qtbot.waitUntil(shown.field_widget("classification").hasFocus)
    assert QApplication.focusWidget() is shown.field_widget("classification")
    qtbot.keyClick(shown.field_widget("classification"), Qt.Key.Key_Tab)
    qtbot.waitUntil(shown.field_widget("name").hasFocus)


def test_arrow_keys_in_a_choice_step_without_saving_and_enter_confirms(qtbot, shown, session, monkeypatch):
    entry_id = make_entry(session.workspace)  # shared unconditionally
    shown.set_entry(entry_id)
    asked: list[str] = []
    monkeypatch.setattr(ReasonDialog, "ask", staticmethod(lambda text, parent=None: asked.append(text) or "个人信息"))
    combo = shown.field_widget("sharing_type")
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # past 有条件共享 ...
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # ... to 不予共享
    assert combo.currentData() == "not_shared"
    assert asked == [] and session.undo_stack.count() == 0  # no step was saved, no reason asked on the way
    assert stored(session, entry_id).sharing_type == "unconditional"
    qtbot.keyClick(combo, Qt.Key.Key_Return)
    assert len(asked) == 1 and "不予共享" in asked[0]
    assert stored(session, entry_id).sharing_type == "not_shared"
    assert [op.new for op in field_ops(session, entry_id, "sharing_type")] == ["not_shared"]


def test_leaving_a_choice_after_stepping_saves_what_it_shows(qtbot, shown, session):
    entry_id = make_entry(session.workspace)  # updated daily
    shown.set_entry(entry_id)
    combo = shown.field_widget("update_frequency")
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    for _ in range(3):
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert stored(session, entry_id).update_frequency == "daily"
    qtbot.keyClick(combo, Qt.Key.Key_Tab)
    assert stored(session, entry_id).update_frequency == "quarterly"
    assert session.undo_stack.count() == 1


def test_a_choice_stepped_to_is_saved_when_the_window_closes(qtbot, shown, session):
    entry_id = make_entry(session.workspace)  # updated daily
    shown.set_entry(entry_id)
    combo = shown.field_widget("update_frequency")
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert stored(session, entry_id).update_frequency == "daily"
    shown.flush()  # what the window does as it closes: nothing shown is lost
    assert stored(session, entry_id).update_frequency == "weekly"


def test_switching_to_another_window_is_not_leaving_a_choice(qtbot, shown, session):
    entry_id = make_entry(session.workspace)  # updated daily
    shown.set_entry(entry_id)
    combo = shown.field_widget("update_frequency")
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(other.isActiveWindow)
    assert stored(session, entry_id).update_frequency == "daily"  # a reason dialog would pop up over the other window
    shown.activateWindow()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClick(combo, Qt.Key.Key_Return)
    assert stored(session, entry_id).update_frequency == "weekly"


def test_alt_down_opens_a_choice_list_and_a_pick_from_it_is_saved(qtbot, shown, session):
    entry_id = make_entry(session.workspace)
    shown.set_entry(entry_id)
    combo = shown.field_widget("update_frequency")
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClick(combo, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(combo.view().isVisible)
    qtbot.keyClick(combo.view(), Qt.Key.Key_Down)  # moving in the open list stores nothing
    assert stored(session, entry_id).update_frequency == "daily"
    qtbot.keyClick(combo.view(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not combo.view().isVisible())
    assert stored(session, entry_id).update_frequency == "weekly"


def test_in_a_data_item_cell_alt_down_opens_the_list_and_arrows_do_not_end_the_edit(qtbot, shown, session):
    entry_id = make_entry(session.workspace)
    shown.set_entry(entry_id)
    view = shown.items_view
    index = shown.items_model.index(0, ItemsModel.DATA_TYPE)
    view.setFocus()
    view.setCurrentIndex(index)
    view.edit(index)
    cell = QApplication.focusWidget()
    assert isinstance(cell, QComboBox) and cell.currentData() == "C"
    qtbot.keyClick(cell, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(cell.view().isVisible)
    assert view.currentIndex().row() == 0  # the row did not move down
    assert [i.name for i in stored(session, entry_id).items] == ["企业名称", "成立日期"]
    cell.hidePopup()
    qtbot.waitUntil(lambda: not cell.view().isVisible())
    qtbot.keyClick(cell, Qt.Key.Key_Down)
    qtbot.keyClick(cell, Qt.Key.Key_Down)
    assert view.state() == QAbstractItemView.State.EditingState  # still editing after a step
    assert stored(session, entry_id).items[0].data_type == "C"
    qtbot.keyClick(cell, Qt.Key.Key_Return)
    assert stored(session, entry_id).items[0].data_type == "Y"


def test_text_typed_but_not_saved_survives_a_reload(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    choose(editor, "update_frequency", "weekly")
    line = editor.field_widget("name")
    line.end(False)
    type_text(qtbot, line, "改")  # not saved yet when the undo below reloads the form
    session.undo_stack.undo()
    assert editor.field_widget("update_frequency").currentData() == "daily"
    assert line.text() == "企业登记信息改"
    editor.flush()
    assert stored(session, entry_id).name == "企业登记信息改"


def test_the_wheel_over_an_unfocused_combo_does_not_change_the_entry(qtbot, shown, session):
    entry_id = make_entry(session.workspace)
    shown.set_entry(entry_id)
    combo = shown.field_widget("update_frequency")
    centre = QPointF(combo.rect().center())
    wheel = QWheelEvent(centre, combo.mapToGlobal(centre), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(combo, wheel)
    assert combo.currentData() == "daily"
    assert stored(session, entry_id).update_frequency == "daily"


def test_a_language_change_event_shows_the_core_labels_in_the_session_language(editor, session):
    editor.set_entry(make_entry(session.workspace))
    session.language = "en"  # the window sets it before installing the translators
    QApplication.sendEvent(editor, QEvent(QEvent.Type.LanguageChange))
    assert editor.field_label("sharing_type").text() == "Sharin&g type *"
    assert editor.field_widget("sharing_type").currentText() == "Shared unconditionally"
    assert editor.basic_group.title() == "Basic information"


@pytest.mark.parametrize("sharing", [None, "unconditional", "conditional", "not_shared"])
@pytest.mark.parametrize("opening", [None, "unconditional", "conditional", "not_open"])
def test_the_core_form_description_agrees_with_the_sharing_rule(sharing, opening):
    """What the form marks required (rules.dependent_fields) is what the rule reports when left blank."""
    blank = Entry(sharing_type=sharing, open_type=opening)
    reported = {p.field: p.code for p in rules.sharing_and_opening(blank, rules.Context())
                if p.field in entry_editor.DEPENDENT_FIELDS}
    required = {f: code for f, code in rules.dependent_fields(sharing, opening).items() if code}
    assert reported == required


def test_clearing_the_sharing_type_first_still_asks_for_a_reason(qtbot, editor, session):
    entry_id = make_entry(session.workspace, sharing_type="conditional", sharing_conditions="仅限监管")
    accept_pending(session.workspace, [entry_id])  # the exchange has it conditional
    editor.set_entry(entry_id)
    choose(editor, "sharing_type", None)  # clearing is no tightening: nothing asked
    assert stored(session, entry_id).sharing_type is None
    seen: list[str] = []
    reasons.answer(qtbot, "依据保密法", seen)
    choose(editor, "sharing_type", "not_shared")
    assert len(seen) == 1 and "有条件共享" in seen[0] and "不予共享" in seen[0]  # judged against the exchange
    assert stored(session, entry_id).sharing_type == "not_shared"
    assert field_ops(session, entry_id, "sharing_type")[-1].reason == "依据保密法"


def test_cancelling_the_reason_keeps_the_cleared_value(qtbot, editor, session):
    entry_id = make_entry(session.workspace, open_type="conditional", open_conditions="实名申请")
    accept_pending(session.workspace, [entry_id])
    editor.set_entry(entry_id)
    choose(editor, "open_type", None)
    reasons.cancel(qtbot)
    choose(editor, "open_type", "not_open")
    assert stored(session, entry_id).open_type is None
    assert editor.field_widget("open_type").currentData() is None
