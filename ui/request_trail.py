"""One sharing request and its signed trail: who signed each step, when the exchange recorded it, verified or not."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.messages import render
from steward.sync.requests import inbox
from steward.sync.requests.inbox import RequestDetail, TrailStep
from steward.workspace import query
from steward.workspace.workspace import Workspace
from ui.change_list import failure_text
from ui.department_label import department_label, fill, signer_label
from ui.i18n import Retranslating
from ui.operations import LatestRead
from ui.session import Session
from ui.times import local_time


@dataclass(frozen=True)
class TrailRead:
    detail: RequestDetail
    item_names: list[str]  # the requested data items by name, where the workspace holds the entry


def read_trail(workspace: Workspace, request_id: str) -> TrailRead:
    detail = inbox.show(workspace, request_id)
    entry_id = detail.summary.entry_id
    found = query.names(workspace, [entry_id], items_of=[entry_id]).items
    return TrailRead(detail, [found.get((entry_id, item), item) for item in detail.items])


class RequestTrailDialog(Retranslating, QDialog):
    """The request's content above, its steps below, each signed, stamped and checked."""

    SEQ, STEP, SIGNER, RECORDED, VERIFIED, SAYS = range(6)

    def __init__(self, session: Session, request_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.request_id = request_id
        self.read: TrailRead | None = None
        self._reading = LatestRead(session, self.set_read, self._failed, self)
        self.form = QFormLayout()
        self.labels: dict[str, tuple[QLabel, QLabel]] = {}
        for key in ("entry", "status", "parties", "purpose", "scenario", "items", "until", "due"):
            name, value = QLabel(self), QLabel(self)
            value.setWordWrap(True)
            self.labels[key] = (name, value)
            self.form.addRow(name, value)
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.model = QStandardItemModel(0, 6, self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.heading)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)
        self.resize(900, 520)
        self.retranslate()
        self.reload()

    def reload(self) -> None:
        request_id = self.request_id
        self._reading.run(lambda workspace: read_trail(workspace, request_id))

    def is_loading(self) -> bool:
        return self._reading.loading

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Sharing request and its signed trail"))
        names = {"entry": self.tr("Resource:"), "status": self.tr("Status:"), "parties": self.tr("Departments:"),
                 "purpose": self.tr("Purpose:"), "scenario": self.tr("Scenario:"), "items": self.tr("Data items:"),
                 "until": self.tr("Until:"), "due": self.tr("Due:")}
        for key, (name, _value) in self.labels.items():
            name.setText(names[key])
        self.heading.setText(self.tr("Signed trail: every step is signed by its department's steward or by the "
                                     "data authority, and recorded in the exchange's log."))
        self.model.setHorizontalHeaderLabels([self.tr("No."), self.tr("Step"), self.tr("Signed by"),
                                              self.tr("Recorded by the exchange"), self.tr("Verified"),
                                              self.tr("What it says")])
        self.view.setAccessibleName(self.tr("Signed trail"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("&Close"))
        self._fill()

    def set_read(self, read: TrailRead) -> None:
        """Show the request as read (on a worker, when the dialog opened)."""
        self.read = read
        self._fill()

    def _failed(self, error: BaseException) -> None:
        self.heading.setText(failure_text(self.tr("The request could not be read: %1"), error, self.session.language))

    def _fill(self) -> None:
        if self.read is None:
            return
        detail, summary, lang = self.read.detail, self.read.detail.summary, self.session.language
        values = {
            "entry": summary.entry_code,
            "status": render(f"request.status.{summary.status}", None, lang),
            "parties": fill(self.tr("%1 asks %2"), department_label(summary.requester, summary.requester_name),
                            department_label(summary.provider, summary.provider_name)),
            "purpose": summary.purpose, "scenario": summary.scenario, "items": "、".join(self.read.item_names),
            "until": summary.until,
            "due": self._due(summary),
        }
        for key, (_name, value) in self.labels.items():
            value.setText(values[key])
        self.model.removeRows(0, self.model.rowCount())
        for step in detail.trail:
            cells = [QStandardItem(text) for text in self._cells(step)]
            for cell in cells:
                cell.setToolTip(cell.text())
            self.model.appendRow(cells)
        for column, width in ((self.SEQ, 40), (self.STEP, 110), (self.RECORDED, 150), (self.VERIFIED, 110)):
            self.view.setColumnWidth(column, width)
        # A signer is named with the department's name and code: as wide as that needs, within reason (the
        # cell's tooltip holds the whole of a longer one).
        self.view.resizeColumnToContents(self.SIGNER)
        self.view.setColumnWidth(self.SIGNER, min(max(self.view.columnWidth(self.SIGNER), 220), 400))

    def _due(self, summary: inbox.RequestSummary) -> str:
        if summary.due is None or summary.working_days_left is None:
            return "-"
        if summary.overdue:
            text = self.tr("%1 (overdue by %2 working days)")
            return text.replace("%1", summary.due).replace("%2", str(-summary.working_days_left))
        text = self.tr("%1 (%2 working days left)")
        return text.replace("%1", summary.due).replace("%2", str(summary.working_days_left))

    def _cells(self, step: TrailStep) -> list[str]:
        lang = self.session.language
        if step.verified:
            checked = self.tr("✔ verified")
        elif step.outbox == "refused":
            checked = self.tr("refused: %1").replace("%1", str((step.error or {}).get("message", "")))
        else:
            checked = self.tr("not sent yet")
        says = []
        verdict = step.body.get("verdict")
        if verdict:
            verdicts = {"pass": self.tr("passed"), "reject": self.tr("rejected"), "approve": self.tr("approved"),
                        "refuse": self.tr("refused"), "grant": self.tr("granted"), "deny": self.tr("denied")}
            says.append(verdicts.get(str(verdict), str(verdict)))
        for key, label in (("conditions", self.tr("conditions: %1")), ("reason", self.tr("reason: %1"))):
            if step.body.get(key):
                says.append(label.replace("%1", str(step.body[key])))
        signer = signer_label(step.signer, step.department, step.department_name) if step.department else \
            self.tr("%1 (%2)").replace("%1", step.signer).replace("%2", self.tr("the data authority"))
        return [str(step.seq), render(f"request.kind.{step.kind}", None, lang), signer,
                local_time(step.accepted_at, seconds=False) if step.accepted_at else "-", checked, "；".join(says)]
