"""Heatmap metrics against a ground-truth heatmap, the RichHF-18K protocol (Liang et al., CVPR 2024).

Definitions follow cvzoya/saliency (Bylinskii et al., TPAMI 2018). Maps are floats in [0, 1] at ground-truth
resolution; the predicted map is the regions' heatmap (highest score per pixel). CC, KLD, SIM, NSS and AUC-Judd are
averaged over samples whose ground truth is not empty; MSE over all samples and, separately, over empty ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EPS = float(np.finfo(np.float64).eps)

DEFINITION = {
    "counted": "samples with a ground-truth heatmap (n); cc, kld, sim, nss and auc_judd over those whose ground "
    "truth is not all zero (n_nonempty), mse_all over all, mse_empty over the all-zero ones (RichHF-18K protocol)",
    "maps": "ground truth scaled to [0, 1]; prediction = the answer's dense map when its --heatmap mode made one "
    "(consensus, probe; resized bilinearly to the ground truth), else per pixel the highest score of the regions "
    "covering it",
    "cc": "Pearson correlation of the two z-normalised maps; a constant prediction (no region) scores 0",
    "kld": "Σ Q·log(ε + Q/(P + ε)), P = prediction / Σ, Q = truth / Σ, ε = machine epsilon (lower is better)",
    "sim": "Σ min(P, Q) after min-max normalising each map and dividing by its sum",
    "nss": "mean of the z-normalised prediction over ground-truth pixels > 0; a constant prediction scores 0",
    "auc_judd": "thresholds = prediction values at ground-truth pixels > 0; TPR over those pixels, FPR over the "
    "others; trapezoid area; no random jitter",
    "mse": "mean over pixels of (prediction - truth)^2",
}


def _z(a: np.ndarray) -> np.ndarray | None:
    std = float(a.std())
    return None if std == 0 else (a - a.mean()) / std


def cc(pred: np.ndarray, truth: np.ndarray) -> float | None:
    """Pearson correlation; a constant prediction (no region claimed) scores 0; None for a constant truth."""
    t = _z(truth.astype(np.float64))
    if t is None:
        return None
    p = _z(pred.astype(np.float64))
    return 0.0 if p is None else float((p * t).mean())


def kld(pred: np.ndarray, truth: np.ndarray) -> float:
    p = pred.astype(np.float64)
    q = truth.astype(np.float64)
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    return float(np.sum(q * np.log(EPS + q / (p + EPS))))


def sim(pred: np.ndarray, truth: np.ndarray) -> float:
    def normalised(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float64)
        span = a.max() - a.min()
        a = (a - a.min()) / span if span > 0 else np.zeros_like(a)
        return a / a.sum() if a.sum() > 0 else a

    return float(np.minimum(normalised(pred), normalised(truth)).sum())


def nss(pred: np.ndarray, truth: np.ndarray) -> float | None:
    """Mean z-scored prediction at truth pixels; a constant prediction scores 0 (chance); None without truth."""
    fixations = truth > 0
    if not fixations.any():
        return None
    p = _z(pred.astype(np.float64))
    return 0.0 if p is None else float(p[fixations].mean())


def auc_judd(pred: np.ndarray, truth: np.ndarray) -> float | None:
    fixations = truth > 0
    n_fix, n_other = int(fixations.sum()), int((~fixations).sum())
    if n_fix == 0 or n_other == 0:
        return None
    values = pred.astype(np.float64).ravel()
    at_fix = np.sort(values[fixations.ravel()])[::-1]
    thresholds = np.unique(at_fix)[::-1]
    others = np.sort(values[~fixations.ravel()])
    tp = np.searchsorted(-at_fix, -thresholds, side="right")  # fixation values >= threshold
    fp = others.size - np.searchsorted(others, thresholds, side="left")  # other values >= threshold
    tpr = np.r_[0.0, tp / n_fix, 1.0]
    fpr = np.r_[0.0, fp / n_other, 1.0]
    return float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else float(np.trapz(tpr, fpr))


def mse(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean((pred.astype(np.float64) - truth.astype(np.float64)) ** 2))


@dataclass(frozen=True)
class HeatmapRow:
    empty: bool
    mse: float
    cc: float | None = None
    kld: float | None = None
    sim: float | None = None
    nss: float | None = None
    auc_judd: float | None = None


def heatmap_row(pred: np.ndarray, truth: np.ndarray) -> HeatmapRow:
    """One sample's heatmap numbers (the shape-based ones only when the truth is not empty)."""
    if pred.shape != truth.shape:
        raise ValueError(f"predicted heatmap {pred.shape} and truth {truth.shape} differ in shape")
    if not (truth > 0).any():
        return HeatmapRow(True, mse(pred, truth))
    return HeatmapRow(
        False,
        mse(pred, truth),
        cc(pred, truth),
        kld(pred, truth),
        sim(pred, truth),
        nss(pred, truth),
        auc_judd(pred, truth),
    )


def heatmap_metrics(rows: Sequence[HeatmapRow]) -> dict[str, Any]:
    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return float(np.mean(present)) if present else None

    nonempty = [r for r in rows if not r.empty]
    return {
        "n": len(rows),
        "n_nonempty": len(nonempty),
        "cc": mean([r.cc for r in nonempty]),
        "kld": mean([r.kld for r in nonempty]),
        "sim": mean([r.sim for r in nonempty]),
        "nss": mean([r.nss for r in nonempty]),
        "auc_judd": mean([r.auc_judd for r in nonempty]),
        "mse_all": mean([r.mse for r in rows]),
        "mse_empty": mean([r.mse for r in rows if r.empty]),
        "definition": DEFINITION,
    }


class HeatmapScorer:
    rows: list[HeatmapRow] = field(default_factory=list)

    def update(self, pred: np.ndarray, truth: np.ndarray) -> HeatmapRow:
        row = heatmap_row(pred, truth)
        self.rows.append(row)
        return row

    def compute(self) -> dict[str, Any]:
        return heatmap_metrics(self.rows)
