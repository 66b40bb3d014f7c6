"""The built-in model's analysis: ``analyze(image) -> Analysis``.

Two sources of evidence, fused:

* the **learned localizer** (:mod:`.learned`): a small network trained on generated manipulations of photographs
  reads high-pass residuals, a JPEG-grid channel and the training-free blur, noise and resampling z-maps, and writes
  a per-pixel P(manipulated). Its regions count when their own calibrated P(fake) reaches 0.5; the image's P(fake)
  is the calibrated head on the whole map.
* **copy-move** matching (:mod:`.copymove`): a block duplicated elsewhere in the image, verified pixel by pixel.
  Exact where it fires, so its boxes are painted into the heatmap at their own score.

The image is "fake" when the localizer's P(fake) reaches 0.5 and its map marks a region (those whose own P(fake)
reaches 0.5, else the strongest, scored at the image's P(fake)), or when a copy-move pair is verified; the score is
the best finding's, and below 0.5 otherwise. Each finding states the numbers behind it: the map's peak, the region's
P(fake) and share of the image, and the training-free cues measured inside it. Neither source can see an image
generated in full, which has no inconsistency between its parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._grid import CELL, OUTLIER_Z, grey
from .copymove import MIN_AREA, CopyMove, find_copy_move
from .features import OUTPUT_STRIDE, Features
from .learned import MIN_REGION_CELLS, LearnedRegion, Localization, localize, logistic

MAX_FINDINGS = 5
CUE_NAMED_Z = OUTLIER_Z / 2
"""A learned region is named after a training-free cue whose mean |z| inside it reaches half the outlier threshold;
otherwise after the residuals the network reads ("residual")."""


@dataclass(frozen=True)
class Finding:
    """One locally inconsistent region.

    Attributes:
        box: (x1, y1, x2, y2) pixels of the analysed image, x2 > x1, y2 > y1, inside it.
        score: in [0, 1], P(fake) of the region.
        cue: "blur" | "noise" | "resampling" | "residual" (a learned region, named after its strongest training-free
            cue) | "copy-move".
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
        score: P(fake) in [0, 1].
        findings: empty when ``label`` is "real"; sorted by score, descending.
        rationale: 1-3 sentences stating the measured numbers.
        measurements: global numbers, JSON-serialisable.
        heatmap: (H, W) float32 in [0, 1]: the localizer's P(manipulated) per pixel, raised to a copy-move pair's
            score inside its copy box; None for an image too small to analyse.
    """

    label: str
    score: float
    findings: tuple[Finding, ...]
    rationale: str
    measurements: dict[str, float]
    heatmap: np.ndarray | None = field(default=None, repr=False, compare=False)


def _box_text(box: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(str(round(v)) for v in box) + ")"


def analyze(image: np.ndarray) -> Analysis:
    """Look for locally manipulated regions in an (H, W, 3) uint8 RGB image."""
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
    found = localize(image)
    copies = find_copy_move(grey(image))
    measurements.update(
        localizer_p_fake=round(found.p_fake, 4),
        localizer_peak=round(found.peak, 4),
        median_noise_sigma=round(found.features.noise.median_sigma, 4),
        copy_move_pairs=float(len(copies)),
    )
    findings = []
    if found.p_fake >= 0.5:  # a region counts only in an image the head calls edited: those whose own P(fake)
        findings = [_learned_finding(r, r.p_fake, found) for r in found.regions if r.p_fake >= 0.5]
        if not findings and found.regions:  # reaches 0.5, else the strongest, at the image's P(fake)
            findings = [_learned_finding(found.regions[0], found.p_fake, found)]
    for pair in copies:
        findings.extend(_copy_move_findings(pair))
    findings.sort(key=lambda f: f.score, reverse=True)
    findings = [f for f in findings if f.score >= 0.5][:MAX_FINDINGS]
    heatmap = _heatmap(found, copies)
    score = max([found.p_fake, *(f.score for f in findings)])
    if findings:
        cues = sorted({f.cue for f in findings})
        rationale = (
            f"{len(findings)} region(s) are inconsistent with the rest of the image ({', '.join(cues)}): "
            + "; ".join(dict.fromkeys(f.statement for f in findings))
            + "."
        )
        return Analysis("fake", round(score, 4), tuple(findings), rationale, measurements, heatmap)
    return Analysis("real", round(min(score, 0.4999), 4), (), _real_rationale(found), measurements, heatmap)


def _learned_finding(region: LearnedRegion, score: float, found: Localization) -> Finding:
    """A learned region, scored ``score``, with its numbers and the training-free cues inside it."""
    cues = _cues_inside(region, found.features)
    strongest = max(cues, key=lambda k: abs(cues[k]))
    cue = strongest if abs(cues[strongest]) >= CUE_NAMED_Z else "residual"
    statement = (
        f"the learned map marks {_box_text(region.box)} ({100 * region.area_fraction:.1f} % of the image) at up to "
        f"{region.score:.2f}, P(fake) {region.p_fake:.2f}; inside it blur z = {cues['blur']:.1f}, noise z = "
        f"{cues['noise']:.1f}, resampling z = {cues['resampling']:.1f}"
    )
    return Finding(region.box, round(score, 4), cue, statement)


def _cues_inside(region: LearnedRegion, features: Features) -> dict[str, float]:
    """Mean modified z of each training-free cue over the 16-px cells under a region's 8-px cells."""
    rows, cols = np.nonzero(region.cells)
    means = {}
    for name, cue in (("blur", features.blur), ("noise", features.noise), ("resampling", features.resampling)):
        z = cue.z
        r = np.clip(rows // 2, 0, z.shape[0] - 1)
        c = np.clip(cols // 2, 0, z.shape[1] - 1)
        values = z[r, c]
        values = values[np.isfinite(values)]
        means[name] = float(values.mean()) if values.size else 0.0
    return means


def _copy_move_score(pair: CopyMove) -> float:
    """logistic(area / minimum area - 1): 0.5 at the minimum region size."""
    return logistic(pair.area / MIN_AREA - 1.0)


def _copy_move_boxes(pair: CopyMove) -> list[tuple[float, float, float, float]]:
    """The pasted copy when the seams tell it, else both sides."""
    return [pair.copy_box] if pair.decided else [pair.copy_box, pair.source_box]


def _copy_move_findings(pair: CopyMove) -> list[Finding]:
    score = round(_copy_move_score(pair), 4)
    dx, dy = pair.shift
    if pair.decided:
        statement = (
            f"block {_box_text(pair.copy_box)} duplicates {_box_text(pair.source_box)} ({pair.area} px, "
            f"difference {pair.match_ratio:.2f}× the one-pixel texture variation); its border step is "
            f"{pair.seam_ratio:.1f}× the source's, so it is the pasted copy"
        )
    else:
        statement = (
            f"blocks {_box_text(pair.copy_box)} and {_box_text(pair.source_box)} are duplicates ({pair.area} px, "
            f"shift {abs(dx)}, {abs(dy)} px); their border steps differ only {pair.seam_ratio:.1f}×, so either may "
            "be the pasted copy"
        )
    return [Finding(box, score, "copy-move", statement) for box in _copy_move_boxes(pair)]


def _heatmap(found: Localization, copies: list[CopyMove]) -> np.ndarray:
    """The localizer's map, raised inside each verified copy box to the pair's score."""
    heatmap = found.heatmap.copy()
    for pair in copies:
        score = _copy_move_score(pair)
        for x1, y1, x2, y2 in _copy_move_boxes(pair):
            window = heatmap[round(y1) : round(y2), round(x1) : round(x2)]
            np.maximum(window, score, out=window)
    return heatmap


def _real_rationale(found: Localization) -> str:
    noise = found.features.noise.median_sigma
    if found.p_fake >= 0.5:  # the head says edited, but the map marks no region at all
        return (
            f"Median noise {noise:.2f} grey levels. The learned map peaks at {found.peak:.2f} (image-level P(fake) "
            f"{found.p_fake:.2f}), but no region of at least {MIN_REGION_CELLS} cells of {OUTPUT_STRIDE} px stands "
            "out, so nothing is reported; no duplicated block was verified."
        )
    return (
        f"Median noise {noise:.2f} grey levels. The learned map peaks at {found.peak:.2f}, an image-level P(fake) "
        f"of {found.p_fake:.2f}, below 0.5"
        + (
            f"; its strongest region {_box_text(found.regions[0].box)} reaches P(fake) {found.regions[0].p_fake:.2f}"
            if found.regions
            else ""
        )
        + "; no duplicated block was verified."
    )
