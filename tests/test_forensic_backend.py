"""The built-in model answers in whatever convention the pack asks for, and the parser maps it back."""

from __future__ import annotations

import pytest

from grounddefake.api import Detector
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
