"""Times as the steward reads them: the journal's and the exchange's UTC stamps in the local time zone."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDateTime, QLocale


def local_time(stamp: str, *, seconds: bool = True) -> str:
    """A stored time (UTC, ISO 8601, e.g. 2026-12-02T02:32:15.104274Z) in local time, to the second or minute.

    The one way the window shows a time: the last sync, the history, pending changes and conflicts all
    read alike. A text that is not a time is shown as it is.
    """
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    local = QDateTime.fromSecsSinceEpoch(int(moment.timestamp())).toLocalTime()
    return QLocale().toString(local, "yyyy-MM-dd HH:mm:ss" if seconds else "yyyy-MM-dd HH:mm")
