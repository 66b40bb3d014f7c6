"""Shared cell grid and robust statistics.

Every cue is measured on one grid of square cells of ``CELL`` pixels. ``CELL`` is two JPEG blocks: cells stay
aligned with the 8×8 DCT grid (so compression artefacts hit every cell alike) and hold 256 pixels, enough for a
stable energy estimate.
"""

from __future__ import annotations

import cv2
import numpy as np

CELL = 16
# Iglewicz & Hoaglin: |modified z| > 3.5 flags an outlier; 0.6745 makes the MAD consistent with a Gaussian sigma.
OUTLIER_Z = 3.5
MAD_SCALE = 0.6745


def grey(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) float32 luma."""
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)


def cell_mean(values: np.ndarray) -> np.ndarray:
    """Mean of an (H, W) map over each full CELL×CELL cell -> (H // CELL, W // CELL) float32."""
    rows, cols = values.shape[0] // CELL, values.shape[1] // CELL
    crop = np.ascontiguousarray(values[: rows * CELL, : cols * CELL], dtype=np.float32)
    return cv2.resize(crop, (cols, rows), interpolation=cv2.INTER_AREA)


def modified_z(values: np.ndarray, valid: np.ndarray | None = None) -> tuple[np.ndarray, float, float]:
    """Modified z-score of every entry against the median/MAD of the ``valid`` entries.

    Returns:
        (z of the same shape as ``values``, median, MAD). Where the MAD is 0 the scale falls back to the mean
        absolute deviation, then to 1, so a constant map gives z = 0 rather than inf.
    """
    sample = values[valid] if valid is not None else values.ravel()
    if sample.size == 0:
        return np.zeros_like(values, dtype=np.float32), 0.0, 0.0
    med = float(np.median(sample))
    dev = np.abs(sample - med)
    mad = float(np.median(dev))
    scale = mad if mad > 1e-9 else 1.2533 * float(dev.mean())  # mean |dev| of a Gaussian is 0.7979 sigma
    z = np.zeros_like(values, dtype=np.float32) if scale <= 1e-9 else MAD_SCALE * (values - med) / scale
    return z.astype(np.float32), med, mad


def window_average(z: np.ndarray, valid: np.ndarray, size: int) -> np.ndarray:
    """Average of ``z`` over ``size``×``size`` cells counting only valid cells; NaN where under half are valid."""
    num = cv2.blur(np.where(valid, z, 0).astype(np.float32), (size, size), borderType=cv2.BORDER_REFLECT)
    den = cv2.blur(valid.astype(np.float32), (size, size), borderType=cv2.BORDER_REFLECT)
    return np.where(den >= 0.5, num / np.maximum(den, 1e-6), np.nan).astype(np.float32)
