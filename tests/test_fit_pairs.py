"""Helix fit and pair geometry on exact, noise-free helices built by hand."""

import numpy as np
import pytest

from gann_core.fit import fit_tracks
from gann_core.pairs import TrackPairs, all_pairs, all_pairs_from_offsets, pair_geometry, same_event
from gann_core.table import Timeslices

SPD_RADII_MM = np.linspace(150.0, 850.0, 35)

# Tolerance in mm for transverse quantities of noise-free tracks. The circle fit adds a small
# ridge term to its normal equations, which shifts exact circles by a few µm at these radii,
# far below the 0.15 mm hit resolution of SPD-like data.
CIRCLE_TOLERANCE_MM = 0.01


def helix_hits(vertex, radius_mm, phi, sense, cot_theta, radii_mm=SPD_RADII_MM):
    """Points of an exact helix near the given cylinder radii, moving outwards from ``vertex``.

    The track leaves ``vertex = (vx, vy, vz)`` with transverse direction ``phi`` and turns
    counter-clockwise seen from +z when ``sense`` is +1, clockwise when −1. Its transverse
    circle has radius ``radius_mm``, and z grows by ``cot_theta`` per mm of transverse arc.
    """
    vx, vy, vz = vertex
    centre_x = vx - sense * radius_mm * np.sin(phi)
    centre_y = vy + sense * radius_mm * np.cos(phi)

    def point(turn):
        angle = phi + sense * turn
        x = centre_x + sense * radius_mm * np.sin(angle)
        y = centre_y - sense * radius_mm * np.cos(angle)
        return x, y, vz + cot_theta * radius_mm * turn

    # From a displaced vertex r may first fall (towards the point of closest approach), then
    # it grows monotonically until the track curls back, so the angle at each requested
    # radius is read off that rising stretch of a fine grid.
    grid = np.linspace(0.0, np.pi, 200_001)
    x, y, _ = point(grid)
    r = np.hypot(x, y)
    step = np.diff(r)
    first = int(np.argmax(step > 0))
    falling = np.flatnonzero(step[first:] <= 0)
    last = first + (falling[0] if len(falling) else len(step))
    turns = np.interp(radii_mm, r[first : last + 1], grid[first : last + 1])
    return point(turns)


def table_from_tracks(tracks, event_ids=None, timeslice_ids=None):
    """Timeslices of hand-made tracks; ``tracks`` is a list of (x, y, z) arrays."""
    columns = {"x": [], "y": [], "z": [], "track_id": [], "timeslice_id": [], "event_id": []}
    for index, (x, y, z) in enumerate(tracks):
        n = len(x)
        columns["x"].append(x)
        columns["y"].append(y)
        columns["z"].append(z)
        columns["track_id"].append(np.full(n, index))
        columns["timeslice_id"].append(np.full(n, 0 if timeslice_ids is None else timeslice_ids[index]))
        columns["event_id"].append(np.full(n, 0 if event_ids is None else event_ids[index]))
    return Timeslices.from_columns({name: np.concatenate(values) for name, values in columns.items()})


@pytest.mark.parametrize("sense", [1.0, -1.0])
def test_fit_recovers_beamline_helix(sense):
    vz, radius, phi, cot_theta = 37.5, 800.0, 0.7, 0.9
    table = table_from_tracks([helix_hits((0.0, 0.0, vz), radius, phi, sense, cot_theta)])
    fit = fit_tracks(table)

    assert fit.z0[0] == pytest.approx(vz, abs=1e-4)
    assert fit.d0[0] == pytest.approx(0.0, abs=CIRCLE_TOLERANCE_MM)
    assert fit.cot_theta[0] == pytest.approx(cot_theta, rel=1e-5)
    assert fit.curvature[0] == pytest.approx(sense / radius, rel=1e-5)
    assert fit.radius[0] == pytest.approx(radius, rel=1e-5)
    assert fit.phi0[0] == pytest.approx(phi, abs=1e-5)
    assert fit.sense[0] == sense
    assert fit.rms_z[0] == pytest.approx(0.0, abs=1e-6)


def test_fit_track_reaching_circle_apex():
    radius, vz = 400.0, 12.0
    table = table_from_tracks([helix_hits((0.0, 0.0, vz), radius, 0.2, 1.0, 0.5, np.linspace(150.0, 2 * radius, 30))])
    fit = fit_tracks(table)

    assert fit.z0[0] == pytest.approx(vz, abs=0.01)


def test_fit_displaced_vertex_on_fitted_helix():
    vertex = (4.0, -3.0, -120.0)
    radius = 1500.0
    table = table_from_tracks([helix_hits(vertex, radius, 2.5, -1.0, -0.4)])
    fit = fit_tracks(table)

    centre_distance = np.hypot(fit.xc[0], fit.yc[0])
    assert fit.radius[0] == pytest.approx(radius, rel=1e-5)
    assert fit.d0[0] == pytest.approx(centre_distance - fit.radius[0], abs=1e-9)
    assert abs(fit.d0[0]) <= 5.0 + CIRCLE_TOLERANCE_MM
    z_at_vertex = fit.z_at(np.array([0]), np.array([vertex[0]]), np.array([vertex[1]]))
    assert z_at_vertex[0] == pytest.approx(vertex[2], abs=1e-4)


