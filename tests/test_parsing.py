from __future__ import annotations

import math

import pytest

from grounddefake.parsing import MAX_TEXT, parse, parse_with_transform
from grounddefake.types import TokenLogprob, Transform
from grounddefake.verdict_words import normalize_label, score_from_logprobs

SIZE = (200, 100)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ('{"verdict": "fake", "rationale": "x"}', "fake"),
        ('```json\n{"verdict": "Real", "rationale": "x"}\n```', "real"),
        ("Sure! {'verdict': 'fake', 'regions': [],}", "fake"),
        ('{"result": {"label": "AI-generated"}}', "fake"),  # one nested object deep
        ("<verdict>fake</verdict> because of the hands", "fake"),
        ("Answer: real", "real"),
        ("Final answer: **AI-generated**", "fake"),
        ("This image is AI-generated.", "fake"),
        ("This photo is not AI-generated; it looks natural.", "real"),
        ("The image is not real.", "fake"),
        ("This is an authentic photograph.", "real"),
        ("I cannot determine whether this image is real or fake.", "unknown"),
        ("It looks real but parts seem manipulated.", "unknown"),
        ("A cat on a sofa.", "unknown"),
        ("", "unknown"),
    ],
)
def test_verdicts(text: str, label: str) -> None:
    verdict = parse(text, "norm1000", SIZE)
    assert verdict.label == label
    if label == "unknown":
        assert verdict.parse_errors, "an unknown verdict must say why"


def test_rationale_without_json_noise() -> None:
    text = 'Looking closely.\n```json\n{"verdict": "fake", "regions": []}\n```\nThe shadows disagree.'
    verdict = parse(text, "norm1000", SIZE)
    assert verdict.label == "fake"
    assert "```" not in verdict.rationale and "{" not in verdict.rationale
    assert "shadows disagree" in verdict.rationale


@pytest.mark.parametrize(
    ("text", "box"),
    [
        ('{"verdict": "fake", "regions": [{"box": [100, 200, 500, 600], "label": "hand"}]}', (20, 20, 100, 60)),
        ('{"verdict": "fake", "regions": [{"bbox_2d": [100, 200, 500, 600]}]}', (20, 20, 100, 60)),
        ('{"verdict": "fake", "boxes": [[100, 200, 500, 600]]}', (20, 20, 100, 60)),
        ('[{"bbox": [100, 200, 500, 600], "label": "x"}] fake', (20, 20, 100, 60)),
    ],
)
def test_regions_in_original_pixels(text: str, box) -> None:
    verdict = parse(text, "norm1000", SIZE)
    assert verdict.regions[0].box == pytest.approx(box)


def test_input_size_maps_back_per_axis() -> None:
    # The model saw a 100x100 resize of a 200x100 image and answered in its pixels.
    verdict = parse('{"verdict":"fake","regions":[{"box":[10,10,50,50]}]}', "pixel", SIZE, input_size=(100, 100))
    assert verdict.regions[0].box == pytest.approx((20, 10, 100, 50))


def test_padding_transform() -> None:
    verdict = parse_with_transform(
        '{"verdict":"fake","regions":[{"box":[0.0,0.25,0.5,0.75]}]}', "norm1", Transform.pad_to_square((200, 100))
    )
    assert verdict.regions[0].box == pytest.approx((0, 0, 100, 100))


@pytest.mark.parametrize(
    ("box", "expected", "reason"),
    [
        ([500, 600, 100, 200], (20, 20, 100, 60), "reordered"),
        ([-100, 200, 500, 1200], (0, 20, 100, 100), "clipped"),
        ([1100, 200, 1500, 600], None, "dropped"),
        ([100, 200, 100, 600], None, "dropped"),
    ],
)
def test_box_sanitizing_records_reasons(box, expected, reason) -> None:
    verdict = parse(f'{{"verdict":"fake","regions":[{{"box":{box}}}]}}', "norm1000", SIZE)
    if expected is None:
        assert verdict.regions == ()
    else:
        assert verdict.regions[0].box == pytest.approx(expected)
    assert any(reason in e for e in verdict.parse_errors)


