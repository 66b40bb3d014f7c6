"""Localization: pixel metrics per image, one-to-one box matching, COCO AP, the pointing game, false alarms on reals.

Scored on **fake** samples with ground truth only (a real image has no region to find); predictions on real images
are counted separately as false alarms. A fake answer's regions are rasterised at ground-truth resolution by the
pixel-centre rule; a ``real`` or ``unknown`` answer claims no region. Each scorer keeps one row of scalars (and the
few boxes of the sample) per image, so memory grows only by that.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grounddefake.grounding import box_pixel_range, polygon_mask, region_level
from grounddefake.label_space import REAL_FAKE, LabelSpace
from grounddefake.metrics import fakexplain, legion
from grounddefake.metrics.imdl_benco import ImdlRow, imdl_benco_metrics, imdl_row
from grounddefake.types import Box, Region, Size

POINTING_TOLERANCE = 15.0
"""A pointing-game hit: the highest-scoring predicted location lies within this many pixels of a GT pixel."""


def definition(space: LabelSpace = REAL_FAKE) -> dict[str, str]:
    """What each localization number means, in the words of ``space`` (the keys keep their real/fake names:
    ``n_real``, ``real_fp_rate`` count the negative class).

    >>> definition(LabelSpace(("safe", "unsafe"), "unsafe"))["counted"][:60]
    'unsafe samples with a ground-truth mask or regions (n); an e'
    """
    pos, neg = space.positive, " / ".join(space.negatives)
    return {
        "counted": f"{pos} samples with a ground-truth mask or regions (n); an empty ground-truth mask is skipped and "
        "counted in n_empty_truth",
        "prediction": f"union of the regions of a '{pos}' answer at ground-truth resolution (a pixel counts when its "
        f"centre is inside a region); a '{neg}' or 'unknown' answer claims none",
        "iou_mean": "per-image |P∩G| / |P∪G|, averaged over counted samples; no predicted region scores 0",
        "iou_pooled": "Σ|P∩G| / Σ|P∪G| over counted samples (large regions weigh more)",
        "miou_2class": legion.TWO_CLASS_DEFINITION,
        "iou_fakexplain": fakexplain.DEFINITION,
        "imdl_benco": "IMDL-BenCo's pixel F1, IoU and AUC as its evaluation computes them (negatives and empty masks "
        "averaged in at 0, the map thresholded > 0.5, ties in row order): imdl_benco.definition",
        "f1_precision_recall_mean": f"per-image binary pixel F1, precision and recall of the {pos} region, averaged; "
        "an empty prediction has precision 0, recall 0, F1 0",
        "pixel_auc_mean": "per-image ROC AUC of the predicted heatmap (each pixel: the highest score of the regions "
        "covering it, 1 when a region has no score, 0 outside) against the GT mask, averaged; exact from the "
        "cumulative counts at each distinct score; an empty prediction scores 0.5 (chance)",
        "box": "one-to-one Hungarian matching of predicted boxes (clipped to the image) and GT boxes maximising IoU; "
        f"a match counts at IoU >= the threshold; pooled TP, FP, FN over {pos} samples with GT boxes (n_box) → "
        "box_precision, box_recall, box_f1",
        "ap": f"COCO AP@[.5:.95] and AP50 (pycocotools) over {pos} samples with GT boxes, one category; needs a score "
        "on every predicted region, else null with a reason",
        "pointing_game": "hit when the highest-scoring predicted location (its point, else its box centre) lies "
        f"within {POINTING_TOLERANCE:g} px of a GT pixel; a sample without predicted regions is a miss",
        "real_fp": f"over {neg} samples (n_real): real_fp_rate = share whose answer claims any region; real_fp_area = "
        "mean fraction of the image those regions cover",
    }


DEFINITION = definition()
RASTER_DEFINITIONS = {
    "centre": "ground-truth regions drawn like predictions: a pixel counts when its centre is inside",
    "legion": "ground-truth regions drawn as LEGION's evaluation draws them: polygon vertices truncated to integers "
    "and filled by cv2.fillPoly with the outline, boxes truncated and filled end-inclusive by cv2.rectangle "
    "(predictions keep the pixel-centre rule)",
}


@dataclass(frozen=True)
class PixelScores:
    """One fake sample's pixel-level numbers."""

    intersection: int
    union: int
    predicted: int
    truth: int
    iou: float
    precision: float
    recall: float
    f1: float
    auc: float | None
    pixels: int = 0
    """Pixels of the image (the ground truth's resolution): the background's IoU needs them."""


