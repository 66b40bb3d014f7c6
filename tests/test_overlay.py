from __future__ import annotations

import numpy as np
import pytest

from grounddefake.overlay import PREDICTION, TRUTH, draw_overlay
from grounddefake.types import Region
from grounddefake.verdict import Verdict


@pytest.mark.parametrize("size", [(40, 30), (640, 480), (3000, 2000)])
def test_overlay_draws_prediction_truth_and_banner_at_any_size(size) -> None:
    w, h = size
    pixels = np.full((h, w, 3), 128, np.uint8)
    box = (w * 0.5, h * 0.5, w * 0.9, h * 0.9)
    verdict = Verdict("fake", 0.8, regions=(Region(box, label="fused fingers ×2", score=0.7),), image_size=size)
    truth = np.zeros((h, w), bool)
    truth[int(h * 0.6) : int(h * 0.9), w // 10 : w // 3] = True
    out = draw_overlay(pixels, verdict, truth_mask=truth)
    assert out.shape == pixels.shape and (pixels == 128).all(), "the input is not modified"
    colours = {tuple(c) for c in out.reshape(-1, 3)[:: max(1, w * h // 200_000)]}
    assert PREDICTION in colours and TRUTH in colours


def test_overlay_with_error_and_no_regions() -> None:
    out = draw_overlay(np.zeros((50, 80, 3), np.uint8), Verdict("unknown", error="HTTP 500 <script>"))
    assert out.any()


def test_heatmap_blend_follows_the_region_scores() -> None:
    pixels = np.full((100, 200, 3), 128, np.uint8)
    verdict = Verdict("fake", regions=(Region((0, 0, 100, 100), score=0.9), Region((100, 0, 200, 100), score=0.1)))
    out = draw_overlay(pixels, verdict)
    plain = draw_overlay(pixels, verdict, heatmap=False)
    hot, cool = np.abs(out[50:60, 40:60].astype(int) - 128).mean(), np.abs(out[50:60, 140:160].astype(int) - 128).mean()
    assert hot > cool > 0 and (plain[50:60, 40:60] == 128).all()


def test_truth_boxes_and_side_by_side() -> None:
    from grounddefake.overlay import side_by_side

    pixels = np.full((60, 80, 3), 100, np.uint8)
    verdict = Verdict("fake", regions=(Region((40, 10, 70, 50), score=0.8),))
    truth = (Region((5, 5, 30, 30)),)
    out = draw_overlay(pixels, verdict, truth, heatmap=False)
    assert tuple(out[29, 15]) == TRUTH
    both = side_by_side(pixels, verdict, truth)
    assert both.shape[0] == 60 and both.shape[1] > 160
    assert tuple(both[29, 15]) == TRUTH and (both[:, 80:84] == 255).all()
