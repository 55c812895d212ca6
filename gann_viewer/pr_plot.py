"""A small precision-recall plot drawn with QPainter, so the viewer needs no plotting library.

Recall runs along x and precision along y, both over [0, 1]. The curve comes from
:attr:`gann_viewer.scene.Scene.pr_curve`; the current threshold is a filled circle and a
baseline's point a hollow square. Clicking the plot picks the curve point nearest to the
click and emits its threshold.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QPointF, QRectF, Qt, Signal
from qtpy.QtGui import QColor, QPainter, QPainterPath, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

#: Curve points kept for drawing; a curve with more is thinned evenly.
MAX_DRAWN_POINTS = 600
_MARGIN_LEFT, _MARGIN_BOTTOM, _MARGIN_TOP, _MARGIN_RIGHT = 34, 22, 8, 8


class PrecisionRecallPlot(QWidget):
    """Precision against recall of the rule p > t, with the current threshold marked."""

    #: Threshold of the curve point nearest to a click.
    threshold_picked = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(180, 150)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.thresholds = np.zeros(0)
        self.recall = np.zeros(0)
        self.precision = np.zeros(0)
        self.point: tuple[float, float] | None = None
        self.baseline_point: tuple[float, float] | None = None
        self.message = "no curve: the timeslice has no truth or no pairs"

    def set_curve(self, curve: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        """Set ``(thresholds, precision, recall)``, thinned to :data:`MAX_DRAWN_POINTS`; None clears it."""
        if curve is None or len(curve[0]) == 0:
            self.thresholds = self.recall = self.precision = np.zeros(0)
        else:
            thresholds, precision, recall = curve
            keep = np.unique(np.linspace(0, len(thresholds) - 1, min(len(thresholds), MAX_DRAWN_POINTS)).astype(int))
            self.thresholds, self.precision, self.recall = thresholds[keep], precision[keep], recall[keep]
        self.update()

    def set_points(self, point: tuple[float, float] | None, baseline_point: tuple[float, float] | None = None) -> None:
        """Mark (recall, precision) of the current threshold, and optionally of a baseline."""
        self.point = point
        self.baseline_point = baseline_point
        self.update()

    # --- drawing ----------------------------------------------------------------------------------
    def _plot_rect(self) -> QRectF:
        return QRectF(
            _MARGIN_LEFT, _MARGIN_TOP,
            max(self.width() - _MARGIN_LEFT - _MARGIN_RIGHT, 1), max(self.height() - _MARGIN_TOP - _MARGIN_BOTTOM, 1),
        )

    def _to_pixel(self, recall: float, precision: float) -> QPointF:
        rect = self._plot_rect()
        return QPointF(rect.left() + recall * rect.width(), rect.bottom() - precision * rect.height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        rect = self._plot_rect()
        foreground = self.palette().color(self.foregroundRole())

        painter.setPen(QPen(foreground, 1))
        painter.drawRect(rect)
        for value in (0.0, 1.0):
            painter.drawText(QPointF(rect.left() - 22, self._to_pixel(0, value).y() + 4), f"{value:.0f}")
            painter.drawText(QPointF(self._to_pixel(value, 0).x() - 3, rect.bottom() + 15), f"{value:.0f}")
        painter.save()
        painter.translate(14, rect.center().y() + 25)
        painter.rotate(-90)
        painter.drawText(QPointF(0, 0), "precision")
        painter.restore()
        painter.drawText(QPointF(rect.center().x() - 15, rect.bottom() + 15), "recall")
        dotted = QPen(foreground, 1, Qt.DotLine)
        painter.setPen(dotted)
        for value in (0.5,):
            painter.drawLine(self._to_pixel(value, 0), self._to_pixel(value, 1))
            painter.drawLine(self._to_pixel(0, value), self._to_pixel(1, value))

        finite = np.isfinite(self.recall) & np.isfinite(self.precision)
        if not finite.any():
            painter.drawText(rect.adjusted(4, 4, -4, -4), Qt.AlignCenter | Qt.TextWordWrap, self.message)
            painter.end()
            return

        path = QPainterPath()
        points = [self._to_pixel(r, p) for r, p in zip(self.recall[finite], self.precision[finite])]
        path.moveTo(points[0])
        for point in points[1:]:
            path.lineTo(point)
        painter.setPen(QPen(QColor(90, 170, 255), 1.5))
        painter.drawPath(path)

        if self.baseline_point is not None and all(np.isfinite(self.baseline_point)):
            painter.setPen(QPen(QColor(255, 200, 60), 2))
            painter.setBrush(Qt.NoBrush)
            centre = self._to_pixel(*self.baseline_point)
            painter.drawRect(QRectF(centre.x() - 4, centre.y() - 4, 8, 8))
        if self.point is not None and all(np.isfinite(self.point)):
            painter.setPen(QPen(QColor(255, 60, 60), 1))
            painter.setBrush(QColor(255, 60, 60))
            painter.drawEllipse(self._to_pixel(*self.point), 4.5, 4.5)
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        finite = np.flatnonzero(np.isfinite(self.recall) & np.isfinite(self.precision))
        if len(finite) == 0:
            return
        position = event.pos()
        pixels = np.array([[self._to_pixel(self.recall[i], self.precision[i]).x(),
                            self._to_pixel(self.recall[i], self.precision[i]).y()] for i in finite])
        nearest = finite[np.argmin(np.hypot(pixels[:, 0] - position.x(), pixels[:, 1] - position.y()))]
        self.threshold_picked.emit(float(np.clip(self.thresholds[nearest], 0.0, 1.0)))
