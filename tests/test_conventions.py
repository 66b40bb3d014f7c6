"""Each model family's answers land on the right pixels.

Expected boxes are written from each family's published formulas (model cards, processor source), not from this code.
"""

from __future__ import annotations

import pytest

from grounddefake.conventions import (
    EXAMPLE_SIZE,
    POINT_BOX_FRACTION,
    Convention,
    conventions,
    get_convention,
    smart_resize,
)
from grounddefake.parsing import parse
from grounddefake.types import Region

REQUIRED = {
    "pixel",
    "norm1",
    "norm1000",
    "qwen2-vl",
    "qwen2.5-vl",
    "qwen3-vl",
    "internvl",
    "paligemma",
    "florence2",
    "gemini",
    "deepseek-vl2",
    "cogvlm",
    "glm4v",
    "minicpm-v",
    "llava-1.5",
    "kosmos2",
    "molmo",
}


def test_registry_has_every_major_family() -> None:
    assert {c.name for c in conventions()} >= REQUIRED
    for convention in conventions():
        assert convention.families and convention.description


@pytest.mark.parametrize(
    ("size", "limits", "resized"),
    [
        ((1131, 709), {}, (1120, 700)),
        ((640, 480), {}, (644, 476)),
        ((1080, 1920), {}, (1092, 1932)),
        ((1080, 1920), {"max_pixels": 1_003_520}, (728, 1316)),
        ((3840, 2160), {"max_pixels": 1_003_520}, (1316, 728)),
        ((20, 20), {}, (56, 56)),  # below min_pixels: scaled up
    ],
)
def test_smart_resize_matches_qwen(size, limits, resized) -> None:
    assert smart_resize(size, **limits) == resized
    assert smart_resize(resized, **limits) == resized  # idempotent: an image sent at its grid size stays put


def test_smart_resize_refuses_extreme_aspect_ratio() -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize((10, 2500))


