"""napari reader for GANN timeslice files and ``gann predict`` outputs (``*.parquet``).

:func:`napari_get_reader` declines (returns None) what is not a timeslice table: a path that
is not ``.parquet``, a ``.pairs.parquet`` file, or parquet without the columns x, y, z and
track_id, so another plugin may read it. A file that looks like a timeslice table but fails
to load (truncated, invalid values) is reported as a napari error notification naming the
problem, and no layer is added.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gann_core.errors import GannError
from gann_core.io import COLUMN_ALIASES
from gann_core.table import REQUIRED_COLUMNS

logger = logging.getLogger(__name__)


def napari_get_reader(path):
    """Return a reader function for GANN timeslice files, or None for anything else."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(_may_be_timeslice_file(Path(item)) for item in paths):
        return None
    return read_timeslice_files


def read_timeslice_files(path) -> list[tuple]:
    """Read each file as a hits layer (see :func:`gann_viewer.layers.hits_layer_data`)."""
    from gann_viewer.layers import hits_layer_data
    from gann_viewer.source import TimesliceSource

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers = []
    for item in paths:
        try:
            layers.append(hits_layer_data(TimesliceSource.open(item)))
        except GannError as error:
            from napari.utils.notifications import show_error

            logger.error("%s", error)
            show_error(str(error))
    # napari reads [(None,)] as "the file holds no layer", which adds nothing and raises nothing.
    return layers or [(None,)]


def _may_be_timeslice_file(path: Path) -> bool:
    """Return whether ``path`` is a parquet file whose columns make it a timeslice table.

    A ``.parquet`` file whose schema cannot be read is accepted, so that loading it reports
    the reason instead of napari's "no reader found".
    """
    if path.suffix != ".parquet" or path.name.endswith(".pairs.parquet") or path.is_dir():
        return False
    try:
        names = set(pq.read_schema(path).names)
    except (pa.ArrowException, OSError):
        return True
    names |= {COLUMN_ALIASES[name] for name in names if name in COLUMN_ALIASES}
    return all(name in names for name in REQUIRED_COLUMNS)
