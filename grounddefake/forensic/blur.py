"""Blur cue: fine-scale detail missing for the amount of structure present.

A sharp photograph keeps a roughly constant ratio between its finest-scale energy (a 3×3 Laplacian-type residual)
and its mid-scale gradient energy (gradient of the image blurred with sigma 2). Smoothing, inpainting and upscaling
remove the first and keep much of the second, so the log ratio drops. The ratio is only measured where there is
structure to measure it on: cells whose coarse-scale (sigma 4) gradient energy is at least the image median
(in flat cells both
energies are compression noise and the ratio says nothing about sharpness).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._grid import cell_mean, modified_z, window_average

# Immerkaer's noise kernel: zero response to constant, linear and (mostly) quadratic intensity profiles.
FINE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32) / 4.0
MID_SIGMA = 2.0
# Whether a cell has structure is judged at a scale coarser than the blurs we look for (sigma up to ~3), so a
# blurred area is not dropped from the test by its own blur.
STRUCTURE_SIGMA = 4.0
WINDOW = 3  # cells: the map is judged on 48-px windows, smaller than the smallest region we report
EPS = 1e-2


@dataclass(frozen=True)
class BlurMap:
    """Per-cell sharpness deficit.

    Attributes:
        z: (rows, cols) modified z-score of the window-averaged log sharpness, sign flipped so that
            positive = blurrier than the image; NaN where not measurable.
        log_ratio: (rows, cols) log(fine energy / mid energy) per cell.
        median_log_ratio: image median of ``log_ratio`` over measurable cells.
    """

    z: np.ndarray
    log_ratio: np.ndarray
    median_log_ratio: float


def blur_map(grey: np.ndarray) -> BlurMap:
    """Sharpness deficit of a (H, W) float32 grey image on the cell grid."""
    fine = cv2.filter2D(grey, -1, FINE_KERNEL) ** 2
    smooth = cv2.GaussianBlur(grey, (0, 0), MID_SIGMA)
    mid = cv2.Sobel(smooth, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(smooth, cv2.CV_32F, 0, 1) ** 2
    fine_c, mid_c = cell_mean(fine), cell_mean(mid)
    log_ratio = np.log(fine_c + EPS) - np.log(mid_c + EPS)
    coarse = cv2.GaussianBlur(grey, (0, 0), STRUCTURE_SIGMA)
    structure = cell_mean(cv2.Sobel(coarse, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(coarse, cv2.CV_32F, 0, 1) ** 2)
    valid = structure >= np.median(structure)
    z_cell, med, _ = modified_z(log_ratio, valid)
    averaged = window_average(z_cell, valid, WINDOW)
    measurable = ~np.isnan(averaged)
    z, _, _ = modified_z(np.nan_to_num(averaged), measurable)
    return BlurMap(np.where(measurable, -z, np.nan).astype(np.float32), log_ratio.astype(np.float32), med)
