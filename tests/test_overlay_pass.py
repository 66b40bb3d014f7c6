"""Overlays in a pass of their own: which samples get one, drawn at reduced size, failures reported not raised."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grounddefake.datasets import load_dataset
from grounddefake.overlay_pass import MISTAKES_LIMIT, draw_overlays, draw_sample_overlay, select_overlays
from grounddefake.records import SampleScore
from grounddefake.rundir import RunDir
from grounddefake.types import Sample


def _rows(n: int) -> list[SampleScore]:
    kinds = [("fake", "fake", 0.9), ("real", "fake", None), ("fake", "real", None), ("fake", "unknown", None)]
    return [SampleScore(f"s{i}", *kinds[i % 4][:2], None, kinds[i % 4][2], None) for i in range(n)]


def test_mistakes_come_first_and_are_bounded() -> None:
    rows = _rows(1000)
    chosen = select_overlays(rows, "mistakes")
    assert len(chosen) == MISTAKES_LIMIT
    kinds = [next(r for r in rows if r.id == i).kind for i in chosen]
    assert kinds == sorted(kinds, key=["unknown", "fp", "fn", "ok"].index)  # unknowns, then fp, then fn
    assert select_overlays(rows, "all") == [r.id for r in rows] and select_overlays(rows, "none") == []


def test_poorly_located_fakes_fill_what_is_left() -> None:
    rows = [SampleScore(f"f{i}", "fake", "fake", None, iou, None) for i, iou in enumerate((0.9, 0.1, 0.3))]
    assert select_overlays(rows, "mistakes") == ["f1", "f2"]  # below an IoU of 0.5, lowest first


def test_a_large_photo_is_drawn_small_with_its_boxes_in_place(tmp_path: Path) -> None:
    photo = tmp_path / "big.jpg"
    pixels = np.full((3000, 4000, 3), 128, np.uint8)
    Image.fromarray(pixels).save(photo, quality=90)
    sample = Sample("big", photo, "fake")
    record = {"id": "big", "label": "fake", "image_size": [4000, 3000], "regions": [{"box": [2000, 1500, 4000, 3000]}]}
    target = tmp_path / "big.jpg"
    draw_sample_overlay(sample, record, str(target), size=1024)
    drawn = np.asarray(Image.open(target))
    assert drawn.shape == (750, 1000, 3)  # decoded at 1/4 by the JPEG decoder itself, no resize after
    changed = np.abs(drawn.astype(int) - 128).sum(axis=2) > 40
    assert changed[390:745, 510:995].mean() > 0.5  # the heat of the box, bottom right
    assert changed[200:350, 50:450].mean() < 0.05  # nothing top left, away from the banner


def test_a_failure_costs_only_its_own_overlay(tiny_dataset: Path, tmp_path: Path) -> None:
    samples = list(load_dataset(tiny_dataset))
    (tiny_dataset.parent / "images" / "s1.png").write_bytes(b"not a png")
    records = {s.id: {"id": s.id, "label": "fake", "image_size": [96, 64], "regions": []} for s in samples}
    rows = [SampleScore(s.id, s.label, "fake", None, None, None) for s in samples]
    run = RunDir(tmp_path / "run").create()
    outcome = draw_overlays(run, samples, records, rows, mode="all")
    assert outcome.drawn == 3 and [p["id"] for p in outcome.problems] == ["s1"]
    assert sorted(run.drawn_overlays()) == ["s0.jpg", "s2.jpg", "s3.jpg"]
    again = draw_overlays(run, samples, records, rows, mode="all")  # only the missing one is tried again
    assert again.drawn == 0 and len(again.problems) == 1


@pytest.mark.parametrize("paired", [False, True])
def test_ground_truth_mask_is_scaled_to_the_overlay(tiny_dataset: Path, tmp_path: Path, paired: bool) -> None:
    sample = next(s for s in load_dataset(tiny_dataset) if s.id == "s1")
    record = json.loads(json.dumps({"id": "s1", "label": "real", "image_size": [96, 64]}))
    draw_sample_overlay(sample, record, str(tmp_path / "o.png"), size=48, paired=paired)
    width, height = Image.open(tmp_path / "o.png").size
    assert height == 32 and width == (48 if not paired else 96 + max(4, 48 // 80))