def rasterize(regions: Sequence[Region], size: Size, into: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool union of ``regions`` (boxes by slicing, polygons by the scanline rule), optionally OR-ed ``into``."""
    w, h = size
    mask = np.zeros((h, w), bool) if into is None else into
    for region in regions:
        if region.polygon is not None:
            mask |= polygon_mask(region.polygon, size)
            continue
        c0, r0, c1, r1 = box_pixel_range(region.box, size)
        if c1 > c0 and r1 > r0:
            mask[r0:r1, c0:c1] = True
    return mask


def pixel_scores(regions: Sequence[Region], truth: np.ndarray) -> PixelScores:
    """Pixel IoU, precision, recall, F1 and heatmap AUC of ``regions`` against a non-empty (H, W) bool ``truth``.

    The AUC is exact: regions are added from the highest score down, and the counts of truth and other pixels
    inside the growing union are the ROC curve's points.
    """
    h, w = truth.shape
    size = (w, h)
    positives = int(np.count_nonzero(truth))
    negatives = truth.size - positives
    covered = np.zeros((h, w), bool)
    points = [(0, 0)]  # (true-positive pixels, false-positive pixels) at each threshold, highest first
    for level in sorted({region_level(r) for r in regions}, reverse=True):
        rasterize([r for r in regions if region_level(r) == level], size, covered)
        inside = int(np.count_nonzero(covered & truth))
        counts = (inside, int(np.count_nonzero(covered)) - inside)
        if level > 0:  # a region at level 0 ties with the background in the heatmap: no ROC point of its own
            points.append(counts)
    tp, outside = counts if regions else (0, 0)
    total = tp + outside
    union = positives + total - tp
    precision = tp / total if total else 0.0
    recall = tp / positives
    f1 = 2 * tp / (positives + total) if positives + total else 0.0
    auc = None
    if negatives:
        points.append((positives, negatives))
        tpr = np.array([p[0] for p in points], np.float64) / positives
        fpr = np.array([p[1] for p in points], np.float64) / negatives
        auc = float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else float(np.trapz(tpr, fpr))
    iou = tp / union if union else 0.0
    return PixelScores(tp, union, total, positives, iou, precision, recall, f1, auc, truth.size)


def pointing_hit(regions: Sequence[Region], truth: np.ndarray, tolerance: float = POINTING_TOLERANCE) -> bool:
    """Whether the highest-scoring region's point (or box centre) lies within ``tolerance`` px of a truth pixel."""
    if not regions:
        return False
    best = max(regions, key=region_level)
    x, y = best.point if best.point is not None else ((best.box[0] + best.box[2]) / 2, (best.box[1] + best.box[3]) / 2)
    h, w = truth.shape
    r0, r1 = max(0, math.floor(y - tolerance - 1)), min(h, math.ceil(y + tolerance + 1))
    c0, c1 = max(0, math.floor(x - tolerance - 1)), min(w, math.ceil(x + tolerance + 1))
    rows, cols = np.nonzero(truth[r0:r1, c0:c1])
    if rows.size == 0:
        return False
    distance2 = (rows + r0 + 0.5 - y) ** 2 + (cols + c0 + 0.5 - x) ** 2
    return bool(distance2.min() <= tolerance**2)


def clip_box(box: Box, size: Size) -> Box:
    """``box`` clipped to a (W, H) image."""
    w, h = size
    return (min(max(box[0], 0.0), w), min(max(box[1], 0.0), h), min(max(box[2], 0.0), w), min(max(box[3], 0.0), h))


def box_iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """(len(a), len(b)) IoU of xyxy boxes."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    p, g = np.asarray(a, np.float64)[:, None, :], np.asarray(b, np.float64)[None, :, :]
    iw = np.clip(np.minimum(p[..., 2], g[..., 2]) - np.maximum(p[..., 0], g[..., 0]), 0, None)
    ih = np.clip(np.minimum(p[..., 3], g[..., 3]) - np.maximum(p[..., 1], g[..., 1]), 0, None)
    inter = iw * ih
    area_p = (p[..., 2] - p[..., 0]) * (p[..., 3] - p[..., 1])
    area_g = (g[..., 2] - g[..., 0]) * (g[..., 3] - g[..., 1])
    union = area_p + area_g - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def matched_ious(predicted: Sequence[Box], truth: Sequence[Box]) -> list[float]:
    """IoUs of the one-to-one matching of predicted and GT boxes that maximises total IoU (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    iou = box_iou_matrix(predicted, truth)
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(iou, maximize=True)
    return [float(iou[r, c]) for r, c in zip(rows, cols, strict=True)]


def coco_ap(images: Sequence[tuple[Sequence[Box], Sequence[tuple[Box, float]]]]) -> tuple[float, float]:
    """(AP@[.5:.95], AP50) by pycocotools over images given as (GT boxes, [(predicted box, score), ...])."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt: dict[str, Any] = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "artifact"}]}
    detections = []
    for image_id, (truth, predicted) in enumerate(images, start=1):
        gt["images"].append({"id": image_id})
        for box in truth:
            w, h = box[2] - box[0], box[3] - box[1]
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "bbox": [box[0], box[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for box, score in predicted:
            detections.append(
                {
                    "image_id": image_id,
                    "category_id": 1,
                    "score": float(score),
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                }
            )
    if not detections:
        return 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        results = coco.loadRes(detections)
        evaluation = COCOeval(coco, results, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    ap, ap50 = float(evaluation.stats[0]), float(evaluation.stats[1])
    return max(ap, 0.0), max(ap50, 0.0)


@dataclass(frozen=True)
class FakeRow:
    """One fake sample with ground truth."""

    pixels: PixelScores
    hit: bool
    truth_boxes: tuple[Box, ...]
    predicted: tuple[tuple[Box, float | None], ...]
    matches: tuple[float, ...] = ()
    """IoUs of the one-to-one box matching (computed once, reused by every threshold and bootstrap draw)."""
    imdl_benco: ImdlRow | None = None
    """IMDL-BenCo's pixel numbers (:mod:`grounddefake.metrics.imdl_benco`)."""


@dataclass(frozen=True)
class RealRow:
    """One real sample: whether the answer claimed regions, and how much of the image they cover."""

    claimed: bool
    area: float


def localization_metrics(
    fakes: Sequence[FakeRow],
    reals: Sequence[RealRow],
    thresholds: Sequence[float] = (0.5,),
    n_empty: int = 0,
    with_ap: bool = True,
    space: LabelSpace = REAL_FAKE,
    gt_raster: str = "centre",
) -> dict[str, Any]:
    """Every localization metric over the rows (see :func:`definition`; ``fakes`` are the positive samples,
    ``reals`` the negative ones)."""
    n = len(fakes)
    inter = sum(r.pixels.intersection for r in fakes)
    union = sum(r.pixels.union for r in fakes)
    aucs = [r.pixels.auc for r in fakes if r.pixels.auc is not None]

    def mean(values: Sequence[float]) -> float | None:
        return float(np.mean(values)) if len(values) else None

    out: dict[str, Any] = {
        "n": n,
        "n_empty_truth": n_empty,
        "iou_mean": mean([r.pixels.iou for r in fakes]),
        "iou_pooled": inter / union if union else None,
        "miou_2class": mean(
            [legion.two_class_iou(r.pixels.intersection, r.pixels.union, r.pixels.pixels) for r in fakes]
        ),
        "f1_mean": mean([r.pixels.f1 for r in fakes]),
        "precision_mean": mean([r.pixels.precision for r in fakes]),
        "recall_mean": mean([r.pixels.recall for r in fakes]),
        "pixel_auc_mean": mean(aucs),
        "pointing_game": mean([float(r.hit) for r in fakes]),
    }
    boxed = [r for r in fakes if r.truth_boxes]
    out["n_box"] = len(boxed)
    out["iou_fakexplain"] = mean(
        [fakexplain.nearest_centre_iou([b for b, _ in r.predicted], r.truth_boxes) for r in boxed]
    )
    matches = [r.matches for r in boxed]
    n_pred = sum(len(r.predicted) for r in boxed)
    n_truth = sum(len(r.truth_boxes) for r in boxed)
    for t in sorted(set(thresholds)):
        tp = sum(sum(1 for iou in m if iou >= t) for m in matches)
        suffix = "" if t == 0.5 else f"@{t:g}"
        precision = tp / n_pred if n_pred else None
        recall = tp / n_truth if n_truth else None
        out[f"box_precision{suffix}"] = precision
        out[f"box_recall{suffix}"] = recall
        out[f"box_f1{suffix}"] = 2 * tp / (n_pred + n_truth) if n_pred + n_truth else None
    out["ap"] = out["ap50"] = None
    out["ap_null_reason"] = None
    unscored = sum(1 for r in boxed for _, s in r.predicted if s is None)
    if not boxed:
        out["ap_null_reason"] = f"no {space.positive} sample has ground-truth boxes"
    elif unscored:
        out["ap_null_reason"] = f"{unscored} predicted region(s) carry no score: AP needs a ranking"
    elif not with_ap:
        out["ap_null_reason"] = "not computed here"
    else:
        out["ap"], out["ap50"] = coco_ap([(r.truth_boxes, [(b, s) for b, s in r.predicted]) for r in boxed])
    out["n_real"] = len(reals)
    out["real_fp_rate"] = mean([float(r.claimed) for r in reals])
    out["real_fp_area"] = mean([r.area for r in reals])
    imdl = [r.imdl_benco for r in fakes if r.imdl_benco is not None]
    out["imdl_benco"] = imdl_benco_metrics(imdl, n_empty, len(reals))
    out["gt_raster"] = gt_raster
    out["definition"] = {
        **definition(space),
        "gt_raster": RASTER_DEFINITIONS[gt_raster],
        "iou_thresholds": sorted(set(thresholds)),
    }
    return out


@dataclass
class LocalizationScorer:
    """Streaming localization: ``update_fake`` / ``update_real`` per sample, ``compute`` at the end."""

    thresholds: tuple[float, ...] = (0.5,)
    fakes: list[FakeRow] = field(default_factory=list)
    reals: list[RealRow] = field(default_factory=list)
    n_empty_truth: int = 0

    def update_fake(
        self, regions: Sequence[Region], truth: np.ndarray, truth_boxes: Sequence[Box] = ()
    ) -> FakeRow | None:
        """Score a fake sample's claimed ``regions`` against its (H, W) bool ``truth``; None when the truth is empty."""
        if not truth.any():
            self.n_empty_truth += 1
            return None
        h, w = truth.shape
        boxes = [clip_box(r.box, (w, h)) for r in regions]  # boxes as the pixel metrics see them: inside the image
        row = FakeRow(
            pixel_scores(regions, truth),
            pointing_hit(regions, truth),
            tuple(truth_boxes),
            tuple((b, r.score) for b, r in zip(boxes, regions, strict=True)),
            tuple(matched_ious(boxes, truth_boxes)) if truth_boxes else (),
            imdl_benco=imdl_row(regions, truth),
        )
        self.fakes.append(row)
        return row

    def update_real(self, regions: Sequence[Region], size: Size) -> RealRow:
        """Count a real sample's claimed ``regions`` as false alarms."""
        area = 0.0
        if regions:
            area = float(np.count_nonzero(rasterize(regions, size))) / (size[0] * size[1])
        row = RealRow(bool(regions), area)
        self.reals.append(row)
        return row

    def compute(self) -> dict[str, Any]:
        return localization_metrics(self.fakes, self.reals, self.thresholds, self.n_empty_truth)
