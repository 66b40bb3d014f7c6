from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import grounddefake
from grounddefake import Detector
from grounddefake.images import ImagePolicy

from .conftest import ScriptedBackend, marker_box, point_at_marker

MARKER = (130, 20, 170, 50)


@pytest.mark.parametrize(
    "make", [lambda p, d: p, lambda p, d: Image.fromarray(p), lambda p, d: _png(p, d)], ids=["array", "pil", "path"]
)
def test_detect_returns_regions_in_original_pixels(marker_image, tmp_path, make) -> None:
    detector = Detector(model=ScriptedBackend(point_at_marker))
    verdict = detector.detect(make(marker_image, tmp_path))
    assert verdict.label == "fake"
    assert verdict.image_size == (200, 120)
    assert verdict.regions[0].box == pytest.approx(MARKER, abs=0.2)
    assert verdict.regions[0].label == "marker"


def _png(pixels: np.ndarray, folder: Path) -> Path:
    Image.fromarray(pixels).save(folder / "x.png")
    return folder / "x.png"


def test_resized_input_maps_back(marker_image) -> None:
    backend = ScriptedBackend(point_at_marker, ImagePolicy(max_side=100))
    answer = Detector(model=backend).ask(marker_image)
    assert answer.prepared.transform.input_size == (100, 60)
    assert answer.verdict.regions[0].box == pytest.approx(MARKER, abs=2.5)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_image_gives_boxes_in_displayed_pixels(marker_image, tmp_path, orientation) -> None:
    # Store the pixels so that applying the EXIF orientation displays `marker_image`.
    stored = {3: np.rot90(marker_image, 2), 6: np.rot90(marker_image, 1), 8: np.rot90(marker_image, -1)}[orientation]
    img = Image.fromarray(np.ascontiguousarray(stored))
    exif = img.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "rotated.jpg"
    img.save(path, quality=98, exif=exif.tobytes())
    assert grounddefake.load_image(path).size == (200, 120)
    verdict = Detector(model=ScriptedBackend(point_at_marker)).detect(path)
    assert verdict.regions[0].box == pytest.approx(MARKER, abs=2.5)


def test_overlay_returns_annotated_rgb(marker_image) -> None:
    verdict = Detector(model=ScriptedBackend(point_at_marker)).detect(marker_image)
    overlay = verdict.overlay(marker_image)
    assert overlay.shape == marker_image.shape and overlay.dtype == np.uint8
    assert (overlay != marker_image).any()
    assert verdict.mask().sum() == pytest.approx(40 * 30, abs=100)
    assert verdict.heatmap().max() == 1.0


def test_request_failure_is_an_unknown_verdict_with_error(marker_image) -> None:
    verdict = Detector(model=ScriptedBackend(lambda r: "RAISE:connection reset")).detect(marker_image)
    assert verdict.label == "unknown" and verdict.error == "connection reset"


def test_module_level_detect_with_forensic_model(tmp_path) -> None:
    rng = np.random.default_rng(5)
    image = rng.normal(128, 12, (160, 200, 3)).clip(0, 255).astype(np.uint8)
    verdict = grounddefake.detect(image)
    assert verdict.label in ("real", "fake")
    assert verdict.score is not None and 0 <= verdict.score <= 1
    assert verdict.rationale
    for region in verdict.regions:
        x1, y1, x2, y2 = region.box
        assert 0 <= x1 < x2 <= 200 and 0 <= y1 < y2 <= 160


def test_detect_works_inside_a_running_event_loop(marker_image) -> None:
    import asyncio

    async def inside() -> str:
        return Detector(model=ScriptedBackend(point_at_marker)).detect(marker_image).label

    assert asyncio.run(inside()) == "fake"


def test_marker_helper_sanity(marker_image) -> None:
    assert marker_box(marker_image) == MARKER


def test_the_core_never_imports_torch_or_transformers() -> None:
    """The API path stays light: torch and transformers load only when a local model is asked for."""
    import subprocess
    import sys

    code = (
        "import sys, grounddefake, grounddefake.cli, grounddefake.api, grounddefake.backends\n"
        "grounddefake.Detector(model='forensic')\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
