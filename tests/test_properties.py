"""Property-based checks of the coordinate path: Transform, box sanitising and the raster rule."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from grounddefake.grounding import region_mask
from grounddefake.conventions import MIN_EXTENT, sanitize_box
from grounddefake.types import Region, Transform

sizes = st.tuples(st.integers(1, 4000), st.integers(1, 4000))
coords = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@given(sizes, sizes, st.tuples(coords, coords, coords, coords))
def test_resize_transform_round_trips(original, model_input, box) -> None:
    transform = Transform.resize(original, model_input)
    back = transform.box_to_original(transform.box_to_input(box))
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) for a, b in zip(back, box, strict=True))


@given(sizes)
def test_padded_square_maps_its_image_area_back_to_the_whole_image(size) -> None:
    transform = Transform.pad_to_square(size)
    (ox, oy), (w, h) = transform.offset, size
    back = transform.box_to_original((ox, oy, ox + w, oy + h))
    assert all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(back, (0, 0, w, h), strict=True))


@given(st.tuples(coords, coords, coords, coords), sizes)
def test_sanitized_boxes_are_ordered_inside_and_not_empty(box, size) -> None:
    clean, notes = sanitize_box(box, size)
    if clean is None:
        assert any("dropped" in n for n in notes)
        return
    x1, y1, x2, y2 = clean
    assert 0 <= x1 < x2 <= size[0] and 0 <= y1 < y2 <= size[1]
    assert x2 - x1 >= MIN_EXTENT and y2 - y1 >= MIN_EXTENT


@settings(max_examples=60)
@given(st.integers(0, 60), st.integers(0, 60), st.integers(1, 40), st.integers(1, 40))
def test_integer_box_covers_exactly_its_area(x, y, bw, bh) -> None:
    size = (64, 64)
    mask = region_mask(Region((x, y, x + bw, y + bh)), size)
    expected = max(0, min(x + bw, 64) - x) * max(0, min(y + bh, 64) - y)
    assert mask.sum() == expected
    polygon = ((x, y), (x + bw, y), (x + bw, y + bh), (x, y + bh))
    assert (region_mask(Region((x, y, x + bw, y + bh), polygon=polygon), size) == mask).all()
