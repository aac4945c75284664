"""The entries the last sync did not send, each with why, and a way to each of them in the main window."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.messages import render
from steward.sync.summary import NotSent
from ui.i18n import Retranslating
from ui.session import Session

EntryIdRole = Qt.ItemDataRole.UserRole + 1


class NotSentDialog(Retranslating, QDialog):
    """Lists entries held back (conflict, rule errors, another provider) or refused by the exchange."""

    entry_activated = Signal(str)  # the steward asked to see this entry in the main window

    def __init__(self, session: Session, entries: list[NotSent], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.entries = entries
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.model = QStandardItemModel(0, 3, self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.activated.connect(self._activated)  # double-click, or Enter on the keyboard
        self.show_button = QPushButton(self)
        self.show_button.setAutoDefault(False)
        self.show_button.clicked.connect(lambda: self._activated(self.view.currentIndex()))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.show_button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.resize(760, 420)
        self.retranslate()
        if self.model.rowCount():
            self.view.setCurrentIndex(self.model.index(0, 0))
        for column, width in ((0, 130), (1, 300)):
            self.view.setColumnWidth(column, width)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Entries not sent"))
        self.heading.setText(self.tr("The last sync did not send these entries' changes. Deal with what is named "
                                     "and sync again; Enter or a double-click shows the entry."))
        self.model.setHorizontalHeaderLabels([self.tr("Resource code"), self.tr("Resource name"),
                                              self.tr("Why not sent")])
        self.show_button.setText(self.tr("&Show entry"))
        self.view.setAccessibleName(self.tr("Entries not sent"))
        self._fill()

    def set_entries(self, entries: list[NotSent]) -> None:
        self.entries = entries
        self._fill()

    def _fill(self) -> None:
        current = self.view.currentIndex().row()
        self.model.removeRows(0, self.model.rowCount())
        for entry in self.entries:
            why = (render("held.refused_because", {"reason": entry.message}, self.session.language)
                   if entry.reason == "refused" and entry.message else
                   render(f"held.{entry.reason}", None, self.session.language))
            cells = [QStandardItem(text) for text in (entry.code, entry.name, why)]
            for cell in cells:
                cell.setData(entry.entry_id, EntryIdRole)
                cell.setToolTip(cell.text())
            self.model.appendRow(cells)
        if current >= 0:
            self.view.setCurrentIndex(self.model.index(current, 0))

    def _activated(self, index: QModelIndex) -> None:
        entry_id = index.data(EntryIdRole) if index.isValid() else None
        if entry_id:
            self.entry_activated.emit(entry_id)
