"""LEGION's way: the 2-class mIoU (``localization.miou_2class``) and its ground-truth rasterisation (``--gt-raster
legion``), each against a hand-computed table and against a re-implementation written here from LEGION's
description (not from grounddefake's code)."""

from __future__ import annotations

import numpy as np
import pytest

from grounddefake.metrics.legion import legion_truth_mask, two_class_iou
from grounddefake.metrics.localization import LocalizationScorer
from grounddefake.types import Region


@pytest.mark.parametrize(
    ("intersection", "union", "pixels", "expected"),
    [
        (10, 30, 100, (10 / 30 + 70 / 90) / 2),
        (0, 0, 100, 1.0),  # nothing predicted, nothing true: both classes agree everywhere
        (0, 20, 100, (0 + 80 / 100) / 2),  # no overlap: foreground 0, background 80 / 100
        (100, 100, 100, 1.0),  # the whole image, right: no background left to disagree on
        (25, 100, 100, (0.25 + 0.0) / 2),  # a union covering the image: no pixel is background on both sides
    ],
)
def test_two_class_iou_by_hand(intersection: int, union: int, pixels: int, expected: float) -> None:
    assert two_class_iou(intersection, union, pixels) == pytest.approx(expected)


def _two_class_miou_as_described(predicted: np.ndarray, truth: np.ndarray) -> float:
    """LEGION's mIoU read from its table: the mean over the two classes, artifact (1) and background (0), of the
    IoU of the class's predicted and true pixels."""
    ious = []
    for cls in (True, False):
        p, g = predicted == cls, truth == cls
        union = np.logical_or(p, g).sum()
        ious.append(np.logical_and(p, g).sum() / union if union else 1.0)
    return float(np.mean(ious))


def _random_boxes(rng: np.random.Generator, w: int, h: int, n: int) -> list[tuple[int, int, int, int]]:
    boxes = []
    for _ in range(n):
        x1, y1 = int(rng.integers(0, w - 2)), int(rng.integers(0, h - 2))
        boxes.append((x1, y1, int(rng.integers(x1 + 1, w + 1)), int(rng.integers(y1 + 1, h + 1))))
    return boxes


@pytest.mark.parametrize("seed", range(8))
def test_miou_2class_matches_a_reimplementation_from_the_description(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scorer, expected = LocalizationScorer(), []
    for _ in range(5):
        w, h = int(rng.integers(8, 40)), int(rng.integers(8, 40))
        truth = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in _random_boxes(rng, w, h, int(rng.integers(1, 3))):
            truth[y1:y2, x1:x2] = True
        predicted_boxes = _random_boxes(rng, w, h, int(rng.integers(0, 3)))
        predicted = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in predicted_boxes:  # integer boxes: the pixels they cover, no rule needed
            predicted[y1:y2, x1:x2] = True
        scorer.update_fake([Region(tuple(map(float, b))) for b in predicted_boxes], truth)
        expected.append(_two_class_miou_as_described(predicted, truth))
    assert scorer.compute()["miou_2class"] == pytest.approx(float(np.mean(expected)))


def test_legions_published_relation_mIoU_above_F1_holds_for_small_artifacts() -> None:
    """LEGION prints mIoU 54.62 beside F1 29.90 on SynthScars. For one pair of masks the artifact IoU is F1 / (2 − F1),
    below F1: only a mean with the background's IoU can sit above it. A half-found 20 px artifact on a 100 px
    image shows the same order: miou_2class > f1_mean > iou_mean."""
    truth = np.zeros((100, 100), bool)
    truth[40:60, 40:60] = True
    scorer = LocalizationScorer()
    scorer.update_fake([Region((50.0, 50.0, 75.0, 75.0))], truth)  # a quarter of the artifact, and as much beside
    m = scorer.compute()
    f1 = m["f1_mean"]
    assert m["iou_mean"] == pytest.approx(f1 / (2 - f1))
    assert m["miou_2class"] > 0.5 > f1 > m["iou_mean"]
    assert (round(m["miou_2class"], 3), round(f1, 3), round(m["iou_mean"], 3)) == (0.512, 0.195, 0.108)


SQUARE = [(10.7, 5.2), (25.9, 5.2), (25.9, 20.8), (10.7, 20.8)]


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        # vertices truncated to (10, 5)..(25, 20) and filled with the outline: 16 x 16 (the centre rule: 15 x 16)
        (Region((10.7, 5.2, 25.9, 20.8), polygon=tuple(SQUARE)), 16 * 16),
        # a LOKI box [x, y, w, h] = [10, 5, 15, 15]: end-inclusive 16 x 16 (the centre rule: 15 x 15)
        (Region((10.0, 5.0, 25.0, 20.0)), 16 * 16),
        # the far corner clamped to the last pixel: the whole 40 x 30 image
        (Region((0.0, 0.0, 40.0, 30.0)), 40 * 30),
        # a triangle: fillPoly covers its outline, so more than half of the 11 x 11 square below it
        (Region((0.0, 0.0, 10.0, 10.0), polygon=((0.0, 0.0), (10.0, 0.0), (0.0, 10.0))), 66),
    ],
)
def test_legion_truth_mask_by_hand(region: Region, expected: int) -> None:
    assert int(legion_truth_mask([region], (40, 30)).sum()) == expected


def test_legion_boxes_cover_about_ten_percent_more_than_the_centre_rule_on_20_px() -> None:
    box = Region((10.0, 10.0, 30.0, 30.0))
    legion = int(legion_truth_mask([box], (64, 64)).sum())
    assert legion == 21 * 21 and legion / (20 * 20) == pytest.approx(1.1025)


@pytest.mark.parametrize(("raster", "truth_pixels"), [(None, 15 * 15), ("centre", 15 * 15), ("legion", 16 * 16)])
def test_score_draws_the_ground_truth_by_the_raster_asked(tmp_path, raster, truth_pixels) -> None:  # type: ignore[no-untyped-def]
    """``score --gt-raster``: SynthScars' polygon (10, 5)..(25, 20) against a prediction of exactly that box."""
    import json

    from typer.testing import CliRunner

    from grounddefake.cli import app

    from .test_dataset_formats import synthscars

    data = synthscars(tmp_path / "data")
    line = {"id": "s1", "label": "fake", "regions": [{"box": [10, 5, 25, 20]}], "image_size": [40, 30]}
    (tmp_path / "p.jsonl").write_text(json.dumps(line) + "\n")
    args = ["score", "--predictions", str(tmp_path / "p.jsonl"), "--data", str(data), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, *(["--gt-raster", raster] if raster else [])])
    assert result.exit_code == 0, result.output
    localization = json.loads((tmp_path / "out" / "metrics.json").read_text())["localization"]
    assert localization["gt_raster"] == (raster or "centre")
    assert localization["iou_mean"] == pytest.approx(225 / truth_pixels)  # the prediction: 15 x 15 by the centre rule
    assert localization["definition"]["gt_raster"].startswith("ground-truth regions drawn")


def test_an_unknown_raster_is_refused() -> None:
    from grounddefake.run_config import RunConfig

    with pytest.raises(ValueError, match="gt_raster is one of centre, legion"):
        RunConfig(gt_raster="pixel")
