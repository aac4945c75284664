"""Answering a sharing request: approve (with conditions if any), refuse or escalate (a reason required), withdraw."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from steward.sync.requests.documents import is_blank
from steward.sync.requests.inbox import RequestSummary
from ui.department_label import department_label, fill
from ui.i18n import Retranslating
from ui.reason_dialog import ReasonEdit


class Answering(StrEnum):
    APPROVE = "approve"  # the provider: conditions may be added
    REFUSE = "refuse"  # the provider: the reason may not be blank
    ESCALATE = "escalate"  # the using department, after a refusal: why it still needs the data
    WITHDRAW = "withdraw"  # the using department, before an answer: a reason if it likes

    @property
    def needs_text(self) -> bool:
        return self in (Answering.REFUSE, Answering.ESCALATE)


class AnswerDialog(Retranslating, QDialog):
    """One step of a request, its words typed here; OK stays off while a required reason is blank."""

    def __init__(self, answering: Answering, summary: RequestSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.answering = answering
        self.summary = summary
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.prompt = QLabel(self)
        self.text = ReasonEdit(self)
        self.prompt.setBuddy(self.text)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.intro, self.prompt, self.text, self.buttons):
            layout.addWidget(widget)
        self.text.textChanged.connect(self._update)
        self.text.submitted.connect(self.accept)
        self.text.setFocus()
        self.resize(520, 300)
        self.retranslate()

    def retranslate(self) -> None:
        summary = self.summary
        code, purpose = summary.entry_code, summary.purpose
        # The other department: the one that asked (the inbox answers it), or the one asked (my requests).
        other = department_label(summary.requester, summary.requester_name) if self.answering in (
            Answering.APPROVE, Answering.REFUSE) else department_label(summary.provider, summary.provider_name)
        titles = {
            Answering.APPROVE: (self.tr("Approve the request"),
                                self.tr("Approve the request of %3 for %1 (purpose: %2). The answer is signed with "
                                        "your key and sent at the next sync."),
                                self.tr("&Conditions (optional):")),
            Answering.REFUSE: (self.tr("Refuse the request"),
                               self.tr("Refuse the request of %3 for %1 (purpose: %2). The requesting department may "
                                       "escalate the refusal to the data authority."),
                               self.tr("&Reason (required):")),
            Answering.ESCALATE: (self.tr("Escalate the refusal"),
                                 self.tr("Ask the data authority to settle the refusal of %1 by %3 (purpose: %2)."),
                                 self.tr("&Why the data is still needed (required):")),
            Answering.WITHDRAW: (self.tr("Withdraw the request"),
                                 self.tr("Withdraw the request to %3 for %1 (purpose: %2) before it is answered."),
                                 self.tr("&Reason (optional):")),
        }
        title, intro, prompt = titles[self.answering]
        self.setWindowTitle(title)
        self.intro.setText(fill(intro, code, purpose, other))
        self.prompt.setText(prompt)
        self.text.setAccessibleName(prompt.replace("&", "").rstrip(":："))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("&Sign"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._update()

    def words(self) -> str:
        return self.text.reason()

    def _complete(self) -> bool:
        return not self.answering.needs_text or not is_blank(self.words())

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self._complete())

    def accept(self) -> None:
        if self._complete():  # a blank reason explains nothing: Enter on one does nothing
            super().accept()
