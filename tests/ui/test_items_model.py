"""The data items table: a well-behaved model whose every edit is a stored, undoable journal change."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QComboBox, QSpinBox, QStyleOptionViewItem

from steward.catalogue.model import DataItem
from steward.catalogue.operations import OpKind
from steward.workspace import journal, query
from tests.ui import conftest, reasons
from ui.entry_editor import EntryEditor
from ui.items_model import ItemIdRole, ItemsModel, SeverityRole


def make_entry(workspace, items: list[DataItem] | None = None) -> str:
    """An entry shared on conditions and not open, so its data items' own attributes can differ from it."""
    return conftest.make_entry(
        workspace, abstract="摘要", sharing_type="conditional", sharing_conditions="经审批", open_type="not_open",
        items=items if items is not None else [
            DataItem(name="企业名称", data_type="C", length=200, position=1),
            DataItem(name="统一社会信用代码", data_type="C", length=18, position=2),
            DataItem(name="成立日期", data_type="D", position=3),
        ],
    )


def names(session, entry_id) -> list[str]:
    return [item.name for item in query.get_entry(session.workspace, entry_id).items]


def cell(model: ItemsModel, row: int, column: int):
    return model.index(row, column)


def select_rows(editor: EntryEditor, rows: list[int]) -> None:
    view, model = editor.items_view, editor.items_model
    view.setCurrentIndex(model.index(rows[0], ItemsModel.NAME))
    selection = view.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(model.index(row, ItemsModel.NAME), QItemSelectionModel.SelectionFlag.Select)


# The model on its own -----------------------------------------------------------------------------


def test_the_model_passes_qt_model_tester(qtmodeltester, session):
    entry_id = make_entry(session.workspace, [DataItem(name="", data_type="X", length=0, position=1),
                                             DataItem(name="名称", data_type="C", position=2)])
    model = ItemsModel(session)
    model.set_entry(query.get_entry(session.workspace, entry_id), query.problems_of(session.workspace, entry_id))
    assert model.rowCount() == 2
    qtmodeltester.check(model)
    model.set_entry(None)
    qtmodeltester.check(model)


