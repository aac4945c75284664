"""Unexpected errors are logged to a rotating file and reach the GUI thread, whichever thread raised them."""

from __future__ import annotations

import logging
import threading

from ui.crash import CrashReporter, setup_logging


def test_an_error_on_a_worker_thread_is_logged_and_reported(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.excepthook", __import__("sys").excepthook)
    monkeypatch.setattr("threading.excepthook", threading.excepthook)
    log_file = tmp_path / "logs" / "steward.log"
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        setup_logging(log_file)
        reporter = CrashReporter()
        reporter.install()

        def fail() -> None:
            raise ValueError("坏数据 in worker")

        with qtbot.waitSignal(reporter.crashed, timeout=5000) as caught:
            worker = threading.Thread(target=fail)
            worker.start()
            worker.join()
        assert "坏数据" in caught.args[0]
        assert "Traceback" in caught.args[1]
        qtbot.waitUntil(lambda: reporter.shown == 1)
        for handler in root.handlers:
            handler.flush()
        assert "ValueError: 坏数据 in worker" in log_file.read_text(encoding="utf-8")
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
