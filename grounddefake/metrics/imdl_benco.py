"""IMDL-BenCo's pixel metrics: per-image F1, IoU and AUC of the 0.5-thresholded map, averaged over every entry.

Reproduces scu-zjz/IMDLBenCo (commit below): ``evaluation/F1.py`` ``PixelF1``, ``evaluation/IOU.py`` ``PixelIOU`` and
``evaluation/AUC.py`` ``PixelAUC`` in mode "origin", averaged per image by ``training_scripts/tester/tester.py``
(the sum of a batch's per-image values over the number of images). Where it differs from :mod:`localization`:

- a "Negative" (real) entry gets an all-zero mask (``datasets/abstract_dataset.py``) and scores F1 = IoU = AUC = 0,
  whatever the prediction; a fake with an empty mask scores the same, and both are averaged in;
- a pixel is predicted when its map value is ``> 0.5``, so a region scoring 0.5 or less claims nothing;
- the AUC ranks pixels by ``torch.argsort(descending=True)`` without grouping ties: on the GPU (their tester runs
  there; above 4,096 pixels PyTorch sorts stably) tied pixels keep their row-major order. A map made of regions is
  mostly ties, so this AUC depends on where the truth pixels sit inside each tied block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grounddefake.grounding import regions_to_heatmap
from grounddefake.types import Region

SOURCE_COMMIT = "3efef9b6661f3238c60ae837b961f6495a29020e"
SOURCE = (
    f"scu-zjz/IMDLBenCo {SOURCE_COMMIT} IMDLBenCo/evaluation/F1.py (PixelF1), IOU.py (PixelIOU), AUC.py (PixelAUC), "
    "training_scripts/tester/tester.py, datasets/abstract_dataset.py"
)
THRESHOLD = 0.5
EPS = 1e-8
"""The epsilon IMDL-BenCo adds to every pixel F1 and IoU denominator."""

DEFINITION = {
    "n": "every scored entry, averaged over: fakes with a ground-truth mask or regions, fakes with an empty one "
    "(n_empty_truth) and negative (real) samples (n_negative), which IMDL-BenCo gives an all-zero mask",
    "n_negative": "negative (real) samples, each scoring 0 on every number whatever its answer claims",
    "n_empty_truth": "fakes whose ground truth is empty, each scoring 0 on every number",
    "n_auc_nan": "images without a non-truth pixel: IMDL-BenCo's AUC is NaN there (0/0), so pixel_auc is null",
    "prediction": f"the heatmap of a positive answer's regions at ground-truth resolution (each pixel: the highest "
    f"score of the regions covering it, 1 when a region has no score, 0 outside; pixel-centre rule) thresholded at "
    f"> {THRESHOLD:g}: a region scoring {THRESHOLD:g} or less claims no pixel",
    "pixel_f1": f"per-image 2PR / (P + R + {EPS:g}) with P = TP / (TP + FP + {EPS:g}), R = TP / (TP + FN + {EPS:g}), "
    "averaged over n; an image without truth pixels scores 0",
    "pixel_iou": f"per-image TP / (TP + FP + FN + {EPS:g}), averaged over n; an image without truth pixels scores 0",
    "pixel_auc": "per-image ROC AUC of the heatmap (not thresholded): pixels ranked by score, ties in row-major order "
    "(their torch.argsort on the GPU), trapezoid over the resulting unit-step curve; averaged over n; an image "
    "without truth pixels scores 0",
    "threshold": "the map value a pixel must exceed to be predicted",
    "source": "the IMDL-BenCo commit and files these numbers reproduce",
}


@dataclass(frozen=True)
class ImdlRow:
    """One entry's IMDL-BenCo pixel numbers."""

    f1: float
    iou: float
    auc: float | None
    """None where IMDL-BenCo's AUC is NaN (every pixel is a truth pixel)."""


NO_TRUTH = ImdlRow(0.0, 0.0, 0.0)
"""A negative entry or a fake with an empty mask: TP = 0, so F1 = IoU = 0, and the AUC is 0 by their rule."""


def tie_order_auc(scores: np.ndarray, truth: np.ndarray) -> float | None:
    """ROC AUC of ``scores`` against bool ``truth`` ranked high to low, ties in row-major order (not grouped).

    Each non-truth pixel adds the truth pixels ranked before it, over (truth × non-truth); 0.0 without truth pixels,
    None without non-truth ones.

    >>> tie_order_auc(np.ones((1, 3)), np.array([[False, True, False]]))
    0.5
    """
    flat_scores, flat_truth = scores.ravel(), truth.ravel()
    positives = int(np.count_nonzero(flat_truth))
    negatives = flat_truth.size - positives
    if positives == 0:
        return 0.0
    if negatives == 0:
        return None
    total, before = 0, 0
    for level in np.unique(flat_scores)[::-1]:
        tied = flat_truth[flat_scores == level]
        outside = ~tied
        total += before * int(np.count_nonzero(outside)) + int(np.cumsum(tied)[outside].sum())
        before += int(np.count_nonzero(tied))
    return total / (positives * negatives)


def imdl_row(regions: Sequence[Region], truth: np.ndarray) -> ImdlRow:
    """IMDL-BenCo's F1, IoU and AUC of ``regions`` (at ``truth``'s resolution) against the (H, W) bool ``truth``."""
    if not truth.any():
        return NO_TRUTH
    h, w = truth.shape
    heat = regions_to_heatmap(regions, (w, h))
    predicted = heat > THRESHOLD
    tp = int(np.count_nonzero(predicted & truth))
    claimed, positives = int(np.count_nonzero(predicted)), int(np.count_nonzero(truth))
    precision, recall = tp / (claimed + EPS), tp / (positives + EPS)
    f1 = 2 * precision * recall / (precision + recall + EPS)
    return ImdlRow(f1, tp / (claimed + positives - tp + EPS), tie_order_auc(heat, truth))


def imdl_benco_metrics(fakes: Sequence[ImdlRow], n_empty: int, n_negative: int) -> dict[str, Any]:
    """The ``localization.imdl_benco`` group: ``fakes`` are the rows of fakes with truth pixels; ``n_empty`` fakes
    with an empty mask and ``n_negative`` negative samples each add a zero row."""
    n = len(fakes) + n_empty + n_negative
    nan = sum(1 for r in fakes if r.auc is None)

    def mean(values: list[float]) -> float | None:
        return sum(values) / n if n else None

    return {
        "n": n,
        "n_negative": n_negative,
        "n_empty_truth": n_empty,
        "n_auc_nan": nan,
        "pixel_f1": mean([r.f1 for r in fakes]),
        "pixel_iou": mean([r.iou for r in fakes]),
        "pixel_auc": None if nan else mean([r.auc for r in fakes if r.auc is not None]),
        "threshold": THRESHOLD,
        "definition": DEFINITION,
        "source": SOURCE,
    }
