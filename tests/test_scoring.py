"""Scoring a run end to end: edge cases of whole datasets, heatmap and score groups, unusable records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grounddefake.api import score
from grounddefake.datasets import load_dataset
from grounddefake.scoring import group_value, score_records

from .conftest import write_dataset


def _predictions(path: Path, lines: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("answer", "checks"),
    [
        ({"label": "unknown"}, {"accuracy": 0.0, "coverage": 0.0, "f1": None, "auc": None}),
        ({"label": "real"}, {"accuracy_real": 1.0, "accuracy_fake": 0.0, "precision": None, "f1": 0.0}),
        ({"label": "fake"}, {"accuracy_real": 0.0, "accuracy_fake": 1.0, "precision": 0.5, "recall": 1.0}),
    ],
)
def test_whole_dataset_answering_one_way(tmp_path: Path, answer: dict, checks: dict) -> None:
    data = write_dataset(tmp_path / "data", 6)
    ids = [s.id for s in load_dataset(data)]
    metrics = score(_predictions(tmp_path / "p.jsonl", [{"id": i, **answer} for i in ids]), data, localization=True)
    for key, value in checks.items():
        assert metrics["classification"][key] == value, key
    assert metrics["localization"]["n"] == 3 and metrics["localization"]["iou_mean"] == 0.0  # no region claimed


def test_only_real_images_have_no_localization_numbers(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 4)
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    for line in lines:
        line.update(label="real")
        line.pop("mask", None)
    data.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    preds = [{"id": line["id"], "label": "fake", "regions": [{"box": [0, 0, 32, 48]}]} for line in lines]
    metrics = score(_predictions(tmp_path / "p.jsonl", preds), data)
    loc = metrics["localization"]
    assert loc["n"] == 0 and loc["iou_mean"] is None and loc["real_fp_rate"] == 1.0
    assert loc["real_fp_area"] == pytest.approx(0.5)


def test_heatmap_and_score_groups(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 4)
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    heat = np.zeros((48, 64), np.uint8)
    heat[8:24, 16:40] = 255
    Image.fromarray(heat).save(tmp_path / "data" / "heat.png")
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(tmp_path / "data" / "empty.png")
    for i, line in enumerate(lines):
        line["heatmap"] = "heat.png" if i % 2 else "empty.png"
        line["meta"] = {"score": i / 3}
    data.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    preds = [
        {
            "id": line["id"],
            "label": "fake" if i % 2 else "real",
            "score": i / 3 + 0.1,
            "regions": [{"box": [16, 8, 40, 24]}] if i % 2 else [],
        }
        for i, line in enumerate(lines)
    ]
    metrics = score(_predictions(tmp_path / "p.jsonl", preds), data)
    h = metrics["heatmap"]
    assert (h["n"], h["n_nonempty"]) == (4, 2)
    assert h["cc"] == pytest.approx(1.0) and h["auc_judd"] == pytest.approx(1.0) and h["mse_empty"] == 0.0
    assert metrics["score"]["plcc"] == pytest.approx(1.0) and metrics["score"]["srcc"] == pytest.approx(1.0)


def test_group_value_reads_nested_meta() -> None:
    from grounddefake.types import Sample

    sample = Sample("a", Path("x.png"), "fake", meta={"gen": {"family": "sd"}, "generator": "sdxl"})
    assert group_value(sample, "meta.generator") == "sdxl"
    assert group_value(sample, "meta.gen.family") == "sd"
    assert group_value(sample, "meta.missing") is None
    assert group_value(sample, "label") == "fake"


def test_unusable_regions_in_a_record_are_reported_not_fatal(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 2)
    samples = list(load_dataset(data))
    records = {
        "img0001": {
            "id": "img0001",
            "label": "fake",
            "image_size": [64, 48],
            "regions": [{"box": [5, 5, 5, 5]}, {"box": [16, 8, 40, 24]}],
        },
    }
    evaluation = score_records(samples, records, localization=True)
    assert evaluation.metrics["localization"]["iou_mean"] == pytest.approx(1.0)
    assert evaluation.metrics["n_missing"] == 1


def test_predictions_at_another_size_are_rasterised_at_ground_truth_resolution(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 2)
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    lines[1].pop("mask")
    lines[1]["regions"] = [{"box": [16, 8, 40, 24]}]  # GT as a region on the 64x48 image
    data.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    half = {"label": "fake", "score": 0.9, "image_size": [32, 24], "regions": [{"box": [8, 4, 20, 12], "score": 0.9}]}
    metrics = score(_predictions(tmp_path / "p.jsonl", [{"id": "img0001", **half}]), data)
    loc = metrics["localization"]
    assert loc["iou_mean"] == pytest.approx(1.0) and loc["box_f1"] == pytest.approx(1.0)
    assert loc["ap"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"regions": 5},
        {"regions": [{"point": [3]}]},
        {"regions": [{"box": [16, 8, 1e999, 24]}]},
        {"regions": [{"box": [16, 8, 40, 24], "score": float("nan")}]},
        {"regions": ["box"]},
        {"score": "high"},
        {"score": [0.9]},
        {"score": 7},
        {"image_size": [64]},
        {"image_size": {"w": 64, "h": 48}},
        {"image_size": "64x48"},
        {"label": 3},
    ],
)
def test_malformed_prediction_fields_are_reported_not_fatal(tmp_path: Path, bad: dict) -> None:
    data = write_dataset(tmp_path / "data", 2)
    lines = [{"id": "img0000", "label": "real"}, {"id": "img0001", "label": "fake", **bad}]
    metrics = score(_predictions(tmp_path / "p.jsonl", lines), data, localization=True)
    assert metrics["classification"]["n"] == 2


def test_a_point_only_region_in_a_record_becomes_a_small_box(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 2)
    line = {"id": "img0001", "label": "fake", "image_size": [64, 48], "regions": [{"point": [28, 16]}]}
    metrics = score(_predictions(tmp_path / "p.jsonl", [line]), data)
    assert metrics["localization"]["pointing_game"] == 1.0 and metrics["localization"]["iou_mean"] > 0


def test_a_malformed_image_size_falls_back_to_the_images_own(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 2)
    line = {"id": "img0001", "label": "fake", "image_size": [1, "x"], "regions": [{"box": [16, 8, 40, 24]}]}
    metrics = score(_predictions(tmp_path / "p.jsonl", [line]), data)
    assert metrics["localization"]["n"] == 1 and metrics["localization"]["iou_mean"] == pytest.approx(1.0)


def test_ground_truth_out_of_the_image_is_clipped_and_listed(tmp_path: Path) -> None:
    from grounddefake.api import evaluate

    from .conftest import ScriptedBackend

    data = write_dataset(tmp_path / "data", 4)
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    lines[1].pop("mask")
    lines[1]["regions"] = [{"box": [16, 8, 1e10, 24]}, {"box": [500, 500, 600, 600]}]  # past the 64x48 image
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    answer = '{"verdict": "fake", "regions": [{"box": [250, 166, 1000, 500]}]}'
    result = evaluate(data, ScriptedBackend(lambda r: answer), "grounded", True, tmp_path / "run", overlays="all")
    reasons = [p["reason"] for p in result.metrics["problems"] if p["id"] == "img0001"]
    assert reasons == [
        "ground-truth region 0: clipped to the image 64x48",
        "ground-truth region 1: dropped, no area inside the image",
    ]
    assert result.metrics["localization"]["n_box"] == 1 and "overlay_problems" not in result.metrics
    assert len(list((tmp_path / "run" / "overlays").iterdir())) == 4


def test_a_mask_of_another_size_is_listed(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 2)
    Image.fromarray(np.zeros((24, 32), np.uint8)).save(tmp_path / "data" / "masks" / "img0001.png")
    predictions = _predictions(tmp_path / "p.jsonl", [{"id": "img0001", "label": "fake", "image_size": [64, 48]}])
    metrics = score(predictions, data, localization=True)
    assert {"id": "img0001", "reason": "mask img0001.png is 32x24, the image 64x48: compared at the mask's size"} in (
        metrics["problems"]
    )