@pytest.mark.parametrize(
    "item", ['{"box": [1, 2, 3]}', '{"box": ["a", 2, 3, 4]}', '{"label": "no box"}', '{"box": [1e999, 0, 1, 1]}']
)
def test_bad_items_are_reported_not_fatal(item: str) -> None:
    text = f'{{"verdict":"fake","regions":[{item}, {{"box":[0,0,500,500]}}]}}'
    verdict = parse(text, "norm1000", SIZE)
    assert len(verdict.regions) == 1
    assert any(e.startswith("region 0") for e in verdict.parse_errors)


def test_regions_without_convention_are_reported() -> None:
    verdict = parse('{"verdict":"fake","regions":[{"box":[0,0,5,5]}]}', None, SIZE)
    assert verdict.regions == () and "no box convention" in verdict.parse_errors[0]


def test_score_from_logprobs_renormalises_over_verdict_tokens() -> None:
    top = (("fake", math.log(0.6)), ("real", math.log(0.2)), ("maybe", math.log(0.2)))
    score = score_from_logprobs([TokenLogprob("{", 0.0), TokenLogprob("fake", math.log(0.6), top)])
    assert score == pytest.approx(0.75)
    assert score_from_logprobs(None) is None
    assert score_from_logprobs([TokenLogprob("hello", 0.0)]) is None


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("FAKE", "fake"),
        ("ai-generated", "fake"),
        ("Authentic", "real"),
        (True, "fake"),
        (False, "real"),
        ("maybe", None),
        (3, None),
    ],
)
def test_normalize_label(value, label) -> None:
    assert normalize_label(value) == label


def test_untrusted_size_is_bounded() -> None:
    verdict = parse("fake " * 300_000, None, SIZE)
    assert len(verdict.raw) == MAX_TEXT
    assert any("truncated" in e for e in verdict.parse_errors)


@pytest.mark.parametrize(
    ("text", "boxes"),
    [
        ('Fake. [1, 2] {"verdict":"fake","regions":[{"box":[100,200,500,600]}]}', [(20, 20, 100, 60)]),
        ('{"verdict":"fake","regions":{"box":[100,200,500,600]}}', [(20, 20, 100, 60)]),
        ('fake {"bbox_2d":[100,200,500,600],"label":"hand"}', [(20, 20, 100, 60)]),
        ("fake [100, 200, 500, 600]", [(20, 20, 100, 60)]),
        ('[{"box":[0,0,50,50]}] then {"verdict":"fake","regions":[{"box":[100,200,500,600]}]}', [(20, 20, 100, 60)]),
    ],
)
def test_region_list_is_found_where_the_verdict_is(text: str, boxes) -> None:
    verdict = parse(text, "norm1000", SIZE)
    assert [r.box for r in verdict.regions] == [pytest.approx(b) for b in boxes]
    assert not any(e.startswith("region") for e in verdict.parse_errors)


def test_unusable_regions_value_is_reported() -> None:
    verdict = parse('{"verdict":"fake","regions":5}', "norm1000", SIZE)
    assert verdict.regions == () and verdict.parse_errors