def test_pair_crossing_at_common_displaced_vertex():
    vertex = (4.0, -3.0, 25.0)
    tracks = [
        helix_hits(vertex, 900.0, 0.3, 1.0, 0.5),
        helix_hits(vertex, 2500.0, 2.0, -1.0, -1.2),
    ]
    fit = fit_tracks(table_from_tracks(tracks))
    geometry = pair_geometry(fit, TrackPairs(np.array([0]), np.array([1])))

    assert geometry.dz_cross[0] == pytest.approx(0.0, abs=CIRCLE_TOLERANCE_MM)
    assert geometry.r_cross[0] == pytest.approx(5.0, abs=CIRCLE_TOLERANCE_MM)
    assert geometry.circle_gap[0] == pytest.approx(0.0, abs=CIRCLE_TOLERANCE_MM)
    # z0 is taken at each track's own point of closest approach, so it differs between them.
    assert geometry.dz0[0] > 1.0


def test_pair_separate_circles_use_closest_points():
    # Circles on opposite sides of the line y = −5, touching it at (0, 0) and (0, −10).
    tracks = [
        helix_hits((0.0, 0.0, 10.0), 600.0, 0.0, 1.0, 0.2),
        helix_hits((0.0, -10.0, 30.0), 700.0, 0.0, -1.0, 0.2),
    ]
    fit = fit_tracks(table_from_tracks(tracks))
    geometry = pair_geometry(fit, TrackPairs(np.array([0]), np.array([1])))

    assert geometry.circle_gap[0] == pytest.approx(10.0, abs=CIRCLE_TOLERANCE_MM)
    assert geometry.r_cross[0] == pytest.approx(5.0, abs=CIRCLE_TOLERANCE_MM)
    assert geometry.dz_cross[0] == pytest.approx(20.0, abs=CIRCLE_TOLERANCE_MM)


def test_pair_nested_circles_use_closest_points():
    # The small circle lies inside the large one; the nearest points are (0, 0) and (0, −3).
    tracks = [
        helix_hits((0.0, 0.0, 10.0), 500.0, 0.0, 1.0, 0.3),
        helix_hits((0.0, -3.0, 12.0), 2000.0, 0.0, 1.0, -0.3),
    ]
    fit = fit_tracks(table_from_tracks(tracks))
    geometry = pair_geometry(fit, TrackPairs(np.array([0]), np.array([1])))

    assert geometry.circle_gap[0] == pytest.approx(3.0, abs=CIRCLE_TOLERANCE_MM)
    assert geometry.r_cross[0] == pytest.approx(1.5, abs=CIRCLE_TOLERANCE_MM)
    assert geometry.dz_cross[0] == pytest.approx(2.0, abs=CIRCLE_TOLERANCE_MM)


def test_pair_geometry_symmetric_under_swap():
    rng = np.random.default_rng(3)
    tracks = []
    for _ in range(8):
        vertex = (rng.normal(0, 3.0), rng.normal(0, 3.0), rng.normal(0, 50.0))
        tracks.append(
            helix_hits(vertex, rng.uniform(400, 5000), rng.uniform(-np.pi, np.pi), rng.choice([-1.0, 1.0]), rng.normal(0, 0.8))
        )
    table = table_from_tracks(tracks)
    fit = fit_tracks(table)
    pairs = all_pairs(table)
    forward = pair_geometry(fit, pairs)
    backward = pair_geometry(fit, TrackPairs(pairs.track_b, pairs.track_a))

    for name in ("dz0", "dz0_significance", "dz_cross", "dz_cross_significance", "r_cross", "circle_gap"):
        np.testing.assert_allclose(getattr(backward, name), getattr(forward, name), rtol=1e-9, atol=1e-9, err_msg=name)


def test_all_pairs_within_each_timeslice():
    pairs = all_pairs_from_offsets(np.array([0, 3, 4, 6]))

    assert pairs.track_a.tolist() == [0, 0, 1, 4]
    assert pairs.track_b.tolist() == [1, 2, 2, 5]


def test_same_event_never_pairs_fake_tracks():
    tracks = [helix_hits((0.0, 0.0, z), 1000.0, 0.1 * k, 1.0, 0.1) for k, z in enumerate([0.0, 0.0, 5.0, 5.0])]
    table = table_from_tracks(tracks, event_ids=[3, 3, -1, -1])
    pairs = all_pairs(table)

    assert same_event(table, pairs).tolist() == [True, False, False, False, False, False]
