"""The faithfulness test of grounding against a real local HTTP server whose P(fake) drops only when the true
region is blanked; its metric against a hand table; the control-region rule."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from grounddefake.backend_interface import GenerationParams
from grounddefake.backends import create_backend
from grounddefake.caller import Caller, RetryPolicy
from grounddefake.control_regions import clusters, control_rects, seed_of
from grounddefake.faithfulness import Faithfulness, Reading, check_faithfulness, control_of
from grounddefake.images import ImagePolicy, prepare_image
from grounddefake.judges.ablation import Rect, blank_boxes
from grounddefake.label_space import REAL_FAKE, SAFE_UNSAFE, LabelSpace
from grounddefake.metrics.faithfulness import faithfulness_metrics, faithfulness_row
from grounddefake.pipeline import ask, ask_prepared
from grounddefake.prompts import load_pack
from grounddefake.types import Box

from .servers.openai_server import FakeOpenAIServer, Reply, request_pixels

MARKER: Box = (20, 20, 40, 40)
"""The true artifact: a white square on a grey (60) 100×100 image."""
MEAN = 68
"""The image's mean colour, by hand: 60 · 0.96 + 255 · 0.04 = 67.8."""
P_INTACT, P_BLANKED = 0.9, 0.2
"""P(fake) while the whole white square is there, and once any of it is blanked."""


def image() -> np.ndarray:
    pixels = np.full((100, 100, 3), 60, np.uint8)
    pixels[20:40, 20:40] = 255
    return pixels


def intact(pixels: np.ndarray) -> bool:
    return bool(pixels[20:40, 20:40].min() == 255)


def verdict_logprobs(p_fake: float) -> list[tuple[str, float, list[tuple[str, float]]]]:
    top = [("fake", math.log(p_fake)), ("real", math.log(1 - p_fake))]
    label = "fake" if p_fake >= 0.5 else "real"
    return [('{"', 0.0, []), ("verdict", 0.0, []), ('":"', 0.0, []), (label, dict(top)[label], top)]


@dataclass
class DeletionScript:
    """P(fake) is P_INTACT while the white square is whole, else P_BLANKED; an image with the square whole is
    answered with ``boxes`` (original pixels), any other with none; ``fail_blanked``: those get HTTP 400."""

    boxes: list[Box] = field(default_factory=list)
    fail_blanked: bool = False

    def __call__(self, body: dict[str, Any]) -> Reply:
        whole = intact(request_pixels(body))
        if not whole and self.fail_blanked:
            return Reply(status=400, message="scripted failure of a blanked image")
        p = P_INTACT if whole else P_BLANKED
        regions = [{"box": [v * 10 for v in box], "label": "artifact", "score": 0.8} for box in self.boxes]
        text = json.dumps({"verdict": "fake" if p >= 0.5 else "real", "rationale": "r", "regions": regions * whole})
        return Reply(text=text, logprobs=verdict_logprobs(p))


def checked(script: DeletionScript, seed: int = 0) -> tuple[Any, Faithfulness | None, FakeOpenAIServer]:
    """The answer about ``image()`` with the grounded pack, and its deletion test, against the scripted server."""

    async def run() -> tuple[Any, Faithfulness | None]:
        backend = create_backend("test-model", base_urls=[server.base_url], convention="norm1000")
        caller = Caller(backend, retry=RetryPolicy(max_retries=0))
        pack = load_pack("grounded")
        try:
            answer = await ask(caller, pack, image())
            check = await check_faithfulness(
                caller, pack, answer.prepared, answer.verdict, GenerationParams(), seed=seed, ask=ask_prepared
            )
            return answer, check
        finally:
            await backend.aclose()

    with FakeOpenAIServer(responder=script) as server:
        answer, check = asyncio.run(run())
    return answer, check, server


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# (predicted boxes, area, after deletion (label, P(fake))) — by hand: deletion blanks the white square iff a predicted
# box covers part of it. The control keeps the square whole when it covers none of it, which is certain when the
# predicted boxes cover the square (the control avoids them) and decided by where it fell otherwise.
CASES = [
    pytest.param([MARKER], 400, ("real", P_BLANKED), id="true-box"),
    pytest.param([MARKER, (60, 60, 90, 80)], 1000, ("real", P_BLANKED), id="true-and-other"),
    pytest.param([(20, 20, 35, 35), (25, 25, 40, 40)], 350, ("real", P_BLANKED), id="overlapping"),
    pytest.param([(60, 60, 80, 80)], 400, ("fake", P_INTACT), id="wrong-box"),
]


