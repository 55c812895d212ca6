"""Simulated timeslices: overlapping collisions with helical tracks in a solenoid field.

``simulate_timeslices(SimulationConfig.for_geometry("spd"), 1000, seed=0)`` returns a
:class:`~gann_core.table.Timeslices` with the true collision of every track in ``event_id``.
"""

from gann_core.simulate.config import GEOMETRIES, GEOMETRY_DEFAULTS, SimulationConfig
from gann_core.simulate.helix import Crossings, flight_time_ns, helix_crossings, helix_radius_mm
from gann_core.simulate.timeslice import iter_simulated_chunks, simulate_timeslices

__all__ = [
    "Crossings",
    "GEOMETRIES",
    "GEOMETRY_DEFAULTS",
    "SimulationConfig",
    "flight_time_ns",
    "helix_crossings",
    "helix_radius_mm",
    "iter_simulated_chunks",
    "simulate_timeslices",
]
