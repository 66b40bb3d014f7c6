"""Tests of the built-in model's analysis (learned localizer and copy-move) on synthetic images built here."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from grounddefake.forensic import Analysis, analyze

SIZE = 256
SQUARE = (96, 96, 176, 176)  # x1, y1, x2, y2


def _texture(seed: int, size: int = SIZE) -> np.ndarray:
    """(size, size, 3) uint8 grey texture: Gaussian noise summed over octaves (photo-like 1/f), plus fine noise."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    for scale in (1, 2, 4, 8, 16):
        octave = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 0.6 * scale)
        img += scale * octave / octave.std()
    img = 128 + 60 * img / img.std() + rng.normal(0, 2, (size, size))
    return np.repeat(np.clip(img, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def _blurred_square(seed: int) -> np.ndarray:
    img = _texture(seed)
    x1, y1, x2, y2 = SQUARE
    img[y1:y2, x1:x2] = cv2.GaussianBlur(img, (0, 0), 2.5)[y1:y2, x1:x2]
    return img


def _copy_moved(seed: int) -> np.ndarray:
    img = _texture(seed)
    x1, y1, x2, y2 = SQUARE
    img[y1:y2, x1:x2] = img[16:96, 16:96]
    return img


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _check_invariants(result: Analysis, shape: tuple[int, ...]) -> None:
    h, w = shape[:2]
    assert result.label in ("real", "fake")
    assert 0.0 <= result.score <= 1.0
    assert (result.label == "fake") == (result.score >= 0.5)
    assert result.rationale
    json.dumps(result.measurements)
    if result.label == "real":
        assert result.findings == ()
    scores = [f.score for f in result.findings]
    assert scores == sorted(scores, reverse=True)
    for f in result.findings:
        x1, y1, x2, y2 = f.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert 0.0 <= f.score <= 1.0
        assert f.statement


@pytest.mark.parametrize(
    ("make", "cues", "expected_box", "min_iou"),
    [
        # the learned map's edge is soft (8-px cells, a receptive field of about 250 px): on this 80-px square its box
        # overshoots by two to four cells a side
        (_blurred_square, ("blur", "noise", "residual"), SQUARE, 0.3),
        (_copy_moved, ("copy-move",), SQUARE, 0.5),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_local_manipulation_is_found(make, cues, expected_box, min_iou, seed) -> None:
    image = make(seed)
    result = analyze(image)
    _check_invariants(result, image.shape)
    assert result.label == "fake"
    best = max((_iou(f.box, expected_box) for f in result.findings if f.cue in cues), default=0.0)
    assert best >= min_iou


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_clean_texture_is_real(seed: int) -> None:
    image = _texture(seed)
    result = analyze(image)
    _check_invariants(result, image.shape)
    assert result.label == "real"


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((64, 64, 3), np.uint8),
        np.zeros((20, 20, 3), np.uint8),
        np.full((100, 150, 3), 77, np.uint8),
        np.full((1, 1, 3), 255, np.uint8),
        np.zeros((300, 40, 3), np.uint8),
        _texture(3, 70),
    ],
    ids=["black", "tiny", "one-colour", "one-pixel", "thin", "small-texture"],
)
def test_degenerate_images_do_not_crash(image: np.ndarray) -> None:
    result = analyze(image)
    _check_invariants(result, image.shape)
    assert result.label == "real"


def test_a_confident_map_without_a_region_is_not_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image-level head may exceed 0.5 on a map whose blobs are all below the minimum region size: the verdict
    stays real (a fake verdict always comes with a region), and the rationale says why."""
    from grounddefake.forensic import detector, learned

    image = _texture(0)
    found = learned.localize(image)
    monkeypatch.setattr(detector, "localize", lambda _: dataclasses.replace(found, regions=(), p_fake=0.8))
    result = analyze(image)
    _check_invariants(result, image.shape)
    assert result.label == "real" and result.score < 0.5
    assert "P(fake) 0.80" in result.rationale and "nothing is reported" in result.rationale


def test_a_confident_map_calls_its_strongest_region_even_below_its_own_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The image-level head decides; a region whose own P(fake) is under 0.5 is still the place it points at."""
    from grounddefake.forensic import detector, learned

    image = _blurred_square(0)
    found = learned.localize(image)
    (strongest, *_) = found.regions
    weak = dataclasses.replace(strongest, p_fake=0.3)
    monkeypatch.setattr(detector, "localize", lambda _: dataclasses.replace(found, regions=(weak,), p_fake=0.8))
    result = analyze(image)
    _check_invariants(result, image.shape)
    assert result.label == "fake" and result.score == pytest.approx(0.8)
    assert [f.box for f in result.findings] == [weak.box]