# (convention, answer, original size, input size, expected (x1, y1, x2, y2) boxes in original pixels, labels)
CASES = [
    ("pixel", '{"regions":[{"box":[10,20,30,40]}]}', (200, 100), None, [(10, 20, 30, 40)], [None]),
    ("norm1", '[{"box":[0.1,0.2,0.5,1.0],"label":"a"}]', (200, 100), None, [(20, 20, 100, 100)], ["a"]),
    ("norm1000", "[100, 200, 500, 1000]", (200, 100), None, [(20, 20, 100, 100)], [None]),
    (
        "qwen2-vl",
        "<|object_ref_start|>hand<|object_ref_end|><|box_start|>(100,200),(300,400)<|box_end|>",
        (1000, 500),
        None,
        [(100, 100, 300, 200)],
        ["hand"],
    ),
    ("qwen2-vl", "<ref>hand</ref><box>(100,200),(300,400)</box>", (1000, 500), None, [(100, 100, 300, 200)], ["hand"]),
    # Qwen2.5-VL: pixels of the smart-resized input, mapped back per axis (1080x1920 -> 1092x1932).
    (
        "qwen2.5-vl",
        '```json\n[{"bbox_2d": [109, 193, 546, 966], "label": "hand"}]\n```',
        (1080, 1920),
        None,
        [(109 * 1080 / 1092, 193 * 1920 / 1932, 546 * 1080 / 1092, 966 * 1920 / 1932)],
        ["hand"],
    ),
    # A server at 1 MP resized to 728x1316; the runner sends that size: boxes scale by 1080/728 and 1920/1316.
    (
        "qwen2.5-vl",
        '[{"bbox_2d": [72, 131, 364, 658]}]',
        (1080, 1920),
        (728, 1316),
        [(72 * 1080 / 728, 131 * 1920 / 1316, 364 * 1080 / 728, 658 * 1920 / 1316)],
        [None],
    ),
    (
        "qwen2.5-vl",
        "<|object_ref_start|>hand<|object_ref_end|><|box_start|>(112,56),(224,112)<|box_end|>",
        (644, 476),
        None,
        [(112, 56, 224, 112)],
        ["hand"],
    ),
    ("qwen3-vl", '[{"bbox_2d": [100, 200, 500, 600], "label": "x"}]', (200, 100), None, [(20, 20, 100, 60)], ["x"]),
    (
        "internvl",
        "<ref>hand</ref><box>[[100, 200, 300, 400], [500, 500, 600, 600]]</box>",
        (1000, 1000),
        None,
        [(100, 200, 300, 400), (500, 500, 600, 600)],
        ["hand", "hand"],
    ),
    (
        "paligemma",
        "<loc0256><loc0512><loc0768><loc1023> hand ; <loc0000><loc0000><loc0512><loc0512> sky",
        (200, 100),
        None,
        [(100, 25, 1023 / 1024 * 200, 75), (0, 0, 100, 50)],
        ["hand", "sky"],
    ),
    (
        "paligemma",
        "<verdict>fake</verdict><loc0256><loc0512><loc0768><loc1023> hand",
        (200, 100),
        None,
        [(100, 25, 1023 / 1024 * 200, 75)],
        ["hand"],
    ),
    (
        "florence2",
        "hand<loc_0><loc_0><loc_999><loc_499>",
        (1000, 500),
        None,
        [(0.5, 0.25, 999.5, 249.75)],
        ["hand"],
    ),
    (
        "gemini",
        '```json\n[{"box_2d": [250, 100, 750, 500], "label": "hand"}]\n```',
        (200, 100),
        None,
        [(20, 25, 100, 75)],
        ["hand"],
    ),
    (
        "deepseek-vl2",
        "<|ref|>hand<|/ref|><|det|>[[0, 0, 999, 999]]<|/det|>",
        (640, 480),
        None,
        [(0, 0, 640, 480)],
        ["hand"],
    ),
    (
        "cogvlm",
        "The left hand [[100,200,300,400;500,500,600,600]] has six fingers.",
        (1000, 1000),
        None,
        [(100, 200, 300, 400), (500, 500, 600, 600)],
        ["The left hand", "The left hand"],
    ),
    (
        "glm4v",
        "The hand <|begin_of_box|>[100,200,300,400]<|end_of_box|>",
        (1000, 1000),
        None,
        [(100, 200, 300, 400)],
        ["The hand"],
    ),
    ("minicpm-v", "<ref>hand</ref><box>100 200 300 400</box>", (1000, 1000), None, [(100, 200, 300, 400)], ["hand"]),
    # LLaVA-1.5: 0-1 of the padded 200x200 square; the 200x100 image sits 50 px down.
    ("llava-1.5", "the hand [0.1, 0.3, 0.5, 0.7]", (200, 100), None, [(20, 10, 100, 90)], ["the hand"]),
    (
        "kosmos2",
        "<phrase>a hand</phrase><object><patch_index_0000><patch_index_1023></object>",
        (320, 320),
        None,
        [(5, 5, 315, 315)],  # cell centres (0.5/32 ... 31.5/32)
        ["a hand"],
    ),
    (
        "kosmos2",
        "<object><patch_index_0033><patch_index_0033></delimiter_of_multi_objects/><patch_index_0000>"
        "<patch_index_0031></object>",
        (320, 320),
        None,
        [(10, 10, 20, 20), (0, 0, 320, 10)],  # one cell, one row: cell edges
        [None, None],
    ),
]


@pytest.mark.parametrize(("name", "text", "size", "input_size", "boxes", "labels"), CASES)
def test_answers_land_on_the_right_pixels(name, text, size, input_size, boxes, labels) -> None:
    verdict = parse(text, name, size, input_size=input_size)
    assert [r.box for r in verdict.regions] == [pytest.approx(b, abs=1e-6) for b in boxes]
    assert [r.label for r in verdict.regions] == labels
    assert not [e for e in verdict.parse_errors if e.startswith("region")]


@pytest.mark.parametrize(
    ("name", "text", "size", "point"),
    [
        ("molmo", '<point x="50" y="25" alt="hand">hand</point>', (200, 100), (100, 25)),
        ("qwen2.5-vl", '[{"point_2d": [322, 238], "label": "eye"}]', (640, 480), (322 * 640 / 644, 238 * 480 / 476)),
        ("qwen3-vl", '[{"point_2d": [500, 250]}]', (200, 100), (100, 25)),
        ("gemini", '[{"point": [250, 500], "label": "eye"}]', (200, 100), (100, 25)),
    ],
)
def test_points_become_small_square_regions(name, text, size, point) -> None:
    (region,) = parse(text, name, size).regions
    assert region.point == pytest.approx(point)
    half = POINT_BOX_FRACTION * min(size) / 2
    assert region.box == pytest.approx((point[0] - half, point[1] - half, point[0] + half, point[1] + half))


