"""Property-based checks of the coordinate path: Transform, box sanitising and the raster rule."""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grounddefake.conventions import MIN_EXTENT, sanitize_box
from grounddefake.grounding import region_mask
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


# -- the parser ----------------------------------------------------------------------------------------------

from grounddefake.conventions import Convention, conventions  # noqa: E402
from grounddefake.parsing import parse  # noqa: E402

FRAGMENTS = [
    '{"verdict": "fake", "regions": [',
    '{"box": [',
    '{"bbox_2d": [',
    '{"box_2d": [',
    '{"point_2d": [',
    '"label": "',
    "]",
    "}",
    "[[",
    "]]",
    "(",
    ")",
    ",",
    ";",
    " ",
    "\n",
    "'",
    '"',
    ":",
    "```json\n",
    "```",
    "<ref>",
    "</ref>",
    "<box>",
    "</box>",
    "<|box_start|>",
    "<|box_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|det|>",
    "<|/det|>",
    "<|ref|>",
    "<|/ref|>",
    "<|begin_of_box|>",
    "<|end_of_box|>",
    "<loc0123>",
    "<loc1023>",
    "<loc_45>",
    "<loc_999>",
    "<seg012>",
    "<patch_index_0044>",
    "<patch_index_1023>",
    "<patch_index_9999>",
    "<object>",
    "</object>",
    "</delimiter_of_multi_objects/>",
    "<phrase>",
    "</phrase>",
    '<point x="',
    '" y="',
    '">',
    "</point>",
    '<points x1="',
    "NaN",
    "Infinity",
    "-Infinity",
    "1e308",
    "1e309",
    "-5",
    "0",
    "999",
    "1000",
    "0.5",
    "1e-9",
    "fake",
    "real",
    "not",
    "<think>",
    "</think>",
    "<verdict>",
    "</verdict>",
    "Answer:",
    "True",
    "None",
    "<answer>",
    "</answer>",
    " " * 40,
    "1" + "0" * 400,
    '\\"',
    "\\",
    "İ",
    "<reason>",
    "is_fake",
    "yes",
    '"x_min": ',
    '"x": ',
    '"width": ',
]
answers = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12), st.integers(-2000, 3000).map(str)), max_size=60
).map("".join)
image_sizes = st.one_of(
    st.just((64, 64)),
    st.tuples(st.integers(1, 4000), st.integers(1, 4000)),
    st.integers(16, 400).map(lambda w: (w, 10 * w)),
    st.integers(16, 400).map(lambda h: (10 * h, h)),
)
all_conventions = st.sampled_from(conventions())


@settings(max_examples=400, deadline=None)
@given(answers, all_conventions, image_sizes, st.one_of(st.none(), image_sizes))
def test_no_answer_makes_parse_raise_and_boxes_stay_inside(text, convention, size, input_size) -> None:
    verdict = parse(text, convention, size, input_size=input_size)
    assert verdict.label in ("real", "fake", "unknown")
    for region in verdict.regions:
        x1, y1, x2, y2 = region.box
        assert 0 <= x1 < x2 <= size[0] and 0 <= y1 < y2 <= size[1]
        assert all(math.isfinite(v) for v in region.box)
        assert region.score is None or 0 <= region.score <= 1


@st.composite
def boxes_in(draw, size: tuple[int, int], minimum: tuple[float, float]) -> tuple[float, float, float, float]:
    """A box inside ``size`` at least ``minimum`` wide and high."""
    (w, h), (mw, mh) = size, minimum
    x1 = draw(st.floats(0, w - mw))
    y1 = draw(st.floats(0, h - mh))
    x2 = draw(st.floats(x1 + mw, w))
    y2 = draw(st.floats(y1 + mh, h))
    return (x1, y1, x2, y2)


@settings(max_examples=300, deadline=None)
@given(all_conventions, image_sizes.filter(lambda s: min(s) >= 16), st.one_of(st.none(), image_sizes), st.data())
def test_format_then_parse_round_trips_every_convention(convention: Convention, size, input_size, data) -> None:
    """format and parse agree within 1 px plus the quantisation step, at any size and aspect ratio.

    Both directions use the same convention, so this checks consistency and quantisation; that each convention
    means what its family means is checked against hand-computed answers in test_conventions.py.
    """
    if input_size is not None and (min(input_size) < 16 or max(input_size) / min(input_size) > 100):
        input_size = None
    seen = size if input_size is None else input_size
    # The quantisation step, in original pixels per axis.
    sx, sy = convention.step(seen)
    step = (sx * size[0] / seen[0], sy * size[1] / seen[1])
    tolerance = (1 + step[0], 1 + step[1])
    minimum = (2 * tolerance[0] + 1, 2 * tolerance[1] + 1)
    assume(minimum[0] <= size[0] and minimum[1] <= size[1])
    box = data.draw(boxes_in(size, minimum))
    label = data.draw(st.sampled_from([None, "hand", "fused fingers"]))
    text = convention.format([Region(box, label=label)], size, input_size)
    (region,) = parse(text, convention, size, input_size=input_size).regions
    if convention.name == "molmo":
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        assert abs(region.point[0] - centre[0]) <= tolerance[0] and abs(region.point[1] - centre[1]) <= tolerance[1]
    else:
        errors = [abs(a - b) for a, b in zip(region.box, box, strict=True)]
        assert max(errors[0], errors[2]) <= tolerance[0] and max(errors[1], errors[3]) <= tolerance[1], text
    if label is not None:
        assert (region.label or "").endswith(label)
