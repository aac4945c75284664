"""The focused widget has a frame around it in the highlight colour, whatever kind of widget it is."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QDialog, QLineEdit, QVBoxLayout, QWidget
from shiboken6 import Shiboken

from ui.focus_ring import FocusRings
from ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, qapp, session):
    rings = FocusRings(qapp)  # as the app installs them; dropped (and disconnected) after the test
    win = MainWindow(session)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.editor.entry_id is not None, timeout=10000)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    yield win
    del rings


def around(window: QWidget, widget: QWidget) -> list[QColor]:
    """The colours along the edge of `widget` (the middle of each side, a pixel in), as the window shows it."""
    image = window.grab().toImage()
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    centre = rect.center()
    points = [QPoint(rect.left() + 1, centre.y()), QPoint(rect.right() - 1, centre.y()),
              QPoint(centre.x(), rect.top() + 1), QPoint(centre.x(), rect.bottom() - 1)]
    return [QColor(image.pixel(point)) for point in points]


def test_the_focused_widget_has_a_frame_in_the_highlight_colour(qtbot, window):
    highlight = window.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    combo = window.editor.field_widget("update_frequency")
    line = window.editor.field_widget("name")
    for widget, elsewhere in ((combo, line), (line, combo), (window.table, combo)):
        elsewhere.setFocus()
        qtbot.waitUntil(elsewhere.hasFocus)
        assert highlight not in around(window, widget), widget
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus)
        assert around(window, widget) == [highlight] * 4, widget


def test_the_frame_follows_the_focus_into_a_dialog_and_back(qtbot, window):
    highlight = window.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    dialog = QDialog(window)
    line = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(line)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(line.hasFocus)
    assert around(dialog, line) == [highlight] * 4
    dialog.close()
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not Shiboken.isValid(dialog))
    window.activateWindow()
    window.table.setFocus()
    qtbot.waitUntil(window.table.hasFocus)
    assert around(window, window.table) == [highlight] * 4
