"""An open workspace in the window: its undo stack, its background runner, and news of its changes."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QWidget

from steward.catalogue.errors import StewardError
from steward.catalogue.operations import OpKind
from steward.workspace import journal
from steward.workspace.journal import ApplyResult, Cancelled, Change
from steward.workspace.workspace import Workspace
from ui.progress import run_with_progress
from ui.settings import Settings
from ui.undo_commands import ApplyCommand
from ui.workers import Runner


class Session(QObject):
    """Every edit of the window goes through `apply` (one undo step) and is announced by signals."""

    entries_changed = Signal(object)  # set of entry ids whose content changed
    catalogue_changed = Signal()  # entries were created or erased: lists must be reloaded
    failed = Signal(str)  # a message the user must read

    def __init__(self, workspace: Workspace, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.settings = settings
        self.runner = Runner(self)
        self.undo_stack = QUndoStack(self)
        self.language = "zh"  # the core's language for messages and labels; the window keeps it current
        self.dialog_parent: QWidget | None = None
        self.closed = False

    # Making changes -------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], text: str, *, reason: str | None = None,
              merge_key: tuple[str, ...] | None = None) -> ApplyResult | None:
        """Make a small change now (one entry or a few) and push it as one undo step."""
        result = self._run(changes, reason=reason)
        if result is not None and result.operations:
            self.undo_stack.push(ApplyCommand(self, result, text, merge_key=merge_key))
        return result

    def apply_long(self, changes: Sequence[Change], text: str, *, reason: str | None = None) -> ApplyResult | None:
        """Make a large change on the write worker behind a progress dialog; one undo step."""
        result = self._run(changes, reason=reason, long=True, title=text)
        if result is not None and result.operations:
            self.undo_stack.push(ApplyCommand(self, result, text, long=True))
        return result

    def run_changes(self, changes: Sequence[Change], *, long: bool, undoes: str | None) -> ApplyResult | None:
        """Used by undo and redo: the same paths, without pushing a new step."""
        title = QCoreApplication.translate("session", "Undoing or redoing a large change")
        return self._run(changes, long=long, undoes=undoes, title=title, cancellable=False)

    def _run(self, changes: Sequence[Change], *, reason: str | None = None, undoes: str | None = None,
             long: bool = False, title: str = "", cancellable: bool = True) -> ApplyResult | None:
        if not changes:
            return None
        if long:
            ok, outcome = run_with_progress(
                self.runner, self.dialog_parent, title,
                lambda job: journal.apply(self.workspace, changes, reason=reason, undoes=undoes,
                                          progress=job.progress, lang=self.language),
                cancellable=cancellable,
            )
            if not ok:
                if not isinstance(outcome, Cancelled):
                    self.report_failure(outcome)
                return None
            result = outcome
        else:
            try:
                result = journal.apply(self.workspace, changes, reason=reason, undoes=undoes, lang=self.language)
            except StewardError as error:
                self.report_failure(error)
                return None
        self._announce(result)
        return result

    def report_failure(self, error: BaseException) -> None:
        """Show a StewardError to the steward; anything else is a bug and goes to the crash handler."""
        if isinstance(error, StewardError):
            self.failed.emit(error.message(self.language))
        else:
            raise error

    def _announce(self, result: ApplyResult) -> None:
        if any(op.kind in (OpKind.CREATE, OpKind.ERASE) for op in result.operations):
            self.catalogue_changed.emit()
        if result.entry_ids:
            self.entries_changed.emit(set(result.entry_ids))

    def close(self) -> None:
        """Let the work in flight finish, then close the workspace; again, it does nothing (a window that switched
        workspaces closed its session already, and the app closes the one it opened when it ends)."""
        if self.closed:
            return
        self.runner.wait_all()
        self.workspace.close()
        self.closed = True
