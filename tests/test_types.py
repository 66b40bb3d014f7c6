from __future__ import annotations

import pytest

from grounddefake.types import Region, Transform


@pytest.mark.parametrize(
    ("data", "box"),
    [
        ({"box": [1, 2, 3, 4]}, (1.0, 2.0, 3.0, 4.0)),
        ({"polygon": [[0, 0], [10, 0], [5, 8]]}, (0.0, 0.0, 10.0, 8.0)),
        ({"box": [1, 2, 3, 4], "polygon": [[1, 2], [3, 2], [3, 4]], "label": "x", "score": 0.5}, (1.0, 2.0, 3.0, 4.0)),
    ],
)
def test_region_from_json(data, box) -> None:
    region = Region.from_json(data)
    assert region.box == box
    assert Region.from_json(region.to_json()) == region


@pytest.mark.parametrize(
    ("data", "message"),
    [({}, "box"), ({"box": [3, 2, 1, 4]}, "no area"), ({"polygon": [[0, 0], [1, 1]]}, "3 points")],
)
def test_region_from_json_rejects(data, message) -> None:
    with pytest.raises(ValueError, match=message):
        Region.from_json(data)


@pytest.mark.parametrize(
    "transform",
    [
        Transform.identity((640, 480)),
        Transform.resize((640, 480), (644, 476)),
        Transform.resize((1080, 1920), (728, 1316)),
        Transform.pad_to_square((640, 480)),
    ],
)
def test_transform_round_trip(transform: Transform) -> None:
    box = (12.5, 30.0, 400.25, 470.0)
    back = transform.box_to_original(transform.box_to_input(box))
    assert back == pytest.approx(box)


def test_pad_to_square_offsets() -> None:
    t = Transform.pad_to_square((640, 480))
    assert t.input_size == (640, 640)
    assert t.box_to_original((0, 80, 640, 560)) == (0.0, 0.0, 640.0, 480.0)