@pytest.mark.parametrize("score", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_region_score_is_dropped(score: str) -> None:
    verdict = parse(f'{{"verdict":"fake","regions":[{{"box":[0,0,10,10],"score":{score}}}]}}', "norm1000", SIZE)
    assert verdict.regions[0].score is None
    assert any("finite" in e for e in verdict.parse_errors)


def test_tiny_box_is_dropped_with_reason_and_records_round_trip() -> None:
    from grounddefake.types import Region

    verdict = parse('{"verdict":"fake","regions":[{"box":[0.5,0.5,0.50001,0.6]}]}', "norm1", SIZE)
    assert verdict.regions == () and any("dropped" in e for e in verdict.parse_errors)
    kept = parse('{"verdict":"fake","regions":[{"box":[0.5,0.5,0.5001,0.6]}]}', "norm1", SIZE).regions[0]
    assert Region.from_json(kept.to_json()).box == pytest.approx(kept.box, abs=1e-3)


def test_huge_numbers_do_not_bloat_errors() -> None:
    verdict = parse('{"verdict":"fake","regions":[{"box":[1e300,0,2e300,10]}]}', "norm1000", SIZE)
    assert sum(len(e) for e in verdict.parse_errors) < 300


def test_negation_reaches_over_a_few_words() -> None:
    verdict = parse("The image is real. It shows no signs of being AI-generated.", None, SIZE)
    assert verdict.label == "real"


@pytest.mark.parametrize(
    ("text", "label", "rationale"),
    [
        (
            "<think>Real or fake? The hands look fake.</think>\nAnswer: real. Lighting is consistent.",
            "real",
            "Answer: real. Lighting is consistent.",
        ),
        ("<think>Looks generated to me.</think>", "unknown", "Looks generated to me."),
        ("<verdict>fake</verdict><reason>The <b>shadows</b> disagree.</reason>", "fake", "The shadows disagree."),
        (
            "<|im_start|>assistant\n<verdict>fake</verdict> The clock face is melted.<|im_end|>",
            "fake",
            "The clock face is melted.",
        ),
    ],
)
def test_rationale_is_the_explanation_without_markup(text: str, label: str, rationale: str) -> None:
    verdict = parse(text, None, SIZE)
    assert verdict.label == label
    assert verdict.rationale == rationale


@pytest.mark.parametrize(
    ("convention", "text", "rationale"),
    [
        (
            "internvl",
            "Fake: the <ref>left hand</ref><box>[[1,2,300,400]]</box> has six fingers.",
            "Fake: the left hand has six fingers.",
        ),
        ("paligemma", "fake <loc0000><loc0000><loc0512><loc0512> melted clock", "fake melted clock"),
        (
            "qwen2.5-vl",
            'Fake.\n```json\n[{"bbox_2d": [1, 2, 30, 40], "label": "hand"}]\n```\nSix fingers.',
            "Fake.\n\nSix fingers.",
        ),
    ],
)
def test_native_markup_leaves_the_rationale(convention: str, text: str, rationale: str) -> None:
    verdict = parse(text, convention, (640, 480))
    assert verdict.label == "fake" and len(verdict.regions) == 1
    assert verdict.rationale == rationale


def test_a_region_label_is_not_a_verdict() -> None:
    verdict = parse('{"bbox_2d": [1, 2, 3, 4], "label": "AI-generated hand"}', "qwen3-vl", SIZE)
    assert verdict.label == "unknown"  # the answer is only a region: its label says nothing about the image
    assert verdict.regions[0].label == "AI-generated hand"


def test_truncated_answer_keeps_its_verdict_and_complete_regions() -> None:
    text = '{"verdict": "fake", "regions": [{"box": [100, 200, 500, 600], "label": "hand"}, {"box": [10, 2'
    verdict = parse(text, "norm1000", SIZE)
    assert verdict.label == "fake"
    assert [r.box for r in verdict.regions] == [pytest.approx((20, 20, 100, 60))]
    assert any("truncated JSON repaired" in e for e in verdict.parse_errors)


def test_json_regions_use_the_convention_axis_order() -> None:
    verdict = parse('{"verdict": "fake", "regions": [{"box_2d": [250, 100, 750, 500]}]}', "gemini", SIZE)
    assert verdict.regions[0].box == pytest.approx((20, 25, 100, 75))


def test_native_markup_without_convention_is_left_as_text() -> None:
    verdict = parse("fake <ref>hand</ref><box>[[1,2,3,4]]</box>", None, SIZE)
    assert verdict.regions == () and verdict.label == "fake"


@pytest.mark.parametrize("size", [(0, 10), (10, -1), (10,), "10x10", None])
def test_bad_sizes_are_refused_clearly(size) -> None:
    with pytest.raises(ValueError, match="size"):
        parse("fake", "pixel", size)


def test_convention_parse_returns_model_space_regions() -> None:
    from grounddefake.box_syntax import ModelRegion
    from grounddefake.conventions import get_convention

    gemini = get_convention("gemini")
    assert gemini.parse('[{"box_2d": [250, 100, 750, 500], "label": "a"}]') == [
        ModelRegion((250, 100, 750, 500), "box", "a")
    ]
    assert get_convention("internvl").parse("<ref>a</ref><box>[[1,2,3,4]]</box>") == [
        ModelRegion((1, 2, 3, 4), label="a")
    ]


# -- answers that once hung the parser or made it raise (each finishes in milliseconds now) -----------------

PATHOLOGICAL = [
    "<answer>" + " " * 20_000,  # was cubic: \s*(.*?)\s* over a run of spaces
    "<answer>" + "\n" * 20_000,
    "<answer>" * 20_000,  # was quadratic: every unclosed tag re-scanned to the end
    "<verdict>" * 20_000,
    "<reason>" * 20_000,
    "answer" + " " * 50_000 + ":",
    '{"verdict": "fake", "rationale": "' + 'The sign reads \\"OPEN 24H\\" in warped letters. ' * 2000,
    "[" + '"a\\' * 30_000,  # truncated string with escapes
    "[" * 60 + "a," * 40_000 + "]" * 60,  # nested groups re-read as Python literals
    "[1" + "0" * 5000 + "]",  # past Python's integer digit limit
    '[{"bbox_2d": [1' + "0" * 6000,  # a model stuck repeating a digit
    '{"regions":[{"box":[1' + "0" * 400 + ',0,1,1], "score": 1' + "0" * 400 + "}]}",
    "[" * 200_000,
    "{a" * 100_000,
    "<ref>" * 30_000 + "<box>" * 30_000,
    "<loc0001>" * 20_000,
    "<point x=" * 20_000,
    "İ" * 100_000 + " fake",  # lower() changes the length
]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=range(len(PATHOLOGICAL)))
@pytest.mark.parametrize("convention", ["norm1000", "internvl", "paligemma", "molmo", "florence2"])
def test_pathological_answers_complete(text: str, convention: str) -> None:
    verdict = parse(text, convention, (640, 480))
    assert verdict.label in ("real", "fake", "unknown")
    assert all(0 <= r.box[0] < r.box[2] <= 640 and 0 <= r.box[1] < r.box[3] <= 480 for r in verdict.regions)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("My first guess would be answer: real, but the fingers are fused.\n</think>\n\nVerdict: fake", "fake"),
        ("Hmm, the lighting looks authentic.</think>\nThe image is AI-generated.", "fake"),
        ("There is no evidence that this image is fake.", "real"),
        ("I don't think this image is real.", "fake"),
        ("No doubt this image is real.", "real"),
        ("Is this image real or AI-generated? After analysis, it is AI-generated.", "fake"),
        ("Real or Fake: Fake", "fake"),
        ("**Classification:** Fake", "fake"),
        ("Result: fake. Real photos don't look like this.", "fake"),
        ("The answer is: fake. A real photo would show pores.", "fake"),
        ('{"is_fake": "yes"}', "fake"),
        ('{"is_fake": "no"}', "real"),
        ('{"is_real": false}', "fake"),
        ('{"is_ai_generated": true, "reason": "x"}', "fake"),
        ('{"verdict": "fake", "bbox": [1, 2, 3, 4]}', "fake"),
        ('{"label": "fake", "bbox": [1, 2, 3, 4]}', "unknown"),  # a region's label names the region, not the image
    ],
)
def test_verdicts_on_common_phrasings(text: str, label: str) -> None:
    assert parse(text, "norm1000", SIZE).label == label


