"""SID-Set metrics computed SIDA's way: 3-class detection (real / full synthetic / tampered) and pooled localization.

Reproduces the evaluation loop of hzlsaber/SIDA ``test.py`` (``test()``; ``utils/utils.py``
``intersectionAndUnionGPU``) for a binary real/fake answer with regions. The truth is the sample's
``meta.subtype``; the predicted class is derived from the answer (see :data:`DEFINITION`):

- ``real`` answer → real; ``fake`` answer with regions → tampered; ``fake`` answer without regions → full
  synthetic; an answer that is neither (``unknown``) stays unknown: it is wrong for every class and counted.

The ``sid-set`` prompt pack asks for regions only for locally edited areas, so the derivation matches the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grounddefake.metrics.localization import FakeRow, rasterize
from grounddefake.types import Region, Size

CLASSES = ("real", "full_synthetic", "tampered")
"""SID-Set's classes in SIDA's label order (0 Real, 1 Full Synthetic, 2 Tampered); the ``meta.subtype`` values."""
UNKNOWN = "unknown"
SOURCE = "hzlsaber/SIDA test.py test() and utils/utils.py intersectionAndUnionGPU (arXiv 2412.04292)"
DEFINITION = {
    "truth": "meta.subtype: real, full_synthetic or tampered (SIDA's classes 0, 1, 2)",
    "predicted": "derived from the binary answer: 'real' -> real; 'fake' with at least one region -> tampered; "
    "'fake' with no region -> full_synthetic; any other answer -> unknown (wrong for every class, counted in "
    "n_unknown)",
    "accuracy_3class": "correct / n over every SID-Set sample, unknown answers included (SIDA: correct / total)",
    "per_class": "from the 3x3 confusion matrix (plus an unknown column): accuracy = tp / support (SIDA's "
    "per-class accuracy, equal to recall), precision = tp / predicted as the class, recall = tp / (tp + fn), "
    "f1 = their harmonic mean; 0.0 when a denominator is 0, as SIDA does",
    "ciou_tampered": "pooled foreground IoU over tampered samples with a mask: sum of intersections / sum of "
    "unions, whatever the predicted class (a real or region-less answer predicts an empty mask); 0.0 when every "
    "union is empty, as SIDA does",
    "giou_tampered": "mean over those samples of intersection / union, an empty union counting 1.0",
    "sida_f1": "SIDA's printed 'F1 Score': harmonic mean of ciou_tampered and accuracy_3class (both fractions); "
    "not a detection F1",
    "sida_auc_approx": "SIDA's 'auc_approx': mean over the 3 classes of precision x mean over the 3 classes of "
    "recall; not a ROC AUC",
    "prediction_mask": "union of the regions of a 'fake' answer at the mask's resolution (none for other answers); "
    "SIDA thresholds its mask logits at 0",
}


@dataclass(frozen=True)
class SidSetRow:
    """One SID-Set sample: its class, the derived predicted class, and its pixels when tampered with a mask."""

    truth: str
    predicted: str
    intersection: int | None = None
    union: int | None = None


def predicted_class(label: str, has_regions: bool) -> str:
    """The 3-class prediction a binary answer stands for.

    >>> predicted_class("real", True), predicted_class("fake", True), predicted_class("fake", False)
    ('real', 'tampered', 'full_synthetic')
    >>> predicted_class("unknown", False)
    'unknown'
    """
    if label == "real":
        return "real"
    if label == "fake":
        return "tampered" if has_regions else "full_synthetic"
    return UNKNOWN


def tampered_pixels(
    fake: FakeRow | None, predicted: Sequence[Region], truth: np.ndarray | None, size: Size | None
) -> tuple[int, int] | None:
    """(intersection, union) of a tampered sample's prediction and mask: the FakeRow's pixels, or for an empty
    mask (no FakeRow) the predicted area alone; None without a mask."""
    if fake is not None:
        return fake.pixels.intersection, fake.pixels.union
    if truth is None or size is None:
        return None
    return 0, int(np.count_nonzero(rasterize(predicted, size)))


def sid_set_row(subtype: object, label: str, has_regions: bool, pixels: tuple[int, int] | None) -> SidSetRow | None:
    """The sample's row when its ``meta.subtype`` is a SID-Set class; pixels count only for tampered samples."""
    if subtype not in CLASSES:
        return None
    inter, union = pixels if subtype == "tampered" and pixels is not None else (None, None)
    return SidSetRow(str(subtype), predicted_class(label, has_regions), inter, union)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


def sid_set_metrics(rows: Sequence[SidSetRow]) -> dict[str, Any]:
    """SIDA's detection and localization numbers over ``rows`` (see :data:`DEFINITION`)."""
    columns = (*CLASSES, UNKNOWN)
    matrix = np.zeros((len(CLASSES), len(columns)), np.int64)
    for row in rows:
        matrix[CLASSES.index(row.truth), columns.index(row.predicted)] += 1
    n = int(matrix.sum())
    correct = int(np.trace(matrix[:, : len(CLASSES)]))
    accuracy = _ratio(correct, n) if n else None
    per_class: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(CLASSES):
        tp, support, predicted = int(matrix[i, i]), int(matrix[i].sum()), int(matrix[:, i].sum())
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        per_class[name] = {
            "accuracy": recall,
            "precision": precision,
            "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall),
            "support": support,
            "n_predicted": predicted,
        }
    located = [r for r in rows if r.intersection is not None and r.union is not None]
    inter = sum(r.intersection or 0 for r in located)
    union = sum(r.union or 0 for r in located)
    ciou = _ratio(inter, union) if located else None
    per_image = [_ratio(r.intersection or 0, r.union or 0) if r.union else 1.0 for r in located]
    giou = float(np.mean(per_image)) if per_image else None
    sida_f1 = None
    if ciou is not None and accuracy is not None:
        sida_f1 = _ratio(2 * ciou * accuracy, ciou + accuracy)
    auc = None
    if n:
        precisions = [c["precision"] for c in per_class.values()]
        auc = float(np.mean(precisions) * np.mean([c["recall"] for c in per_class.values()]))
    return {
        "n": n,
        "accuracy_3class": accuracy,
        "per_class": per_class,
        "confusion": {"rows": list(CLASSES), "columns": list(columns), "counts": matrix.tolist()},
        "n_tampered_localized": len(located),
        "ciou_tampered": ciou,
        "giou_tampered": giou,
        "sida_f1": sida_f1,
        "sida_auc_approx": auc,
        "n_unknown": int(matrix[:, -1].sum()),
        "definition": DEFINITION,
        "source": SOURCE,
    }