def test_molmo_multi_point_tag() -> None:
    text = '<points x1="10" y1="20" x2="30" y2="40" alt="eyes">eyes</points>'
    regions = parse(text, "molmo", (100, 100)).regions
    assert [r.point for r in regions] == [pytest.approx((10, 20)), pytest.approx((30, 40))]


def test_point_outside_the_image_is_dropped_with_a_reason() -> None:
    verdict = parse('<point x="150" y="20">x</point>', "molmo", (100, 100))
    assert verdict.regions == () and any("outside the image" in e for e in verdict.parse_errors)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("internvl", "<ref>a</ref><box>[[1, 2, 3]]</box><ref>b</ref><box>[[0,0,500,500]]</box>", "3 numbers"),
        ("deepseek-vl2", "<|ref|>a<|/ref|><|det|>[[0,0,500,500]]<|/det|><|ref|>b<|/ref|><|det|>[[1,2", "2 numbers"),
        (
            "kosmos2",
            "<object><patch_index_0001></object><object><patch_index_0000><patch_index_0100></object>",
            "cells",
        ),
        ("molmo", '<point x="a" y="1">p</point><point x="5" y="5">q</point>', "without numbers"),
        ("paligemma", "<loc0001><loc0002><loc0003> x ; <loc0000><loc0000><loc0512><loc0512> y", "3 numbers"),
    ],
)
def test_one_bad_item_costs_only_itself(name, text, problem) -> None:
    verdict = parse(text, name, (1000, 1000))
    assert len(verdict.regions) == 1
    assert any(problem in e for e in verdict.parse_errors)


def test_truncated_deepseek_answer_keeps_complete_boxes() -> None:
    # Count-matched parsers raise here; the last box lost its closing tag but is whole.
    text = "<|ref|>a<|/ref|><|det|>[[0,0,999,999]]<|/det|><|ref|>b<|/ref|><|det|>[[0,0,499,499]]"
    assert len(parse(text, "deepseek-vl2", (999, 999)).regions) == 2


def test_llava_padding_follows_the_input_size() -> None:
    # The model saw a 100x50 resize; the square is 100x100 with the image 25 px down.
    verdict = parse("[0.0, 0.25, 1.0, 0.75]", "llava-1.5", (200, 100), input_size=(100, 50))
    assert verdict.regions[0].box == pytest.approx((0, 0, 200, 100))


@pytest.mark.parametrize("convention", conventions(), ids=lambda c: c.name)
def test_example_parses_back_to_the_example_region(convention: Convention) -> None:
    (region,) = parse(convention.example(), convention, EXAMPLE_SIZE).regions
    sx, sy = convention.step(EXAMPLE_SIZE)
    if convention.name == "molmo":
        assert region.point == pytest.approx((192, 240), abs=1 + max(sx, sy))
    else:
        assert region.box == pytest.approx((64, 120, 320, 360), abs=1 + max(sx, sy))
    assert region.label == "fused fingers" or (region.label or "").endswith("fused fingers")


@pytest.mark.parametrize(
    ("name", "region", "text"),
    [
        (
            "norm1000",
            Region((20, 10, 100, 90), label="x", score=0.5),
            '[{"box": [100, 100, 500, 900], "label": "x", "score": 0.5}]',
        ),
        ("paligemma", Region((0, 0, 200, 100), label="x"), "<loc0000><loc0000><loc1023><loc1023> x"),
        ("florence2", Region((0, 0, 200, 100)), "<loc_0><loc_0><loc_999><loc_999>"),
        ("cogvlm", Region((0, 0, 20, 10), label="x"), "x [[000,000,100,100]]"),
        ("gemini", Region((20, 10, 100, 90)), '[{"box_2d": [100, 100, 900, 500]}]'),
        ("llava-1.5", Region((0, 0, 200, 100)), "[0, 0.25, 1, 0.75]"),
        ("minicpm-v", Region((20, 10, 100, 90), label="x"), "<ref>x</ref><box>100 100 500 900</box>"),
    ],
)
def test_format_writes_the_family_syntax(name, region, text) -> None:
    assert get_convention(name).format([region], (200, 100)) == text