@pytest.mark.parametrize(
    ("convention", "text", "rationale"),
    [
        (
            None,
            "Fake: the code `List<int>` and the token <EOS> are printed on the sign.",
            "Fake: the code `List<int>` and the token <EOS> are printed on the sign.",
        ),
        ("florence2", "fake. melted clock<loc_100><loc_100><loc_500><loc_500>", "fake. melted clock"),
        (
            "kosmos2",
            "The image is fake:<phrase> a melted clock</phrase><object><patch_index_0000><patch_index_0100>"
            "</object> is wrong.",
            "The image is fake: a melted clock is wrong.",
        ),
        (
            None,
            '{"verdict": "fake", "explanation": {"hands": "six fingers", "text": "garbled"}}',
            "six fingers garbled",
        ),
    ],
)
def test_rationale_keeps_the_model_words(convention, text: str, rationale: str) -> None:
    assert parse(text, convention, SIZE).rationale == rationale


def test_florence_label_stops_at_the_sentence() -> None:
    (region,) = parse("fake. melted clock<loc_100><loc_100><loc_500><loc_500>", "florence2", SIZE).regions
    assert region.label == "melted clock"


def test_moondream_points_and_xywh_boxes() -> None:
    verdict = parse('{"points": [{"x": 0.5, "y": 0.25}]}', "norm1", SIZE)
    assert verdict.regions[0].point == pytest.approx((100, 25))
    verdict = parse('{"verdict": "fake", "regions": [{"x": 10, "y": 20, "width": 30, "height": 40}]}', "pixel", SIZE)
    assert verdict.regions[0].box == pytest.approx((10, 20, 40, 60))