def control_expected(check: Faithfulness) -> tuple[str, float]:
    """What the server answers about the control image, by where the control fell."""
    hit = any(overlaps(box, MARKER) for box in check.control_boxes)
    return ("real", P_BLANKED) if hit else ("fake", P_INTACT)


@pytest.mark.parametrize(("boxes", "area", "deleted"), CASES)
def test_deletion_against_a_server_that_looks_at_the_true_region(
    boxes: list[Box], area: int, deleted: tuple[str, float]
) -> None:
    answer, check, server = checked(DeletionScript(boxes))
    assert check is not None and answer.verdict.label == "fake"
    assert (check.before.label, check.before.score) == ("fake", pytest.approx(P_INTACT))
    assert (check.deleted.label, check.deleted.score) == (deleted[0], pytest.approx(deleted[1]))
    control = control_expected(check)
    assert (check.control.label, check.control.score) == (control[0], pytest.approx(control[1]))
    if any(overlaps(box, MARKER) for box in boxes):
        assert control == ("fake", P_INTACT)
    assert (check.area, check.control_area, check.control_overlap) == (area, area, 0)
    assert check.requests == 2 and len(server.requests) == 3
    assert all(0 <= x1 < x2 <= 100 and 0 <= y1 < y2 <= 100 for x1, y1, x2, y2 in check.control_boxes)
    # What the server saw: each re-asked image has exactly `area` pixels of the mean colour (the background is 60,
    # the square 255): one where the predicted boxes are, the other where the control boxes are.
    seen = [request_pixels(body) for body in server.requests[1:]]
    assert all(int((p[..., 0] == MEAN).sum()) == area for p in seen)
    assert [blank(p, boxes) for p in seen].count(True) == 1
    assert [blank(p, check.control_boxes) for p in seen].count(True) == 1


def blank(pixels: np.ndarray, boxes: Any) -> bool:
    return all((pixels[int(y1) : int(y2), int(x1) : int(x2)] == MEAN).all() for x1, y1, x2, y2 in boxes)


def test_the_metric_of_the_server_runs() -> None:
    """The true box and the wrong box of the cases above: drop (0.7 + 0) / 2, half the positive verdicts flip; the
    control drops only where it covered the square (never for the true box)."""
    checks = [checked(DeletionScript(boxes))[1] for boxes in ([MARKER], [(60, 60, 80, 80)])]
    hits = [control_expected(c)[0] == "real" for c in checks if c is not None]
    metrics = faithfulness_metrics([faithfulness_row(c) for c in checks if c is not None])
    assert metrics["n_checked"] == 2 and metrics["n_no_score"] == 0
    assert metrics["mean_drop"] == pytest.approx((P_INTACT - P_BLANKED) / 2)
    assert metrics["mean_drop_control"] == pytest.approx(sum(hits) * (P_INTACT - P_BLANKED) / 2, abs=1e-9)
    assert metrics["drop_gap"] == pytest.approx(0.35 - metrics["mean_drop_control"])
    assert (metrics["flip_rate"], metrics["flip_rate_control"]) == (0.5, sum(hits) / 2)
    assert not hits[0]  # the true box: the control avoids it, so the square stays whole


def test_an_answer_without_regions_is_not_asked() -> None:
    answer, check, server = checked(DeletionScript([]))
    assert answer.verdict.label == "fake" and check is None and len(server.requests) == 1


def test_a_failed_reask_is_recorded_not_raised() -> None:
    _, check, server = checked(DeletionScript([MARKER], fail_blanked=True))
    assert check is not None and check.requests == 2 and len(server.requests) == 3
    assert (
        check.deleted.label == "unknown"
        and check.deleted.score is None
        and "scripted failure" in str(check.deleted.error)
    )
    assert (check.control.label, check.control.error) == ("fake", None)
    row = faithfulness_row(check)
    assert row.failed and row.flipped is None
    assert faithfulness_metrics([row])["n_no_score"] == 1