def test_unknown_convention_lists_known() -> None:
    with pytest.raises(KeyError, match=r"qwen2\.5-vl"):
        get_convention("qwen9")


def test_names_are_unique() -> None:
    from grounddefake.conventions import register

    with pytest.raises(ValueError, match="already registered"):
        register(get_convention("pixel"))


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl"),
        ("qwen2.5vl:7b", "qwen2.5-vl"),
        ("Qwen/Qwen2-VL-2B-Instruct", "qwen2-vl"),
        ("Qwen/Qwen3-VL-8B-Instruct", "qwen3-vl"),
        ("OpenGVLab/InternVL3-8B", "internvl"),
        ("google/paligemma2-3b-pt-448", "paligemma"),
        ("microsoft/Florence-2-large", "florence2"),
        ("gemini-2.5-flash", "gemini"),
        ("deepseek-ai/deepseek-vl2-tiny", "deepseek-vl2"),
        ("THUDM/cogvlm-grounding-generalist-hf", "cogvlm"),
        ("zai-org/GLM-4.5V", "glm4v"),
        ("openbmb/MiniCPM-V-4_5", "minicpm-v"),
        ("llava-hf/llava-1.5-7b-hf", "llava-1.5"),
        ("microsoft/kosmos-2-patch14-224", "kosmos2"),
        ("allenai/Molmo-7B-D-0924", "molmo"),
        ("gpt-4o", None),
        ("llava-hf/llava-onevision-qwen2-7b-ov-hf", None),  # no documented grounding format: prompt-defined
    ],
)
def test_model_names_find_their_family(model: str, name: str | None) -> None:
    from grounddefake.conventions import convention_for_model

    found = convention_for_model(model)
    assert (found.name if found else None) == name


def test_readme_lists_every_convention_with_its_example() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for convention in conventions():
        row = f"| `{convention.name}` |"
        lines = [line for line in readme.splitlines() if line.startswith(row)]  # its row of the conventions table
        example = f"`{convention.example().replace('|', chr(92) + '|')}`"
        assert any(example in line for line in lines), convention.name


# Numbers grouped in fours: a stray or truncated value costs only itself. Answers marked with a source are raw model
# outputs from other projects' published parser tests; the boxes are theirs (Hugging Face truncates its pixels to
# integers, so its boxes are matched within 1 px of Florence-2's bin centres).
LEFTOVERS = [
    # transformers tests/models/florence2/test_processing_florence2.py
    # (test_post_process_parse_description_with_bboxes_from_text_and_spans): 13 tokens, 3 boxes kept
    (
        "florence2",
        "</s><s><loc_53><loc_334><loc_933><loc_775><loc_711><loc_203><loc_906><loc_546><loc_585><loc_309><loc_774>"
        "<loc_709><loc_577></s><pad>",
        (1000, 1000),
        [(53, 334, 933, 775), (711, 203, 906, 546), (585, 309, 774, 709)],
        [None, None, None],
        1,
    ),
    # the same test's labelled answer, with a stray 5th token in the first group
    (
        "florence2",
        "</s><s>car<loc_53><loc_334><loc_933><loc_775><loc_12>door handle<loc_425><loc_504><loc_474><loc_516></s>",
        (1000, 1000),
        [(53, 334, 933, 775), (425, 504, 474, 516)],
        ["car", "door handle"],
        1,
    ),
    # transformers test_post_process_parse_phrase_grounding_from_text_and_spans: two boxes for one phrase
    (
        "florence2",
        "</s><s>red car<loc_53><loc_334><loc_933><loc_775><loc_711><loc_203><loc_906><loc_546>sky<loc_0><loc_0>"
        "<loc_999><loc_300></s>",
        (1000, 1000),
        [(53, 334, 933, 775), (711, 203, 906, 546), (0, 0, 999, 300)],
        ["red car", "red car", "sky"],
        0,
    ),
    # a group of 3 tokens (shorter than a box) is noted too, and costs the next phrase nothing
    (
        "florence2",
        "car<loc_53><loc_334><loc_933> sky<loc_0><loc_0><loc_999><loc_300>",
        (1000, 1000),
        [(0, 0, 999, 300)],
        ["sky"],
        1,
    ),
    # roboflow/supervision test/detection/test_vlm.py (test_from_paligemma, "partial valid again"); supervision drops
    # the group with the extra token, this parser keeps its complete box
    (
        "paligemma",
        "<loc0256><loc0256><loc0768><loc0768> cat ; <loc0256><loc0256><loc0768><loc0768><loc0768> cat",
        (1000, 1000),
        [(250, 250, 750, 750), (250, 250, 750, 750)],
        ["cat", "cat"],
        1,
    ),
    # supervision test_from_paligemma, "extra loc"
    (
        "paligemma",
        "<loc0256><loc0256><loc0768><loc0768><loc0768> cat",
        (1000, 1000),
        [(250, 250, 750, 750)],
        ["cat"],
        1,
    ),
    # supervision test_from_paligemma, "partial location": nothing complete, one note
    ("paligemma", "<loc0256><loc0768><loc0768> cat", (1000, 1000), [], [], 1),
    ("cogvlm", "fused fingers [[100,200,300,400,500]]", (1000, 1000), [(100, 200, 300, 400)], ["fused fingers"], 1),
    (
        "internvl",
        "<ref>hand</ref><box>[[100, 200, 300, 400], [500, 600, 700]]</box>",
        (1000, 1000),
        [(100, 200, 300, 400)],
        ["hand"],
        1,
    ),
    ("qwen2-vl", "<|box_start|>(100,200),(300,400),(500<|box_end|>", (1000, 1000), [(100, 200, 300, 400)], [None], 1),
    ("deepseek-vl2", "<|ref|>a<|/ref|><|det|>[[0,0,999,999,5]]<|/det|>", (999, 999), [(0, 0, 999, 999)], ["a"], 1),
]


