"""FakeXplain's box IoU (``localization.iou_fakexplain``): a hand-computed table and a re-implementation written here
from the description of mllm-defake's reward (greedy nearest-centre matching averaged over ground-truth boxes)."""

from __future__ import annotations

import numpy as np
import pytest

from grounddefake.metrics.fakexplain import nearest_centre_iou
from grounddefake.metrics.localization import LocalizationScorer
from grounddefake.types import Region

A, B = (0.0, 0.0, 10.0, 10.0), (50.0, 50.0, 70.0, 60.0)


@pytest.mark.parametrize(
    ("predicted", "truth", "expected"),
    [
        ([A, B], [A, B], 1.0),
        ([B, A], [A, B], 1.0),  # order of the answer does not matter when every centre is nearest its own
        ([], [A, B], 0.0),  # nothing predicted: 0
        ([A], [A, B], 0.5),  # a missing box counts 0 in the mean over ground-truth boxes
        ([A, (0.0, 0.0, 99.0, 99.0), (1.0, 1.0, 2.0, 2.0)], [A], 1.0),  # extra boxes cost nothing
        ([(50.0, 50.0, 60.0, 60.0)], [B], 0.5),  # 100 of 200 px
        # greedy: the first prediction takes the ground truth nearest it, though the second overlaps it better
        ([(12.0, 0.0, 22.0, 10.0), (2.0, 0.0, 12.0, 10.0)], [A, (40.0, 0.0, 50.0, 10.0)], 0.0),
        ([(5.0, 0.0, 15.0, 10.0)], [(0.0, 0.0, 10.0, 10.0), (10.0, 0.0, 20.0, 10.0)], (50 / 150) / 2),  # a tie: first
    ],
)
def test_nearest_centre_iou_by_hand(predicted, truth, expected) -> None:  # type: ignore[no-untyped-def]
    assert nearest_centre_iou(predicted, truth) == pytest.approx(expected)


def _fakexplain_iou_as_described(predicted: list, truth: list) -> float:  # type: ignore[type-arg]
    """From the reward's description: walk the predicted boxes in order; each takes the unmatched GT box whose centre
    is closest (strictly closer replaces, so the first wins a tie), no partner left means it is skipped; sum the
    pairs' IoUs, divide by the GT count."""
    taken: list[int] = []
    pairs = []
    for p in predicted:
        centre = np.array([(p[0] + p[2]) / 2, (p[1] + p[3]) / 2])
        options = [
            (float(np.linalg.norm(centre - np.array([(g[0] + g[2]) / 2, (g[1] + g[3]) / 2]))), j)
            for j, g in enumerate(truth)
            if j not in taken
        ]
        if options:
            j = min(options)[1]  # the smallest distance, then the smallest index
            taken.append(j)
            pairs.append((p, truth[j]))
    total = 0.0
    for p, g in pairs:
        w = max(0.0, min(p[2], g[2]) - max(p[0], g[0]))
        h = max(0.0, min(p[3], g[3]) - max(p[1], g[1]))
        union = (p[2] - p[0]) * (p[3] - p[1]) + (g[2] - g[0]) * (g[3] - g[1]) - w * h
        total += w * h / union
    return total / len(truth)


@pytest.mark.parametrize("seed", range(6))
def test_iou_fakexplain_matches_a_reimplementation_over_fakes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scorer, expected = LocalizationScorer(), []
    for _ in range(6):
        truth_boxes = [tuple(float(v) for v in _box(rng)) for _ in range(int(rng.integers(1, 4)))]
        predicted = [tuple(float(v) for v in _box(rng)) for _ in range(int(rng.integers(0, 5)))]
        mask = np.zeros((64, 64), bool)
        for x1, y1, x2, y2 in truth_boxes:
            mask[int(y1) : int(y2), int(x1) : int(x2)] = True
        scorer.update_fake([Region(b) for b in predicted], mask, truth_boxes)
        expected.append(_fakexplain_iou_as_described(predicted, truth_boxes))
    scorer.update_real([Region((0.0, 0.0, 5.0, 5.0))], (64, 64))  # reals are not counted (the reward gives 1.0)
    assert scorer.compute()["iou_fakexplain"] == pytest.approx(float(np.mean(expected)))


def _box(rng: np.random.Generator) -> tuple[int, int, int, int]:
    x1, y1 = int(rng.integers(0, 56)), int(rng.integers(0, 56))
    return x1, y1, int(rng.integers(x1 + 2, 65)), int(rng.integers(y1 + 2, 65))