def test_fractions_under_a_1000_convention_are_flagged_not_reinterpreted() -> None:
    verdict = parse("<ref>a</ref><box>[[0.4518, 0.2, 0.9, 0.6]]</box>", "internvl", (1000, 1000))
    assert verdict.regions[0].box == pytest.approx((0.4518, 0.2, 0.9, 0.6))
    assert any("within 0–1" in e for e in verdict.parse_errors)


def test_qwen_server_limit_in_the_convention_name() -> None:
    text = '[{"bbox_2d": [72, 131, 364, 658]}]'
    verdict = parse(text, "qwen2.5-vl@1003520", (1080, 1920))
    assert verdict.regions[0].box == pytest.approx((72 * 1080 / 728, 131 * 1920 / 1316, 540, 960), abs=0.5)
    with pytest.raises(KeyError, match="only smart-resize"):
        parse(text, "internvl@1003520", (1080, 1920))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("yes", "fake"),
        ("Yes.", "fake"),
        ("no", "real"),
        ('  "yes"', "fake"),
        ("NO!", "real"),
        ("No doubt, this is fake.", "fake"),  # not a short answer: read as any other text
        ("Yes, it is an authentic photograph.", "real"),
        ("maybe", "unknown"),
        ("nothing suggests generation", "unknown"),  # "no" must be a whole word
    ],
)
def test_a_packs_short_answers_state_the_verdict(text: str, label: str) -> None:
    from grounddefake.parsing import parse_with_transform
    from grounddefake.types import Transform

    verdict = parse_with_transform(text, None, Transform.identity((10, 10)), answers={"yes": "fake", "no": "real"})
    assert verdict.label == label


def test_a_backend_score_wins_over_top_logprobs() -> None:
    from grounddefake.parsing import parse_completion
    from grounddefake.types import Completion, TokenLogprob, Transform

    logprobs = (TokenLogprob("fake", -0.1, (("fake", -0.1), ("real", -2.4))),)
    transform = Transform.identity((10, 10))
    assert parse_completion(Completion("fake", logprobs), None, transform).score == pytest.approx(0.909, abs=1e-3)
    assert parse_completion(Completion("fake", logprobs, score=0.25), None, transform).score == 0.25


_BOX = '{"box": [100, 250, 500, 750], "label": "x"}'
_MANY = "[" + ", ".join([_BOX] * 20_000) + "]"  # about 1 MB of boxes
_WHY = "The fingers are fused."