def test_the_editor_model_passes_qt_model_tester_through_edits(qtmodeltester, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    qtmodeltester.check(editor.items_model)
    editor.add_item_action.trigger()
    editor.items_model.setData(cell(editor.items_model, 3, ItemsModel.NAME), "注册资本")
    session.undo_stack.undo()
    qtmodeltester.check(editor.items_model)


def test_rows_show_labels_and_hold_stored_values(session):
    entry_id = make_entry(session.workspace)
    model = ItemsModel(session)
    model.set_entry(query.get_entry(session.workspace, entry_id))
    assert model.columnCount() == 6
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == [
        "序号", "信息项名称", "数据类型", "数据长度", "共享类型", "开放属性"]
    assert model.data(cell(model, 1, ItemsModel.POSITION)) == "2"
    assert model.data(cell(model, 1, ItemsModel.DATA_TYPE)) == "字符型"
    assert model.data(cell(model, 1, ItemsModel.DATA_TYPE), Qt.ItemDataRole.EditRole) == "C"
    assert model.data(cell(model, 1, ItemsModel.LENGTH)) == "18"
    assert model.data(cell(model, 2, ItemsModel.LENGTH)) == ""
    assert model.data(cell(model, 0, ItemsModel.SHARING), Qt.ItemDataRole.EditRole) is None
    assert not model.flags(cell(model, 0, ItemsModel.POSITION)) & Qt.ItemFlag.ItemIsEditable
    assert model.flags(cell(model, 0, ItemsModel.NAME)) & Qt.ItemFlag.ItemIsEditable
    assert model.data(cell(model, 0, ItemsModel.NAME), ItemIdRole) == model.item_ids()[0]


def test_item_problems_are_marked_in_their_cells(session):
    items = [DataItem(name="", data_type="C", position=1), DataItem(name="名称", data_type="C", position=2,
                                                                     open_type="unconditional")]
    entry_id = make_entry(session.workspace, items)
    model = ItemsModel(session)
    model.set_entry(query.get_entry(session.workspace, entry_id), query.problems_of(session.workspace, entry_id))
    name = cell(model, 0, ItemsModel.NAME)
    assert model.data(name, SeverityRole) == "error"
    assert model.data(name, Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(name, Qt.ItemDataRole.ToolTipRole) == "第1个信息项的信息项名称不能为空"
    assert model.data(cell(model, 0, ItemsModel.POSITION), Qt.ItemDataRole.DecorationRole) is not None
    assert model.data(cell(model, 0, ItemsModel.DATA_TYPE), Qt.ItemDataRole.BackgroundRole) is None
    assert "比资源本身更开放" in model.data(cell(model, 1, ItemsModel.OPEN), Qt.ItemDataRole.ToolTipRole)
    assert model.data(cell(model, 1, ItemsModel.NAME), Qt.ItemDataRole.ToolTipRole) is None


# Edits through the editor's table ------------------------------------------------------------------


def test_add_appends_an_item_focuses_its_name_and_is_undoable(editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    editor.add_item_action.trigger()
    stored = query.get_entry(session.workspace, entry_id).items
    assert len(stored) == 4 and stored[-1].name == "" and stored[-1].position == 4
    assert editor.items_model.rowCount() == 4
    current = editor.items_view.currentIndex()
    assert (current.row(), current.column()) == (3, ItemsModel.NAME)
    assert session.undo_stack.count() == 1
    session.undo_stack.undo()
    assert len(query.get_entry(session.workspace, entry_id).items) == 3
    assert editor.items_model.rowCount() == 3


def test_rename_through_setdata_is_stored_and_undoable(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    model = editor.items_model
    editor.items_view.setCurrentIndex(cell(model, 0, ItemsModel.NAME))
    with qtbot.assertNotEmitted(model.modelReset):  # an edit keeps the view's current cell and open editors
        assert model.setData(cell(model, 0, ItemsModel.NAME), "  企业中文名称 ")
    assert names(session, entry_id)[0] == "企业中文名称"
    assert model.data(cell(model, 0, ItemsModel.NAME)) == "企业中文名称"
    assert editor.items_view.currentIndex().row() == 0
    [op] = [o for o in journal.history(session.workspace, entry_id) if o.kind is OpKind.ITEM_SET]
    assert (op.field, op.old, op.new) == ("name", "企业名称", "企业中文名称")
    session.undo_stack.undo()
    assert names(session, entry_id)[0] == "企业名称"
    assert model.data(cell(model, 0, ItemsModel.NAME)) == "企业名称"


def test_data_type_length_and_attributes_through_setdata(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    model = editor.items_model
    assert model.setData(cell(model, 2, ItemsModel.DATA_TYPE), "T")
    assert model.setData(cell(model, 1, ItemsModel.DATA_TYPE), "数值型")  # a label is understood too
    assert model.setData(cell(model, 2, ItemsModel.LENGTH), "19")
    assert model.setData(cell(model, 0, ItemsModel.LENGTH), None)
    reasons.answer(qtbot, "contains ID numbers")  # stricter than the entry's conditional sharing
    assert model.setData(cell(model, 1, ItemsModel.SHARING), "not_shared")
    items = query.get_entry(session.workspace, entry_id).items
    assert [(i.data_type, i.length, i.sharing_type) for i in items] == [
        ("C", None, None), ("N", 18, "not_shared"), ("T", 19, None)]
    assert model.data(cell(model, 2, ItemsModel.DATA_TYPE)) == "日期时间型"
    assert session.undo_stack.count() == 5
    session.undo_stack.undo()
    assert query.get_entry(session.workspace, entry_id).items[1].sharing_type is None
    assert model.setData(cell(model, 1, ItemsModel.SHARING), None)  # "as the entry" when it was already: no step
    assert session.undo_stack.index() == 4 and session.undo_stack.count() == 5


def test_a_data_item_made_more_restrictive_asks_for_a_reason(qtbot, editor, session):
    session.language = "en"
    entry_id = make_entry(session.workspace)  # shared on conditions, not open
    editor.set_entry(entry_id)
    model = editor.items_model
    seen: list[str] = []
    reasons.cancel(qtbot, seen)
    assert not model.setData(cell(model, 0, ItemsModel.SHARING), "not_shared")
    assert seen == ["Changing Sharing type of data item 1 from “Shared on conditions” to “Not shared” makes it more "
                    "restrictive. Please give the reason; it is recorded with the change."]
    assert query.get_entry(session.workspace, entry_id).items[0].sharing_type is None
    assert session.undo_stack.count() == 0

    reasons.answer(qtbot, "contains ID numbers")
    assert model.setData(cell(model, 0, ItemsModel.SHARING), "not_shared")
    [op] = [o for o in journal.history(session.workspace, entry_id) if o.kind is OpKind.ITEM_SET]
    assert (op.field, op.new, op.reason) == ("sharing_type", "not_shared", "contains ID numbers")
    # Loosening it again, or stating the entry's own value, asks nothing.
    assert model.setData(cell(model, 0, ItemsModel.SHARING), None)
    assert model.setData(cell(model, 1, ItemsModel.OPEN), "not_open")


def test_a_value_that_fits_no_field_is_reported_and_not_stored(qtbot, editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    model = editor.items_model
    with qtbot.waitSignal(session.failed):
        assert not model.setData(cell(model, 0, ItemsModel.DATA_TYPE), "图片型")
    with qtbot.waitSignal(session.failed):
        assert not model.setData(cell(model, 0, ItemsModel.LENGTH), "twelve")
    assert not model.setData(cell(model, 0, ItemsModel.POSITION), 3)
    assert not model.setData(cell(model, 0, ItemsModel.NAME), "x", Qt.ItemDataRole.DisplayRole)
    assert session.undo_stack.count() == 0
    assert query.get_entry(session.workspace, entry_id).items[0].data_type == "C"


def test_remove_takes_the_selected_rows_in_one_undo_step(editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    select_rows(editor, [0, 2])
    editor.remove_items_action.trigger()
    assert names(session, entry_id) == ["统一社会信用代码"]
    assert editor.items_model.rowCount() == 1
    assert session.undo_stack.count() == 1
    session.undo_stack.undo()
    assert names(session, entry_id) == ["企业名称", "统一社会信用代码", "成立日期"]
    assert editor.items_model.rowCount() == 3


def test_move_up_and_down_swap_positions_in_one_undo_step(editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    editor.items_view.setCurrentIndex(cell(editor.items_model, 2, ItemsModel.LENGTH))
    assert editor.move_up_action.isEnabled() and not editor.move_down_action.isEnabled()
    editor.move_up_action.trigger()
    assert names(session, entry_id) == ["企业名称", "成立日期", "统一社会信用代码"]
    assert [i.position for i in query.get_entry(session.workspace, entry_id).items] == [1, 2, 3]
    current = editor.items_view.currentIndex()
    assert (current.row(), current.column()) == (1, ItemsModel.LENGTH)  # the moved item stays current
    assert session.undo_stack.count() == 1
    editor.move_down_action.trigger()
    assert names(session, entry_id) == ["企业名称", "统一社会信用代码", "成立日期"]
    session.undo_stack.undo()
    session.undo_stack.undo()
    assert names(session, entry_id) == ["企业名称", "统一社会信用代码", "成立日期"]
    session.undo_stack.undo()  # nothing left: the entry is as created
    assert editor.items_model.item_ids() == [i.id for i in query.get_entry(session.workspace, entry_id).items]


def test_moving_items_whose_positions_repeat_numbers_them_afresh(editor, session):
    items = [DataItem(name=n, data_type="C", position=1) for n in ("甲", "乙", "丙")]
    entry_id = make_entry(session.workspace, items)
    editor.set_entry(entry_id)
    before = names(session, entry_id)
    editor.items_model.move_row(2, -1)
    assert names(session, entry_id) == [before[0], before[2], before[1]]
    assert [i.position for i in query.get_entry(session.workspace, entry_id).items] == [1, 2, 3]


def test_keyboard_shortcuts_belong_to_the_table(editor):
    shortcuts = {a.shortcut().toString() for a in editor.items_view.actions()}
    assert {"Ins", "Del", "Alt+Up", "Alt+Down"} <= shortcuts
    assert all(a.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
               for a in editor.items_view.actions())


# Delegates ---------------------------------------------------------------------------------------


def test_the_vocabulary_delegate_edits_keys_with_an_as_the_entry_choice(editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    model, view = editor.items_model, editor.items_view
    index = cell(model, 0, ItemsModel.OPEN)
    delegate = view.itemDelegateForIndex(index)
    combo = delegate.createEditor(view.viewport(), QStyleOptionViewItem(), index)
    assert isinstance(combo, QComboBox)
    assert combo.itemData(0) is None and combo.itemText(0) == "(as the entry)"
    assert combo.itemText(1) == "无条件开放" and combo.accessibleName() == "开放属性"
    delegate.setEditorData(combo, index)
    assert combo.currentIndex() == 0
    combo.setCurrentIndex(combo.findData("not_open"))
    delegate.setModelData(combo, model, index)
    assert query.get_entry(session.workspace, entry_id).items[0].open_type == "not_open"
    combo.deleteLater()


def test_the_length_delegate_stores_ints_and_blank_as_none(editor, session):
    entry_id = make_entry(session.workspace)
    editor.set_entry(entry_id)
    model, view = editor.items_model, editor.items_view
    index = cell(model, 0, ItemsModel.LENGTH)
    delegate = view.itemDelegateForIndex(index)
    spin = delegate.createEditor(view.viewport(), QStyleOptionViewItem(), index)
    assert isinstance(spin, QSpinBox)
    delegate.setEditorData(spin, index)
    assert spin.value() == 200
    spin.setValue(255)
    delegate.setModelData(spin, model, index)
    assert query.get_entry(session.workspace, entry_id).items[0].length == 255
    spin.setValue(0)
    delegate.setModelData(spin, model, index)
    assert query.get_entry(session.workspace, entry_id).items[0].length is None
    spin.deleteLater()
