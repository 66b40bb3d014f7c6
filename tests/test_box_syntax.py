from __future__ import annotations

import pytest

from grounddefake.box_syntax import (
    BareList,
    DoubleBracket,
    Florence,
    JsonList,
    KosmosPatches,
    LocTokens,
    ModelRegion,
    MolmoPoints,
    Tagged,
    box_to_patch_index,
    item_regions,
    iter_json,
    patch_index_to_box,
    region_items,
)


@pytest.mark.parametrize(
    ("text", "value", "repaired"),
    [
        ('Sure: {"a": 1} done', {"a": 1}, False),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}, False),
        ("```\n{'a': 'b', 'c': True, 'd': None}\n```", {"a": "b", "c": True, "d": None}, False),
        ('{"a": [1, 2,], "b": 3,}', {"a": [1, 2], "b": 3}, False),
        ("here {'verdict': 'fake', 'regions': [],} ok", {"verdict": "fake", "regions": []}, False),
        # truncated mid-item: cut back to the last complete item, brackets closed
        (
            '[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6',
            [{"bbox_2d": [1, 2, 3, 4], "label": "a"}],
            True,
        ),
        ('{"verdict": "fake", "rationale": "The hands are', {"verdict": "fake"}, True),
        (
            '```json\n{"verdict": "fake", "regions": [{"box": [1, 2, 3, 4]}, {"box": [5,',
            {"verdict": "fake", "regions": [{"box": [1, 2, 3, 4]}]},
            True,
        ),
        (
            '{"rationale": "it\'s odd [sic]", "verdict": "real"}',
            {"rationale": "it's odd [sic]", "verdict": "real"},
            False,
        ),
    ],
)
def test_iter_json_tolerates_what_models_write(text: str, value, repaired: bool) -> None:
    found = next(iter_json(text))
    assert found.value == value
    assert found.repaired is repaired


def test_iter_json_yields_every_value_once_in_order() -> None:
    text = 'a [1, 2] b {"x": {"y": [3]}} c ```json\n{"z": 1}\n```'
    values = [f.value for f in iter_json(text)]
    assert values == [{"z": 1}, [1, 2], {"x": {"y": [3]}}]


@pytest.mark.parametrize("text", ["", "no json", "[", "{{{{", "[1, 2", '{"a": "b', "]]]}}}", "```", "```json\n"])
def test_iter_json_gives_nothing_for_junk(text: str) -> None:
    assert [f.value for f in iter_json(text)] == []


def test_iter_json_bounds_its_work_on_bracket_floods() -> None:
    assert list(iter_json("[" * 50_000)) == []
    assert list(iter_json("{a" * 50_000)) == []


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ({"verdict": "fake", "regions": []}, 0),
        ({"verdict": "fake", "regions": {"box": [1, 2, 3, 4]}}, 1),
        ({"bbox_2d": [1, 2, 3, 4]}, 1),
        ([{"box_2d": [1, 2, 3, 4]}, {"point_2d": [1, 2]}], 2),
        ({"result": {"boxes": [[1, 2, 3, 4]]}}, 1),
        ({"verdict": "fake"}, None),
        ([1, 2, 3, 4], None),
        ([{"name": "x"}], None),
    ],
)
def test_region_items(value, count) -> None:
    items = region_items(value)
    assert (None if items is None else len(items)) == count


@pytest.mark.parametrize(
    ("item", "axis_order", "expected"),
    [
        ({"bbox": [1, 2, 3, 4], "label": "a", "score": 0.5}, "xy", ModelRegion((1, 2, 3, 4), "box", "a", 0.5)),
        ({"box": [[1, 2, 3, 4]]}, "xy", ModelRegion((1, 2, 3, 4))),
        ({"point_2d": [5, 6], "label": "eye"}, "xy", ModelRegion((5, 6), "point", "eye")),
        ({"x_min": 1, "y_min": 2, "x_max": 3, "y_max": 4}, "xy", ModelRegion((1, 2, 3, 4))),
        ({"x_min": 1, "y_min": 2, "x_max": 3, "y_max": 4}, "yx", ModelRegion((2, 1, 4, 3))),
        ({"box": {"x1": 1, "y1": 2, "x2": 3, "y2": 4}}, "xy", ModelRegion((1, 2, 3, 4))),
        ([1, 2, 3, 4], "xy", ModelRegion((1, 2, 3, 4))),
        ({"box": ["1", "2", "3", "4"]}, "xy", ModelRegion((1, 2, 3, 4))),
        ({"label": "  many   spaces\n"}, "xy", None),
        ({"box": [1, None, 3, 4]}, "xy", None),
    ],
)
def test_item_regions(item, axis_order: str, expected) -> None:
    (region,) = item_regions(item, axis_order)
    if expected is None:
        assert region.problem is not None
    else:
        assert region == expected


