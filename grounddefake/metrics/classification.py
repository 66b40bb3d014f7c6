"""Image-level classification in a task's label space (:class:`LabelSpace`; real/fake with ``fake`` positive by
default). Plain functions, and a scorer that keeps one row per sample.

An ``unknown`` answer (unparseable, hedged or failed) is never turned into a label: it counts as wrong in the
accuracies and is left out of the metrics over answered samples (precision, recall, F1). AUC, AP and ECE use the
samples that carry a score (P(positive class), e.g. P(fake) or P(unsafe), from token probabilities).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grounddefake.label_space import REAL_FAKE, UNKNOWN, LabelSpace

ECE_BINS = 10


def definition(space: LabelSpace = REAL_FAKE) -> dict[str, str]:
    """What each classification number means, in the words of ``space`` (written into ``metrics.json``)."""
    pos, labels = space.positive, " or ".join(space.labels)
    per_class = ", ".join(f"accuracy_{label}" for label in space.labels)
    mean = " + ".join(f"accuracy_{label}" for label in space.labels)
    return {
        "positive_class": pos,
        "labels": ", ".join(space.labels),
        "counted": f"samples with a ground-truth label of {labels} (n)",
        "unknown": f"an unparseable, hedged or failed answer is '{UNKNOWN}': wrong in accuracy, {per_class} and "
        "balanced_accuracy; left out of accuracy_answered, precision, recall and f1",
        "coverage": f"answered ({labels}) / n",
        "balanced_accuracy": f"({mean}) / {len(space.labels)}",
        "precision_recall_f1": f"binary, on the {pos} class, over answered samples; precision is null without a "
        f"{pos} answer, recall without a {pos} sample; f1 = 2TP / (2TP + FP + FN), 0 when no {pos} is found",
        "auc_ap": f"ROC AUC and average precision (sklearn's step-wise definition) of the score P({pos}), over "
        "samples with a score (n_scored); null with a reason when one class is missing",
        "ece": f"expected calibration error of P({pos}): {ECE_BINS} equal-width bins on [0, 1], "
        f"sum over bins of (bin size / n_scored) * |mean P({pos}) - share of {pos}|",
    }


DEFINITION = definition()


@dataclass(frozen=True)
class ClassificationRow:
    """One sample's contribution: its truth, the answer, and P(positive class) when known."""

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


def classification_metrics(rows: Sequence[ClassificationRow], space: LabelSpace = REAL_FAKE) -> dict[str, Any]:
    """Every classification metric of ``rows`` in ``space`` (see :func:`definition`); rows whose truth is not a
    label of the space are not counted.

    >>> rows = [ClassificationRow("unsafe", "unsafe", 0.9), ClassificationRow("safe", "unsafe", 0.6),
    ...         ClassificationRow("safe", "safe", 0.1), ClassificationRow("unsafe", "unknown")]
    >>> m = classification_metrics(rows, LabelSpace(("safe", "unsafe"), "unsafe"))
    >>> m["n_unsafe"], m["accuracy_safe"], m["precision"], m["recall"], m["auc"]
    (2, 0.5, 0.5, 1.0, 1.0)
    """
    labels, pos = space.labels, space.positive
    rows = [r for r in rows if r.truth in labels]
    truth = [r.truth for r in rows]
    predicted = [r.predicted if r.predicted in labels else UNKNOWN for r in rows]
    confusion = {t: {p: 0 for p in (*labels, UNKNOWN)} for t in labels}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    counts = {label: sum(confusion[label].values()) for label in labels}
    n = sum(counts.values())
    unknown = sum(confusion[label][UNKNOWN] for label in labels)
    correct = sum(confusion[label][label] for label in labels)
    negatives = space.negatives
    tp = confusion[pos][pos]
    fn = sum(confusion[pos][label] for label in negatives)
    fp = sum(confusion[label][pos] for label in negatives)
    per_class = {label: _ratio(confusion[label][label], counts[label]) for label in labels}
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None  # 0, not null, for a model that never says positive
    scored = [(t == pos, r.score) for t, r in zip(truth, rows, strict=True) if r.score is not None]
    y = [s[0] for s in scored]
    s = [float(s[1]) for s in scored]
    auc, ap = binary_auc(y, s), average_precision(y, s)
    reason = None
    if scored and (all(y) or not any(y)):
        reason = "only one class among the samples with a score"
    elif not scored:
        reason = "no answer carries a score (the backend gave no verdict-token probabilities)"
    accuracies = list(per_class.values())
    return {
        "n": n,
        **{f"n_{label}": counts[label] for label in labels},
        "n_unknown": unknown,
        "n_scored": len(scored),
        "positive": pos,
        "coverage": _ratio(n - unknown, n),
        "accuracy": _ratio(correct, n),
        "accuracy_answered": _ratio(correct, n - unknown),
        **{f"accuracy_{label}": per_class[label] for label in labels},
        "balanced_accuracy": None if any(a is None for a in accuracies) else sum(accuracies) / len(accuracies),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": auc,
        "ap": ap if auc is not None else None,
        "auc_null_reason": reason if auc is None else None,
        "ece": expected_calibration_error(y, s),
        "confusion": confusion,
        "definition": definition(space),
    }
