"""Parameters of the timeslice simulation: one frozen dataclass and the defaults of each geometry.

All defaults live in this module. Parameters that depend on the detector are ``None`` in the
class definition and are filled from :data:`GEOMETRY_DEFAULTS` for the chosen ``geometry``, so
``SimulationConfig(geometry="trackml")`` and ``SimulationConfig.for_geometry("trackml")`` give
the same values. Every default is listed with its unit and source in :class:`SimulationConfig`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from gann_core.errors import ConfigError

GEOMETRIES = ("spd", "trackml")


def _spd_radii_mm() -> tuple[float, ...]:
    return tuple(float(r) for r in np.linspace(150.0, 850.0, 35))


def _trackml_radii_mm() -> tuple[float, ...]:
    # Geometric spacing: each radius is 1.171 times the previous one, so layers are denser
    # inside, as in the TrackML barrel (see the SimulationConfig docstring for its real radii).
    return tuple(float(r) for r in np.geomspace(50.0, 1000.0, 20))


# Defaults that differ between geometries. The SimulationConfig docstring gives their sources.
GEOMETRY_DEFAULTS: dict[str, dict[str, Any]] = {
    "spd": {
        "b_field_t": 1.0,
        "layer_radii_mm": _spd_radii_mm(),
        "barrel_half_length_mm": 1500.0,
        "pt_min_gev": 0.1,
        "eta_max": 1.5,
        "vertex_sigma_xy_mm": 1.0,
        "vertex_sigma_z_mm": 300.0,
        "resolution_x_mm": 0.15,
        "resolution_y_mm": 0.15,
        "resolution_z_mm": 0.15,
    },
    "trackml": {
        "b_field_t": 2.0,
        "layer_radii_mm": _trackml_radii_mm(),
        "barrel_half_length_mm": 1100.0,
        "pt_min_gev": 0.15,
        "eta_max": 2.5,
        "vertex_sigma_xy_mm": 0.015,
        "vertex_sigma_z_mm": 6.0,
        "resolution_x_mm": 0.05,
        "resolution_y_mm": 0.05,
        "resolution_z_mm": 0.05,
    },
}


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of simulated timeslices: composition, detector geometry, kinematics, effects.

    Fields marked (geometry) default to ``None`` and are filled from the geometry's defaults on
    construction. Pass a value to override one. Changing ``geometry`` with
    :func:`dataclasses.replace` keeps the other, already filled values, so build a new config
    with :meth:`for_geometry` to get the other geometry's defaults.

    Composition of a timeslice:

    - ``geometry``: ``"spd"`` (default) or ``"trackml"``.
    - ``n_events``: mean of the Poisson number of collisions per timeslice, 10.0. A draw of 0
      becomes 1, so the mean is slightly above ``n_events`` when it is small.
    - ``fixed_n_events``: when True, every timeslice has exactly ``round(n_events)`` collisions
      (default False).
    - ``max_tracks``: tracks per collision are uniform on {2, ..., max_tracks}, default 5. The
      reference presentation calls it "SN".
    - ``n_fake_tracks``: Poisson mean of fake tracks per timeslice, default 0.0. A fake track is
      a helix that starts away from every collision and gets ``event_id = -1``.

    Detector and field (geometry), with defaults for ``spd`` / ``trackml``:

    - ``b_field_t``: uniform solenoid field along +z in T, 1.0 / 2.0. SPD: "a solenoidal
      magnetic field of 1 T" (SPD overview talk, https://indico.tlabs.ac.za/event/112/contributions/2962).
      TrackML: circle fits to the true hit positions of TrackML event000000001 particles with
      pT < 2 GeV give a median of about 1.9 T, rounded here to 2 T.
    - ``layer_radii_mm``: radii in mm of the cylinders where hits are recorded, ascending.
      SPD-like: 35 radii equidistant from 150 to 850 mm (20.6 mm apart), which gives the 28–35
      hits per track of SPD-like data. TrackML-like: 20 radii from 50 to 1000 mm in geometric
      progression. The real TrackML barrel has 10 layers, measured from event000000001 hits at
      r = 32, 72, 116, 172 (pixels), 260, 360, 500, 660 (short strips), 820 and 1020 mm
      (long strips), so this is a denser stand-in with the same trend of wider gaps outside.
    - ``barrel_half_length_mm``: hits are recorded only where the true |z| is at most this,
      in mm, 1500 / 1100. SPD: a project choice that keeps most tracks at 28–35 hits.
      TrackML: the strip barrel's hits in event000000001 reach |z| = 1082 mm.

    Track kinematics:

    - ``pt_min_gev`` (geometry), ``pt_exp_mean_gev``, ``pt_max_gev``: pT in GeV is
      ``pt_min_gev`` plus an exponential with mean ``pt_exp_mean_gev`` (0.4), truncated at
      ``pt_max_gev`` (10.0). ``pt_min_gev`` is 0.1 for SPD (project choice) and 0.15 for
      TrackML. With the TrackML defaults the median pT is 0.43 GeV, against 0.42 GeV for the
      particles with at least 3 hits in TrackML event 1000's particle table.
    - ``eta_max`` (geometry): η is uniform on [-eta_max, eta_max], 1.5 / 2.5 (project
      choice). The barrel half-length then removes the outer hits of forward tracks.
    - φ is uniform on [0, 2π) and the charge is +1 or -1 with equal probability.

    Collision vertices (geometry):

    - ``vertex_sigma_xy_mm``: sigma in mm of the Gaussian vertex x and y, 1.0 / 0.015.
    - ``vertex_sigma_z_mm``: sigma in mm of the Gaussian vertex z, 300.0 / 6.0.
      SPD values are the project's SPD-like beam spot. TrackML values are measured from the
      primary vertices of the 159 collisions in TrackML event 1000's particle table
      (standard deviations 0.015 mm in x and y, 6.0 mm in z).

    Detector effects:

    - ``resolution_x_mm``, ``resolution_y_mm``, ``resolution_z_mm`` (geometry): sigma in mm of
      the Gaussian smearing of each hit coordinate, 0.15 / 0.05 (project choice). Zero gives
      hits exactly on the helix.
    - ``missing_hit_prob``: probability that a crossing leaves no hit, 0.02 (project choice).
    - ``min_hits``: tracks with fewer hits are drawn again, so every emitted track has at
      least this many hits, 3.
    - ``fake_d0_min_mm``, ``fake_d0_max_mm``: a fake track starts at its point of closest
      approach to the beam line, at a distance uniform on [10, 100] mm (project choice: 10 mm
      is ten SPD vertex sigmas). Its start z is uniform over the barrel.

    Hit time (only when ``simulate_time`` is True, default False):

    - ``timeslice_length_ns``: collision times are uniform on [0, timeslice_length_ns), 100.0.
    - ``time_resolution_ns``: sigma in ns of the Gaussian smearing of each hit time, 0.5.
      Both are project choices.
    """

    geometry: str = "spd"

    n_events: float = 10.0
    fixed_n_events: bool = False
    max_tracks: int = 5
    n_fake_tracks: float = 0.0

    b_field_t: float | None = None
    layer_radii_mm: tuple[float, ...] | None = None
    barrel_half_length_mm: float | None = None

    pt_min_gev: float | None = None
    pt_exp_mean_gev: float = 0.4
    pt_max_gev: float = 10.0
    eta_max: float | None = None

    vertex_sigma_xy_mm: float | None = None
    vertex_sigma_z_mm: float | None = None

    resolution_x_mm: float | None = None
    resolution_y_mm: float | None = None
    resolution_z_mm: float | None = None
    missing_hit_prob: float = 0.02
    min_hits: int = 3
    fake_d0_min_mm: float = 10.0
    fake_d0_max_mm: float = 100.0

    simulate_time: bool = False
    timeslice_length_ns: float = 100.0
    time_resolution_ns: float = 0.5

    def __post_init__(self) -> None:
        if self.geometry not in GEOMETRY_DEFAULTS:
            raise ConfigError(
                f"invalid simulation parameter geometry={self.geometry!r}: expected one of {', '.join(GEOMETRIES)}."
            )
        for name, value in GEOMETRY_DEFAULTS[self.geometry].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if not isinstance(self.layer_radii_mm, tuple):
            object.__setattr__(self, "layer_radii_mm", tuple(float(r) for r in self.layer_radii_mm))

    @classmethod
    def for_geometry(cls, geometry: str, **overrides: Any) -> "SimulationConfig":
        """Build the config of ``geometry`` with its defaults, then apply ``overrides``."""
        known = {field.name for field in fields(cls)} - {"geometry"}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(
                f"unknown simulation parameter(s) {', '.join(unknown)}: expected names from {', '.join(sorted(known))}."
            )
        return cls(geometry=geometry, **overrides)

    def replace(self, **changes: Any) -> "SimulationConfig":
        """Return a copy with ``changes`` applied (see the class note on changing geometry)."""
        return dataclasses.replace(self, **changes)

    @property
    def n_layers(self) -> int:
        return len(self.layer_radii_mm)

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first parameter outside its accepted range."""
        _check_number(self, "n_events", low=1.0)
        if self.fixed_n_events and round(self.n_events) < 1:
            _reject(self, "n_events", "a value that rounds to at least 1 when fixed_n_events is True")
        _check_integer(self, "max_tracks", low=2)
        _check_number(self, "n_fake_tracks", low=0.0)

        _check_number(self, "b_field_t", low=0.0, low_inclusive=False)
        radii = np.asarray(self.layer_radii_mm, dtype=float)
        if radii.ndim != 1 or len(radii) == 0 or not np.all(np.isfinite(radii)) or radii[0] <= 0:
            _reject(self, "layer_radii_mm", "a non-empty sequence of positive radii in mm")
        if np.any(np.diff(radii) <= 0):
            _reject(self, "layer_radii_mm", "radii in strictly ascending order")
        _check_number(self, "barrel_half_length_mm", low=0.0, low_inclusive=False)

        _check_number(self, "pt_min_gev", low=0.0, low_inclusive=False)
        _check_number(self, "pt_exp_mean_gev", low=0.0, low_inclusive=False)
        _check_number(self, "pt_max_gev", low=self.pt_min_gev, low_inclusive=False)
        _check_number(self, "eta_max", low=0.0, high=10.0)

        _check_number(self, "vertex_sigma_xy_mm", low=0.0)
        _check_number(self, "vertex_sigma_z_mm", low=0.0)
        for name in ("resolution_x_mm", "resolution_y_mm", "resolution_z_mm"):
            _check_number(self, name, low=0.0)
        _check_number(self, "missing_hit_prob", low=0.0, high=1.0, high_inclusive=False)
        _check_integer(self, "min_hits", low=1, high=self.n_layers)
        _check_number(self, "fake_d0_min_mm", low=0.0)
        _check_number(self, "fake_d0_max_mm", low=self.fake_d0_min_mm, high=float(radii[-1]), high_inclusive=False)

        _check_number(self, "timeslice_length_ns", low=0.0, low_inclusive=False)
        _check_number(self, "time_resolution_ns", low=0.0)


def _reject(config: SimulationConfig, name: str, accepted: str) -> None:
    value = getattr(config, name)
    raise ConfigError(f"invalid simulation parameter {name}={value!r}: expected {accepted}.")


def _check_number(
    config: SimulationConfig,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    value = getattr(config, name)
    lower = "" if low is None else f"{'>=' if low_inclusive else '>'} {low:g}"
    upper = "" if high is None else f"{'<=' if high_inclusive else '<'} {high:g}"
    accepted = "a finite number " + " and ".join(part for part in (lower, upper) if part)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        _reject(config, name, accepted.rstrip())
    if not math.isfinite(value):
        _reject(config, name, accepted.rstrip())
    if low is not None and (value < low or (value == low and not low_inclusive)):
        _reject(config, name, accepted)
    if high is not None and (value > high or (value == high and not high_inclusive)):
        _reject(config, name, accepted)


def _check_integer(config: SimulationConfig, name: str, *, low: int, high: int | None = None) -> None:
    value = getattr(config, name)
    accepted = f"an integer >= {low}" + ("" if high is None else f" and <= {high}")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        _reject(config, name, accepted)
    if value < low or (high is not None and value > high):
        _reject(config, name, accepted)
