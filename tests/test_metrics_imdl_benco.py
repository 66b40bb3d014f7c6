"""IMDL-BenCo's pixel metrics: a hand-computed table, and a re-implementation of their published evaluation.

The reference below is written from IMDL-BenCo's evaluation code as published (scu-zjz/IMDLBenCo, evaluation/F1.py,
IOU.py, AUC.py; tester.py averages per image over every entry; a "Negative" entry has an all-zero mask), in plain
numpy, with its own rasterisation: it calls none of grounddefake's helpers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grounddefake.metrics.imdl_benco import DEFINITION, imdl_benco_metrics, imdl_row, tie_order_auc
from grounddefake.metrics.localization import LocalizationScorer, pixel_scores
from grounddefake.types import Region


def _row(*cells: int) -> np.ndarray:
    """A 1 × N truth mask."""
    return np.array([cells], bool)


# (regions, truth, F1, IoU, AUC) on 1 × 4 images; a box (x1, 0, x2, 1) covers the pixels whose centres it holds.
HAND = [
    pytest.param([Region((0, 0, 3, 1))], _row(1, 1, 0, 0), 0.8, 2 / 3, 1.0, id="unscored-box-ties-ranked-in-order"),
    pytest.param([Region((0, 0, 3, 1))], _row(0, 0, 1, 1), 0.4, 1 / 4, 0.0, id="truth-ranked-after-every-negative"),
    pytest.param([Region((0, 0, 2, 1), score=0.5)], _row(1, 1, 0, 0), 0.0, 0.0, 1.0, id="score-0.5-claims-nothing"),
    pytest.param([Region((0, 0, 2, 1), score=0.6)], _row(1, 1, 0, 0), 1.0, 1.0, 1.0, id="score-0.6-kept"),
    pytest.param([], _row(0, 1, 0, 1), 0.0, 0.0, 1 / 4, id="no-region-all-tied-at-0"),
    pytest.param([Region((0, 0, 2, 1))], _row(1, 1, 1, 1), 2 / 3, 1 / 2, None, id="all-truth-auc-nan"),
    pytest.param([Region((0, 0, 4, 1))], _row(0, 0, 0, 0), 0.0, 0.0, 0.0, id="empty-truth-scores-0"),
    pytest.param(
        [Region((0, 0, 2, 1), score=0.9), Region((1, 0, 4, 1), score=0.3)],
        _row(0, 1, 1, 0),
        0.5,
        1 / 3,
        0.5,
        id="overlap-keeps-the-higher-score",
    ),
]


@pytest.mark.parametrize(("regions", "truth", "f1", "iou", "auc"), HAND)
def test_hand_computed(regions: list[Region], truth: np.ndarray, f1: float, iou: float, auc: float | None) -> None:
    row = imdl_row(regions, truth)
    assert row.f1 == pytest.approx(f1, abs=1e-6)
    assert row.iou == pytest.approx(iou, abs=1e-6)
    assert row.auc == (None if auc is None else pytest.approx(auc, abs=1e-12))


@pytest.mark.parametrize(
    ("f1s", "n_empty", "n_negative", "pixel_f1"),
    [([0.8, 0.4], 0, 0, 0.6), ([0.8, 0.4], 1, 1, 0.3), ([], 0, 3, 0.0), ([], 0, 0, None)],
)
def test_zero_rows_are_averaged_in(f1s: list[float], n_empty: int, n_negative: int, pixel_f1: float | None) -> None:
    rows = [imdl_row([Region((0, 0, 3, 1))], _row(*t)) for t in [(1, 1, 0, 0), (0, 0, 1, 1)][: len(f1s)]]
    m = imdl_benco_metrics(rows, n_empty, n_negative)
    assert (m["n"], m["n_negative"], m["n_empty_truth"]) == (len(f1s) + n_empty + n_negative, n_negative, n_empty)
    assert m["pixel_f1"] == (None if pixel_f1 is None else pytest.approx(pixel_f1, abs=1e-6))


def test_an_all_truth_image_makes_the_auc_null() -> None:
    rows = [imdl_row([], _row(1, 1, 1, 1)), imdl_row([], _row(0, 1, 0, 1))]
    m = imdl_benco_metrics(rows, 0, 0)
    assert (m["n_auc_nan"], m["pixel_auc"]) == (1, None)


def test_every_key_has_a_definition() -> None:
    m = LocalizationScorer().compute()["imdl_benco"]
    assert set(m) - {"definition"} <= set(DEFINITION)
    assert m["threshold"] == 0.5 and m["source"].startswith("scu-zjz/IMDLBenCo ")


def test_tie_order_differs_from_the_grouped_auc() -> None:
    """The case the two AUCs disagree on: one tied block holding truth first, then a non-truth pixel."""
    regions, truth = [Region((0, 0, 3, 1))], _row(1, 1, 0, 0)
    assert pixel_scores(regions, truth).auc == pytest.approx(0.75)
    assert tie_order_auc(np.array([[1.0, 1.0, 1.0, 0.0]]), truth) == 1.0


# -- the reference: IMDL-BenCo's evaluation as published, in numpy ---------------------------------------------


def _ref_map(regions: list[Region], h: int, w: int) -> np.ndarray:
    """The predicted probability map: per pixel the highest score of the boxes holding its centre (1 unscored)."""
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    out = np.zeros((h, w))
    for r in regions:
        x1, y1, x2, y2 = r.box
        inside = (xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)
        score = 1.0 if r.score is None else min(max(r.score, 0.0), 1.0)
        out = np.where(inside, np.maximum(out, score), out)
    return out


def _ref_entry(predict: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """PixelF1 / PixelIOU / PixelAUC (mode "origin", no shape mask) of one image."""
    binary = (predict > 0.5).astype(np.float64)
    tp = float(np.sum(binary * mask))
    fp = float(np.sum(binary * (1 - mask)))
    fn = float(np.sum((1 - binary) * mask))
    precision, recall = tp / (tp + fp + 1e-8), tp / (tp + fn + 1e-8)
    f1 = 2 * precision * recall / (precision + recall + 1e-8)
    iou = tp / (float(np.sum(binary)) + float(np.sum(mask)) - tp + 1e-8)
    y_true, y_scores = mask.ravel(), predict.ravel()
    if y_true.sum() == 0:
        return f1, iou, 0.0
    order = np.argsort(-y_scores, kind="stable")  # torch.argsort(descending=True), stable as on the GPU
    y = y_true[order]
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr, fpr = np.cumsum(y) / n_pos, np.cumsum(1 - y) / n_neg
    return f1, iou, float(np.trapezoid(tpr, fpr))


def _random_regions(rng: np.random.Generator, h: int, w: int) -> list[Region]:
    regions = []
    for _ in range(int(rng.integers(0, 4))):
        x1, y1 = float(rng.integers(-1, w)), float(rng.integers(-1, h))
        x2, y2 = x1 + float(rng.integers(1, w + 1)), y1 + float(rng.integers(1, h + 1))
        score = [None, 0.2, 0.5, 0.5, 0.7, 0.9, 1.0, float(rng.random())][int(rng.integers(0, 8))]
        regions.append(Region((x1, y1, x2, y2), score=score))
    return regions


@pytest.mark.parametrize("seed", range(40))
def test_matches_the_published_evaluation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scorer = LocalizationScorer()
    expected: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(1, 7))):
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        regions = _random_regions(rng, h, w)
        kind = rng.choice(["fake", "fake", "fake", "empty", "full", "negative"])
        if kind == "negative":
            scorer.update_real(regions, (w, h))
            mask = np.zeros((h, w))  # IMDL-BenCo: "Negative" → an all-zero mask
        else:
            mask = {"fake": rng.random((h, w)) < 0.4, "empty": np.zeros((h, w), bool), "full": np.ones((h, w), bool)}[
                kind
            ]
            scorer.update_fake(regions, mask)
        expected.append(_ref_entry(_ref_map(regions, h, w), mask.astype(np.float64)))
    m = scorer.compute()["imdl_benco"]
    f1, iou, auc = (float(np.mean(column)) for column in zip(*expected, strict=True))
    assert m["n"] == len(expected)
    assert m["pixel_f1"] == pytest.approx(f1, abs=1e-9)
    assert m["pixel_iou"] == pytest.approx(iou, abs=1e-9)
    if math.isnan(auc):
        assert m["pixel_auc"] is None and m["n_auc_nan"] > 0
    else:
        assert m["pixel_auc"] == pytest.approx(auc, abs=1e-9)
