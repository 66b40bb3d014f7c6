"""Training-free detector of local manipulations: ``analyze(image) -> Analysis``.

Principles (no parameter is fitted to any file):

* Every cue is measured on one grid of 16-px cells, two JPEG 8×8 blocks, so compression artefacts hit every cell
  alike (``_grid.CELL``).
* A cue map is a log measurement per cell, averaged over 3×3 cells (48 px) and judged by the modified z-score of
  Iglewicz & Hoaglin, 0.6745 (x - median) / MAD, over the image's own cells; |z| > 3.5 is their outlier rule. The
  image is its own reference: no camera model, no training set.
* Cues: ``blur`` (fine detail missing for the structure present: smoothing, inpainting, upscaling), ``noise``
  (noise level off the image's noise/content trend, both tails: a cleaner or noisier source), ``resampling``
  (periodic interpolation correlations) and ``copymove`` (a block duplicated elsewhere, verified pixel-wise).
* The first three are fused (``fusion``): evidence adds across cues, the fused threshold keeps the single-cue
  false-alarm rate, and only the one region that stands ``DOMINANCE`` times above the image's second-strongest
  region counts, since natural photographs have many similar outliers (depth of field, highlights) and a local
  manipulation has one. Its extent is its half-maximum cells.
* Scores: logistic(z - threshold), 0.5 exactly at the threshold, odds multiplied by e per unit of z beyond it. A
  copy-move pair scores logistic(area / minimum area - 1), 0.5 at the minimum region size. The image score is the
  best finding's; with no finding it stays below 0.5 (half the logistic of the strongest region's margin).

None of the cues can see an image generated in full, which has no inconsistency between its parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._grid import CELL, grey
from .blur import BlurMap, blur_map
from .copymove import MIN_AREA, find_copy_move
from .fusion import DOMINANCE, FUSED_OUTLIER_Z, Dominant, dominant_region, fuse
from .noise import NoiseMap, noise_map
from .resampling import ResamplingMap, resampling_map

MAX_FINDINGS = 5


@dataclass(frozen=True)
class Finding:
    """One locally inconsistent region.

    Attributes:
        box: (x1, y1, x2, y2) pixels of the analysed image, x2 > x1, y2 > y1, inside it.
        score: in [0, 1], how anomalous.
        cue: "blur" | "noise" | "resampling" (the fused region's strongest cue) | "copy-move".
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
    return "(" + ", ".join(str(round(v)) for v in box) + ")"


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
    # The noise cue counts both tails: a cleaner or a noisier source than the rest of the image.
    cue_maps = {"blur": blur.z, "resampling": resampling.z, "noise": np.abs(noise.z)}
    for name, z in cue_maps.items():
        measurements[f"max_z_{name}"] = round(float(np.nanmax(z)) if np.isfinite(z).any() else 0.0, 3)
    measurements["copy_move_pairs"] = float(len(copies))

    findings: list[Finding] = []
    fused = fuse(list(cue_maps.values()))
    dominant = dominant_region(fused, (h, w))
    measurements["max_z_fused"] = round(dominant.peak, 3) if dominant else 0.0
    measurements["runner_up_z_fused"] = round(dominant.runner_up, 3) if dominant else 0.0
    if dominant is not None and dominant.passes:
        findings.append(_fused_finding(dominant, cue_maps, blur, noise, resampling))
    for pair in copies:
        score = _logistic(pair.area / MIN_AREA - 1.0)
        dx, dy = pair.shift
        if pair.decided:
            findings.append(
                Finding(
                    pair.copy_box,
                    score,
                    "copy-move",
                    f"block {_box_text(pair.copy_box)} duplicates {_box_text(pair.source_box)} ({pair.area} px, "
                    f"difference {pair.match_ratio:.2f}× the one-pixel texture variation); its border step is "
                    f"{pair.seam_ratio:.1f}× the source's, so it is the pasted copy",
                )
            )
        else:
            statement = (
                f"blocks {_box_text(pair.copy_box)} and {_box_text(pair.source_box)} are duplicates ({pair.area} px, "
                f"shift {abs(dx)}, {abs(dy)} px); their border steps differ only {pair.seam_ratio:.1f}×, so either "
                "may be the pasted copy"
            )
            for box in (pair.copy_box, pair.source_box):
                findings.append(Finding(box, score, "copy-move", statement))
    findings.sort(key=lambda f: f.score, reverse=True)
    findings = [f for f in findings if f.score >= 0.5][:MAX_FINDINGS]

    if findings:
        score = findings[0].score
        cues = sorted({f.cue for f in findings})
        rationale = (
            f"{len(findings)} region(s) are inconsistent with the rest of the image ({', '.join(cues)}): "
            + "; ".join(dict.fromkeys(f.statement for f in findings))
            + "."
        )
        return Analysis("fake", round(score, 4), tuple(findings), rationale, measurements)
    if dominant is None:
        score = 0.0
        rationale = (
            f"Median noise {noise.median_sigma:.2f} grey levels; no region of at least {2 * CELL}×{2 * CELL} px "
            "departs from the rest of the image in noise, sharpness or periodicity, and no duplicated block was "
            "verified."
        )
    else:
        # Below the outlier threshold, or not standing out from the image's other regions: not evidence.
        score = 0.5 * _logistic(dominant.peak - FUSED_OUTLIER_Z)
        rationale = (
            f"Median noise {noise.median_sigma:.2f} grey levels. The most unusual region, "
            f"{_box_text(dominant.box)}, reaches a combined z = {dominant.peak:.1f}, "
            + (
                f"below the outlier threshold {FUSED_OUTLIER_Z}"
                if dominant.peak < FUSED_OUTLIER_Z
                else f"but the image's next region reaches z = {dominant.runner_up:.1f}, so it does not stand "
                f"{DOMINANCE:.1f}× above natural variation"
            )
            + "; no duplicated block was verified."
        )
    return Analysis("real", round(score, 4), (), rationale, measurements)


def _fused_finding(
    dominant: Dominant, cue_maps: dict[str, np.ndarray], blur: BlurMap, noise: NoiseMap, resampling: ResamplingMap
) -> Finding:
    """The dominant fused region, named after its strongest cue, with the measured numbers."""
    cells = dominant.cells
    strength = {name: float(np.nanmean(np.clip(z[cells], 0, None))) for name, z in cue_maps.items()}
    cue = max(strength, key=lambda k: strength[k] if np.isfinite(strength[k]) else -1.0)
    sigma = noise.sigma[cells]
    noise_ratio = float(np.median(sigma)) / noise.median_sigma if noise.median_sigma > 0 else 1.0
    sharp_ratio = float(np.exp(np.median(blur.log_ratio[cells]) - blur.median_log_ratio))
    periodic = float(np.nanmax(resampling.z[cells])) if np.isfinite(resampling.z[cells]).any() else 0.0
    statement = (
        f"inside {_box_text(dominant.box)} the combined anomaly peaks at z = {dominant.peak:.1f}, "
        + (
            f"{dominant.peak / dominant.runner_up:.1f}× the next region (z = {dominant.runner_up:.1f})"
            if dominant.runner_up > 0
            else "the only anomalous region"
        )
        + f": noise level {_fold(max(noise_ratio, 1e-3))} the image median, fine-to-mid detail "
        f"{_fold(max(sharp_ratio, 1e-3))} it, periodicity z = {periodic:.1f}"
    )
    return Finding(dominant.box, round(_logistic(dominant.peak - FUSED_OUTLIER_Z), 4), cue, statement)
