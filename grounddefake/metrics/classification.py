"""Image-level classification, positive class = fake. Plain functions, and a scorer that keeps one row per sample.

An ``unknown`` answer (unparseable, hedged or failed) is never turned into a label: it counts as wrong in the
accuracies and is left out of the metrics over answered samples (precision, recall, F1). AUC, AP and ECE use the
samples that carry a score (P(fake) from verdict-token probabilities).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ECE_BINS = 10

DEFINITION = {
    "positive_class": "fake",
    "counted": "samples with a ground-truth label of real or fake (n)",
    "unknown": "an unparseable, hedged or failed answer is 'unknown': wrong in accuracy, accuracy_real, "
    "accuracy_fake and balanced_accuracy; left out of accuracy_answered, precision, recall and f1",
    "coverage": "answered (real or fake) / n",
    "balanced_accuracy": "(accuracy_real + accuracy_fake) / 2",
    "precision_recall_f1": "binary, on the fake class, over answered samples; precision is null without a fake "
    "answer, recall without a fake sample; f1 = 2TP / (2TP + FP + FN), 0 when no fake is found",
    "auc_ap": "ROC AUC and average precision (sklearn's step-wise definition) of the score P(fake), over samples "
    "with a score (n_scored); null with a reason when one class is missing",
    "ece": f"expected calibration error of P(fake): {ECE_BINS} equal-width bins on [0, 1], "
    "sum over bins of (bin size / n_scored) * |mean P(fake) - share of fakes|",
}


@dataclass(frozen=True)
class ClassificationRow:
    """One sample's contribution: its truth, the answer, and P(fake) when known."""

    truth: str
    predicted: str
    score: float | None = None


def binary_auc(truth: Sequence[bool], scores: Sequence[float]) -> float | None:
    """ROC AUC = P(score of a random positive > score of a random negative), ties counting one half (Mann-Whitney)."""
    y = np.asarray(truth, bool)
    s = np.asarray(scores, np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), np.float64)
    sorted_scores = s[order]
    # average ranks for ties
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(s)]))
    average = (starts + ends - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(truth: Sequence[bool], scores: Sequence[float]) -> float | None:
    """AP = Σ_k (R_k − R_{k−1}) · P_k over the distinct score thresholds, highest first (sklearn's definition)."""
    y = np.asarray(truth, bool)
    s = np.asarray(scores, np.float64)
    n_pos = int(y.sum())
    if n_pos == 0:
        return None
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last_of_threshold]
    fp = (last_of_threshold + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def expected_calibration_error(truth: Sequence[bool], scores: Sequence[float], bins: int = ECE_BINS) -> float | None:
    """Σ_b (n_b / n) · |mean score in b − share of positives in b| over ``bins`` equal-width bins of [0, 1]."""
    y = np.asarray(truth, np.float64)
    s = np.clip(np.asarray(scores, np.float64), 0.0, 1.0)
    if len(s) == 0:
        return None
    index = np.minimum((s * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        if count:
            total += count / len(s) * abs(float(s[members].mean()) - float(y[members].mean()))
    return total


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def classification_metrics(rows: Sequence[ClassificationRow]) -> dict[str, Any]:
    """Every classification metric of ``rows`` (see DEFINITION)."""
    truth = [r.truth for r in rows]
    predicted = [r.predicted if r.predicted in ("real", "fake") else "unknown" for r in rows]
    confusion = {t: {p: 0 for p in ("real", "fake", "unknown")} for t in ("real", "fake")}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    n_real, n_fake = sum(confusion["real"].values()), sum(confusion["fake"].values())
    n = n_real + n_fake
    unknown = confusion["real"]["unknown"] + confusion["fake"]["unknown"]
    tp, fn = confusion["fake"]["fake"], confusion["fake"]["real"]
    fp, tn = confusion["real"]["fake"], confusion["real"]["real"]
    accuracy_real, accuracy_fake = _ratio(tn, n_real), _ratio(tp, n_fake)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None  # 0, not null, for a model that never says fake
    scored = [(t == "fake", r.score) for t, r in zip(truth, rows, strict=True) if r.score is not None]
    y = [s[0] for s in scored]
    s = [float(s[1]) for s in scored]
    auc, ap = binary_auc(y, s), average_precision(y, s)
    reason = None
    if scored and (all(y) or not any(y)):
        reason = "only one class among the samples with a score"
    elif not scored:
        reason = "no answer carries a score (the backend gave no verdict-token probabilities)"
    return {
        "n": n,
        "n_real": n_real,
        "n_fake": n_fake,
        "n_unknown": unknown,
        "n_scored": len(scored),
        "coverage": _ratio(n - unknown, n),
        "accuracy": _ratio(tp + tn, n),
        "accuracy_answered": _ratio(tp + tn, n - unknown),
        "accuracy_real": accuracy_real,
        "accuracy_fake": accuracy_fake,
        "balanced_accuracy": None
        if accuracy_real is None or accuracy_fake is None
        else (accuracy_real + accuracy_fake) / 2,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": auc,
        "ap": ap if auc is not None else None,
        "auc_null_reason": reason if auc is None else None,
        "ece": expected_calibration_error(y, s),
        "confusion": confusion,
        "definition": DEFINITION,
    }


class ClassificationScorer:
    """Streaming: one small row per sample; ``compute`` aggregates them."""

    rows: list[ClassificationRow] = field(default_factory=list)

    def update(self, truth: str | None, predicted: str, score: float | None = None) -> None:
        """Add one sample: ``truth`` in {real, fake, None} (None is not counted), ``predicted`` in {real, fake, …}."""
        if truth in ("real", "fake"):
            self.rows.append(ClassificationRow(truth, predicted, score))

    def compute(self) -> dict[str, Any]:
        return classification_metrics(self.rows)
