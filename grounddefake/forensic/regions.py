"""Turn a per-cell anomaly map into boxes.

Hysteresis thresholding (as in Canny's edge detector): a region is seeded by cells beyond the outlier threshold
(modified z > 3.5) and grown through connected cells beyond half of it, so a manipulated area is reported at its
extent rather than at its few most extreme cells. A region must cover at least ``MIN_CELLS`` cells (2×2 cells,
32×32 px): the maps are 3×3-cell window averages, so an isolated outlier smaller than that is one window's
sampling noise, not an area whose statistics differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._grid import CELL, OUTLIER_Z

MIN_CELLS = 4
GROW_Z = OUTLIER_Z / 2


@dataclass(frozen=True)
class Region:
    """A connected anomalous region.

    Attributes:
        box: (x1, y1, x2, y2) pixel box, clipped to the image.
        peak_z: largest z inside the region.
        mean_z: mean z over the region's cells.
        cells: number of cells.
    """

    box: tuple[float, float, float, float]
    peak_z: float
    mean_z: float
    cells: int


def find_regions(z: np.ndarray, shape: tuple[int, int]) -> list[Region]:
    """Regions of a (rows, cols) z map (NaN = not measured) of an image of ``shape`` (H, W), by peak z."""
    z = np.nan_to_num(z, nan=0.0)
    core = z >= OUTLIER_Z
    if not core.any():
        return []
    grown = (z >= GROW_Z).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    height, width = shape
    regions = []
    for label in np.unique(labels[core]):
        if label == 0 or stats[label, cv2.CC_STAT_AREA] < MIN_CELLS:
            continue
        x, y, w, h = (int(v) for v in stats[label, :4])
        inside = labels == label
        box = (
            float(x * CELL),
            float(y * CELL),
            float(min(width, (x + w) * CELL)),
            float(min(height, (y + h) * CELL)),
        )
        regions.append(Region(box, float(z[inside].max()), float(z[inside].mean()), int(inside.sum())))
    return sorted(regions, key=lambda r: r.peak_z, reverse=True)
