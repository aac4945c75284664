"""Asking why an entry is being made more restrictive (the reason is stored with the change)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget


class ReasonDialog(QDialog):
    """A required free-text reason; OK stays disabled until something is written."""

    def __init__(self, explanation: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Reason for the change"))
        layout = QVBoxLayout(self)
        intro = QLabel(explanation, self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        prompt = QLabel(self.tr("&Reason (recorded with the change):"), self)
        self.text = QPlainTextEdit(self)
        self.text.setAccessibleName(self.tr("Reason"))
        prompt.setBuddy(self.text)
        layout.addWidget(prompt)
        layout.addWidget(self.text)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.text.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.reason()))

    def reason(self) -> str:
        return self.text.toPlainText().strip()

    @classmethod
    def ask(cls, explanation: str, parent: QWidget | None = None) -> str | None:
        """The reason typed, or None if the user cancelled."""
        dialog = cls(explanation, parent)
        return dialog.reason() if dialog.exec() == QDialog.DialogCode.Accepted else None
