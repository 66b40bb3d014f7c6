"""Training-free detector of local manipulations: ``analyze(image) -> Analysis``.

Principles (no parameter is fitted to any file):

* Every cue is measured on one grid of 16-px cells, two JPEG 8×8 blocks, so compression artefacts hit every cell
  alike (``_grid.CELL``).
* A cue map is a log measurement per cell, averaged over 3×3 cells (48 px, below the smallest region worth
  reporting) and judged by the modified z-score of Iglewicz & Hoaglin, 0.6745 (x - median) / MAD, over the
  image's own cells. Outliers are |z| > 3.5, the threshold they recommend. The image is its own reference: no
  camera model, no training set.
* Regions are grown by hysteresis from outlier cells through cells beyond half the threshold, and must cover at
  least 2×2 cells; a smaller outlier is one averaging window's sampling noise (``regions``).
* A finding's score is logistic(z - 3.5): 0.5 exactly at the outlier threshold, odds multiplied by e per unit of
  z beyond it. A copy-move pair scores logistic(area / minimum area - 1), 0.5 at the minimum region size.
* The image score is the best finding's score; with no finding it is logistic(largest z - 3.5), capped below 0.5
  (an outlier too small to form a region is not evidence of a region).

Cues: ``blur`` (fine detail missing for the structure present: smoothing, inpainting, upscaling), ``noise``
(noise level off the image's noise/content trend, either way: splicing, smoothing), ``resampling`` (periodic
interpolation correlations), ``copymove`` (a block duplicated elsewhere, verified pixel-wise). None of them can
see an image generated in full, which has no inconsistency between its parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._grid import CELL, OUTLIER_Z, grey
from .blur import blur_map
from .copymove import MIN_AREA, find_copy_move
from .noise import noise_map
from .regions import Region, find_regions
from .resampling import WINDOW, resampling_map

MAX_FINDINGS = 5
# A noise region must also differ in raw noise level by this factor: a content-corrected outlier whose noise
# equals the image median is an artefact of the noise/content trend, not a different source.
NOISE_FACTOR = 2.0


@dataclass(frozen=True)
class Finding:
    """One locally inconsistent region.

    Attributes:
        box: (x1, y1, x2, y2) pixels of the analysed image, x2 > x1, y2 > y1, inside it.
        score: in [0, 1], how anomalous.
        cue: "noise" | "resampling" | "blur" | "copy-move".
        statement: one measured sentence.
    """

    box: tuple[float, float, float, float]
    score: float
    cue: str
    statement: str


@dataclass(frozen=True)
class Analysis:
    """Verdict on one image.

    Attributes:
        label: "real" | "fake"; "fake" iff ``score`` >= 0.5.
        score: P(fake)-like in [0, 1].
        findings: empty when ``label`` is "real"; sorted by score, descending.
        rationale: 1-3 sentences stating the measured numbers.
        measurements: global numbers, JSON-serialisable.
    """

    label: str
    score: float
    findings: tuple[Finding, ...]
    rationale: str
    measurements: dict[str, float]


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def _box_text(box: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(str(int(round(v))) for v in box) + ")"


def _cells_in(box: tuple[float, float, float, float], values: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = (int(v) // CELL for v in box)
    return values[y1 : max(y2, y1 + 1), x1 : max(x2, x1 + 1)]



def _fold(ratio: float) -> str:
    """'3.1× below' / '2.0× above' for a ratio to the median."""
    return f"{1 / ratio:.1f}× below" if ratio < 1 else f"{ratio:.1f}× above"


def analyze(image: np.ndarray) -> Analysis:
    """Look for locally inconsistent regions in an (H, W, 3) uint8 RGB image."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = np.ascontiguousarray(image[:, :, :3]).astype(np.uint8, copy=False)
    h, w = image.shape[:2]
    measurements: dict[str, float] = {"height": float(h), "width": float(w)}
    if h < 4 * CELL or w < 4 * CELL:
        return Analysis(
            "real",
            0.0,
            (),
            f"The image ({w}×{h} px) is smaller than 4×4 cells of {CELL} px, too small to compare regions; "
            "nothing was measured.",
            measurements,
        )
    g = grey(image)
    blur, noise, resampling = blur_map(g), noise_map(g), resampling_map(g)
    copies = find_copy_move(g)
    measurements.update(
        median_noise_sigma=round(noise.median_sigma, 4),
        median_log_sharpness=round(blur.median_log_ratio, 4),
        median_resampling_peak=round(resampling.median_peak, 4),
    )
    peaks = {
        "blur": blur.z,
        "noise_low": -noise.z,
        "noise_high": noise.z,
        "resampling": resampling.z,
    }
    for name, z in peaks.items():
        measurements[f"max_z_{name}"] = round(float(np.nanmax(z)) if np.isfinite(z).any() else 0.0, 3)
    measurements["copy_move_pairs"] = float(len(copies))

    findings: list[Finding] = []
    sharp = np.exp(blur.log_ratio - blur.median_log_ratio)
    for region in find_regions(blur.z, (h, w)):
        ratio = float(np.median(_cells_in(region.box, sharp)))
        findings.append(
            _finding(region, "blur", f"fine-to-mid detail ratio inside {_box_text(region.box)} is {_fold(ratio)} "
                     f"the image median (z = {region.peak_z:.1f})")
        )
    rel_sigma = noise.sigma / max(noise.median_sigma, 1e-6)
    for sign, key in ((-1.0, "noise_low"), (1.0, "noise_high")):
        for region in find_regions(sign * noise.z, (h, w)):
            ratio = float(np.median(_cells_in(region.box, rel_sigma)))
            if (ratio ** sign) < NOISE_FACTOR:
                continue
            findings.append(
                _finding(region, "noise", f"noise level inside {_box_text(region.box)} is {_fold(max(ratio, 1e-3))} "
                         f"the image median of {noise.median_sigma:.2f} grey levels, "
                         f"{'below' if sign < 0 else 'above'} what its content predicts (z = {region.peak_z:.1f})")
            )
    for region in find_regions(resampling.z, (h, w)):
        freqs = _cells_in(region.box, resampling.frequency).ravel()
        values, counts = np.unique(np.round(freqs * WINDOW), return_counts=True)
        mode = float(values[counts.argmax()])
        # Interpolation is periodic at one frequency over the whole region; the maximum of ~14 bins picked by
        # chance agrees with its neighbours' about 3/14 of the time. Require a majority within one bin.
        if np.mean(np.abs(np.round(freqs * WINDOW) - mode) <= 1) < 0.5:
            continue
        freq = mode / WINDOW
        findings.append(
            _finding(region, "resampling", f"residual inside {_box_text(region.box)} is periodic at {freq:.2f} "
                     f"cycles/px (upsampling by about {1 / max(1 - freq, 1e-3):.2f}×), "
                     f"z = {region.peak_z:.1f} over the image's windows")
        )
    for pair in copies:
        score = _logistic(pair.area / MIN_AREA - 1.0)
        dx, dy = pair.shift
        if pair.decided:
            findings.append(
                Finding(pair.copy_box, score, "copy-move",
                        f"block {_box_text(pair.copy_box)} duplicates {_box_text(pair.source_box)} ({pair.area} px, "
                        f"difference {pair.match_ratio:.2f}× the one-pixel texture variation); its border step is "
                        f"{pair.seam_ratio:.1f}× the source's, so it is the pasted copy")
            )
        else:
            for box, other in ((pair.copy_box, pair.source_box), (pair.source_box, pair.copy_box)):
                findings.append(
                    Finding(box, score, "copy-move",
                            f"block {_box_text(box)} duplicates {_box_text(other)} ({pair.area} px, shift "
                            f"{abs(dx)}, {abs(dy)} px); border steps differ only {pair.seam_ratio:.1f}×, so either "
                            "side may be the pasted copy")
                )
    findings.sort(key=lambda f: f.score, reverse=True)
    findings = [f for f in findings if f.score >= 0.5][:MAX_FINDINGS]

    if findings:
        score = findings[0].score
        cues = sorted({f.cue for f in findings})
        rationale = (
            f"{len(findings)} region(s) are inconsistent with the rest of the image ({', '.join(cues)}); "
            f"the strongest: {findings[0].statement}."
        )
        return Analysis("fake", round(score, 4), tuple(findings), rationale, measurements)
    top_name, top_z = max(((k, measurements[f"max_z_{k}"]) for k in peaks), key=lambda kv: kv[1])
    # An outlier cell too small to form a region is not evidence of a region: stay below 0.5.
    score = min(_logistic(top_z - OUTLIER_Z), 0.499)
    rationale = (
        f"Median noise {noise.median_sigma:.2f} grey levels; the largest local deviation of any cue is "
        f"z = {top_z:.1f} ({top_name.replace('_', ' ')}), no region of at least {2 * CELL}×{2 * CELL} px passes "
        f"z > {OUTLIER_Z}, and no duplicated block was verified."
    )
    return Analysis("real", round(score, 4), (), rationale, measurements)


def _finding(region: Region, cue: str, statement: str) -> Finding:
    return Finding(region.box, round(_logistic(region.peak_z - OUTLIER_Z), 4), cue, statement)
