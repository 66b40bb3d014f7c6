"""Correlation of the predicted score with a ground-truth scalar (such as an implausibility score): PLCC and SRCC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from typing import Any

import numpy as np

DEFINITION = {
    "counted": "samples with a ground-truth score (meta.score) and a predicted score P(fake) (n)",
    "plcc": "Pearson linear correlation of predicted and ground-truth scores",
    "srcc": "Spearman rank correlation (average ranks for ties)",
}


def plcc(pred: Sequence[float], truth: Sequence[float]) -> float | None:
    p, t = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    if len(p) < 2 or p.std() == 0 or t.std() == 0:
        return None
    return float(np.corrcoef(p, t)[0, 1])


def srcc(pred: Sequence[float], truth: Sequence[float]) -> float | None:
    from scipy.stats import rankdata

    if len(pred) < 2:
        return None
    return plcc(rankdata(pred), rankdata(truth))


class ScoreScorer:
    pairs: list[tuple[float, float]] = field(default_factory=list)

    def update(self, predicted: float, truth: float) -> None:
        self.pairs.append((float(predicted), float(truth)))

    def compute(self) -> dict[str, Any]:
        return score_metrics(self.pairs)


def score_metrics(pairs: Sequence[tuple[float, float]]) -> dict[str, Any]:
    pred, truth = [p for p, _ in pairs], [t for _, t in pairs]
    return {"n": len(pairs), "plcc": plcc(pred, truth), "srcc": srcc(pred, truth), "definition": DEFINITION}
