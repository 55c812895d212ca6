"""napari sample data: a simulated SPD-like timeslice scored by the shipped model."""

from __future__ import annotations

import logging

from gann_core.errors import GannError

logger = logging.getLogger(__name__)


def demo_timeslice() -> list[tuple]:
    """Simulate the demo timeslices and score the first with the shipped SPD model.

    When the shipped model is not installed, the hits still open, coloured by true
    collision, with a warning. The inspector widget then reports the same error when it
    tries to score.
    """
    from gann_viewer.layers import hits_layer_data
    from gann_viewer.scoring import Scorer, score_timeslice
    from gann_viewer.source import TimesliceSource

    source = TimesliceSource.demo()
    try:
        score_timeslice(source, 0, Scorer("shipped"))
    except GannError as error:
        from napari.utils.notifications import show_warning

        logger.warning("demo timeslice left unscored: %s", error)
        show_warning(f"demo timeslice left unscored: {error}")
    return [hits_layer_data(source, 0)]
