"""The status bar, with its temporary message elided to the room it has.

QStatusBar paints a message as is: at 1024x768 the totals on the right leave it ~100 px and
"nodes without positions were laid out automatically" was cut mid-word ("nodes without p"),
with no sign that there was more. Here the message ends in an ellipsis when it does not fit,
and the bar's tooltip holds the full text. ``currentMessage()`` still returns the full text.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QStatusBar, QStyle, QStyleOption, QWidget


class ElidingStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._permanent: list[QWidget] = []
        self.messageChanged.connect(self._message_changed)

    # QStatusBar keeps its items private: remember which widgets bound the message's room.
    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def insertPermanentWidget(self, index: int, widget: QWidget,  # noqa: N802
                              stretch: int = 0) -> int:
        self._permanent.append(widget)
        return super().insertPermanentWidget(index, widget, stretch)

    def removeWidget(self, widget: QWidget) -> None:  # noqa: N802
        if widget in self._permanent:
            self._permanent.remove(widget)
        super().removeWidget(widget)

    def message_rect(self) -> QRect:
        """Where the message goes: from the left margin to the first visible permanent
        widget (QStatusBar's own rule)."""
        left, right = 6, self.width() - 12
        shown = [w.x() for w in self._permanent if w.isVisible()]
        if shown:
            right = min(right, min(shown) - 2)
        return QRect(left, 0, max(right - left, 0), self.height())

    def displayed_message(self) -> str:
        """The message as painted: whole, or elided with "…" to fit ``message_rect``."""
        return self.fontMetrics().elidedText(self.currentMessage(), Qt.TextElideMode.ElideRight,
                                             self.message_rect().width())

    def _message_changed(self, text: str) -> None:
        self.setToolTip(text if text and self.displayed_message() != text else "")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._message_changed(self.currentMessage())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        message = self.currentMessage()
        if not message:
            super().paintEvent(event)
            return
        # QStatusBar's painting with a message, the message elided.
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, option, painter,
                                   self)
        for widget in self._permanent:
            if widget.isVisible():
                option.rect = widget.geometry().adjusted(-2, -1, 2, 1)
                if event.rect().intersects(option.rect):
                    self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameStatusBarItem,
                                               option, painter, widget)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(self.message_rect(), Qt.AlignmentFlag.AlignLeading
                         | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextSingleLine,
                         self.displayed_message())
        painter.end()
