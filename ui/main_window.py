"""The main window: classification tree and quick filters, the catalogue table, the entry editor."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from steward import __version__
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.catalogue.model import Entry
from steward.catalogue.vocabulary import SharingType, Status
from steward.files.exporter import ExportResult
from steward.sync import identity, joining, syncer
from steward.sync.keys import spaced
from steward.sync.profile import read_profile
from steward.sync.requests import inbox
from steward.sync.summary import NotSent, SyncSummary
from steward.workspace import drafts, query
from steward.workspace.journal import CreateEntry, EraseEntry, SetField
from steward.workspace.workspace import Workspace
from ui import operations
from ui.bulk_edit import BulkEditDialog
from ui.catalogue_model import CatalogueModel, EntryIdRole
from ui.catalogue_view import CatalogueView
from ui.classification_tree import ClassificationTree
from ui.conflict_dialog import ConflictDialog
from ui.entry_editor import EntryEditor
from ui.export_dialog import ExportDialog
from ui.filter_panel import FilterPanel
from ui.history_view import HistoryDialog
from ui.i18n import Retranslating, Translators, application_name, core_language
from ui.import_result import ImportResultDialog
from ui.import_wizard import ImportOutcome, ImportWizard
from ui.kept_selection import KeptSelection
from ui.not_sent_view import NotSentDialog
from ui.pending_view import PendingChangesDialog
from ui.profile_dialog import OpenProfileDialog, ProfileOutcome
from ui.progress import run_with_progress
from ui.publish_preview import PublishPreviewDialog
from ui.reason_dialog import ReasonDialog
from ui.request_form import RequestForm, not_shared_notice
from ui.requests_view import RequestsDialog
from ui.resources import icon
from ui.session import Session
from ui.settings_dialog import SettingsDialog
from ui.sync_controller import SyncController
from ui.times import local_time

SEARCH_DELAY_MS = 250


APPROVAL_POLL_MS = 30_000  # how often the window asks whether a waiting enrollment was approved
REFUSED_ENROLLMENTS = ("declined", "revoked")  # what the exchange may answer instead of approving


def redo_keys(platform_keys: list[QKeySequence]) -> list[QKeySequence]:
    """Redo's keys: Ctrl+Shift+Z and Ctrl+Y on every system, then the system's own, each once.

    Linux desktops bind Redo to Ctrl+Shift+Z only, Windows to Ctrl+Y first; a key given twice is
    "ambiguous" to Qt, which then does nothing at all on it.
    """
    keys: list[QKeySequence] = []
    for key in (QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y"), *platform_keys):
        if not key.isEmpty() and key not in keys:
            keys.append(key)
    return keys


class MainWindow(Retranslating, QMainWindow):
    first_paint = Signal()  # the table painted rows for the first time (smoke runs and benchmarks wait for it)

    def __init__(self, session: Session, translators: Translators | None = None) -> None:
        super().__init__()
        self.session = session
        self.translators = translators or Translators()
        session.dialog_parent = self
        session.failed.connect(self._show_failure)
        self.model = CatalogueModel(session, self)
        self.sync_controller = SyncController(session, self)
        self.sync_controller.conflicts_found.connect(self.show_conflicts)
        self.sync_controller.summarised.connect(self._synced)
        self._not_sent: list[NotSent] = []
        self.not_sent_dialog: NotSentDialog | None = None
        self._painted = False
        self._pending_dialog: PendingChangesDialog | None = None
        self.owns_session = False  # True for a window opened by switching workspaces: it closes its session
        self.successor: MainWindow | None = None  # the window that replaced this one (File ▸ Open profile…)
        self._profile_dialog: OpenProfileDialog | None = None
        self._publish_preview_dialog: PublishPreviewDialog | None = None
        self.requests_dialogs: dict[inbox.Box, RequestsDialog] = {}
        self._build_widgets()
        self._build_actions()
        self.table.set_row_actions([self.duplicate_action, self.retire_action, self.restore_action,
                                    self.history_action, self.request_action])
        self._build_status_bar()
        self._restore_state()
        self.retranslate()
        self._update_actions()
        self.model.loaded.connect(self._after_load)
        # Bound methods, not lambdas: Qt drops the connections when this window is destroyed.
        self.session.undo_stack.indexChanged.connect(self._status_soon)
        self.session.entries_changed.connect(self._status_soon)
        self.session.catalogue_changed.connect(self._status_soon)
        self.model.reload()
        self._refresh_status()

    # Building -------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.tree = ClassificationTree(self.session, self)
        self.tree.prefix_chosen.connect(lambda _prefix: self._apply_filter())
        self.filters = FilterPanel(self.session.language, self)
        self.filters.changed.connect(self._apply_filter)
        filter_scroll = QScrollArea(self)
        filter_scroll.setWidget(self.filters)
        filter_scroll.setWidgetResizable(True)
        self.left = QSplitter(Qt.Orientation.Vertical, self)
        self.left.addWidget(self.tree)
        self.left.addWidget(filter_scroll)

        self.search = QLineEdit(self)
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textEdited.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._apply_filter)

        self.table = CatalogueView(self.model, self.session.settings, self)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.table.doubleClicked.connect(lambda _index: self.editor.setFocus())
        self.table.viewport().installEventFilter(self)
        self.kept_selection = KeptSelection(self.table, self.model)  # through a sync's or a sort's reload

        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addWidget(self.search)
        centre_layout.addWidget(self.table)
        self.count_label = QLabel(centre)
        centre_layout.addWidget(self.count_label)

        self.editor = EntryEditor(self.session, self)
        self.table.edit_requested.connect(self.editor.setFocus)
        self.main_split = QSplitter(Qt.Orientation.Horizontal, self)
        self.main_split.addWidget(self.left)
        self.main_split.addWidget(centre)
        self.main_split.addWidget(self.editor)
        self.main_split.setStretchFactor(0, 0)
        self.main_split.setStretchFactor(1, 3)
        self.main_split.setStretchFactor(2, 2)
        self.main_split.setSizes([240, 640, 520])
        self.setCentralWidget(self.main_split)
        self.resize(1400, 860)
        self.setTabOrder(self.search, self.table)
        self.setTabOrder(self.table, self.editor)

    def _action(self, slot: Callable[[], object], shortcut: QKeySequence | str | None = None,
                icon_name: str | None = None) -> QAction:
        action = QAction(self)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon_name:
            action.setIcon(icon(icon_name))
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        std = QKeySequence.StandardKey
        stack = self.session.undo_stack
        self.undo_action = stack.createUndoAction(self)
        self.undo_action.setShortcut(QKeySequence(std.Undo))
        self.undo_action.setIcon(icon("undo"))
        self.redo_action = stack.createRedoAction(self)
        self.redo_action.setShortcuts(redo_keys(QKeySequence.keyBindings(std.Redo)))
        self.redo_action.setIcon(icon("redo"))
        self.new_action = self._action(self.new_entry, std.New, "new")
        self.duplicate_action = self._action(self.duplicate_entry, "Ctrl+D", "duplicate")
        self.retire_action = self._action(self.retire_entry, "Ctrl+Shift+R", "retire")
        self.restore_action = self._action(self.restore_entry)
        self.erase_action = self._action(self.erase_entry, "Ctrl+Shift+Del")
        self.bulk_action = self._action(self.bulk_edit, "Ctrl+B", "bulk")
        self.find_action = self._action(self.focus_search, std.Find)
        self.pending_action = self._action(self.show_pending, "Ctrl+Shift+P", "pending")
        self.history_action = self._action(self.show_history, "Ctrl+H", "history")
        self.reset_filters_action = self._action(self.reset_filters, "Ctrl+Shift+L")
        self.reload_action = self._action(self.model.reload, std.Refresh)
        self.sync_action = self._action(self.sync, "Ctrl+S", "sync")
        self.publish_preview_action = self._action(self.show_publish_preview, "Ctrl+Shift+U")
        self.conflicts_action = self._action(self.show_conflicts, "Ctrl+Shift+K")
        self.request_action = self._action(self.apply_for_sharing)
        self.inbox_action = self._action(self.show_inbox, "Ctrl+Shift+I")
        self.my_requests_action = self._action(self.show_my_requests, "Ctrl+Shift+M")
        self.create_key_action = self._action(self.sync_controller.create_key)
        self.export_key_action = self._action(self.export_public_key)
        self.open_profile_action = self._action(self.open_profile)
        self.settings_action = self._action(self.show_settings, std.Preferences)
        self.import_action = self._action(self.import_catalogue, "Ctrl+I")
        self.export_action = self._action(self.export_catalogue, "Ctrl+E")
        self.quit_action = self._action(self.close, std.Quit)
        self.about_action = self._action(self.show_about)
        self.focus_table_action = self._action(self.table.setFocus, "Ctrl+1")
        self.focus_editor_action = self._action(self.editor.setFocus, "Ctrl+2")
        self.focus_tree_action = self._action(self.tree.setFocus, "Ctrl+3")

        bar = self.menuBar()
        self.file_menu = bar.addMenu("")
        self.file_menu.addActions([self.open_profile_action])
        self.file_menu.addSeparator()
        self.file_menu.addActions([self.import_action, self.export_action])
        self.file_menu.addSeparator()
        self.file_menu.addActions([self.settings_action])
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)
        self.edit_menu = bar.addMenu("")
        self.edit_menu.addActions([self.undo_action, self.redo_action])
        self.edit_menu.addSeparator()
        self.edit_menu.addActions([self.new_action, self.duplicate_action, self.retire_action, self.restore_action,
                                   self.erase_action])
        self.edit_menu.addSeparator()
        self.edit_menu.addActions([self.bulk_action, self.find_action])
        self.view_menu = bar.addMenu("")
        self.view_menu.addActions([self.pending_action, self.history_action, self.reset_filters_action,
                                   self.reload_action])
        self.view_menu.addSeparator()
        self.view_menu.addActions([self.focus_table_action, self.focus_editor_action, self.focus_tree_action])
        self.sync_menu = bar.addMenu("")
        self.sync_menu.addActions([self.sync_action, self.publish_preview_action, self.conflicts_action])
        self.sync_menu.addSeparator()
        self.sync_menu.addActions([self.create_key_action, self.export_key_action])
        self.requests_menu = bar.addMenu("")
        self.requests_menu.addActions([self.request_action])
        self.requests_menu.addSeparator()
        self.requests_menu.addActions([self.inbox_action, self.my_requests_action])
        self.help_menu = bar.addMenu("")
        self.help_menu.addAction(self.about_action)

        self.toolbar = QToolBar(self)
        self.toolbar.setObjectName("main_toolbar")
        self.toolbar.addActions([self.new_action, self.duplicate_action, self.retire_action])
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.undo_action, self.redo_action])
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.bulk_action, self.pending_action, self.history_action])
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.sync_action)
        self.addToolBar(self.toolbar)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.workspace_label = QLabel(self)
        self.department_label = QLabel(self)
        self.unsynced_label = QLabel(self)
        self.last_sync_label = QLabel(self)
        self.key_label = QLabel(self)
        self.conflicts_label = QLabel(self)
        self.not_sent_label = QLabel(self)  # a link to the entries the last sync did not send
        self.not_sent_label.linkActivated.connect(lambda _link: self.show_not_sent())
        self.not_sent_label.hide()
        self.read_only_label = QLabel(self)
        self.read_only_label.setVisible(self.session.workspace.read_only)
        self.approval_label = QLabel(self)  # an enrollment request waits for the exchange's administrator
        self.approval_label.hide()
        self.inbox_label = QLabel(self)  # a link to the requests waiting for this department's answer
        self.inbox_label.linkActivated.connect(lambda _link: self.show_inbox())
        for widget in (self.read_only_label, self.approval_label, self.workspace_label, self.department_label,
                       self.unsynced_label, self.inbox_label,
                       self.conflicts_label, self.not_sent_label, self.last_sync_label, self.key_label):
            bar.addPermanentWidget(widget)
        self._status_timer = QTimer(self, singleShot=True, interval=300)
        self._status_timer.timeout.connect(self._refresh_status)
        # While approval is awaited, ask the exchange now and then; once it has approved, sync.
        self.approval_timer = QTimer(self, interval=APPROVAL_POLL_MS)
        self.approval_timer.timeout.connect(self.check_approval)
        self._status: query.Summary | None = None
        self._facts: dict[str, str] = {}
        self._enrollment_refused = False  # the exchange declined (or revoked) the key whose approval was awaited
        self._enrollment_approved = False  # the exchange enrolled it, and the window's sync has not gone through

    # Translation ----------------------------------------------------------------------

    def retranslate(self) -> None:
        # Ending in the app's display name, which Qt then does not append a second time (on X11 and Windows).
        department = self.session.workspace.department_name
        if self.session.workspace.read_only:
            department = self.tr("%1 (read-only)").replace("%1", department)
        self.setWindowTitle(f"{department} — {application_name()}")
        self.read_only_label.setText(self.tr("Read-only: entries can be read, searched and exported, not changed"))
        self.search.setPlaceholderText(self.tr("Search name, code, abstract, data items (Ctrl+F)"))
        self.search.setAccessibleName(self.tr("Search"))
        self.table.setAccessibleName(self.tr("Catalogue entries"))
        self.file_menu.setTitle(self.tr("&File"))
        self.edit_menu.setTitle(self.tr("&Edit"))
        self.view_menu.setTitle(self.tr("&View"))
        self.sync_menu.setTitle(self.tr("&Sync"))
        self.requests_menu.setTitle(self.tr("Re&quests"))
        self.help_menu.setTitle(self.tr("&Help"))
        self.toolbar.setWindowTitle(self.tr("Main toolbar"))
        texts = {
            self.new_action: (self.tr("&New entry"), self.tr("Create a new catalogue entry")),
            self.duplicate_action: (self.tr("&Duplicate entry"), self.tr("Copy the current entry as a new one")),
            self.retire_action: (self.tr("Re&tire entry"), self.tr("Retire the current entry (it stays on record)")),
            self.restore_action: (self.tr("Re&store entry"), self.tr("Make a retired entry active again")),
            self.erase_action: (self.tr("&Erase entry"), self.tr("Delete an entry that was never synced")),
            self.bulk_action: (self.tr("&Bulk edit…"), self.tr("Set one field for all selected entries")),
            self.find_action: (self.tr("&Find"), self.tr("Search the catalogue")),
            self.pending_action: (self.tr("&Pending changes"), self.tr("What changed since the last sync")),
            self.history_action: (self.tr("Entry &history"), self.tr("Earlier versions of the current entry")),
            self.reset_filters_action: (self.tr("&Clear filters"), self.tr("Show every entry again")),
            self.reload_action: (self.tr("&Reload"), self.tr("Read the catalogue again")),
            self.sync_action: (self.tr("&Sync"), self.tr("Pull other stewards' changes, then send yours (Ctrl+S)")),
            self.publish_preview_action: (self.tr("&Publish preview…"), self.tr(
                "What the public catalogue will gain, lose and change at the next sync (Ctrl+Shift+U)")),
            self.conflicts_action: (self.tr("Resolve &conflicts…"),
                                    self.tr("Fields another steward changed as well: choose what to keep")),
            self.request_action: (self.tr("&Apply for sharing…"),
                                  self.tr("Ask the providing department for this entry's data")),
            self.inbox_action: (self.tr("&Inbox…"), self.tr("Sharing requests waiting for your department's answer")),
            self.my_requests_action: (self.tr("&My requests…"), self.tr("Your department's sharing requests")),
            self.create_key_action: (self.tr("Create signing &key…"),
                                     self.tr("Make the key that signs this workspace's changesets")),
            self.export_key_action: (self.tr("&Export public key…"),
                                     self.tr("Write the public key for enrollment at the exchange")),
            self.open_profile_action: (self.tr("Open &profile…"),
                                       self.tr("Join the exchange with the profile its administrator gave you")),
            self.settings_action: (self.tr("&Settings…"), self.tr("Language, exchange address, certificates, proxy")),
            self.import_action: (self.tr("&Import…"), self.tr("Import entries from Excel or CSV")),
            self.export_action: (self.tr("E&xport…"), self.tr("Export as Excel, CSV, DCAT-AP or data.json")),
            self.quit_action: (self.tr("&Quit"), self.tr("Close Steward")),
            self.about_action: (self.tr("&About Steward"), self.tr("Version and licence")),
            self.focus_table_action: (self.tr("Go to &table"), self.tr("Move the keyboard focus to the table")),
            self.focus_editor_action: (self.tr("Go to &editor"), self.tr("Move the keyboard focus to the editor")),
            self.focus_tree_action: (self.tr("Go to c&lassification"), self.tr("Move the focus to the tree")),
        }
        for action, (text, tip) in texts.items():
            action.setText(text)
            action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                              if not action.shortcut().isEmpty() else tip)
            action.setStatusTip(tip)
        self.workspace_label.setText(self.tr("Workspace: %1").replace("%1", str(self.session.workspace.folder)))
        self._show_status()
        self._show_count()

    def apply_language(self, choice: str) -> None:
        """Switch the language now: core labels first, then Qt's LanguageChange retranslates the widgets."""
        app = QApplication.instance()
        self.session.settings.language = choice
        language = self.translators.install(app, choice) if app else "en"
        self.session.language = core_language(language)
        self.filters.set_language(self.session.language)
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.model.columnCount() - 1)
        self.model.refresh_all()
        self.retranslate()

    # Filtering and selection ----------------------------------------------------------

    def _apply_filter(self) -> None:
        self._search_timer.stop()
        prefix = self.tree.current_prefix() or ""
        self.model.set_filter(self.filters.entry_filter(self.search.text(), prefix))

    def reset_filters(self) -> None:
        self.filters.blockSignals(True)
        self.filters.clear()
        self.filters.blockSignals(False)
        self.search.clear()
        self.tree.setCurrentIndex(self.tree.tree_model.index(0, 0))
        self._apply_filter()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _after_load(self, _seconds: float) -> None:
        self._show_count()
        self.kept_selection.restore()
        if self.model.rowCount() and not self.table.currentIndex().isValid():
            self.table.setCurrentIndex(self.model.index(0, 0))
        elif not self.model.rowCount():
            self.editor.set_entry(None)

    def _show_count(self) -> None:
        self.count_label.setText(self.tr("%n entries", "", self.model.rowCount()))

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry_id = current.data(EntryIdRole) if current.isValid() else None
        self.editor.set_entry(entry_id or None)
        self._update_actions()

    def current_entry_id(self) -> str | None:
        return self.editor.entry_id

    def select_entry(self, entry_id: str) -> None:
        """Select an entry in the table, clearing filters if it is not shown."""
        # On the GUI thread: one lookup by the entry's id, and the selection must move before the next event.
        pk = operations.read_now(self.session, lambda workspace: query.entry_pk(workspace, entry_id))
        if pk is None:
            return
        row = self.model.row_of_pk(pk)
        if row is None:
            self.editor.set_entry(entry_id)
            return
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)

    def selected_rows(self) -> list[int]:
        return self.table.selected_rows()

    def _update_actions(self) -> None:
        row = self.model.entry_row(self.table.currentIndex().row()) if self.table.currentIndex().isValid() else None
        has_entry = row is not None and bool(row.id)
        self.duplicate_action.setEnabled(has_entry)
        self.history_action.setEnabled(has_entry)
        self.retire_action.setEnabled(has_entry and row is not None and row.status != Status.RETIRED)
        self.restore_action.setEnabled(has_entry and row is not None and row.status == Status.RETIRED)
        self.erase_action.setEnabled(has_entry)
        # Another department's entry (pulled, read-only here) may be applied for; the form tells a 不予共享 one.
        self.request_action.setEnabled(has_entry and row is not None and row.provider != ""
                                       and row.provider != self.session.workspace.department_name)
        if self.session.workspace.read_only:  # an auditor's copy: the edits it would refuse are not offered
            for action in (self.new_action, self.duplicate_action, self.retire_action, self.restore_action,
                           self.erase_action, self.bulk_action, self.import_action, self.sync_action,
                           self.conflicts_action, self.create_key_action, self.request_action):
                action.setEnabled(False)

    # Entry actions --------------------------------------------------------------------

    def new_entry(self) -> None:
        entry = drafts.blank_entry(self.session.workspace)
        if self.session.apply([CreateEntry(entry)], self.tr("New entry")):
            self._select_when_loaded(entry.id)

    def duplicate_entry(self) -> None:
        entry_id = self.current_entry_id()
        if not entry_id:
            return
        suffix = self.tr(" (copy)")

        def copy_of(workspace: Workspace) -> Entry:
            return drafts.duplicate_entry(workspace, query.get_entry(workspace, entry_id), suffix)

        # On the GUI thread, once per click: one entry by its id and the codes of its classification, both
        # off an index (95 % under 16 ms with 100,000 entries); the copy is made and selected at once.
        copy = operations.read_now(self.session, copy_of)
        if self.session.apply([CreateEntry(copy)], self.tr("Duplicate entry")):
            self._select_when_loaded(copy.id)

    def _select_when_loaded(self, entry_id: str) -> None:
        def select(_seconds: float) -> None:
            self.model.loaded.disconnect(select)
            self.select_entry(entry_id)
            self.editor.setFocus()

        self.model.loaded.connect(select)

    def retire_entry(self) -> None:
        entry_id = self.current_entry_id()
        if not entry_id:
            return
        reason = ReasonDialog.ask(self.tr("Retiring keeps the entry on record but withdraws it from the catalogue."),
                                  self)
        if reason is not None:
            self.session.apply([SetField(entry_id, "status", Status.RETIRED)], self.tr("Retire entry"), reason=reason)

    def restore_entry(self) -> None:
        entry_id = self.current_entry_id()
        if entry_id:
            self.session.apply([SetField(entry_id, "status", Status.ACTIVE)], self.tr("Restore entry"))

    def erase_entry(self) -> None:
        entry_id = self.current_entry_id()
        if not entry_id:
            return
        answer = QMessageBox.question(
            self, self.tr("Erase entry"),
            self.tr("Erase this entry? Only an entry that was never synced can be erased; this can be undone."),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.session.apply([EraseEntry(entry_id)], self.tr("Erase entry"))

    def bulk_edit(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        pks = self.model.pks(rows)
        ok, entry_ids = operations.read_and_wait(self.session, lambda workspace: query.entry_ids(workspace, pks))
        if ok and entry_ids:
            BulkEditDialog(self.session, entry_ids, self).exec()

    def show_publish_preview(self) -> PublishPreviewDialog:
        if self._publish_preview_dialog is None:
            self._publish_preview_dialog = PublishPreviewDialog(self.session, self)
            self._publish_preview_dialog.entry_activated.connect(self.select_entry)
        else:
            self._publish_preview_dialog.reload()  # the exchange's copy may have moved on since
        self._publish_preview_dialog.show()
        self._publish_preview_dialog.raise_()
        return self._publish_preview_dialog

    def show_pending(self) -> None:
        if self._pending_dialog is None:
            self._pending_dialog = PendingChangesDialog(self.session, self)
            self._pending_dialog.entry_activated.connect(self.select_entry)
        self._pending_dialog.show()
        self._pending_dialog.raise_()
        self._pending_dialog.activateWindow()

    def show_history(self) -> None:
        entry_id = self.current_entry_id()
        if entry_id:
            HistoryDialog(self.session, entry_id, self).show()

    def apply_for_sharing(self) -> QDialog | None:
        """The application form for the current entry, or the legal basis of a 不予共享 one."""
        entry_id = self.current_entry_id()
        if not entry_id:
            return None
        # On the GUI thread: one entry by its id, which the form needs before it can show.
        entry = operations.read_now(self.session, lambda workspace: query.get_entry(workspace, entry_id))
        dialog: QDialog
        if entry.sharing_type == SharingType.NOT_SHARED:
            dialog = not_shared_notice(entry, self)
        else:
            dialog = RequestForm(self.session, entry, self.sync_controller.signing_key, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.accepted.connect(self._request_signed)
        dialog.open()
        return dialog

    def _request_signed(self) -> None:
        self.statusBar().showMessage(self.tr("Application signed; it is sent at the next sync (Ctrl+S)."), 15000)
        self._requests_changed()

    def show_inbox(self) -> RequestsDialog:
        return self._show_requests(inbox.Box.INBOX)

    def show_my_requests(self) -> RequestsDialog:
        return self._show_requests(inbox.Box.MINE)

    def _show_requests(self, box: inbox.Box) -> RequestsDialog:
        dialog = self.requests_dialogs.get(box)
        if dialog is None:
            dialog = RequestsDialog(self.session, box, self.sync_controller.signing_key, self)
            dialog.signed.connect(self._requests_changed)
            self.requests_dialogs[box] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _requests_changed(self) -> None:
        for dialog in self.requests_dialogs.values():
            dialog.reload()
        self._refresh_status()

    def import_catalogue(self) -> ImportWizard:
        wizard = ImportWizard(self.session, self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.imported.connect(self._imported)
        wizard.open()
        return wizard

    def _imported(self, outcome: ImportOutcome) -> None:
        dialog = ImportResultDialog(outcome, self.session.language, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def export_catalogue(self) -> ExportDialog:
        filtered = self.model.all_pks() if self.model.filter != query.EntryFilter() else None
        dialog = ExportDialog(self.session, self, filtered=filtered, selected=self.model.pks(self.selected_rows()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.exported.connect(self._exported)
        dialog.open()
        return dialog

    def _exported(self, result: ExportResult) -> None:
        done = self.tr("Exported %n entries to %1", "", result.written).replace("%1", str(result.path))
        self.statusBar().showMessage(done, 15000)
        left_out = self._left_out_lines(result)
        if left_out:  # what was not published must be seen, not scroll by in the status bar
            box = QMessageBox(QMessageBox.Icon.Information, self.tr("Export finished"), done, parent=self)
            box.setInformativeText("\n".join(left_out))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.setObjectName("export_left_out")
            box.open()

    def _left_out_lines(self, result: ExportResult) -> list[str]:
        lines = []
        if result.left_out_errors:
            codes = "、".join(result.left_out_for_errors[:10]) + ("…" if result.left_out_errors > 10 else "")
            lines.append(self.tr("%n entries were left out because they break a catalogue rule (%1); "
                                 "the Problems column shows why.", "", result.left_out_errors).replace("%1", codes))
        if result.left_out_closed:
            lines.append(self.tr("%n entries were left out because they are not open to the public.", "",
                                 result.left_out_closed))
        if result.left_out_uncoded:
            lines.append(self.tr("%n entries were left out because they have no resource code.", "",
                                 result.left_out_uncoded))
        return lines

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.session.settings, self)
        dialog.language_changed.connect(self.apply_language)
        dialog.exec()

    def show_about(self) -> None:
        QMessageBox.about(
            self, self.tr("About Steward"),
            self.tr("Steward %1\n\nKeeps a department's entries in the government data resource catalogue.")
            .replace("%1", __version__),
        )

    def sync(self) -> None:
        self.sync_controller.run()
        self._refresh_status()

    def _synced(self, result: SyncSummary) -> None:
        self._not_sent = result.not_sent
        self._show_status()
        if self.not_sent_dialog is not None:  # an open list shows the newest sync's entries
            self.not_sent_dialog.set_entries(result.not_sent)

    def show_not_sent(self) -> NotSentDialog:
        if self.not_sent_dialog is None:
            self.not_sent_dialog = NotSentDialog(self.session, self._not_sent, self)
            self.not_sent_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.not_sent_dialog.entry_activated.connect(self.select_entry)
            self.not_sent_dialog.destroyed.connect(self._not_sent_closed)
        self.not_sent_dialog.show()
        self.not_sent_dialog.raise_()
        self.not_sent_dialog.activateWindow()
        return self.not_sent_dialog

    def _not_sent_closed(self) -> None:
        self.not_sent_dialog = None

    def show_conflicts(self) -> ConflictDialog:
        dialog = ConflictDialog(self.session, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.resolved.connect(lambda _entry_id: self._refresh_status())
        dialog.open()
        return dialog

    def export_public_key(self) -> None:
        if identity.key_info(self.session.workspace) is None and self.sync_controller.create_key() is None:
            return
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Export public key"), "steward-public-key.json",
                                                    self.tr("Public key (*.json)"))
        if path:
            identity.export_public_key(self.session.workspace, Path(path))
            self.statusBar().showMessage(self.tr("Public key written to %1").replace("%1", path), 15000)

    def open_profile(self, path: Path | None = None) -> OpenProfileDialog | None:
        """Join with a profile: the workspace for its department (a new one, in a folder the steward chooses), its
        enrollment request, and then this window replaced by one on that workspace.

        A profile whose signature does not verify, or of another exchange than the one this workspace pinned, is
        refused here, before anything is asked; None then (and when no file was chosen).
        """
        if path is None:
            chosen, _filter = QFileDialog.getOpenFileName(self, self.tr("Open profile"), str(Path.home()),
                                                          self.tr("Profiles (*.steward-profile);;All files (*)"))
            if not chosen:
                return None
            path = Path(chosen)
        workspace = self.session.workspace
        try:
            profile = read_profile(path)  # a few hundred bytes and one signature: at once, on the GUI thread
            joining.check_pinned(workspace, profile)
        except StewardError as error:
            QMessageBox.warning(self, self.tr("Open profile"), error.message(self.session.language))
            return None
        # This department's profile joins this workspace; another department's gets a workspace of its own.
        folder = workspace.folder if profile.department_code == workspace.department_code else \
            joining.default_folder(profile)
        dialog = OpenProfileDialog(profile, path, self, folder=folder, runner=self.session.runner,
                                   language=self.session.language)
        dialog.joined.connect(self._joined_with_profile)
        if self._profile_dialog is not None:  # not deleted as it closes: the window may be switching inside it
            self._profile_dialog.deleteLater()
        self._profile_dialog = dialog
        dialog.open()
        return dialog

    def _joined_with_profile(self, outcome: ProfileOutcome) -> None:
        window: MainWindow = self
        if outcome.folder.resolve() != self.session.workspace.folder.resolve():
            switched = self.switch_workspace(outcome.folder)
            if switched is None:
                return
            window = switched
        else:
            self._refresh_status()
        joined, profile = outcome.joined, outcome.profile
        if joined is not None and joined.status == joining.PENDING:  # what the steward tells the administrator
            QMessageBox.information(window, self.tr("Open profile"), render("join.sent", {
                "path": str(joined.folder), "url": profile.exchange_url, "key_id": joined.key_id,
                "fingerprint": spaced(joined.fingerprint),
                "department": f"{profile.department_name} {profile.department_code}"}, window.session.language))

    def switch_workspace(self, folder: Path) -> MainWindow | None:
        """Replace this window by one on the workspace in `folder`; this one's workspace is closed, nothing lost.

        The new window takes this one's place and size; this one saves what was typed, then closes (its session
        with it, once the work in flight has finished). None, after saying why, if `folder` does not open.
        """
        ok, outcome = run_with_progress(
            self.session.runner, self, self.tr("Opening the workspace… An older one is backed up and updated first."),
            lambda _job: Workspace.open(folder), write=False, cancellable=False)
        if not ok:
            self.session.report_failure(outcome)
            return None
        self.editor.flush()  # text typed a moment ago goes to the workspace it was typed in
        self.save_state()  # the new window opens where this one was, as it was
        session = Session(outcome, self.session.settings)
        session.language = self.session.language
        window = MainWindow(session, self.translators)
        window.owns_session = True
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # nothing else holds it once it closes
        self.successor = window  # and while it is open, this (closed) window keeps it alive
        self.session.settings.last_workspace = str(outcome.folder)
        window.show()
        for timer in (self.approval_timer, self._status_timer, self._search_timer):
            timer.stop()
        self.close()
        self.session.close()
        return window

    def check_approval(self) -> None:
        """Ask the exchange whether the key is enrolled yet (on a worker); sync once it is."""
        if not self._facts.get(syncer.ENROLLMENT_FACT) or self.sync_controller.running:
            return
        controller = self.sync_controller
        operations.read(self.session, lambda _workspace: controller.enrollment_status(), self._approval_known,
                        lambda _error: None)  # offline now: the next tick asks again

    def approved_text(self) -> str:
        return self.tr("Approved: the exchange's administrator enrolled this workspace's key; sync (Ctrl+S) to start")

    def _approval_known(self, status: str) -> None:
        if status == "enrolled":
            # The sync ends the waiting (the workspace forgets the request once one went through). Should it not
            # go through (the steward put off the passphrase), asking again every half minute would only nag.
            self._enrollment_approved = True
            self.approval_timer.stop()
            self.sync()
        elif status in REFUSED_ENROLLMENTS:  # asking again changes nothing: say so, and stop asking
            self._enrollment_refused = True
            self._show_status()

    # Status ---------------------------------------------------------------------------

    def _status_soon(self, *_args: object) -> None:
        self._status_timer.start()

    def _refresh_status(self) -> None:
        def read(workspace: Workspace) -> tuple[query.Summary, dict[str, str]]:
            facts = workspace.facts()
            facts["open_conflicts"] = str(syncer.status(workspace).conflicts)
            facts["inbox_waiting"] = str(inbox.awaiting_answer_here(workspace))
            return query.summary(workspace), facts

        # A bound method, not a closure: an answer arriving after the window is gone is dropped with it.
        operations.read(self.session, read, self._status_read)

    def _status_read(self, result: tuple[query.Summary, dict[str, str]]) -> None:
        self._status, self._facts = result
        self._show_status()

    def _show_status(self) -> None:
        workspace = self.session.workspace
        self.department_label.setText(
            self.tr("Department: %1 (%2)").replace("%1", workspace.department_name).replace("%2",
                                                                                            workspace.department_code)
        )
        unsynced = self._status.unsynced if self._status else 0
        self.unsynced_label.setText(self.tr("Unsynced: %1").replace("%1", str(unsynced)))
        last = self._facts.get("last_sync")
        self.last_sync_label.setText(self.tr("Last sync: %1").replace("%1", local_time(last, seconds=False))
                                     if last else self.tr("Never synced"))
        self.not_sent_label.setText(_as_link(self.tr("%n entries not sent", "", len(self._not_sent))))
        self.not_sent_label.setToolTip(self.tr("Changes the last sync did not send, and why"))
        self.not_sent_label.setVisible(bool(self._not_sent))
        key_id = self._facts.get("key_id")
        self.key_label.setText(self.tr("Key %1").replace("%1", key_id[:8]) if key_id else self.tr("No signing key"))
        awaiting = self._facts.get(syncer.ENROLLMENT_FACT) == joining.PENDING
        decided = self._enrollment_refused or self._enrollment_approved  # nothing more to ask the exchange
        if awaiting and self._enrollment_refused:
            self.approval_label.setText(render("sync.enrollment_declined", {"key_id": key_id or "?"},
                                               self.session.language))
        elif awaiting and self._enrollment_approved:
            self.approval_label.setText(self.approved_text())
        else:
            self.approval_label.setText(self.tr("Waiting for approval: the exchange's administrator has not "
                                                "approved this workspace's key yet"))
        self.approval_label.setVisible(awaiting)
        if awaiting and not decided and not self.approval_timer.isActive():
            self.approval_timer.start()
        elif not awaiting or decided:
            self.approval_timer.stop()
        waiting = int(self._facts.get("inbox_waiting", "0"))
        self.inbox_label.setText(_as_link(self.tr("Inbox: %1").replace("%1", str(waiting))))
        self.inbox_label.setToolTip(self.tr("Sharing requests waiting for your department's answer"))
        open_conflicts = int(self._facts.get("open_conflicts", "0"))
        self.conflicts_label.setText(self.tr("Conflicts: %1").replace("%1", str(open_conflicts)))
        self.conflicts_label.setVisible(open_conflicts > 0)

    def _show_failure(self, message: str) -> None:
        QMessageBox.warning(self, self.tr("Steward"), message)

    # Window state ---------------------------------------------------------------------

    def _restore_state(self) -> None:
        settings = self.session.settings
        for key, restore in (
            ("geometry", self.restoreGeometry),
            ("window", self.restoreState),
            ("main_split", self.main_split.restoreState),
            ("left_split", self.left.restoreState),
        ):
            state = settings.state(key)
            if state is not None:
                restore(state)
        self.table.restore_state()

    def save_state(self) -> None:
        settings = self.session.settings
        settings.set_state("geometry", self.saveGeometry())
        settings.set_state("window", self.saveState())
        settings.set_state("main_split", self.main_split.saveState())
        settings.set_state("left_split", self.left.saveState())
        self.table.save_state()
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.editor.flush()  # text typed a moment ago is saved before the window goes
        self.save_state()
        self.approval_timer.stop()
        super().closeEvent(event)
        if self.owns_session:  # a window a switch opened: nobody else closes its workspace
            self.session.close()

    def eventFilter(self, watched: object, event: QEvent) -> bool:
        if (not self._painted and watched is self.table.viewport() and event.type() == QEvent.Type.Paint
                and self.model.rowCount() > 0):
            self._painted = True
            QTimer.singleShot(0, self.first_paint.emit)
        return super().eventFilter(watched, event)


def _as_link(text: str) -> str:
    """`text` as a label's one link (the markup around a translated text is not itself shown)."""
    return f'<a href="link">{html.escape(text)}</a>'