@pytest.mark.parametrize(
    ("text", "convention", "rationale"),
    [
        ('{"verdict": "fake", "rationale": "' + _WHY + '", "regions": ' + _MANY + "}", "norm1000", _WHY),
        ('{"verdict": "fake", "regions": ' + _MANY + ', "rationale": "' + _WHY + '"}', "norm1000", _WHY),
        ("The image is fake. " + _MANY + " " + _WHY, "norm1000", "The image is fake. " + _WHY),
        ("fake. " + "<ref>hand</ref><box>[[100, 250, 500, 750]]</box>" * 20_000 + " " + _WHY, "internvl", None),
        ("fake. fused fingers" + "<loc_100><loc_250><loc_500><loc_750>" * 20_000 + " " + _WHY, "florence2", None),
        (
            " ; ".join(["<loc0256><loc0102><loc0768><loc0512> hand"] * 20_000) + "\nIt is fake. " + _WHY,
            "paligemma",
            None,
        ),
    ],
    ids=["json-rationale-first", "json-rationale-last", "json-list-prose", "internvl", "florence2", "paligemma"],
)
def test_regions_past_the_cap_are_counted_and_the_rationale_kept(text: str, convention: str, rationale) -> None:
    verdict = parse(text, convention, (640, 480))
    assert len(verdict.regions) == 1000
    assert "19000 region(s) dropped: at most 1000 regions are read from one answer" in verdict.parse_errors
    assert verdict.label == "fake"
    if rationale is not None:
        assert verdict.rationale == rationale
    assert verdict.rationale.endswith(_WHY) and len(verdict.rationale) < 100  # no box markup debris


def test_grounding_more_than_the_cap_says_how_many_were_dropped() -> None:
    from grounddefake.conventions import get_convention
    from grounddefake.model_regions import ModelRegion

    regions, notes = get_convention("norm1000").ground(
        [ModelRegion((100, 250, 500, 750))] * 1003, Transform.identity((640, 480))
    )
    assert len(regions) == 1000
    assert notes == ["3 region(s) dropped: at most 1000 regions are read from one answer"]


# JSON boxes with more than 4 numbers: every complete box is kept, the remainder noted. A 5th number in [0, 1] is the
# region's score ([x1, y1, x2, y2, score], as detectors write it) unless the item has a score key; 8 numbers are two
# boxes.
EXTRA_NUMBERS = [
    ('{"box": [100, 200, 300, 400, 0.9], "label": "hand"}', [(100, 200, 300, 400)], [0.9], "read as its score"),
    ('{"box": [100, 200, 300, 400, 1]}', [(100, 200, 300, 400)], [1.0], "read as its score"),
    ('{"box": [100, 200, 300, 400, 3]}', [(100, 200, 300, 400)], [None], "not a score in 0–1"),
    ('{"box": [100, 200, 300, 400, 0.9], "score": 0.5}', [(100, 200, 300, 400)], [0.5], "the region has a score"),
    (
        '{"bbox": [100, 200, 300, 400, 500, 600, 700, 800]}',
        [(100, 200, 300, 400), (500, 600, 700, 800)],
        [None] * 2,
        "read as 2 boxes",
    ),
    (
        '{"box": [[100, 200, 300, 400], [500, 600, 700, 800]]}',
        [(100, 200, 300, 400), (500, 600, 700, 800)],
        [None] * 2,
        "",
    ),
    ('{"box": [1, 2, 3, 4, 5, 6, 7, 8, 9]}', [(1, 2, 3, 4), (5, 6, 7, 8)], [None] * 2, "1 number left over"),
    ('{"box": [100, 200, 300, 400, 500, 600]}', [(100, 200, 300, 400)], [None], "2 numbers left over"),
    ("[100, 200, 300, 400, 0.75]", [(100, 200, 300, 400)], [0.75], "read as its score"),  # a bare list as an item
]


@pytest.mark.parametrize(
    ("item", "boxes", "scores", "note"),
    EXTRA_NUMBERS,
    ids=["score", "score-1", "not-a-score", "keyed-score", "eight", "nested", "nine", "six", "bare-list"],
)
def test_json_boxes_with_extra_numbers_keep_every_complete_box(item: str, boxes, scores, note: str) -> None:
    verdict = parse(f'{{"verdict": "fake", "regions": [{item}]}}', "norm1000", (1000, 1000))
    assert [r.box for r in verdict.regions] == [pytest.approx(b) for b in boxes]
    assert [r.score for r in verdict.regions] == scores
    notes = [e for e in verdict.parse_errors if e.startswith("region ")]
    assert len(notes) == (1 if note else 0), verdict.parse_errors
    assert all(note in n for n in notes)


