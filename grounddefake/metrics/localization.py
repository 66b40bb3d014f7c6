"""Pixel-level localization on fake samples with ground truth: per-image IoU (mean) and pooled IoU."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFINITION = {
    "counted": "fake samples with a ground-truth mask or regions; real samples are not scored here",
    "prediction": "union of the regions of a 'fake' answer rasterised at ground-truth resolution (pixel centre "
    "inside the region); a 'real' or 'unknown' answer claims no region",
    "truth": "the mask file (mean over channels > 127.5), else the union of the ground-truth regions",
    "iou_mean": "per-image |P ∩ G| / |P ∪ G| averaged over counted samples; a sample without predicted regions "
    "(including an 'unknown' or 'real' answer) scores 0",
    "iou_pooled": "Σ|P ∩ G| / Σ|P ∪ G| over counted samples (large regions weigh more)",
    "empty_truth": "a fake whose ground-truth mask is empty is skipped and counted in n_empty_truth",
}


def mask_iou(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, int, int]:
    """IoU of two (H, W) bool masks, with the intersection and union pixel counts. Empty union → IoU 0."""
    intersection = int(np.count_nonzero(predicted & truth))
    union = int(np.count_nonzero(predicted | truth))
    return (intersection / union if union else 0.0), intersection, union


@dataclass
class LocalizationScorer:
    """Streaming per-image IoU: keeps one float per counted sample and two running sums."""

    ious: list[float] = field(default_factory=list)
    intersection: int = 0
    union: int = 0
    n_empty_truth: int = 0

    def update(self, predicted: np.ndarray, truth: np.ndarray) -> float | None:
        """Score one fake sample: (H, W) bool masks. Returns its IoU, or None when the truth is empty."""
        if predicted.shape != truth.shape:
            raise ValueError(f"prediction {predicted.shape} and truth {truth.shape} masks differ in shape")
        if not truth.any():
            self.n_empty_truth += 1
            return None
        iou, inter, union = mask_iou(predicted, truth)
        self.ious.append(iou)
        self.intersection += inter
        self.union += union
        return iou

    def compute(self) -> dict[str, Any]:
        return {
            "n": len(self.ious),
            "n_empty_truth": self.n_empty_truth,
            "iou_mean": float(np.mean(self.ious)) if self.ious else None,
            "iou_pooled": self.intersection / self.union if self.union else None,
            "definition": DEFINITION,
        }
