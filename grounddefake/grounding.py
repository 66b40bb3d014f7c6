"""Ground regions (boxes and polygons) into pixel masks and heatmaps; read ground-truth masks.

Pixel (i, j) belongs to a box when its centre (i + 0.5, j + 0.5) lies in [x1, x2) × [y1, y2), so a box with integer
corners covers exactly (x2 - x1) × (y2 - y1) pixels. Polygons are filled with OpenCV at 1/16 pixel precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from grounddefake.images import ImageError, load_image
from grounddefake.types import Box, Region, Sample, Size

_SHIFT = 4  # fillPoly fractional bits: vertices in 1/16 pixel


def box_pixel_range(box: Box, size: Size) -> tuple[int, int, int, int]:
    """Index range (c0, r0, c1, r1), end exclusive, of the pixels whose centres lie in ``box``, clipped."""
    w, h = size
    x1, y1, x2, y2 = box
    c0, c1 = max(0, math.ceil(x1 - 0.5)), min(w, math.ceil(x2 - 0.5))
    r0, r1 = max(0, math.ceil(y1 - 0.5)), min(h, math.ceil(y2 - 0.5))
    return c0, r0, c1, r1


def region_mask(region: Region, size: Size) -> np.ndarray:
    """(H, W) bool mask of one region: its polygon when it has one, else its box."""
    w, h = size
    if region.polygon is not None:
        canvas = np.zeros((h, w), np.uint8)
        points = np.round(np.asarray(region.polygon, np.float64) * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(canvas, [points], 1, lineType=cv2.LINE_8, shift=_SHIFT)
        return canvas.astype(bool)
    mask = np.zeros((h, w), bool)
    c0, r0, c1, r1 = box_pixel_range(region.box, size)
    if c1 > c0 and r1 > r0:
        mask[r0:r1, c0:c1] = True
    return mask


def regions_to_mask(regions: Sequence[Region], size: Size) -> np.ndarray:
    """(H, W) bool union of ``regions`` at ``size`` = (W, H)."""
    w, h = size
    mask = np.zeros((h, w), bool)
    for region in regions:
        mask |= region_mask(region, size)
    return mask


def regions_to_heatmap(regions: Sequence[Region], size: Size) -> np.ndarray:
    """(H, W) float32 in [0, 1]: per pixel, the highest score of the regions covering it (no score counts as 1)."""
    w, h = size
    heat = np.zeros((h, w), np.float32)
    for region in sorted(regions, key=lambda r: 1.0 if r.score is None else r.score):
        covered = region_mask(region, size)
        heat[covered] = np.maximum(heat[covered], 1.0 if region.score is None else float(region.score))
    return heat


def load_mask(path: str | Path, size: Size | None = None) -> np.ndarray:
    """Read a ground-truth mask as (H, W) bool: mean over channels > 127.5 (the IMDL-BenCo rule).

    Raises:
        ImageError: unreadable, or its size differs from ``size``.
    """
    pixels = load_image(path).pixels
    mask = pixels.mean(axis=2) > 127.5
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        raise ImageError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]}, image is {size[0]}x{size[1]}")
    return mask


def truth_mask(sample: Sample, size: Size) -> np.ndarray | None:
    """The ground-truth mask of ``sample`` at image ``size``: its mask file, else its regions; None without either."""
    if sample.mask is not None:
        return load_mask(sample.mask, size)
    if sample.regions:
        return regions_to_mask(sample.regions, size)
    return None
