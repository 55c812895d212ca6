"""Write docs/images/viewer.png: the napari window with the GANN inspector on a demo timeslice.

Usage (needs a display with OpenGL; on a machine without one, under Xvfb)::

    xvfb-run -a -s "-screen 0 1400x900x24" python examples/make_screenshot.py [--model M] [--output PNG]

The demo timeslices are simulated as by ``gann-viewer`` without a file, scored by the
shipped SPD model (or ``--model``), shown at the model's threshold with one track selected.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gann_core.errors import GannError

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPOSITORY_ROOT / "docs" / "images" / "viewer.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a screenshot of the GANN viewer for the documentation.")
    parser.add_argument("--model", default=None, help="model file or shipped model name (default: the shipped SPD model)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help=f"PNG file to write (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--track", type=int, default=5, help="position of the track to select (default: 5)")
    args = parser.parse_args(argv)

    from gann_viewer.app import build_viewer, display_problem
    from gann_viewer.scoring import SHARED_MODELS, Scorer
    from gann_viewer.source import TimesliceSource

    problem = display_problem(screenshot=True)
    if problem is not None:
        print(f"make_screenshot: error: {problem}", file=sys.stderr)
        return 2
    scorer = Scorer.from_model_argument(args.model)
    try:
        SHARED_MODELS.get(scorer)
    except GannError as error:
        print(f"make_screenshot: error: {error}", file=sys.stderr)
        return 2

    from qtpy.QtWidgets import QApplication

    viewer, inspector = build_viewer(TimesliceSource.demo(), 0, scorer, use_threads=False)
    inspector.select_track(args.track)
    for _ in range(5):
        QApplication.processEvents()
    close_notifications()

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(output), canvas_only=False, flash=False)
    viewer.close()
    print(f"wrote {output}")
    return 0


def close_notifications() -> None:
    """Close napari's notification pop-ups (such as its PyQt5 deprecation notice), which would cover the canvas."""
    from napari._qt.dialogs.qt_notification import NapariQtNotification
    from qtpy.QtWidgets import QApplication

    for widget in QApplication.allWidgets():
        if isinstance(widget, NapariQtNotification):
            widget.close()
    QApplication.processEvents()


if __name__ == "__main__":
    sys.exit(main())
