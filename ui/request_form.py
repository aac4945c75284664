"""申请共享: applying for another department's entry (purpose, scenario, the data items, until when).

The application is signed with the steward's key and kept in the workspace, offline; the next sync sends
it. A 不予共享 entry cannot be applied for: the steward is shown its legal basis instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from PySide6.QtCore import QCoreApplication, QDate, Qt
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.model import Entry
from steward.catalogue.vocabulary import SharingType
from steward.sync.keys import SigningKey
from steward.sync.requests import inbox
from steward.sync.requests.documents import is_blank
from steward.workspace.workspace import Workspace
from ui import operations
from ui.department_label import department_label
from ui.i18n import Retranslating
from ui.reason_dialog import ReasonEdit
from ui.session import Session

ItemIdRole = Qt.ItemDataRole.UserRole + 1


class RequestForm(Retranslating, QDialog):
    """The application's form; OK stays off until a purpose, a scenario and at least one data item are given."""

    def __init__(self, session: Session, entry: Entry, unlock: Callable[[], SigningKey | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.entry = entry
        self.unlock = unlock
        self.request_id: str | None = None  # once signed and queued
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.purpose = ReasonEdit(self)
        self.scenario = ReasonEdit(self)
        self.items = QListWidget(self)
        for item in entry.items:
            if item.sharing_type == SharingType.NOT_SHARED:
                continue  # never shared, so never asked for
            row = QListWidgetItem(item.name, self.items)
            row.setData(ItemIdRole, item.id)
            row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            row.setCheckState(Qt.CheckState.Checked)
        self.until = QDateEdit(self)
        self.until.setCalendarPopup(True)
        self.until.setDisplayFormat("yyyy-MM-dd")
        today = QDate.currentDate()
        self.until.setMinimumDate(today)
        self.until.setDate(_qdate(date.today() + timedelta(days=inbox.DEFAULT_GRANT_DAYS)))
        self.purpose_label, self.scenario_label, self.items_label, self.until_label = (QLabel(self) for _ in range(4))
        for label, field in ((self.purpose_label, self.purpose), (self.scenario_label, self.scenario),
                             (self.items_label, self.items), (self.until_label, self.until)):
            label.setBuddy(field)
        form = QFormLayout()
        form.addRow(self.purpose_label, self.purpose)
        form.addRow(self.scenario_label, self.scenario)
        form.addRow(self.items_label, self.items)
        form.addRow(self.until_label, self.until)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        for edit in (self.purpose, self.scenario):
            edit.setMaximumHeight(self.fontMetrics().height() * 4)
            edit.textChanged.connect(self._update)
        self.items.itemChanged.connect(lambda _item: self._update())
        self.resize(600, 520)
        self.purpose.setFocus()
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Apply for sharing"))
        self.intro.setText(self.tr("Apply to %1 for “%2” (%3). The application is signed with your key and sent at "
                                   "the next sync; the data authority checks it, then the providing department "
                                   "answers.").replace("%2", self.entry.name).replace("%3", self.entry.code)
                           .replace("%1", department_label(self.entry.provider_code, self.entry.provider)))
        self.purpose_label.setText(self.tr("&Purpose:"))
        self.scenario_label.setText(self.tr("&Scenario:"))
        self.items_label.setText(self.tr("Data &items:"))
        self.until_label.setText(self.tr("&Until:"))
        self.purpose.setAccessibleName(self.tr("Purpose"))
        self.scenario.setAccessibleName(self.tr("Scenario"))
        self.items.setAccessibleName(self.tr("Data items"))
        self.until.setAccessibleName(self.tr("Until"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Sign and &keep for the next sync"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._update()

    def chosen_items(self) -> list[str]:
        return [row.data(ItemIdRole) for row in (self.items.item(n) for n in range(self.items.count()))
                if row.checkState() == Qt.CheckState.Checked]

    def _complete(self) -> bool:
        return not is_blank(self.purpose.reason()) and not is_blank(self.scenario.reason()) \
            and bool(self.chosen_items())

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self._complete())

    def accept(self) -> None:
        """Sign the application and keep it for the next sync; the form stays open if the core refuses it."""
        if not self._complete():
            return
        key = self.unlock()
        if key is None:
            return
        entry_id, purpose, scenario = self.entry.id, self.purpose.reason(), self.scenario.reason()
        items, until = self.chosen_items(), self.until.date().toString("yyyy-MM-dd")

        def apply(workspace: Workspace) -> str:
            step = inbox.new_request(workspace, inbox.steward_of(workspace, key), entry_id, purpose=purpose,
                                     scenario=scenario, items=items, until=until)
            return step.request_id

        ok, outcome = operations.write(self.session, apply, ())
        if ok:
            self.request_id = outcome
            super().accept()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def not_shared_notice(entry: Entry, parent: QWidget | None) -> QMessageBox:
    """What a 不予共享 entry offers instead of a form: its legal basis (its sharing conditions)."""
    box = QMessageBox(QMessageBox.Icon.Information, QCoreApplication.translate("request_form", "Not shared"),
                      QCoreApplication.translate("request_form", "“%1” (%2) is not shared: it cannot be applied for.")
                      .replace("%1", entry.name).replace("%2", entry.code), parent=parent)
    box.setObjectName("not_shared_notice")
    basis = entry.sharing_conditions or QCoreApplication.translate("request_form", "(none given)")
    box.setInformativeText(QCoreApplication.translate("request_form", "Legal basis: %1").replace("%1", basis))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box
