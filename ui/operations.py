"""Reads and writes of the workspace from the window, on workers (in the spirit of Anki's QueryOp and CollectionOp).

A widget says what to read or write as a function of the workspace, usually one call of a core function;
the function runs on a worker of the session's runner (reads side by side, writes one at a time) and
its result or error comes back on the GUI thread. Widgets do not open the workspace themselves, and
nothing long runs on the GUI thread.

Edits the steward undoes (`Session.apply`, `apply_long`) go through the session; `write` is for the
rest (resolving a conflict), and says which entries changed, as an edit does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from PySide6.QtCore import QObject

from steward.workspace.workspace import Workspace
from ui.session import Session
from ui.workers import Job

T = TypeVar("T")

Op = Callable[[Workspace], T]
# A long op reports its progress through the callback it is given (done, total); cancelling its job stops it.
ProgressOp = Callable[[Workspace, Callable[[int, int], None]], T]


def on_connection(fn: Callable[..., T], *args: Any) -> Op[T]:
    """An op of a core function that reads through an open connection (`query.entry_pks(conn, …)`)."""

    def op(workspace: Workspace) -> T:
        with workspace.reading() as conn:
            return fn(conn, *args)

    return op


def read(session: Session, op: Op[T], success: Callable[[T], None] | None = None,
         failure: Callable[[BaseException], None] | None = None) -> Job:
    """Run `op(workspace)` on a read worker; `success(result)` or `failure(error)` follow on the GUI thread."""
    workspace = session.workspace
    return session.runner.read(lambda _job: op(workspace), success, failure)


def read_with_progress(session: Session, op: ProgressOp[T], success: Callable[[T], None] | None = None,
                       failure: Callable[[BaseException], None] | None = None) -> Job:
    """Like `read`, for a long op that reports progress: `op(workspace, progress)`; the job carries it."""
    workspace = session.workspace
    return session.runner.read(lambda job: op(workspace, job.progress), success, failure)


def read_now(session: Session, op: Op[T]) -> T:
    """Run a small indexed read on the GUI thread, for a view that cannot paint or act without the answer.

    Only for reads whose cost does not grow with the catalogue (one entry, one page of rows, all by
    key); each caller says why it may. Anything else goes through `read`.
    """
    return op(session.workspace)


def read_and_wait(session: Session, op: Op[T]) -> tuple[bool, Any]:
    """Run `op` on a read worker while the window keeps painting: (ok, result or error)."""
    return session.runner.wait(read(session, op))


def write(session: Session, op: Op[T], changed: Iterable[str]) -> tuple[bool, Any]:
    """Run `op` on the write worker, the window painting meanwhile; announce the entries `changed` on success.

    A failure is reported to the steward (a StewardError) or to the crash handler; returns (ok, result or error).
    """
    workspace = session.workspace
    ok, outcome = session.runner.wait(session.runner.write(lambda _job: op(workspace)))
    if not ok:
        session.report_failure(outcome)
    else:
        session.entries_changed.emit(set(changed))
    return ok, outcome


class LatestRead(QObject):
    """What a view shows, read again whenever it may have changed: only the newest read's answer counts.

    A view reads again on every change of its filter or its entries; an older read finishing late must
    not overwrite a newer one's answer, nor report a failure the newer one has made moot.
    """

    def __init__(self, session: Session, success: Callable[[Any], None],
                 failure: Callable[[BaseException], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._success = success
        self._failure = failure
        self._generation = 0
        self.loading = False

    def run(self, op: Op[Any]) -> Job:
        return self._start(read, op)

    def run_with_progress(self, op: ProgressOp[Any]) -> Job:
        return self._start(read_with_progress, op)

    def _start(self, start: Callable[..., Job], op: Callable[..., Any]) -> Job:
        self._generation += 1
        generation = self._generation
        self.loading = True
        return start(self.session, op, lambda result: self._done(generation, result),
                     lambda error: self._failed(generation, error))

    def _done(self, generation: int, result: Any) -> None:
        if generation != self._generation:
            return
        self.loading = False
        self._success(result)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self.loading = False
        if self._failure is not None:
            self._failure(error)
