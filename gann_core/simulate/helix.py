"""Helices of charged particles in a uniform solenoid field and their crossings with cylinders.

Conventions: the field points along +z with strength ``b_field_t`` (a negative value flips it).
A track starts at its vertex ``(vx, vy, vz)`` with azimuth ``phi`` of its momentum, pseudorapidity
``eta`` and charge ``q = ±1``. Its transverse projection is a circle of radius

    R [mm] = 1000 · pT [GeV] / (0.299792458 · |B| [T])

(for pT = 1 GeV in 1 T, R = 3335.64 mm). The force q v × B turns a positive particle in a
field along +z clockwise seen from +z, so the momentum azimuth falls as φ(s) = φ0 − s/R along
the transverse path length s. A negative particle turns counter-clockwise. Along the helix
z(s) = vz + s · sinh(η), because pz / pT = sinh(η), and the 3-D path length is s · cosh(η).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# pT [GeV] = GEV_PER_TESLA_METRE · |B| [T] · R [m] for a particle of unit charge. The value is the
# speed of light in units of 1e9 m/s.
GEV_PER_TESLA_METRE = 0.299792458
SPEED_OF_LIGHT_MM_PER_NS = 299.792458
# Charged pion mass, 139.57039 MeV (Particle Data Group, pdglive.lbl.gov node S008), used for the
# flight time of every track.
PION_MASS_GEV = 0.13957039


def helix_radius_mm(pt_gev: np.ndarray | float, b_field_t: float) -> np.ndarray:
    """Radius in mm of the transverse circle of a unit-charge track with ``pt_gev`` in ``b_field_t``."""
    return 1000.0 * np.asarray(pt_gev, dtype=float) / (GEV_PER_TESLA_METRE * abs(b_field_t))


class Crossings(NamedTuple):
    """Points where tracks first cross each cylinder, arrays of shape (n_tracks, n_radii).

    ``reached`` is False where the helix never reaches the radius, and there ``x``, ``y``,
    ``z`` and ``path_xy_mm`` are NaN. ``path_xy_mm`` is the transverse path length s from the
    vertex to the crossing in mm. Multiply it by cosh(η) for the 3-D path length.
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    path_xy_mm: np.ndarray
    reached: np.ndarray


def helix_crossings(
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    pt_gev: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    charge: np.ndarray,
    b_field_t: float,
    radii_mm: np.ndarray,
) -> Crossings:
    """Compute the first crossing of each track's helix with each cylinder r = radius.

    Track arrays have shape (n_tracks,), ``radii_mm`` has shape (n_radii,). The crossing is
    the intersection of the track's transverse circle (centre c, radius R) with the circle
    r = radius around the beam line: with d = |c|, the two intersections lie at distance
    a = (r² − R² + d²) / (2d) along c and ±sqrt(r² − a²) across it. They exist only when
    |R − d| <= r <= R + d, so a low-pT track that curls (r > 2R + |vertex|) gets no crossing
    at the outer radii. Of the two intersections, the one reached first along the direction
    of motion is kept. For a vertex inside the cylinder that is the outward crossing, and
    the second crossing of a track that curls back in is not returned.
    """
    vx, vy, vz, pt_gev, eta, phi, charge = (
        np.asarray(values, dtype=float)[:, None] for values in (vx, vy, vz, pt_gev, eta, phi, charge)
    )
    radii = np.asarray(radii_mm, dtype=float)[None, :]
    radius = helix_radius_mm(pt_gev, b_field_t)
    # +1 for clockwise rotation seen from +z (positive charge in a field along +z).
    turn = charge * np.sign(b_field_t)

    # Unit vector from the vertex to the circle centre, perpendicular to the momentum.
    normal_x = turn * np.sin(phi)
    normal_y = -turn * np.cos(phi)
    centre_x = vx + radius * normal_x
    centre_y = vy + radius * normal_y
    # d² − R² = |v|² + 2 R (v · n) exactly, which avoids the cancellation of two numbers of
    # order R² for a stiff track (R is 33 m at 10 GeV in 1 T).
    vertex_dot_normal = vx * normal_x + vy * normal_y
    centre_distance = np.sqrt(centre_x**2 + centre_y**2)
    along = (radii**2 + vx**2 + vy**2 + 2.0 * radius * vertex_dot_normal) / (2.0 * centre_distance)
    across_squared = radii**2 - along**2
    reached = across_squared >= 0.0
    across = np.sqrt(np.where(reached, across_squared, 0.0))

    unit_x = centre_x / centre_distance
    unit_y = centre_y / centre_distance
    best_turn_angle = np.full(across.shape, np.inf)
    best_x = np.full(across.shape, np.nan)
    best_y = np.full(across.shape, np.nan)
    for side in (1.0, -1.0):
        point_x = along * unit_x - side * across * unit_y
        point_y = along * unit_y + side * across * unit_x
        angle = _turn_angle(vx, vy, point_x, point_y, radius, normal_x, normal_y, turn)
        closer = angle < best_turn_angle
        best_turn_angle = np.where(closer, angle, best_turn_angle)
        best_x = np.where(closer, point_x, best_x)
        best_y = np.where(closer, point_y, best_y)

    path_xy = radius * best_turn_angle
    nan = np.nan
    return Crossings(
        x=np.where(reached, best_x, nan),
        y=np.where(reached, best_y, nan),
        z=np.where(reached, vz + path_xy * np.sinh(eta), nan),
        path_xy_mm=np.where(reached, path_xy, nan),
        reached=reached,
    )


def _turn_angle(vx, vy, point_x, point_y, radius, normal_x, normal_y, turn) -> np.ndarray:
    """Angle in [0, 2π) that the track turns about its centre from the vertex to the point."""
    # Seen from the centre, the vertex is at -R n. With w = point - vertex, the angle between
    # the two is atan2(cross(-R n, w), R² + (-R n) · w), written without subtracting the centre
    # so that it stays exact for large R.
    step_x = point_x - vx
    step_y = point_y - vy
    cross = -radius * (normal_x * step_y - normal_y * step_x)
    dot = radius**2 - radius * (normal_x * step_x + normal_y * step_y)
    counter_clockwise = np.arctan2(cross, dot)
    return np.mod(-turn * counter_clockwise, 2.0 * np.pi)


def flight_time_ns(path_xy_mm: np.ndarray, pt_gev: np.ndarray, eta: np.ndarray, mass_gev: float = PION_MASS_GEV) -> np.ndarray:
    """Time in ns to fly the transverse path ``path_xy_mm`` along a helix, for a particle of ``mass_gev``.

    The 3-D path is s · cosh(η) and the speed is β c with β = p / E, p = pT · cosh(η).
    ``pt_gev`` and ``eta`` broadcast against ``path_xy_mm``.
    """
    cosh_eta = np.cosh(eta)
    momentum = pt_gev * cosh_eta
    beta = momentum / np.sqrt(momentum**2 + mass_gev**2)
    return path_xy_mm * cosh_eta / (beta * SPEED_OF_LIGHT_MM_PER_NS)
