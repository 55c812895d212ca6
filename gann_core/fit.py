"""Helix fit of every track, vectorised over all tracks of a table.

The transverse projection of a helix in a solenoid field along z is a circle, and z grows
linearly with the transverse arc length s. Per track this module fits

* a circle to (x, y) by the algebraic (Kåsa) method on centred coordinates, a linear least
  squares problem x² + y² + D x + E y + F = 0 solved for all tracks at once;
* the line z = z0 + cot θ · s, where s is the signed arc length from the point of closest
  approach (PCA) to the beam line (x = y = 0), positive along the direction of motion.

The direction of motion is taken from the innermost to the outermost hit, so tracks are
assumed to move outwards (true for tracks from a collision near the beam line).

Uncertainties come from the residuals: the z line gives σ(z0), σ(cot θ) from the usual
regression covariance; the transverse parameters take the covariance of a local parabola
w(s) = d0 + φ s + κ s² / 2 fitted to the same hits, scaled by the circle residuals.
A floor (``min_sigma_mm``) keeps a track with exactly three hits, which has no residual
freedom in the circle, from claiming zero uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gann_core.table import Timeslices

#: Circles with a larger radius are treated as straight lines in the arc-length computation.
STRAIGHT_RADIUS_MM = 1.0e7


@dataclass(frozen=True)
class TrackFit:
    """Fitted helix parameters, one entry per track (lengths equal ``n_tracks``).

    Attributes use mm, radians and 1/mm. ``curvature`` is signed: positive when the track
    turns counter-clockwise seen from +z. ``d0`` is signed: positive when the beam line
    lies outside the fitted circle. ``xc, yc, radius`` describe the transverse circle,
    ``phi_pca`` the angle of the PCA seen from the circle centre, and ``sense`` is +1 for
    counter-clockwise motion and -1 for clockwise.

    ``hit_arc_length``, ``hit_residual_xy`` and ``hit_residual_z`` (mm, one entry per hit of
    the fitted table, or None) are the fit's by-products: each hit's signed arc length from
    the PCA, its distance to the circle minus the radius, and z minus the fitted line.
    """

    z0: np.ndarray
    d0: np.ndarray
    phi0: np.ndarray
    cot_theta: np.ndarray
    curvature: np.ndarray
    sigma_z0: np.ndarray
    sigma_d0: np.ndarray
    sigma_phi0: np.ndarray
    sigma_cot_theta: np.ndarray
    sigma_curvature: np.ndarray
    xc: np.ndarray
    yc: np.ndarray
    radius: np.ndarray
    phi_pca: np.ndarray
    sense: np.ndarray
    rms_xy: np.ndarray
    rms_z: np.ndarray
    t0: np.ndarray | None = None
    hit_arc_length: np.ndarray | None = None
    hit_residual_xy: np.ndarray | None = None
    hit_residual_z: np.ndarray | None = None

    @property
    def n_tracks(self) -> int:
        return len(self.z0)

    def arc_length_to(self, track: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Signed transverse arc length (mm) from the PCA of ``track`` to the circle point nearest (x, y)."""
        phi_pca = self.phi_pca[track]
        turn = _turn_from_pca(x - self.xc[track], y - self.yc[track], np.cos(phi_pca), np.sin(phi_pca), self.sense[track])
        return turn * np.minimum(self.radius[track], STRAIGHT_RADIUS_MM)

    def z_at(self, track: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """z (mm) of ``track``'s fitted helix where its circle passes nearest to (x, y)."""
        return self.z0[track] + self.cot_theta[track] * self.arc_length_to(track, x, y)


def fit_tracks(table: Timeslices, *, min_sigma_mm: float = 0.01) -> TrackFit:
    """Fit a helix to every track of ``table`` (see the module docstring for the method)."""
    x = table.columns["x"]
    y = table.columns["y"]
    z = table.columns["z"]
    offsets = table.track_offsets
    starts = offsets[:-1]
    n_hits = table.hits_per_track.astype(np.float64)
    per_hit = table.per_hit

    def track_sum(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts) if len(values) else np.zeros(0)

    # Circle: in a frame per track whose u axis runs along the chord from the innermost to
    # the outermost hit, u² + v² + D u + E v + F = 0 is rewritten as the linear regression
    # v = α + β u + γ (u² + v²) with γ = −1/E. A straight track is then simply γ = 0, so
    # the normal equations stay well conditioned for any radius. u and v are in units of
    # half the chord, so every track's equations have entries of order one.
    inner, outer = _innermost_outermost(table)
    chord_x, chord_y = x[outer] - x[inner], y[outer] - y[inner]
    chord = np.sqrt(chord_x * chord_x + chord_y * chord_y)
    chord = np.where(chord > 0, chord, 1.0)
    cos_rot, sin_rot = chord_x / chord, chord_y / chord
    scale = chord / 2.0

    x_mean = track_sum(x) / n_hits
    y_mean = track_sum(y) / n_hits
    dx = x - per_hit(x_mean)
    dy = y - per_hit(y_mean)
    cos_hit, sin_hit = per_hit(cos_rot / scale), per_hit(sin_rot / scale)
    u = cos_hit * dx + sin_hit * dy
    v = cos_hit * dy - sin_hit * dx
    q = u * u + v * v
    s_u, s_q = track_sum(u), track_sum(q)
    s_uu, s_uq, s_qq = track_sum(u * u), track_sum(u * q), track_sum(q * q)
    # Scale-aware ridge: keeps three hits on an exact line (or two distinct positions) solvable.
    ridge = 1.0 + 1e-12
    alpha_coef, beta_coef, gamma_coef = _solve_symmetric(
        (n_hits * ridge, s_u, s_q, s_uu * ridge, s_uq, s_qq * ridge), (track_sum(v), track_sum(u * v), track_sum(q * v))
    )
    # Back to mm: v = α + β u + γ q in half-chord units is v = α·c + β u + (γ / c) q in mm.
    alpha_coef = alpha_coef * scale
    gamma_coef = gamma_coef / scale

    # Motion runs along +u, so a centre on the +v side (γ > 0) means counter-clockwise motion.
    sense = np.where(gamma_coef >= 0, 1.0, -1.0)
    min_gamma = 0.5 / STRAIGHT_RADIUS_MM
    gamma_coef = sense * np.maximum(np.abs(gamma_coef), min_gamma)
    radius = np.sqrt(np.maximum(1.0 + beta_coef**2 - 4.0 * alpha_coef * gamma_coef, 1e-12)) / (2.0 * np.abs(gamma_coef))
    radius = np.minimum(radius, STRAIGHT_RADIUS_MM)
    centre_u = -beta_coef / (2.0 * gamma_coef)
    centre_v = 1.0 / (2.0 * gamma_coef)
    xc = x_mean + cos_rot * centre_u - sin_rot * centre_v
    yc = y_mean + sin_rot * centre_u + cos_rot * centre_v
    dx_centre, dy_centre = x - per_hit(xc), y - per_hit(yc)

    # PCA to the beam line: the circle point on the line from the centre towards the origin.
    centre_distance = np.sqrt(xc * xc + yc * yc)
    phi_pca = np.arctan2(-yc, -xc)
    d0 = centre_distance - radius
    phi0 = _wrap(phi_pca + sense * np.pi / 2)
    curvature = sense / radius

    # z line against the signed arc length from the PCA.
    turn = _turn_from_pca(dx_centre, dy_centre, per_hit(np.cos(phi_pca)), per_hit(np.sin(phi_pca)), per_hit(sense))
    radius_hit = per_hit(radius)
    s = turn * radius_hit
    z0, cot_theta, sigma_z0, sigma_cot, rms_z, residual_z = _line_fit(s, z, starts, n_hits, min_sigma_mm)

    # Transverse uncertainties from a local parabola in s, scaled by the circle residuals.
    residual = np.sqrt(dx_centre * dx_centre + dy_centre * dy_centre) - radius_hit
    dof = np.maximum(n_hits - 3, 1)
    rms_xy = np.sqrt(track_sum(residual * residual) / dof)
    sigma_xy = np.maximum(rms_xy, min_sigma_mm)
    # The parabola w = d0 + φ s + κ s² / 2 is fitted with s in metres, so its normal
    # equations have entries of order one. The ridge is 1e-12 (1 + Σ s⁴) on each diagonal
    # entry of the equations in mm, which in metres is that times (1, 1e-6, 1e-12).
    s_m = s / 1000.0
    s_m2 = s_m * s_m
    moments = [n_hits, track_sum(s_m), track_sum(s_m2), track_sum(s_m2 * s_m), track_sum(s_m2 * s_m2)]
    ridge = 1e-12 * (1.0 + 1.0e12 * moments[4])
    diagonal = _inverse_diagonal_symmetric(
        (moments[0] + ridge, moments[1], moments[2] / 2, moments[2] + ridge * 1e-6, moments[3] / 2, moments[4] / 4 + ridge * 1e-12)
    )
    # The inverse in mm has the diagonal of the inverse in metres times (1, 1e-6, 1e-12).
    sigma_d0 = sigma_xy * np.sqrt(np.abs(diagonal[0]))
    sigma_phi0 = sigma_xy * np.sqrt(np.abs(diagonal[1])) / 1000.0
    sigma_curvature = sigma_xy * np.sqrt(np.abs(diagonal[2])) / 1.0e6

    t0 = None
    if table.has_time:
        # Time at the PCA: hit time minus flight time at the speed of light along the helix.
        path = np.abs(s) * np.sqrt(1.0 + per_hit(cot_theta) ** 2)
        t0 = track_sum(table.columns["t"] - path / 299.792458) / n_hits

    return TrackFit(
        z0=z0, d0=d0, phi0=phi0, cot_theta=cot_theta, curvature=curvature,
        sigma_z0=sigma_z0, sigma_d0=sigma_d0, sigma_phi0=sigma_phi0,
        sigma_cot_theta=sigma_cot, sigma_curvature=sigma_curvature,
        xc=xc, yc=yc, radius=radius, phi_pca=phi_pca, sense=sense,
        rms_xy=rms_xy, rms_z=rms_z, t0=t0,
        hit_arc_length=s, hit_residual_xy=residual, hit_residual_z=residual_z,
    )


def _innermost_outermost(table: Timeslices) -> tuple[np.ndarray, np.ndarray]:
    """Row index of each track's hit nearest to and furthest from the beam line (first on ties)."""
    offsets = table.track_offsets
    if table.hits_sorted_by_radius:
        return offsets[:-1], offsets[1:] - 1
    r_hit = table.hit_radius
    hit_track = table.hit_track_index
    return (
        _argext_per_track(r_hit, offsets, hit_track, largest=False),
        _argext_per_track(r_hit, offsets, hit_track, largest=True),
    )


def _adjugate(matrix: tuple[np.ndarray, ...]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Return the adjugate's upper triangle and 1 / determinant of symmetric 3 × 3 matrices.

    ``matrix`` and the adjugate are given as upper triangles (m00, m01, m02, m11, m12, m22).
    A singular matrix (for example three hits at one position) gets 1 / determinant = 0, so
    its solution or inverse is zeros instead of a failure.
    """
    m00, m01, m02, m11, m12, m22 = matrix
    c00, c01, c02 = m11 * m22 - m12 * m12, m02 * m12 - m01 * m22, m01 * m12 - m02 * m11
    c11, c12, c22 = m00 * m22 - m02 * m02, m01 * m02 - m00 * m12, m00 * m11 - m01 * m01
    det = m00 * c00 + m01 * c01 + m02 * c02
    inverse_det = np.divide(1.0, det, out=np.zeros_like(det), where=det != 0)
    return (c00, c01, c02, c11, c12, c22), inverse_det


def _solve_symmetric(matrix: tuple[np.ndarray, ...], rhs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Solve symmetric 3 × 3 systems, one per entry, by the adjugate (Cramer's rule); see :func:`_adjugate`."""
    (c00, c01, c02, c11, c12, c22), inverse_det = _adjugate(matrix)
    r0, r1, r2 = rhs
    return (
        (c00 * r0 + c01 * r1 + c02 * r2) * inverse_det,
        (c01 * r0 + c11 * r1 + c12 * r2) * inverse_det,
        (c02 * r0 + c12 * r1 + c22 * r2) * inverse_det,
    )


def _inverse_diagonal_symmetric(matrix: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Return the diagonal of the inverse of symmetric 3 × 3 matrices (see :func:`_adjugate`)."""
    (c00, _, _, c11, _, c22), inverse_det = _adjugate(matrix)
    return c00 * inverse_det, c11 * inverse_det, c22 * inverse_det


def _line_fit(s, z, starts, n_hits, min_sigma_mm):
    """Least-squares z = z0 + cot·s per track; returns z0, cot, σ(z0), σ(cot), rms residual, per-hit residuals."""

    def track_sum(values):
        return np.add.reduceat(values, starts) if len(values) else np.zeros(0)

    ss, sz, s1, z1 = track_sum(s * s), track_sum(s * z), track_sum(s), track_sum(z)
    det = n_hits * ss - s1 * s1
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    cot_theta = (n_hits * sz - s1 * z1) / det
    z0 = (z1 * ss - s1 * sz) / det

    counts = n_hits.astype(np.int64)
    residual = z - np.repeat(z0, counts) - np.repeat(cot_theta, counts) * s
    rms_z = np.sqrt(track_sum(residual * residual) / np.maximum(n_hits - 2, 1))
    sigma = np.maximum(rms_z, min_sigma_mm)
    sigma_z0 = sigma * np.sqrt(np.abs(ss / det))
    sigma_cot = sigma * np.sqrt(np.abs(n_hits / det))
    return z0, cot_theta, sigma_z0, sigma_cot, rms_z, residual


def _argext_per_track(values: np.ndarray, offsets: np.ndarray, hit_track: np.ndarray, *, largest: bool) -> np.ndarray:
    """Row index of each track's largest (or smallest) value; the first such row on ties."""
    starts = offsets[:-1]
    extreme = (np.maximum if largest else np.minimum).reduceat(values, starts)
    rows = np.flatnonzero(values == extreme[hit_track])
    first = np.unique(hit_track[rows], return_index=True)[1]
    return rows[first]


def _turn_from_pca(
    dx: np.ndarray, dy: np.ndarray, cos_pca: np.ndarray, sin_pca: np.ndarray, sense: np.ndarray
) -> np.ndarray:
    """Return the turning angle along the motion from the PCA to a point, in [-π/2, 3π/2).

    (dx, dy) is the point relative to the circle centre, and (cos_pca, sin_pca) the
    direction from the centre to the PCA. An outward-moving track turns by 0..π from its PCA
    to r = 2R, so the range starts a quarter turn behind the PCA (room for hits before it)
    and reaches past half a turn. One arctangent of the cross and dot products gives the
    angle, with no angle subtraction to wrap.
    """
    turn = np.arctan2(sense * (cos_pca * dy - sin_pca * dx), cos_pca * dx + sin_pca * dy)
    return np.where(turn < -np.pi / 2, turn + 2 * np.pi, turn)


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Wrap angles to [-π, π)."""
    return (angle + np.pi) % (2 * np.pi) - np.pi