def test_a_json_item_of_two_boxes_keeps_its_label_on_both() -> None:
    verdict = parse('[{"box_2d": [100, 200, 300, 400, 500, 600, 700, 800], "label": "eyes"}] fake', "gemini", SIZE)
    assert [r.label for r in verdict.regions] == ["eyes", "eyes"]
    assert verdict.regions[0].box == pytest.approx((40, 10, 80, 30))  # Gemini: y first, 0–1000


# Raw answers from other projects' published parser tests (and, for InternVL, its documented format), with the boxes
# those projects expect. The Florence-2, PaliGemma and Qwen2.5-VL answers with stray values are in test_conventions.
PUBLISHED = [
    # roboflow/supervision test/detection/test_vlm.py, test_from_google_gemini "multiple valid boxes"
    (
        "gemini",
        '```json\n[{"box_2d": [10, 20, 110, 120], "label": "cat"}, '
        '{"box_2d": [50, 100, 150, 200], "label": "dog"}]\n```',
        (640, 480),
        None,
        [(12.8, 4.8, 76.8, 52.8), (64.0, 24.0, 128.0, 72.0)],
        ["cat", "dog"],
    ),
    # the same test, "single valid box with coordinate scaling"
    (
        "gemini",
        '```json\n[{"box_2d": [100, 200, 300, 400], "label": "cat"}]\n```',
        (1000, 500),
        None,
        [(200.0, 50.0, 400.0, 150.0)],
        ["cat"],
    ),
    # supervision test_from_qwen_2_5_vl "multiple no classes" (its input_wh is the coordinate space: pixel + input_size)
    (
        "pixel",
        '```json\n[{"bbox_2d": [0, 0, 64, 64], "label": "dog"}, '
        '{"bbox_2d": [100, 200, 300, 400], "label": "cat"}]\n```',
        (640, 640),
        (640, 640),
        [(0, 0, 64, 64), (100, 200, 300, 400)],
        ["dog", "cat"],
    ),
    # supervision test_from_qwen_2_5_vl "missing keys": supervision returns no box at all; here the two complete items
    # are kept and the one without a box is noted
    (
        "pixel",
        '```json\n[{"bbox_2d": [10, 10, 100, 100]}, {"label": "missing box"}, {"bbox_2d": [50, 60, 110, 120], '
        '"unused": "something"}]\n```',
        (1280, 720),
        (640, 640),
        [(20, 11.25, 200, 112.5), (100, 67.5, 220, 135)],
        [None, None],
    ),
    # supervision test_from_moondream "partial valid boxes" (Moondream's 0–1 corner keys)
    (
        "norm1",
        '{"objects": [{"x_min": 0.1, "y_min": 0.2}, {"x_min": 0.5, "y_min": 0.6, "x_max": 0.7, "y_max": 0.8}]}',
        (640, 480),
        None,
        [(320.0, 288.0, 448.0, 384.0)],
        [None],
    ),
    # supervision test_florence_2 "Region to Category: detected" (within Florence-2's bin centres)
    ("florence2", "some object<loc_300><loc_400><loc_500><loc_600>", (10, 10), None, [(3, 4, 5, 6)], ["some object"]),
    # OpenGVLab/InternVL internvl_chat/eval/refcoco/evaluate_grounding.py: [[x1, y1, x2, y2]] / 1000 × (W, H)
    (
        "internvl",
        "<ref>the man on the left</ref><box>[[150, 210, 420, 980]]</box>",
        (640, 480),
        None,
        [(96.0, 100.8, 268.8, 470.4)],
        ["the man on the left"],
    ),
]


@pytest.mark.parametrize(
    ("convention", "text", "size", "input_size", "boxes", "labels"),
    PUBLISHED,
    ids=["gemini-two", "gemini-one", "qwen-multiple", "qwen-missing-keys", "moondream", "florence2", "internvl"],
)
def test_published_parser_answers_give_their_boxes(convention, text, size, input_size, boxes, labels) -> None:
    verdict = parse(text, convention, size, input_size=input_size)
    assert [r.box for r in verdict.regions] == [pytest.approx(b, abs=0.01) for b in boxes]
    assert [r.label for r in verdict.regions] == labels
