"""Noise cue: local noise level inconsistent with the rest of the image, given local content.

The noise level of a cell is Immerkaer's robust estimate, sigma = 1.4826 · median|r| / 6 with r the response of
the [[1,-2,1],[-2,4,-2],[1,-2,1]] kernel (its squared weights sum to 36). Texture leaks into r, so log sigma is
regressed on log mid-scale gradient energy (a straight line through the medians of ten equal-count bins) and the
residual is judged. Both tails count: a splice from a noisier or cleaner source, or a smoothed area. Cells with
clipped pixels are excluded because clipping erases noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._grid import CELL, modified_z, window_average

KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
WINDOW = 3
BINS = 10
CLIP_LOW, CLIP_HIGH = 2.0, 253.0


@dataclass(frozen=True)
class NoiseMap:
    """Per-cell noise inconsistency.

    Attributes:
        z: (rows, cols) modified z-score of the window-averaged content-corrected log noise level
            (negative = cleaner than expected); NaN where not measurable.
        sigma: (rows, cols) noise level estimate per cell, grey levels.
        median_sigma: image median of ``sigma`` over measurable cells.
    """

    z: np.ndarray
    sigma: np.ndarray
    median_sigma: float


def _cells(values: np.ndarray) -> np.ndarray:
    """(H, W) -> (rows, cols, CELL*CELL) view of the full cells."""
    rows, cols = values.shape[0] // CELL, values.shape[1] // CELL
    crop = values[: rows * CELL, : cols * CELL]
    return crop.reshape(rows, CELL, cols, CELL).transpose(0, 2, 1, 3).reshape(rows, cols, CELL * CELL)


def noise_map(grey: np.ndarray) -> NoiseMap:
    """Noise inconsistency of a (H, W) float32 grey image on the cell grid."""
    residual = np.abs(cv2.filter2D(grey, -1, KERNEL))
    sigma = 1.4826 * np.median(_cells(residual), axis=2) / 6.0
    smooth = cv2.GaussianBlur(grey, (0, 0), 2.0)
    mid = cv2.Sobel(smooth, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(smooth, cv2.CV_32F, 0, 1) ** 2
    content = np.log(_cells(mid).mean(axis=2) + 1e-2)
    cells = _cells(grey)
    clipped = ((cells <= CLIP_LOW) | (cells >= CLIP_HIGH)).mean(axis=2) > 0.1
    valid = ~clipped & (sigma > 0)
    log_sigma = np.log(np.maximum(sigma, 1e-3))
    trend = np.zeros_like(log_sigma)
    if valid.sum() >= 2 * BINS:
        edges = np.quantile(content[valid], np.linspace(0, 1, BINS + 1))
        idx = np.clip(np.searchsorted(edges, content[valid], side="right") - 1, 0, BINS - 1)
        xs = np.array([np.median(content[valid][idx == b]) for b in range(BINS) if np.any(idx == b)])
        ys = np.array([np.median(log_sigma[valid][idx == b]) for b in range(BINS) if np.any(idx == b)])
        if np.ptp(xs) > 1e-6:
            slope, intercept = np.polyfit(xs, ys, 1)
            trend = slope * content + intercept
    z_cell, _, _ = modified_z(log_sigma - trend, valid)
    averaged = window_average(z_cell, valid, WINDOW)
    measurable = ~np.isnan(averaged)
    z, _, _ = modified_z(np.nan_to_num(averaged), measurable)
    median_sigma = float(np.median(sigma[valid])) if valid.any() else 0.0
    return NoiseMap(np.where(measurable, z, np.nan).astype(np.float32), sigma.astype(np.float32), median_sigma)
