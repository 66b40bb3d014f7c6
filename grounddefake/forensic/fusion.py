"""Fuse the per-cell cue maps and find the one region that stands out.

Evidence adds: a manipulated area is usually odd in several cues at once (a smoothed or inpainted patch loses fine
detail *and* noise; an enlarged patch is periodic *and* soft), while natural variation (depth of field, exposure,
texture) tends to push one cue at a time. The fused statistic is the sum of the positive parts of the cue z-maps,
re-judged by its modified z-score over the image's own cells.

A manipulation is one outlier region, not a property of the whole image. Natural photographs also have outlier
regions, but several of similar strength (every out-of-focus patch, every highlight). So the strongest region
counts as evidence only when it passes the fused outlier threshold (``FUSED_OUTLIER_Z``) *and* stands at least
``DOMINANCE`` times above the image's second-strongest region, the image's own measure of how far natural variation
reaches.

A region's extent is its cells at or above half its peak (full width at half maximum), so a strong peak is not
reported at the size of the faint halo it is connected to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ._grid import CELL, MAD_SCALE, OUTLIER_Z, modified_z

MIN_CELLS = 4
"""A region covers at least 2×2 cells (32×32 px): the cue maps are 3×3-cell window averages, so a smaller outlier
is one window's sampling noise, not an area whose statistics differ."""
GROW_Z = OUTLIER_Z / 2
"""Regions are the connected cells beyond half the single-cue outlier threshold (hysteresis, as in Canny's edge
detector), so a manipulated area is delimited at its extent rather than at its most extreme cells."""

DOMINANCE = 1.5
"""The strongest region must exceed the second-strongest by 50 %."""

FUSED_OUTLIER_Z = 4.85
"""The fused statistic's outlier threshold, at the same false-alarm rate as the single-cue rule.

A Gaussian z exceeds OUTLIER_Z = 3.5 with probability 2.3e-4. Under the null of three independent standard-normal
cue values (two one-sided, the noise cue two-sided), the modified z of max(a, 0) + max(b, 0) + |c| exceeds 4.85
with that same probability: the sum is right-skewed, so the plain 3.5 would flag far more cells by chance.
``tests/test_forensic.py`` re-derives this number by simulation.
"""


def null_quantile(probability: float, samples: int = 2_000_000, seed: int = 0) -> float:
    """The fused modified z exceeded with ``probability`` under independent standard-normal cues (simulation)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.standard_normal((3, samples))
    total = np.clip(a, 0, None) + np.clip(b, 0, None) + np.abs(c)
    median = np.median(total)
    mad = np.median(np.abs(total - median))
    return float(np.quantile(MAD_SCALE * (total - median) / mad, 1.0 - probability))


@dataclass(frozen=True)
class Dominant:
    """The strongest fused region and how it compares with the rest of the image.

    Attributes:
        box: (x1, y1, x2, y2) pixels of its half-maximum extent.
        cells: (rows, cols) bool mask of those cells.
        peak: its largest fused z.
        runner_up: the largest fused z of any other region (0 when there is none).
        passes: peak >= FUSED_OUTLIER_Z and peak >= DOMINANCE * runner_up.
    """

    box: tuple[float, float, float, float]
    cells: np.ndarray
    peak: float
    runner_up: float
    passes: bool


def fuse(maps: Sequence[np.ndarray]) -> np.ndarray:
    """(rows, cols) modified z of the summed positive parts of cue z-maps (NaN counts as no evidence)."""
    total = sum(np.clip(np.nan_to_num(z, nan=0.0), 0.0, None) for z in maps)
    z, _, _ = modified_z(np.asarray(total, np.float32))
    return z


def dominant_region(z: np.ndarray, shape: tuple[int, int]) -> Dominant | None:
    """The strongest connected region of ``z`` (cells >= GROW_Z, at least MIN_CELLS) in an image of ``shape`` (H, W)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((z >= GROW_Z).astype(np.uint8), connectivity=8)
    peaks = sorted(
        ((float(z[labels == k].max()), k) for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= MIN_CELLS),
        reverse=True,
    )
    if not peaks:
        return None
    peak, label = peaks[0]
    runner_up = peaks[1][0] if len(peaks) > 1 else 0.0
    cells = (labels == label) & (z >= max(GROW_Z, peak / 2))
    ys, xs = np.nonzero(cells)
    h, w = shape
    box = (
        float(xs.min() * CELL),
        float(ys.min() * CELL),
        float(min(w, (xs.max() + 1) * CELL)),
        float(min(h, (ys.max() + 1) * CELL)),
    )
    passes = peak >= FUSED_OUTLIER_Z and peak >= DOMINANCE * runner_up
    return Dominant(box, cells, peak, runner_up, passes)