@pytest.mark.parametrize(("name", "text", "size", "boxes", "labels", "notes"), LEFTOVERS)
def test_complete_boxes_survive_a_stray_value(name, text, size, boxes, labels, notes) -> None:
    verdict = parse(text, name, size)
    assert len(verdict.regions) == len(boxes)
    for region, box in zip(verdict.regions, boxes, strict=True):
        assert all(abs(got - want) <= 1 for got, want in zip(region.box, box, strict=True)), (region.box, box)
    assert [r.label for r in verdict.regions] == labels
    assert sum("left over" in e for e in verdict.parse_errors) == notes


# supervision's from_qwen_2_5_vl takes the model's coordinate space (input_wh); this parser's input_size is the image
# sent, which Qwen's processor smart-resizes. Answer and boxes from roboflow/supervision test/detection/test_vlm.py
# (test_from_qwen_2_5_vl, "single box no classes" and "partial filtering").
QWEN_ANSWER = '```json\n[{"bbox_2d": [10, 20, 110, 120], "label": "cat"}]\n```'


@pytest.mark.parametrize(
    ("size", "coordinate_space", "box"),
    [((1280, 720), (640, 640), (20.0, 22.5, 220.0, 135.0)), ((640, 480), (640, 640), (10.0, 15.0, 110.0, 90.0))],
)
def test_a_coordinate_space_is_read_with_the_pixel_convention(size, coordinate_space, box) -> None:
    verdict = parse(QWEN_ANSWER, "pixel", size, input_size=coordinate_space)
    assert verdict.regions[0].box == pytest.approx(box)
    assert not any("snapped" in e for e in verdict.parse_errors)


@pytest.mark.parametrize(
    ("name", "size", "input_size", "note"),
    [
        ("qwen2.5-vl", (1280, 720), (640, 640), "input size 640x640 snapped to Qwen's 28-px grid: 644x644"),
        ("qwen2.5-vl", (640, 480), None, "input size 640x480 snapped to Qwen's 28-px grid: 644x476"),
        ("qwen2.5-vl", (1288, 952), (644, 476), None),  # already on the grid
        ("qwen2.5-vl@1003520", (1080, 1920), None, "input size 1080x1920 snapped to Qwen's 28-px grid: 728x1316"),
        ("pixel", (640, 480), (640, 640), None),
    ],
)
def test_a_qwen_input_size_snapped_to_the_grid_is_noted(name, size, input_size, note) -> None:
    verdict = parse(QWEN_ANSWER, name, size, input_size=input_size)
    snapped = [e for e in verdict.parse_errors if "snapped" in e]
    assert len(verdict.regions) == 1
    if note is None:
        assert snapped == []
    else:
        assert len(snapped) == 1 and snapped[0].startswith(note)