@pytest.mark.parametrize(
    ("first", "last", "box"),
    [
        (0, 0, (0, 0, 1 / 32, 1 / 32)),  # one cell: its edges
        (0, 31, (0, 0, 1, 1 / 32)),  # one row: cell edges
        (0, 1023, (0.5 / 32, 0.5 / 32, 31.5 / 32, 31.5 / 32)),  # otherwise: cell centres
        (33, 66, (1.5 / 32, 1.5 / 32, 2.5 / 32, 2.5 / 32)),
    ],
)
def test_kosmos_cells_follow_transformers(first: int, last: int, box) -> None:
    assert patch_index_to_box(first, last) == pytest.approx(box)


@pytest.mark.parametrize(
    ("box", "cells"),
    [((0.0, 0.0, 1.0, 1.0), (0, 1023)), ((0.1, 0.25, 0.5, 0.75), (8 * 32 + 3, 23 * 32 + 15))],
)
def test_kosmos_box_to_cells(box, cells) -> None:
    assert box_to_patch_index(box) == cells


SYNTAXES = [
    (JsonList(), [ModelRegion((1, 2, 3, 4), "box", "a", 0.5), ModelRegion((5, 6), "point", "b")]),
    (JsonList("bbox_2d", "point_2d"), [ModelRegion((1, 2, 3, 4), "box", "a")]),
    (Tagged(), [ModelRegion((1, 2, 3, 4), "box", "a"), ModelRegion((5, 6, 7, 8), "box", "b")]),
    (Tagged(layout="space"), [ModelRegion((1, 2, 3, 4), "box", "a")]),
    (
        Tagged("q", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "pairs"),
        [ModelRegion((1, 2, 3, 4), "box", "a")],
    ),
    (Tagged("g", None, None, "<|begin_of_box|>", "<|end_of_box|>", "flat"), [ModelRegion((1, 2, 3, 4), "box", "hand")]),
    (LocTokens(), [ModelRegion((1, 2, 3, 4), "box", "a b"), ModelRegion((10, 20, 30, 40), "box", "c")]),
    (Florence(), [ModelRegion((1, 2, 3, 4), "box", "a"), ModelRegion((10, 20, 30, 40), "box", "c")]),
    (DoubleBracket(), [ModelRegion((1, 2, 3, 4), "box", "a"), ModelRegion((10, 20, 30, 40), "box", "c")]),
    (BareList(), [ModelRegion((0.1, 0.2, 0.3, 0.4), "box", "a")]),
    (MolmoPoints(), [ModelRegion((61.5, 40.6), "point", "a")]),
]


@pytest.mark.parametrize(("syntax", "regions"), SYNTAXES, ids=lambda s: getattr(s, "name", ""))
def test_write_then_read_gives_the_same_regions(syntax, regions) -> None:
    text = syntax.write(regions)
    assert list(syntax.read(text).regions) == regions


def test_kosmos_write_then_read_is_cell_quantised() -> None:
    (region,) = KosmosPatches().read(KosmosPatches().write([ModelRegion((0.1, 0.25, 0.5, 0.75), "box", "a")])).regions
    assert region.label == "a"
    assert region.values == pytest.approx((3.5 / 32, 8.5 / 32, 15.5 / 32, 23.5 / 32))


def test_floats_are_read_whole() -> None:
    # An integer-only reader splits 0.4518 into 0 and 4518 (simular-ai/Agent-S#159).
    (region,) = Tagged().read("<box>[[0.4518, 0.1, 0.9, 0.95]]</box>").regions
    assert region.values == (0.4518, 0.1, 0.9, 0.95)


def test_markup_keeps_the_label_in_prose() -> None:
    found = Tagged().read("The <ref>left hand</ref><box>[[1,2,3,4]]</box> has six fingers.")
    (markup,) = found.markup
    assert markup.keep == "left hand"


@pytest.mark.parametrize(
    ("syntax", "item"),
    [
        (Tagged(), "<ref>a</ref><box>[[1, 2, 3, 4]]</box>"),
        (LocTokens(), "<loc0001><loc0002><loc0003><loc0004> a ; "),
        (Florence(), "a<loc_1><loc_2><loc_3><loc_4>"),
        (DoubleBracket(), "a [[001,002,003,004]] "),
        (BareList(), "a [1, 2, 3, 4] "),
        (KosmosPatches(), "<phrase>a</phrase><object><patch_index_0000><patch_index_0033></object>"),
        (MolmoPoints(), '<point x="1" y="2" alt="a">a</point>'),
    ],
    ids=lambda s: getattr(s, "name", ""),
)
def test_readers_count_the_regions_past_the_cap(syntax, item: str) -> None:
    found = syntax.read(item * 1005)
    assert (len(found.regions), found.dropped) == (1000, 5)
    assert len(found.markup) == 1005  # every span leaves the prose, even past the cap
    assert all(m.keep == "" for m in found.markup[1000:])


def test_json_list_counts_the_regions_past_the_cap() -> None:
    found = JsonList().read("[" + ", ".join(['{"box": [1, 2, 3, 4]}'] * 1005) + "]")
    assert (len(found.regions), found.dropped) == (1000, 5)
