"""An auditor's copy in the window: it opens, reads and exports; nothing invites an edit it would refuse."""

from __future__ import annotations

from steward.workspace.workspace import Workspace
from tests.ui.main_windows import close_window, open_window
from tests.workspace.read_only import read_only
from ui.session import Session


def test_a_read_only_workspace_opens_for_reading_and_offers_no_edit(qtbot, sample_workspace, settings):
    folder = sample_workspace.folder
    sample_workspace.close()
    with read_only(folder):
        workspace = Workspace.open(folder)
        assert workspace.read_only
        session = Session(workspace, settings)
        session.language = "en"
        window = open_window(qtbot, session)
        qtbot.waitUntil(lambda: window.model.rowCount() == 60, timeout=10000)
        window.table.selectRow(0)
        qtbot.waitUntil(lambda: window.editor.heading.text() != "", timeout=10000)
        assert "read-only" in window.windowTitle()
        assert window.read_only_label.isVisibleTo(window)
        for action in (window.new_action, window.duplicate_action, window.retire_action, window.erase_action,
                       window.bulk_action, window.import_action, window.sync_action, window.create_key_action):
            assert not action.isEnabled(), action.text()
        assert window.export_action.isEnabled() and window.history_action.isEnabled()
        assert not window.editor.content.isEnabled()
        close_window(window)
        session.runner.wait_all()
        workspace.close()
