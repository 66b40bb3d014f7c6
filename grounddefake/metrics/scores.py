"""Correlation of a predicted scalar with a ground-truth score (a plausibility score): PLCC and SRCC, by direction.

Each side has a direction — ``plausibility`` (higher = fewer defects) or ``implausibility`` (higher = more
defective). The prediction is the answer's raw scalar (``value / scale``, in its declared direction) where it has one,
else its ``score`` (P(positive class), an implausibility); the ground truth's direction is the dataset's
(``meta.score_direction``, from its reader or manifest), ``implausibility`` when it declares none. When the two
differ the prediction is flipped (``1 − x``), so a positive correlation always means agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from grounddefake.scalar import Direction, Scalar

ASSUMED: Direction = "implausibility"
"""The ground truth's direction when the dataset declares none (what P(positive) is)."""
DEFINITION = {
    "counted": (
        "samples with a ground-truth score (meta.score) and a prediction: the answer's raw scalar (value/scale) where "
        "it has one, else its score P(positive class) (n)"
    ),
    "directions": (
        "plausibility: higher = more plausible; implausibility: higher = more defective. The ground truth's direction "
        "is the dataset's meta.score_direction (implausibility when not declared); a prediction in the other direction "
        "is flipped (1 − x) before correlating, so a positive PLCC/SRCC means agreement"
    ),
    "plcc": "Pearson linear correlation of the prediction (in the ground truth's direction) and the ground truth",
    "srcc": "Spearman rank correlation of the same pairs (average ranks for ties)",
}


@dataclass(frozen=True)
class ScorePair:
    """One sample's prediction and ground-truth score, each with its direction.

    >>> pair = ScorePair(0.8, 0.7, "scalar", "plausibility", "plausibility")
    >>> pair.oriented, ScorePair(0.3, 0.7, "score", "implausibility", "plausibility").oriented
    (0.8, 0.7)
    """

    prediction: float
    """In [0, 1]: the scalar's value/scale, or the score."""
    truth: float
    source: Literal["scalar", "score"]
    prediction_direction: Direction
    truth_direction: Direction
    truth_declared: bool = True

    @property
    def flipped(self) -> bool:
        return self.prediction_direction != self.truth_direction

    @property
    def oriented(self) -> float:
        """The prediction in the ground truth's direction."""
        return round(1.0 - self.prediction, 12) if self.flipped else self.prediction


def score_pair(
    score: float | None, scalar: Scalar | None, truth: float, truth_direction: Direction | None
) -> ScorePair | None:
    """The pair of one sample: the scalar where there is one, else the score (an implausibility); None without
    either. ``truth_direction`` None: not declared (taken as implausibility)."""
    declared = truth_direction is not None
    direction = truth_direction or ASSUMED
    if scalar is not None:
        return ScorePair(scalar.fraction, float(truth), "scalar", scalar.direction, direction, declared)
    if score is not None:
        return ScorePair(float(score), float(truth), "score", "implausibility", direction, declared)
    return None


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


def _pair(item: ScorePair | tuple[float, float]) -> ScorePair:
    """A pair; a bare ``(score, truth)`` tuple is a score against an undeclared ground truth."""
    if isinstance(item, ScorePair):
        return item
    return ScorePair(float(item[0]), float(item[1]), "score", "implausibility", ASSUMED, False)


def _directions(pairs: Sequence[ScorePair]) -> tuple[str, str]:
    """What the ground truth and the predictions were, in words."""
    truths = sorted({p.truth_direction + ("" if p.truth_declared else " (not declared)") for p in pairs})
    sources: dict[str, int] = {}
    for p in pairs:
        name = f"{p.source} ({p.prediction_direction}{', flipped' if p.flipped else ''})"
        sources[name] = sources.get(name, 0) + 1
    return ", ".join(truths), ", ".join(f"{name}: {n}" for name, n in sorted(sources.items()))


def score_metrics(items: Sequence[ScorePair | tuple[float, float]]) -> dict[str, Any]:
    """PLCC and SRCC of the predictions, each put in its ground truth's direction, with what was correlated."""
    pairs = [_pair(item) for item in items]
    pred, truth = [p.oriented for p in pairs], [p.truth for p in pairs]
    truth_direction, prediction = _directions(pairs)
    return {
        "n": len(pairs),
        "plcc": plcc(pred, truth),
        "srcc": srcc(pred, truth),
        "truth_direction": truth_direction,
        "prediction": prediction,
        "n_flipped": sum(1 for p in pairs if p.flipped),
        "definition": DEFINITION,
    }
