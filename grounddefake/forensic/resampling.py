"""Resampling cue: periodic correlations left by interpolation.

Upsampling by a factor s makes every output pixel a fixed-weight mix of input pixels with a phase that repeats
with period s, so the magnitude of the second derivative varies periodically at 1/s cycles per pixel (seen folded,
at 1 - 1/s). Per window of ``WINDOW`` pixels (four JPEG blocks, stride two) the second-derivative magnitude is
averaged along rows (x) and columns (y), the two 1-D periodograms are summed, normalised by their total energy,
averaged over 3×3 neighbouring windows (a region-scale periodicity is coherent across them, chance peaks are not)
and divided bin by bin by the image median spectrum. The statistic is the largest log ratio over bins of period
shorter than ~10 px (longer periods are content); it is judged by its modified z-score over all windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._grid import CELL, modified_z

WINDOW = 2 * CELL
FIRST_BIN = 3
AGGREGATE = 3


@dataclass(frozen=True)
class ResamplingMap:
    """Per-cell periodicity anomaly.

    Attributes:
        z: (rows, cols) modified z-score of the peak spectral log ratio (positive = more periodic).
        frequency: (rows, cols) frequency of the peak, cycles per pixel.
        median_peak: image median of the peak log ratio.
    """

    z: np.ndarray
    frequency: np.ndarray
    median_peak: float


def _profiles(magnitude: np.ndarray) -> np.ndarray:
    """(H, W) -> (rows-1, cols-1, WINDOW) row-summed profiles of WINDOW×WINDOW windows at stride CELL."""
    rows, cols = magnitude.shape[0] // CELL, magnitude.shape[1] // CELL
    strips = magnitude[: rows * CELL, : cols * CELL].reshape(rows, CELL, cols * CELL).sum(axis=1)
    pairs = strips[:-1] + strips[1:]
    return sliding_window_view(pairs, WINDOW, axis=1)[:, ::CELL]


def _spectrum(magnitude: np.ndarray) -> np.ndarray:
    profiles = _profiles(magnitude)
    profiles = profiles - profiles.mean(axis=-1, keepdims=True)
    return np.abs(np.fft.rfft(profiles * np.hanning(WINDOW), axis=-1)) ** 2


def resampling_map(grey: np.ndarray) -> ResamplingMap:
    """Periodicity anomaly of a (H, W) float32 grey image on the cell grid."""
    rows, cols = grey.shape[0] // CELL, grey.shape[1] // CELL
    if rows < 2 or cols < 2:
        empty = np.full((rows, cols), np.nan, np.float32)
        return ResamplingMap(empty, empty, 0.0)
    d2x = np.abs(cv2.filter2D(grey, -1, np.array([[1, -2, 1]], np.float32)))
    d2y = np.abs(cv2.filter2D(grey, -1, np.array([[1], [-2], [1]], np.float32)))
    power = _spectrum(d2x) + _spectrum(np.ascontiguousarray(d2y.T)).transpose(1, 0, 2)
    power = power / (power[..., 1:].sum(axis=-1, keepdims=True) + 1e-6)
    power = np.stack(
        [cv2.blur(power[..., k].astype(np.float32), (AGGREGATE, AGGREGATE)) for k in range(power.shape[-1])], axis=-1
    )
    reference = np.median(power.reshape(-1, power.shape[-1]), axis=0)
    log_ratio = np.log((power[..., FIRST_BIN:] + 1e-9) / (reference[FIRST_BIN:] + 1e-9))
    peak = log_ratio.max(axis=-1)
    frequency = (log_ratio.argmax(axis=-1) + FIRST_BIN) / WINDOW
    z, med, _ = modified_z(peak)
    # Window (i, j) spans cells i..i+1, j..j+1; pad so the map has one value per cell.
    pad = ((0, 1), (0, 1))
    return ResamplingMap(
        np.pad(z, pad, mode="edge").astype(np.float32), np.pad(frequency, pad, mode="edge").astype(np.float32), med
    )
