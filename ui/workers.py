"""Running disk and network work off the GUI thread, reporting back through signals.

Reads go to a pool of threads; writes to a pool of one, so they reach the workspace one at
a time. A job gets a `Job` handle whose progress callback the core functions call; it raises
`Cancelled` once the user has asked to stop, which abandons the core's transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QRunnable, QThreadPool, Signal

from steward.workspace.journal import Cancelled


class Job(QObject):
    """One piece of background work; its signals arrive on the GUI thread."""

    finished = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int)
    noted = Signal(str)  # a line for the progress dialog: what the work is waiting for

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._on_cancel: list[Callable[[], None]] = []
        self.done = False
        self.ok = False
        self.outcome: Any = None  # the result, or the exception that ended the job

    def cancel(self) -> None:
        with self._lock:
            self._cancel.set()
            stops = list(self._on_cancel)
        for stop in stops:
            stop()

    def on_cancel(self, stop: Callable[[], None]) -> None:
        """Call `stop` (on the cancelling thread) once the job is cancelled, at once if it is already.

        For work that blocks where it cannot look at the flag (a network request): `stop` interrupts it.
        """
        with self._lock:
            self._on_cancel.append(stop)
            already = self._cancel.is_set()
        if already:
            stop()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def progress(self, done: int, total: int) -> None:
        """The callback handed to core functions (called on the worker thread)."""
        if self._cancel.is_set():
            raise Cancelled()
        self.progressed.emit(done, total)

    def note(self, text: str) -> None:
        """Tell the steward what the work is doing while it makes no progress (called on the worker thread)."""
        self.noted.emit(text)


class _Task(QRunnable):
    def __init__(self, job: Job, fn: Callable[[Job], Any]) -> None:
        super().__init__()
        self.job = job
        self.fn = fn

    def run(self) -> None:
        try:
            result = self.fn(self.job)
        except BaseException as error:  # reported to the GUI thread, which decides what the user sees
            self.job.outcome, self.job.done = error, True
            self.job.failed.emit(error)
        else:
            self.job.outcome, self.job.ok, self.job.done = result, True, True
            self.job.finished.emit(result)


class Runner(QObject):
    """Submits jobs to the read pool or the single-thread write pool and keeps them alive until done."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.read_pool = QThreadPool(self)
        self.read_pool.setMaxThreadCount(3)
        self.write_pool = QThreadPool(self)
        self.write_pool.setMaxThreadCount(1)
        self._jobs: set[Job] = set()

    def _submit(self, pool: QThreadPool, fn: Callable[[Job], Any],
                on_done: Callable[[Any], None] | None, on_error: Callable[[BaseException], None] | None) -> Job:
        job = Job()  # no parent: dropped from _jobs when done, Python then frees it
        self._jobs.add(job)
        if on_done:
            job.finished.connect(on_done)
        if on_error:
            job.failed.connect(on_error)
        job.finished.connect(lambda _result, j=job: self._forget(j))
        job.failed.connect(lambda _error, j=job: self._forget(j))
        pool.start(_Task(job, fn))
        return job

    def _forget(self, job: Job) -> None:
        self._jobs.discard(job)

    def read(self, fn: Callable[[Job], Any], on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[BaseException], None] | None = None) -> Job:
        return self._submit(self.read_pool, fn, on_done, on_error)

    def write(self, fn: Callable[[Job], Any], on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None) -> Job:
        return self._submit(self.write_pool, fn, on_done, on_error)

    def wait(self, job: Job) -> tuple[bool, Any]:
        """Spin a local event loop (the window keeps painting) until `job` ends: (ok, result or error)."""
        loop = QEventLoop()
        job.finished.connect(loop.quit)
        job.failed.connect(loop.quit)
        if not job.done:  # checked after connecting, so an ending in between still quits the loop
            loop.exec()
        return job.ok, job.outcome

    def wait_all(self, msecs: int = 30000) -> None:
        self.read_pool.waitForDone(msecs)
        self.write_pool.waitForDone(msecs)
