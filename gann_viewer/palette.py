"""Colours of the viewer as RGBA float32 arrays, with no Qt or napari import.

The categorical palette gives neighbouring indices far-apart hues. Index k gets the hue
k · (φ − 1) mod 1 with φ the golden ratio, so the hues never repeat, and any run of
consecutive indices spreads over the colour wheel. Lightness and saturation cycle with
different periods, so that two indices with close hues (k and k + 21, k + 34, ...) still
differ in lightness. It stays readable for a few dozen collisions side by side, and
neighbouring collisions differ even at 100 and more.
"""

from __future__ import annotations

import numpy as np

GOLDEN_RATIO_CONJUGATE = 0.618033988749895
_LIGHTNESS_CYCLE = np.array([0.58, 0.44, 0.72])
_SATURATION_CYCLE = np.array([0.90, 0.70])

#: Fake tracks, and tracks whose colour is unknown.
GREY = np.array([0.55, 0.55, 0.55, 1.0], dtype=np.float32)

#: Pair segments by kind; white, red and blue stay visible over the categorical hit colours.
PAIR_COLORS = {
    "tp": np.array([0.92, 0.92, 0.92, 1.0], dtype=np.float32),
    "fp": np.array([1.00, 0.18, 0.18, 1.0], dtype=np.float32),
    "fn": np.array([0.25, 0.55, 1.00, 1.0], dtype=np.float32),
    "true": np.array([1.00, 0.85, 0.20, 1.0], dtype=np.float32),
    "above": np.array([0.92, 0.92, 0.92, 1.0], dtype=np.float32),
}

#: Tracks in the assignment colour mode.
ASSIGNMENT_COLORS = {
    "right": np.array([0.20, 0.80, 0.30, 1.0], dtype=np.float32),
    "wrong": np.array([1.00, 0.30, 0.10, 1.0], dtype=np.float32),
}


def categorical_colors(indices: np.ndarray) -> np.ndarray:
    """Return one opaque RGBA colour per non-negative index; negative indices are grey."""
    indices = np.asarray(indices, dtype=np.int64)
    valid = indices >= 0
    k = np.where(valid, indices, 0)
    hue = (k * GOLDEN_RATIO_CONJUGATE) % 1.0
    lightness = _LIGHTNESS_CYCLE[k % len(_LIGHTNESS_CYCLE)]
    saturation = _SATURATION_CYCLE[(k // len(_LIGHTNESS_CYCLE)) % len(_SATURATION_CYCLE)]

    colors = np.empty((len(k), 4), dtype=np.float32)
    colors[:, :3] = hls_to_rgb(hue, lightness, saturation)
    colors[:, 3] = 1.0
    colors[~valid] = GREY
    return colors


def hls_to_rgb(hue: np.ndarray, lightness: np.ndarray, saturation: np.ndarray) -> np.ndarray:
    """Convert HLS (all in [0, 1]) to RGB, vectorised; the formula of :func:`colorsys.hls_to_rgb`."""
    hue = np.asarray(hue, dtype=np.float64)
    lightness = np.asarray(lightness, dtype=np.float64)
    saturation = np.asarray(saturation, dtype=np.float64)
    chroma = (1.0 - np.abs(2.0 * lightness - 1.0)) * saturation
    sector = hue * 6.0
    second = chroma * (1.0 - np.abs(sector % 2.0 - 1.0))
    zeros = np.zeros_like(chroma)

    index = np.floor(sector).astype(np.int64) % 6
    table = np.stack(
        [
            np.stack([chroma, second, zeros], axis=-1),
            np.stack([second, chroma, zeros], axis=-1),
            np.stack([zeros, chroma, second], axis=-1),
            np.stack([zeros, second, chroma], axis=-1),
            np.stack([second, zeros, chroma], axis=-1),
            np.stack([chroma, zeros, second], axis=-1),
        ]
    )
    rgb = np.take_along_axis(table, index[None, :, None], axis=0)[0]
    return rgb + (lightness - chroma / 2.0)[:, None]


def sequential_colors(values: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """Map values linearly from their min..max onto a vispy colormap; non-finite values are grey."""
    from vispy.color import get_colormap

    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    colors = np.tile(GREY, (len(values), 1))
    if not finite.any():
        return colors
    low, high = values[finite].min(), values[finite].max()
    scaled = (values[finite] - low) / (high - low) if high > low else np.full(int(finite.sum()), 0.5)
    colors[finite] = np.asarray(get_colormap(colormap).map(scaled), dtype=np.float32)
    return colors
