"""The built-in model answers in whatever convention the pack asks for, and the parser maps it back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grounddefake.api import Detector
from grounddefake.backends.forensic import ForensicBackend
from grounddefake.conventions import conventions
from grounddefake.prompts import pack_from_mapping
from tests.test_forensic import _copy_moved


def _pack(convention: str):
    data = {
        "name": "t",
        "version": 1,
        "description": "t",
        "task": "grounded",
        "convention": convention,
        "turns": ["Real or fake? Boxes please."],
    }
    return pack_from_mapping(data, "mem")


@pytest.fixture(scope="module")
def image():
    return _copy_moved(0)


@pytest.fixture(scope="module")
def reference(image):
    return Detector(prompt=_pack("pixel")).detect(image)


@pytest.mark.parametrize(
    "convention", [c for c in conventions() if c.name not in ("pixel", "molmo")], ids=lambda c: c.name
)
def test_every_convention_grounds_the_same_boxes(convention, image, reference) -> None:
    verdict = Detector(prompt=_pack(convention.name)).detect(image)
    assert reference.label == verdict.label == "fake" and reference.regions
    sx, sy = convention.step((image.shape[1], image.shape[0]))
    assert len(verdict.regions) == len(reference.regions)
    for got, want in zip(verdict.regions, reference.regions, strict=True):
        assert got.box == pytest.approx(want.box, abs=1 + max(sx, sy))
    assert not verdict.parse_errors


def test_points_only_convention_gives_the_region_centres(image, reference) -> None:
    verdict = Detector(prompt=_pack("molmo")).detect(image)
    centres = [((r.box[0] + r.box[2]) / 2, (r.box[1] + r.box[3]) / 2) for r in reference.regions]
    assert [r.point for r in verdict.regions] == [pytest.approx(c, abs=1) for c in centres]


def test_large_image_is_analysed_at_working_size_and_regions_land_in_original_pixels(tmp_path) -> None:
    """A 3344×2508 PNG is analysed at 1672×1254 (decoded box-reduced); the copy found there maps back ×2."""
    from PIL import Image

    from grounddefake.images import fit_size
    from tests.test_forensic import _iou, _texture

    assert fit_size((3344, 2508), ForensicBackend().image_policy) == (1672, 1254)
    small = _texture(3, 1024)
    big = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)  # content at the working scale, 2×2 per pixel
    big = np.ascontiguousarray(np.pad(big, ((0, 2508 - 2048), (0, 3344 - 2048), (0, 0)), mode="reflect"))
    source, copy = (200, 240, 600, 640), (2400, 1600, 2800, 2000)  # even offsets: the copy stays exact at 1/2
    big[copy[1] : copy[3], copy[0] : copy[2]] = big[source[1] : source[3], source[0] : source[2]]
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path, compress_level=1)
    verdict = Detector(prompt=_pack("pixel")).detect(path)
    assert verdict.label == "fake" and verdict.image_size == (3344, 2508)
    boxes = [r.box for r in verdict.regions if r.label == "copy-move"]
    assert max(_iou(box, copy) for box in boxes) > 0.8, boxes


def test_pixel_budget_lets_small_analyses_share_it_and_makes_large_ones_wait() -> None:
    import threading

    from grounddefake.backends.forensic import _PixelBudget

    budget = _PixelBudget(100)
    entered = threading.Event()

    def large() -> None:
        with budget.hold(60):
            entered.set()

    with budget.hold(20), budget.hold(20), budget.hold(40):  # small ones share it
        thread = threading.Thread(target=large)
        thread.start()
        assert not entered.wait(0.2)  # 80 + 60 > 100: waits
    assert entered.wait(5)
    thread.join()
    with budget.hold(10**9):  # above the budget: runs alone instead of forever waiting
        pass


def test_eval_stores_the_built_in_models_own_map(tmp_path) -> None:
    """The localizer's map travels Completion → Answer → heatmaps/<id>.png over the original image (these small
    images: at their size), mode "model"."""
    import json

    from PIL import Image
    from typer.testing import CliRunner

    from grounddefake.cli import app

    Image.fromarray(_copy_moved(1)).save(tmp_path / "a.png")
    Image.fromarray(np.ascontiguousarray(np.repeat(_copy_moved(2)[:, :200], 2, axis=0))).save(tmp_path / "b.png")
    rows = [{"id": "a", "image": "a.png", "label": "fake"}, {"id": "b", "image": "b.png", "label": "fake"}]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    args = ["eval", "--data", str(tmp_path / "data.jsonl"), "--with-boxes", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    for sample_id, shape in (("a", (256, 256)), ("b", (512, 200))):
        record = records[sample_id]
        assert record["heatmap_mode"] == "model"
        stored = np.asarray(Image.open(out / record["heatmap"]))
        assert stored.shape == shape
    copy = np.asarray(Image.open(out / records["a"]["heatmap"]))[96:176, 96:176]
    assert copy.min() >= 127  # the verified copy-move box is painted at its score (>= 0.5)


def test_the_code_hash_covers_the_weights(tmp_path, monkeypatch) -> None:
    """Changed weights are a different model: the run key (through ``describe``) must not reuse old answers."""
    import shutil

    import grounddefake.backends.forensic as backend
    import grounddefake.forensic

    original = backend._code_hash()
    copy = tmp_path / "forensic"
    shutil.copytree(Path(grounddefake.forensic.__file__).parent, copy)
    monkeypatch.setattr(grounddefake.forensic, "__file__", str(copy / "__init__.py"))
    backend._code_hash.cache_clear()
    try:
        assert backend._code_hash() == original  # same files, same hash
        backend._code_hash.cache_clear()
        (copy / "localizer.onnx").write_bytes((copy / "localizer.onnx").read_bytes() + b"\0")
        assert backend._code_hash() != original
    finally:
        backend._code_hash.cache_clear()
