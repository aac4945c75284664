"""发布预览: what the public catalogue will gain, lose and change at the next sync, one row per dataset.

The preview is worked out by the core (`steward.sync.publish_preview`, with the decisions every
publisher uses) on a read worker; this module only words it. `summary_text` is also the sync's
confirmation ("本次同步将发布 3 个数据集，撤下 1 个").
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from steward.sync import publish_preview
from steward.sync.publish_preview import Change, FieldChange, PreviewRow, PublishPreview, Reason
from ui.change_list import failure_text, fill, fit_columns, one_line
from ui.i18n import Retranslating
from ui.operations import LatestRead
from ui.reload_when_seen import ReloadWhenSeen
from ui.session import Session

Index = QModelIndex | QPersistentModelIndex

EntryIdRole = Qt.ItemDataRole.UserRole + 1


def summary_text(preview: PublishPreview) -> str:
    """What the sync will do to the public catalogue, in one or two sentences."""
    translate = QCoreApplication.translate
    if preview.appearing or preview.withdrawn or preview.changed:
        text = fill(translate("PublishPreview", "This sync will publish %1 dataset(s), withdraw %2 and change %3."),
                    str(preview.appearing), str(preview.withdrawn), str(preview.changed))
    else:
        text = translate("PublishPreview", "This sync changes nothing the public sees.")
    if preview.held:
        held = fill(translate("PublishPreview", "%1 entry(ies) would change what the public sees but will not be "
                                                "sent."), str(preview.held))
        text = fill(translate("PublishPreview", "%1 %2", "two sentences"), text, held)
    return text


class PublishPreviewModel(QAbstractTableModel):
    """The preview as a table: resource code, name, what happens to it, and the public fields that change."""

    CODE, NAME, CHANGE, DETAILS = range(4)
    COLUMNS = 4

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.preview = PublishPreview()

    def set_preview(self, preview: PublishPreview) -> None:
        self.beginResetModel()
        self.preview = preview
        self.endResetModel()

    def preview_row(self, row: int) -> PreviewRow | None:
        rows = self.preview.rows
        return rows[row] if 0 <= row < len(rows) else None

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.COLUMNS - 1)
        if self.preview.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.preview.rows) - 1, self.COLUMNS - 1))

    # Qt model API ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.preview.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < self.COLUMNS:
            return None
        return (self.tr("Resource code"), self.tr("Resource name"), self.tr("At the next sync"),
                self.tr("Public fields changed"))[section]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        found = self.preview_row(index.row())
        if found is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == self.DETAILS:
                return one_line(self.tr("; ").join(self.field_texts(found)))
            return one_line(self.text(found, index.column()))
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == self.DETAILS:
                return "\n".join(self.field_texts(found)) or None
            return self.text(found, index.column()) or None
        if role == EntryIdRole:
            return found.entry_id
        return None

    def text(self, row: PreviewRow, column: int) -> str:
        if column == self.CODE:
            return row.code
        if column == self.NAME:
            return row.name
        if column == self.CHANGE:
            return self.outcome(row)
        return self.tr("; ").join(self.field_texts(row))

    def outcome(self, row: PreviewRow) -> str:
        if row.change is Change.APPEARS:
            return self.tr("Published")
        if row.change is Change.CHANGED:
            return self.tr("Changed")
        if row.change is Change.WITHDRAWN:
            return self.tr("Withdrawn: retired") if row.reason is Reason.RETIRED else \
                self.tr("Withdrawn: no longer open")
        why = {Reason.CONFLICT: self.tr("an unresolved conflict"),
               Reason.PROVIDER: self.tr("another department named as provider")}.get(row.reason or Reason.RULE_ERRORS,
                                                                                      self.tr("rule errors"))
        if row.still_public:
            return fill(self.tr("Not sent: %1 (the public keeps the last synced version)"), why)
        return fill(self.tr("Not sent: %1 (not published)"), why)

    def field_texts(self, row: PreviewRow) -> list[str]:
        return [self.field_text(change) for change in row.fields]

    def field_text(self, change: FieldChange) -> str:
        lang = self.session.language
        if change.item_id and not change.field:
            template = (self.tr("Data item “%1” joins the published schema") if change.before is None
                        else self.tr("Data item “%1” leaves the published schema"))
            return fill(template, change.item_name)
        label = publish_preview.field_label(change, lang)
        if change.item_id:
            label = fill(self.tr("%1 of data item “%2”"), label, change.item_name)
        before, after = (publish_preview.shown_value(change, v, lang) for v in (change.before, change.after))
        return fill(self.tr("%1: %2 → %3"), label, before or self.tr("(empty)"), after or self.tr("(empty)"))


class PublishPreviewDialog(Retranslating, ReloadWhenSeen):
    """Lists what the next sync publishes, withdraws and changes; double-click shows the entry."""

    entry_activated = Signal(str)
    loaded = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._reading = LatestRead(session, self._loaded, self._failed, self)
        self.model = PublishPreviewModel(session, self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.activated.connect(self._activated)  # double-click, or Enter
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)
        self.resize(900, 480)
        self.retranslate()
        session.entries_changed.connect(self._schedule_reload)
        session.catalogue_changed.connect(self._schedule_reload)
        self.reload()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Publish preview"))
        self.view.setAccessibleName(self.tr("What the public catalogue gains, loses and changes at the next sync"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("&Close"))
        self.model.retranslate()
        self._show_status()

    def reload(self) -> None:
        """Work the preview out on a read worker; a newer read makes older answers moot."""
        super().reload()
        self._reading.run_with_progress(lambda workspace, progress: publish_preview.preview(workspace, progress))
        self._show_status()

    def is_loading(self) -> bool:
        return self._reading.loading

    def _loaded(self, preview: PublishPreview) -> None:
        first_rows = self.model.rowCount() == 0
        self.model.set_preview(preview)
        if first_rows and preview.rows:
            fit_columns(self.view, PublishPreviewModel.COLUMNS)
        self._show_status()
        self.loaded.emit()

    def _failed(self, error: BaseException) -> None:
        self.status.setText(failure_text(self.tr("The publish preview could not be worked out: %1"), error,
                                         self.session.language))

    def _show_status(self) -> None:
        if self._reading.loading and not self.model.rowCount():
            self.status.setText(self.tr("Working out what the next sync publishes…"))
            return
        self.status.setText(summary_text(self.model.preview))

    def _activated(self, index: QModelIndex) -> None:
        entry_id = index.data(EntryIdRole)
        if entry_id:
            self.entry_activated.emit(entry_id)
