from __future__ import annotations

import json

import pytest

from grounddefake.conventions import Convention, get_convention
from grounddefake.types import Region


@pytest.mark.parametrize(
    ("name", "values", "size", "pixels"),
    [
        ("pixel", [10, 20, 30, 40], (200, 100), (10, 20, 30, 40)),
        ("norm1", [0.1, 0.2, 0.5, 1.0], (200, 100), (20, 20, 100, 100)),
        ("norm1000", [100, 200, 500, 1000], (200, 100), (20, 20, 100, 100)),
    ],
)
def test_to_input_pixels(name, values, size, pixels) -> None:
    assert get_convention(name).to_input_pixels(values, size) == pytest.approx(pixels)


def test_yx_axis_order() -> None:
    conv = Convention("yx1000", "test", "normalized", 1000.0, "yx")
    assert conv.to_input_pixels([200, 100, 1000, 500], (200, 100)) == pytest.approx((20, 20, 100, 100))
    assert conv.from_input_pixels((20, 20, 100, 100), (200, 100)) == pytest.approx((200, 100, 1000, 500))


@pytest.mark.parametrize("name", ["pixel", "norm1", "norm1000"])
def test_format_round_trip(name) -> None:
    conv = get_convention(name)
    text = conv.format([Region((20, 10, 120, 90), label="x", score=0.5)], (200, 100))
    item = json.loads(text)[0]
    assert item["label"] == "x" and item["score"] == 0.5
    assert conv.to_input_pixels(item["box"], (200, 100)) == pytest.approx((20, 10, 120, 90), abs=0.2)


def test_unknown_convention_lists_known() -> None:
    with pytest.raises(KeyError, match="norm1000"):
        get_convention("qwen9")
