"""Pixel checks shared by the tests that look at drawn frames."""

from __future__ import annotations

import numpy as np


def distinct_colors(image: np.ndarray) -> int:
    """Number of distinct RGB colours in an (H, W, 3 or 4) uint8 image."""
    rgb = np.ascontiguousarray(image[..., :3]).reshape(-1, 3)
    return len(np.unique(rgb, axis=0))


def colors_present(image: np.ndarray, colors: np.ndarray, tolerance: int = 6) -> np.ndarray:
    """For each RGBA float colour, whether some pixel of ``image`` matches it within ``tolerance`` per channel."""
    rgb = np.ascontiguousarray(image[..., :3]).reshape(-1, 3).astype(np.int16)
    pixels = np.unique(rgb, axis=0)
    expected = np.round(np.asarray(colors)[:, :3] * 255).astype(np.int16)
    return np.array([np.any(np.all(np.abs(pixels - color) <= tolerance, axis=1)) for color in expected])
