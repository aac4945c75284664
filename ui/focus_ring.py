"""A frame in the highlight colour around whichever widget has the keyboard focus, the same in every style.

Fusion marks a focused combo box or table faintly or not at all, and Windows' style barely more: a
steward working by keyboard must see at a glance where the next key goes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QRegion
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import Shiboken

RING_WIDTH = 2


class FocusRing(QWidget):
    """Lies over the edge of the widget it follows, in that widget's parent, and paints a band along it.

    Inside the widget's own rectangle, not around it as QFocusFrame does: a form row or a splitter
    pane with no margin would clip a frame drawn outside.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._widget: QWidget | None = None

    def follow(self, widget: QWidget | None) -> None:
        """Frame `widget` (None: frame nothing)."""
        if self._widget is not None and Shiboken.isValid(self._widget):
            self._widget.removeEventFilter(self)
        self._widget = widget
        parent = widget.parentWidget() if widget is not None and not widget.isWindow() else None
        if widget is None or parent is None:
            self.hide()
            return
        widget.installEventFilter(self)
        if self.parentWidget() is not parent:
            self.setParent(parent)
        self._place()

    def _place(self) -> None:
        widget = self._widget
        if widget is None or not widget.isVisible():
            self.hide()
            return
        self.setGeometry(widget.geometry())
        self.raise_()
        self.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget and event.type() in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show,
                                                        QEvent.Type.Hide):
            self._place()
        elif watched is self._widget and event.type() == QEvent.Type.ParentChange:
            self.follow(self._widget)
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        band = QRegion(self.rect()).subtracted(
            QRegion(self.rect().adjusted(RING_WIDTH, RING_WIDTH, -RING_WIDTH, -RING_WIDTH)))
        painter = QPainter(self)
        painter.setClipRegion(band)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight))


class FocusRings(QObject):
    """Keeps one FocusRing on the application's focus widget, from window to window."""

    def __init__(self, app: QApplication, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ring: FocusRing | None = None
        app.focusChanged.connect(self._focus_changed)

    def ring(self) -> FocusRing | None:
        """The ring, while it exists (it lives beside the focused widget, and goes when that widget's parent goes)."""
        if self._ring is not None and not Shiboken.isValid(self._ring):
            self._ring = None
        return self._ring

    def _focus_changed(self, _old: QWidget | None, now: QWidget | None) -> None:
        ring = self.ring()
        if now is None or now.window().windowType() == Qt.WindowType.Popup:  # a combo box's open list, a menu
            if ring is not None:
                ring.follow(None)
            return
        if ring is None:
            ring = self._ring = FocusRing()  # without a parent until it follows a widget into that widget's parent
        ring.follow(now)
