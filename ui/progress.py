"""Long work with a progress dialog and a cancel button, the window still painting meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from ui.workers import Job, Runner


def run_with_progress(runner: Runner, parent: QWidget | None, title: str, fn: Callable[[Job], Any], *,
                      write: bool = True, cancellable: bool = True) -> tuple[bool, Any]:
    """Run `fn(job)` on a worker behind a window-modal progress dialog; returns (ok, result or error)."""
    dialog = QProgressDialog(title, "", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)  # quick jobs finish before it would flash up
    dialog.setAutoClose(False)
    if cancellable:
        dialog.setCancelButtonText(QCoreApplication.translate("progress", "Cancel"))
    else:
        dialog.setCancelButton(None)
    job = (runner.write if write else runner.read)(fn)

    def show_progress(done: int, total: int) -> None:
        dialog.setMaximum(max(total, 1))
        dialog.setValue(min(done, total))

    job.progressed.connect(show_progress)
    job.noted.connect(lambda text: dialog.setLabelText(f"{title}\n{text}"))
    dialog.canceled.connect(job.cancel)
    try:
        return runner.wait(job)
    finally:
        dialog.reset()
        dialog.deleteLater()