def test_the_check_round_trips_through_json() -> None:
    _, check, _ = checked(DeletionScript([MARKER]))
    assert check is not None
    again = Faithfulness.from_json(json.loads(json.dumps(check.to_json())))
    assert faithfulness_row(again) == faithfulness_row(check)
    assert again.control_boxes == check.control_boxes  # whole pixels


# ---- the aggregate against a hand table --------------------------------------------------------------------------

# (before, after deletion, after the control) as (label, P(positive)) with "pos"/"neg" for the space's labels.
TABLE = [
    (("pos", 0.9), ("neg", 0.2), ("pos", 0.8)),  # drop .7, control .1; flips under deletion only
    (("pos", 0.6), ("pos", 0.5), ("neg", 0.4)),  # drop .1, control .2; flips under the control only
    (("neg", 0.3), ("neg", 0.1), ("neg", 0.3)),  # drop .2, control 0; a negative verdict: no flip counted
    (("pos", None), ("neg", None), ("pos", None)),  # no score; flips under deletion
    (("pos", 0.8), ("unknown", None), ("pos", 0.8)),  # the deletion re-ask failed
]


def reading(item: tuple[str, float | None], space: LabelSpace) -> Reading:
    label, score = item
    name = {"pos": space.positive, "neg": space.negatives[0]}.get(label, label)
    return Reading(name, score, "failed" if label == "unknown" else None)


@pytest.mark.parametrize("space", [REAL_FAKE, SAFE_UNSAFE, REAL_FAKE.with_positive("real")], ids=str)
def test_the_aggregate_matches_a_hand_table(space: LabelSpace) -> None:
    checks = [
        Faithfulness(reading(b, space), reading(d, space), reading(c, space), 100, 100, 0, (), 2) for b, d, c in TABLE
    ]
    metrics = faithfulness_metrics([faithfulness_row(c, space) for c in checks], space)
    expected = {
        "n_checked": 5,
        "n_no_score": 2,
        "n_failed": 1,
        "mean_drop": pytest.approx((0.7 + 0.1 + 0.2) / 3),
        "mean_drop_control": pytest.approx((0.1 + 0.2 + 0.0) / 3),
        "drop_gap": pytest.approx(1 / 3 - 0.1),
        "positive": space.positive,
        "n_positive": 3,
        "flip_rate": pytest.approx(2 / 3),
        "flip_rate_control": pytest.approx(1 / 3),
    }
    assert {k: metrics[k] for k in expected} == expected
    assert set(metrics["definition"]) >= {"mean_drop", "mean_drop_control", "drop_gap", "flip_rate"}


def test_no_checked_answer_gives_no_numbers() -> None:
    metrics = faithfulness_metrics([])
    assert metrics["n_checked"] == 0
    assert [metrics[k] for k in ("mean_drop", "drop_gap", "flip_rate")] == [None, None, None]


# ---- the control-region rule ---------------------------------------------------------------------------------------


def mask(rects: tuple[Rect, ...] | list[Rect], size: tuple[int, int]) -> np.ndarray:
    out = np.zeros((size[1], size[0]), bool)
    for x1, y1, x2, y2 in rects:
        out[y1:y2, x1:x2] = True
    return out


