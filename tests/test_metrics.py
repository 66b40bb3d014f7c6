from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, jaccard_score

from grounddefake.metrics import ClassificationScorer, LocalizationScorer, mask_iou


def test_classification_matches_sklearn_and_counts_unknown_as_wrong() -> None:
    rng = np.random.default_rng(3)
    truth = rng.choice(["real", "fake"], 200).tolist()
    pred = rng.choice(["real", "fake", "unknown"], 200, p=[0.45, 0.45, 0.1]).tolist()
    scorer = ClassificationScorer()
    for t, p in zip(truth, pred, strict=True):
        scorer.update(t, p)
    m = scorer.compute()
    assert m["n"] == 200
    assert m["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    answered = [(t, p) for t, p in zip(truth, pred, strict=True) if p != "unknown"]
    assert m["accuracy_answered"] == pytest.approx(accuracy_score(*zip(*answered, strict=True)))
    real = [(t, p) for t, p in zip(truth, pred, strict=True) if t == "real"]
    assert m["accuracy_real"] == pytest.approx(accuracy_score(*zip(*real, strict=True)))
    assert m["n_unknown"] == pred.count("unknown")
    assert m["coverage"] == pytest.approx(1 - pred.count("unknown") / 200)
    assert sum(sum(row.values()) for row in m["confusion"].values()) == 200
    assert "unknown" in m["definition"]


def test_unlabelled_samples_are_not_counted() -> None:
    scorer = ClassificationScorer()
    scorer.update(None, "fake")
    assert scorer.compute()["n"] == 0
    assert scorer.compute()["accuracy"] is None


def test_iou_matches_sklearn_jaccard() -> None:
    rng = np.random.default_rng(4)
    scorer = LocalizationScorer()
    expected, inter, union = [], 0, 0
    for _ in range(20):
        p = rng.random((16, 24)) > 0.6
        g = rng.random((16, 24)) > 0.7
        expected.append(jaccard_score(g.ravel(), p.ravel()))
        inter += (p & g).sum()
        union += (p | g).sum()
        scorer.update(p, g)
    m = scorer.compute()
    assert m["iou_mean"] == pytest.approx(np.mean(expected))
    assert m["iou_pooled"] == pytest.approx(inter / union)


def test_empty_prediction_scores_zero_and_empty_truth_is_skipped() -> None:
    scorer = LocalizationScorer()
    g = np.zeros((4, 4), bool)
    g[1:3, 1:3] = True
    assert scorer.update(np.zeros((4, 4), bool), g) == 0.0
    assert scorer.update(np.ones((4, 4), bool), np.zeros((4, 4), bool)) is None
    m = scorer.compute()
    assert m["n"] == 1 and m["n_empty_truth"] == 1 and m["iou_mean"] == 0.0


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="differ"):
        LocalizationScorer().update(np.zeros((2, 2), bool), np.zeros((3, 3), bool))


def test_mask_iou_counts() -> None:
    a = np.array([[1, 1, 0]], bool)
    b = np.array([[0, 1, 1]], bool)
    assert mask_iou(a, b) == (pytest.approx(1 / 3), 1, 3)
