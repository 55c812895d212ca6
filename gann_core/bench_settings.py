"""Settings and defaults of ``gann bench``, without torch, so the command line lists them quickly."""

from __future__ import annotations

from dataclasses import dataclass

from gann_core.simulate.config import SimulationConfig

#: Stages of the prediction chain, in order.
STAGES = ("read", "fit", "pairs", "graphs", "network", "assembly")
DEFAULT_BATCH_SIZES = (64, 256, 1024)
DEFAULT_TIMESLICES = 2000


@dataclass(frozen=True)
class BenchSetting:
    """Simulated timeslices of one benchmark row: geometry and composition."""

    name: str
    geometry: str
    n_events: float
    max_tracks: int

    def simulation(self) -> SimulationConfig:
        return SimulationConfig.for_geometry(self.geometry, n_events=self.n_events, max_tracks=self.max_tracks)

    def describe(self) -> str:
        return f"{self.geometry}, n_events {self.n_events:g} (Poisson), max_tracks {self.max_tracks}"


#: SPD-like and TrackML-like settings of the published configurations spd-10 and trackml-15.
SETTINGS = {
    "spd": BenchSetting("spd", "spd", 10.0, 5),
    "trackml": BenchSetting("trackml", "trackml", 15.0, 4),
}