@pytest.mark.parametrize(
    ("rects", "bounds"),
    [
        ([(0, 0, 10, 10)], (0, 0, 100, 50)),
        ([(10, 10, 30, 30), (20, 20, 40, 40)], (0, 0, 100, 100)),  # one cluster, moved rigidly: 700 pixels
        ([(0, 0, 10, 10), (50, 20, 60, 40), (70, 0, 100, 5)], (0, 0, 100, 60)),
        ([(20, 10, 40, 30)], (10, 0, 90, 100)),  # padding on both sides: the control stays in the picture
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_the_control_has_the_same_area_inside_the_image_apart_from_the_regions(
    rects: list[Rect], bounds: Rect, seed: int
) -> None:
    placed = control_rects(rects, bounds, seed_of(seed, "c0ffee"))
    size = (bounds[2], bounds[3])
    predicted, control = mask(rects, size), mask(placed.rects, size)
    assert placed.area == predicted.sum() == control.sum() == placed.control_area
    assert placed.overlap == (predicted & control).sum() == 0
    assert all(
        bounds[0] <= x1 < x2 <= bounds[2] and bounds[1] <= y1 < y2 <= bounds[3] for x1, y1, x2, y2 in placed.rects
    )
    # each rect keeps its size, and a cluster its shape
    assert sorted((r[2] - r[0], r[3] - r[1]) for r in placed.rects) == sorted((r[2] - r[0], r[3] - r[1]) for r in rects)
    assert len(clusters(list(placed.rects))) == len(clusters(rects))
    assert control_rects(rects, bounds, seed_of(seed, "c0ffee")) == placed  # reproducible


def test_the_control_depends_on_the_seed_and_the_image() -> None:
    rects, bounds = [(0, 0, 10, 10)], (0, 0, 200, 200)
    by_seed = {control_rects(rects, bounds, seed_of(s, "c0ffee")).rects for s in range(5)}
    by_image = {control_rects(rects, bounds, seed_of(0, key)).rects for key in ("00aa", "11bb", "22cc", "33dd")}
    assert len(by_seed) == 5 and len(by_image) == 4


def test_without_room_the_control_overlaps_as_little_as_it_can_and_says_so() -> None:
    placed = control_rects([(0, 0, 80, 100)], (0, 0, 100, 100), seed_of(0, "ab"))
    assert placed.control_area == placed.area == 8000
    assert placed.overlap >= 6000  # 20 free columns: at least 60 of the 80 overlap
    x1, y1, x2, y2 = placed.rects[0]
    assert x1 >= 0 and x2 <= 100 and (y1, y2) == (0, 100)


def test_the_control_of_a_resized_image_is_in_original_pixels_and_reproducible() -> None:
    pixels = np.zeros((100, 200, 3), np.uint8)
    prepared = prepare_image(pixels, ImagePolicy(max_side=100))  # sent at 100×50
    placed = control_of(prepared, ((0, 0, 10, 10),), seed=3)
    assert placed == control_of(prepare_image(pixels, ImagePolicy(max_side=100)), ((0, 0, 10, 10),), seed=3)
    assert placed.area == placed.control_area == 100
    boxes = [prepared.transform.box_to_original(r) for r in placed.rects]
    assert all(0 <= x1 < x2 <= 200 and 0 <= y1 < y2 <= 100 for x1, y1, x2, y2 in boxes)


def test_blank_boxes_blanks_every_box_in_the_mean_colour() -> None:
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, 10:] = 200  # mean colour 100
    blanked = blank_boxes(prepare_image(pixels), [(0, 0, 2, 2), (15, 5, 20, 10)]).pixels
    assert (blanked[:2, :2] == 100).all() and (blanked[5:, 15:] == 100).all()
    assert int((blanked[..., 0] == 100).sum()) == 4 + 25


def test_eval_with_faithfulness_records_and_scores_the_test(tmp_path: Path) -> None:
    """``eval --faithfulness``: the true box is given, so deletion drops P(fake) 0.9 → 0.2 and flips the verdict;
    the control does neither. The record counts the two re-asks; metrics.json and the report say so."""
    from typer.testing import CliRunner

    from grounddefake.cli import app

    Image.fromarray(image()).save(tmp_path / "a.png")
    (tmp_path / "data.jsonl").write_text(json.dumps({"id": "a", "image": "a.png", "label": "fake"}) + "\n")
    out = tmp_path / "run"
    with FakeOpenAIServer(responder=DeletionScript(boxes=[MARKER])) as server:
        args = ["eval", "--data", str(tmp_path / "data.jsonl"), "--model", "test-model", "--convention", "norm1000"]
        args += ["--with-boxes", "--faithfulness", "--base-url", server.base_url, "--out", str(out), "--no-cache"]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(server.requests) == 3
    record = json.loads((out / "predictions.jsonl").read_text())
    assert record["requests_by_purpose"] == {"answer": 1, "faithfulness": 2} and record["requests"] == 3
    assert (record["faithfulness"]["deleted"]["label"], record["faithfulness"]["control"]["label"]) == ("real", "fake")
    metrics = json.loads((out / "metrics.json").read_text())["faithfulness"]
    assert metrics["n_checked"] == 1 and metrics["flip_rate"] == 1.0 and metrics["flip_rate_control"] == 0.0
    assert metrics["mean_drop"] == pytest.approx(0.7, abs=1e-6) and metrics["mean_drop_control"] == pytest.approx(0.0)
    assert "## Faithfulness of grounding" in (out / "report.md").read_text()
