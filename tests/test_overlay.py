from __future__ import annotations

import numpy as np
import pytest

from grounddefake.overlay import PREDICTION, TRUTH, draw_overlay
from grounddefake.types import Region, Verdict


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
