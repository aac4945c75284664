"""The publish preview in the window (issue 17): Sync ▸ Publish preview lists what the next sync publishes."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QKeySequence

from steward.workspace import journal
from steward.workspace.journal import CreateEntry, SetField, SetItemField
from steward.workspace.workspace import Workspace
from tests.helpers import DEPARTMENT_CODE, DEPARTMENT_NAME, accept_pending, make_clean_entry
from ui.main_window import MainWindow
from ui.publish_preview import PublishPreviewDialog
from ui.session import Session


@pytest.fixture
def workspace(tmp_path):
    ws = Workspace.create(tmp_path / "ws", DEPARTMENT_CODE, DEPARTMENT_NAME)
    yield ws
    ws.close()


def _synced(ws, **fields):
    entry = make_clean_entry(**fields)
    journal.apply(ws, [CreateEntry(entry)])
    accept_pending(ws, [entry.id])
    return entry


@pytest.fixture
def window(qtbot, workspace, settings):
    session = Session(workspace, settings)
    main = MainWindow(session)
    qtbot.addWidget(main)
    yield main
    session.runner.wait_all()


def _texts(dialog: PublishPreviewDialog) -> dict[str, list[str]]:
    model = dialog.model
    return {model.index(r, 0).data(): [model.index(r, c).data() for c in range(1, model.columnCount())]
            for r in range(model.rowCount())}


def test_the_dialog_lists_what_the_next_sync_publishes_withdraws_and_changes(qtbot, qtmodeltester, chinese_ui,
                                                                           window):
    ws = window.session.workspace
    opened = _synced(ws, open_type="not_open")
    closed, retired, renamed, broken = _synced(ws), _synced(ws), _synced(ws), _synced(ws)
    _synced(ws)  # untouched: not in the preview
    item = renamed.items[1]
    journal.apply(ws, [SetField(opened.id, "open_type", "unconditional"), SetField(retired.id, "status", "retired"),
                       SetField(renamed.id, "name", "新名称")])
    journal.apply(ws, [SetField(closed.id, "open_type", "not_open"),
                       SetItemField(renamed.id, item.id, "open_type", "not_open"),
                       SetField(broken.id, "open_type", "conditional")], reason="含个人信息")
    assert window.publish_preview_action in window.sync_menu.actions()
    assert window.publish_preview_action.shortcut() == QKeySequence("Ctrl+Shift+U")
    window.retranslate()
    assert window.publish_preview_action.text() == "发布预览(&P)…"
    window.publish_preview_action.trigger()
    dialog = window.show_publish_preview()
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=10000)
    qtmodeltester.check(dialog.model)
    assert _texts(dialog) == {
        opened.code: [opened.name, "发布", ""],
        closed.code: [closed.name, "撤下：不再开放", ""],
        retired.code: [retired.name, "撤下：已停用", ""],
        renamed.code: ["新名称", "更改", f"信息资源名称：{renamed.name} → 新名称；信息项“{item.name}”不再公开"],
        broken.code: [broken.name, "不发送：存在错误（公众仍看到上次同步的版本）", ""],
    }
    assert dialog.status.text() == ("本次同步将发布 1 个数据集，撤下 2 个，更改 1 个。"
                                    "1 个条目的修改会改变公开的目录，但不会发送。")
    assert dialog.windowTitle() == "发布预览"
    row = next(r for r in range(dialog.model.rowCount()) if dialog.model.index(r, 0).data() == renamed.code)
    with qtbot.waitSignal(dialog.entry_activated) as shown:
        dialog.view.activated.emit(dialog.model.index(row, 1))
    assert shown.args == [renamed.id]


def test_the_dialog_says_when_the_public_sees_no_change_and_follows_edits(qtbot, chinese_ui, window):
    ws = window.session.workspace
    entry = _synced(ws)
    dialog = window.show_publish_preview()
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=10000)
    assert dialog.model.rowCount() == 0
    assert dialog.status.text() == "本次同步不会改变公开的目录。"
    window.session.apply([SetField(entry.id, "update_frequency", "weekly")], "edit")
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=10000)
    assert dialog.model.index(0, 3).data() == "更新周期：每日 → 每周"
