"""``gann-viewer [FILE] [--model M] [--timeslice K]``: napari on a timeslice file, scored and ready to inspect.

Without FILE it shows simulated SPD-like demo timeslices scored by the shipped model. Every
input is checked before the window opens, so a bad argument, file or model ends the command
with one line on stderr and exit status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from gann_core.errors import ConfigError, GannError

logger = logging.getLogger(__name__)

EXIT_USAGE = 2

#: Import names of the packages that the ``viewer`` extra installs and the window needs.
VIEWER_PACKAGES = ("napari", "qtpy", "vispy", "magicgui")

#: Initial window width and height in pixels: room for the canvas beside the layer list and the inspector.
WINDOW_SIZE = (1400, 900)

#: napari camera angles in degrees that put the beam axis horizontal, seen slightly from the side.
SIDE_VIEW_ANGLES = (0.0, -75.0, 0.0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gann-viewer",
        description="Open napari on a GANN timeslice or prediction file with the GANN inspector: hits coloured "
        "by collision, track pairs as true/false positives and false negatives, a threshold slider with live metrics.",
    )
    parser.add_argument(
        "file", nargs="?", default=None, metavar="FILE",
        help="timeslice parquet file, or a 'gann predict' output (its .pairs.parquet scores are used); "
        "default: simulated SPD demo timeslices",
    )
    parser.add_argument(
        "--model", metavar="M", default=None,
        help="model file written by 'gann train', or a shipped model name ('spd', 'trackml'); default: the scores "
        "in FILE's pairs file when there is one, else the shipped SPD model",
    )
    parser.add_argument(
        "--timeslice", metavar="K", type=int, default=None,
        help="timeslice_id of the timeslice to show first (default: the first in the file)",
    )
    parser.add_argument(
        "--threshold", metavar="T", type=float, default=None,
        help="p(same event) threshold to start with, in [0, 1] for both the pair colours and the assembly (default: the assembly threshold stored in the model, 0.5 for file scores)",
    )
    parser.add_argument(
        "--screenshot", metavar="PNG", default=None,
        help="save a screenshot of the napari canvas to PNG and exit (needs a display, e.g. under xvfb-run)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0, or 2 for invalid input)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        source, position, scorer = prepare(args)
    except (GannError, OSError) as error:
        print(f"gann-viewer: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    viewer, _ = build_viewer(
        source, position, scorer, threshold=args.threshold, use_threads=args.screenshot is None
    )
    if args.screenshot is not None:
        save_screenshot(viewer, args.screenshot)
        viewer.close()
        return 0

    import napari

    napari.run()
    return 0


def prepare(args: argparse.Namespace):
    """Check every input and load what the window needs: ``(source, position, scorer)``.

    Raises GannError or OSError with a one-line message.
    """
    from gann_core.infer import check_model_inputs
    from gann_viewer.scoring import Scorer
    from gann_viewer.source import TimesliceSource

    missing = missing_viewer_packages()
    if missing:
        raise ConfigError(
            f"the viewer needs {', '.join(missing)}, which the base installation leaves out, so install the "
            "viewer extra: pip install 'gann[viewer]' (in a checkout: pip install -e '.[viewer]')."
        )
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise ConfigError(f"--threshold {args.threshold} is invalid; use a value in [0, 1], e.g. 0.5.")
    if args.screenshot is not None:
        from gann_core.io import check_output_path

        check_output_path(args.screenshot)

    source = TimesliceSource.demo() if args.file is None else TimesliceSource.open(args.file)
    position = 0 if args.timeslice is None else source.position_of(args.timeslice)
    if args.model is None and source.has_file_scores:
        scorer = Scorer("file")
    else:
        scorer = Scorer.from_model_argument(args.model)
        check_model_inputs(load_model(scorer), source.table)

    problem = display_problem(screenshot=args.screenshot is not None)
    if problem is not None:
        raise ConfigError(problem)
    return source, position, scorer


def load_model(scorer):
    """Load the scorer's model; a missing shipped model gets a message that names ``--model`` as the fix."""
    from gann_core.errors import ModelFileError
    from gann_core.model.saved import shipped_model_path
    from gann_viewer.scoring import SHARED_MODELS

    if scorer.kind == "shipped" and not shipped_model_path("spd").is_file():
        raise ModelFileError(
            f"the shipped SPD model {shipped_model_path('spd')} is not installed; "
            "pass --model with a model file written by 'gann train'."
        )
    return SHARED_MODELS.get(scorer)


def missing_viewer_packages() -> list[str]:
    """Names of the packages of the ``viewer`` extra that cannot be imported here."""
    import importlib.util

    return [name for name in VIEWER_PACKAGES if importlib.util.find_spec(name) is None]


def display_problem(*, screenshot: bool) -> str | None:
    """Why napari cannot open a window (or draw a screenshot) here, or None when it can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and not platform and not has_display:
        return (
            "no display to open the napari window on (DISPLAY is not set); run it on a desktop, "
            "over 'ssh -X', or under 'xvfb-run -a gann-viewer ...'."
        )
    if screenshot and platform in ("offscreen", "minimal"):
        return (
            f"--screenshot needs an OpenGL display, which QT_QPA_PLATFORM={platform} does not provide; "
            "run under 'xvfb-run -a gann-viewer ...' instead."
        )
    return None


def build_viewer(
    source, position: int, scorer, *, threshold: float | None = None, viewer=None, show: bool = True, use_threads: bool = True
):
    """Open a napari viewer (or use ``viewer``) with the inspector docked and the timeslice at ``position`` loaded.

    Returns ``(viewer, inspector)``. With ``use_threads=False`` the timeslice is scored
    before this returns.
    """
    from gann_viewer.layers import hits_layer_data
    from gann_viewer.widget import InspectorWidget

    if viewer is None:
        import napari

        viewer = napari.Viewer(title=f"GANN viewer: {source.name}", show=show)
        viewer.window.resize(*WINDOW_SIZE)
    viewer.dims.ndisplay = 3
    inspector = InspectorWidget(viewer, use_threads=use_threads, scorer=scorer)
    viewer.window.add_dock_widget(inspector, name="GANN inspector", area="right")

    data, kwargs, _ = hits_layer_data(source, position)
    viewer.add_points(data, **kwargs)  # the inspector adopts the layer and starts scoring
    if threshold is not None:
        inspector.user_threshold = threshold
        inspector.set_threshold(threshold)
    viewer.reset_view()
    set_side_view(viewer)
    return viewer, inspector


def set_side_view(viewer) -> None:
    """Turn the camera so the beam (z) runs left to right."""
    viewer.camera.angles = SIDE_VIEW_ANGLES


def save_screenshot(viewer, path: str | Path) -> None:
    """Draw the canvas and save it; the window must be shown on a display with OpenGL."""
    from qtpy.QtWidgets import QApplication

    for _ in range(3):
        QApplication.processEvents()
    viewer.screenshot(str(path), canvas_only=True, flash=False)


if __name__ == "__main__":
    sys.exit(main())
