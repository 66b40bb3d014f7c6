"""The implausibility pack (HEIE's trinity), the raw scalar beside ``score``, PLCC/SRCC by direction, and
``eval --suite expl-aigi-eval`` end to end against a scripted server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from scipy.stats import pearsonr, spearmanr
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.metrics.scores import ScorePair, score_metrics, score_pair
from grounddefake.parsing import parse_with_transform
from grounddefake.prompts import PromptPackError, load_pack, pack_from_mapping
from grounddefake.records import prediction_record, verdict_from_record
from grounddefake.scalar import Scalar, ScalarSpec
from grounddefake.suites import SuiteError, load_suite
from grounddefake.types import Transform

from .servers.openai_server import FakeOpenAIServer, Reply, request_pixels
from .test_dataset_formats import H, W, _mask

PACK = load_pack("implausibility")


def test_the_pack_loads_and_renders_heie_order() -> None:
    assert PACK.task == "grounded" and PACK.convention == "norm1000"
    assert PACK.label_space.labels == ("plausible", "implausible") and PACK.label_space.positive == "implausible"
    assert PACK.scalar == ScalarSpec(1.0, "plausibility", "score")
    assert [t.image for t in PACK.turns] == ["before", "none", "none"]
    texts = [PACK.render_turn(i, (640, 480), ["a description", "the regions"][:i]).text for i in range(3)]
    assert "Describe" in texts[0] and "problematic regions" in texts[1] and "plausibility" in texts[2]
    assert PACK.schema is not None and PACK.schema["required"] == ["score", "regions", "explanation"]


@pytest.mark.parametrize(
    "scalar",
    [{"scale": 0}, {"direction": "quality"}, {"scale": 1, "direction": "plausibility", "colour": "red"}, "1"],
)
def test_a_bad_scalar_declaration_is_refused(scalar: Any) -> None:
    data = {"name": "x", "version": 1, "description": "d", "task": "verdict", "turns": ["?"], "scalar": scalar}
    with pytest.raises(PromptPackError, match="field 'scalar'"):
        pack_from_mapping(data, "mem")


def _parse(text: str, spec: ScalarSpec | None = PACK.scalar):
    return parse_with_transform(text, "norm1000", Transform.identity((100, 100)), None, None, PACK.label_space, spec)


HAND = '{"box": [0, 0, 500, 500], "label": "fused fingers", "score": 0.9}'


@pytest.mark.parametrize(
    ("spec", "answer", "value", "score", "label", "note"),
    [
        (
            ScalarSpec(1, "plausibility"),
            f'{{"score": 0.8, "regions": [{HAND}], "explanation": "x"}}',
            0.8,
            0.2,
            "implausible",
            None,
        ),
        (
            ScalarSpec(10, "plausibility"),
            f'{{"score": 7, "regions": [{HAND}], "explanation": "x"}}',
            7.0,
            0.3,
            "implausible",
            None,
        ),
        (
            ScalarSpec(1, "implausibility"),
            '{"score": 0.7, "regions": [], "explanation": "x"}',
            0.7,
            0.7,
            "plausible",
            None,
        ),  # an empty region list: plausible, whatever the score
        (
            ScalarSpec(10, "plausibility"),
            '{"score": "9", "explanation": "no region list"}',
            9.0,
            0.1,
            "plausible",
            None,
        ),  # no region list: the score decides
        (
            ScalarSpec(1, "plausibility"),
            f'{{"regions": [{HAND}], "explanation": "x"}}',
            None,
            None,
            "implausible",
            "no plausibility score ('score') in the answer",
        ),
        (
            ScalarSpec(1, "plausibility"),
            '{"score": 1.4, "regions": [], "explanation": "x"}',
            None,
            None,
            "plausible",
            "score 1.4 is outside [0, 1]; the scalar is ignored",
        ),
        (
            ScalarSpec(1, "plausibility"),
            '{"score": "high", "regions": [], "explanation": "x"}',
            None,
            None,
            "plausible",
            "score 'high' is not a number; the scalar is ignored",
        ),
    ],
    ids=["plausibility-1", "scale-10", "implausibility", "text-number", "missing", "out-of-range", "not-a-number"],
)
def test_answers_parse_to_score_and_scalar(spec, answer, value, score, label, note) -> None:
    verdict = _parse(answer, spec)
    assert verdict.label == label
    assert (None if verdict.scalar is None else verdict.scalar.value) == value
    assert verdict.score == (None if score is None else pytest.approx(score))
    if verdict.scalar is not None:
        assert verdict.scalar.scale == spec.scale and verdict.scalar.direction == spec.direction
    assert (note in verdict.parse_errors) if note else not verdict.parse_errors
    assert verdict_from_record(prediction_record("1", verdict, model="m", prompt="p")).scalar == verdict.scalar


def test_a_region_score_is_not_the_scalar() -> None:
    verdict = _parse(f'{{"regions": [{HAND}]}}')
    assert verdict.scalar is None and verdict.regions[0].score == 0.9


def test_without_a_declared_scalar_nothing_changes() -> None:
    verdict = _parse('{"score": 0.8, "regions": [], "explanation": "x"}', None)
    assert verdict.scalar is None and verdict.score is None
    assert verdict.label == "unknown" and verdict.parse_errors == ("no verdict found in the answer",)


def test_a_bad_record_scalar_is_a_parse_error() -> None:
    verdict = verdict_from_record({"id": "1", "label": "fake", "scalar": {"value": 3, "scale": 1}})
    assert verdict.scalar is None and any("scalar" in e for e in verdict.parse_errors)


TRUTH = [0.25, 0.5, 0.583, 0.75, 1.0, 0.9]
MODEL = [0.3, 0.35, 0.7, 0.6, 0.95, 0.8]  # plausibility, as the model gave it


@pytest.mark.parametrize(
    ("truth_direction", "source", "prediction_direction", "sign"),
    [
        ("plausibility", "scalar", "plausibility", 1),
        ("implausibility", "scalar", "plausibility", -1),  # flipped: the model's plausibility against a defect score
        ("plausibility", "score", "implausibility", -1),
        (None, "score", "implausibility", 1),  # not declared: taken as implausibility
    ],
)
def test_plcc_and_srcc_follow_the_directions(truth_direction, source, prediction_direction, sign) -> None:
    pairs = []
    for value, truth in zip(MODEL, TRUTH, strict=True):
        scalar = Scalar(value, 1.0, prediction_direction) if source == "scalar" else None
        pair = score_pair(None if scalar else value, scalar, truth, truth_direction)
        assert pair is not None and pair.source == source
        pairs.append(pair)
    metrics = score_metrics(pairs)
    assert metrics["plcc"] == pytest.approx(sign * pearsonr(MODEL, TRUTH)[0])
    assert metrics["srcc"] == pytest.approx(sign * spearmanr(MODEL, TRUTH)[0])
    assert metrics["n_flipped"] == (len(TRUTH) if sign < 0 else 0)
    assert metrics["truth_direction"].startswith(truth_direction or "implausibility (not declared)")
    assert "flipped (1 − x)" in metrics["definition"]["directions"]


def test_a_scale_10_scalar_correlates_as_its_fraction() -> None:
    pairs = [
        score_pair(None, Scalar(10 * v, 10.0, "plausibility"), t, "plausibility")
        for v, t in zip(MODEL, TRUTH, strict=True)
    ]
    assert score_metrics([p for p in pairs if p])["plcc"] == pytest.approx(pearsonr(MODEL, TRUTH)[0])
    assert score_pair(None, None, 0.5, "plausibility") is None
    assert score_metrics([(0.2, 0.3), (0.4, 0.5)])["plcc"] == pytest.approx(1.0)  # bare tuples: as before
    assert ScorePair(0.2, 0.5, "score", "implausibility", "plausibility").oriented == 0.8


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"score_direction": "upwards", "score_direction_basis": "read: x"}, "score_direction"),
        ({"score_direction": "plausibility"}, "says how"),
        ({"score_direction": "implausibility", "score_direction_basis": "read: x"}, "reader writes"),
        ({"score_direction_basis": "read: x"}, "without"),
    ],
)
def test_a_suite_states_its_direction_and_how(tmp_path: Path, fields: dict, match: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps({"name": "s", "format": "expl-aigi", **fields}))
    with pytest.raises(SuiteError, match=match):
        load_suite(path)


def test_the_expl_aigi_suite_uses_the_pack_and_records_the_direction() -> None:
    suite = load_suite("expl-aigi-eval")
    assert suite.prompt == "implausibility" and suite.score_direction == "plausibility"
    assert suite.score_direction_basis is not None and suite.score_direction_basis.startswith("measured")
    plcc = next(p for p in suite.published if p.metric == "PLCC")
    assert plcc.ours == "score.plcc" and plcc.comparable


# image colour: (truth plausibility, the model's plausibility, its region in 0-1000 or None)
SAMPLES = {
    (200, 40, 40): (0.25, 0.2, (0, 0, 600, 600)),
    (40, 200, 40): (0.5, 0.45, (100, 100, 500, 500)),
    (40, 40, 200): (0.75, 0.7, (200, 200, 400, 400)),
    (200, 200, 40): (1.0, 0.95, None),
}


def _colour(body: dict[str, Any]) -> tuple[int, int, int]:
    pixels = request_pixels(body).astype(float)
    mean = pixels.reshape(-1, 3).mean(0)
    return min(SAMPLES, key=lambda c: float(np.abs(mean - np.array(c)).sum()))


def _heie(body: dict[str, Any]) -> Reply:
    """Turn 1: a description; turn 2: the regions in prose; turn 3 (the only one sent the schema): the JSON."""
    turn = sum(1 for m in body["messages"] if m["role"] == "user")
    assert ("response_format" in body) == (turn == 3)
    _, plausibility, box = SAMPLES[_colour(body)]
    if turn == 1:
        return Reply("A flat coloured square.")
    if turn == 2:
        return Reply("No obvious problematic regions." if box is None else f"The left part {list(box)} is malformed.")
    regions = [] if box is None else [{"box": list(box), "label": "malformed", "score": 0.8}]
    return Reply(json.dumps({"score": plausibility, "regions": regions, "explanation": "Looked at the shapes."}))


def _expl_aigi(root: Path) -> Path:
    lines = []
    for i, (colour, (truth, _, _)) in enumerate(SAMPLES.items()):
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((H, W, 3), colour, np.uint8)).save(root / "images" / f"{i}.png")
        _mask(root / "artifact_map" / f"{i}.png", (0, 0, W // 2, H // 2))
        lines.append({"id": str(i), "image": f"images/{i}.png", "heatmap": f"./artifact_map/{i}.png", "score": truth})
    (root / "test.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root / "test.jsonl"


def test_eval_with_the_expl_aigi_suite_reports_heatmaps_and_directed_correlations(tmp_path: Path) -> None:
    data = _expl_aigi(tmp_path / "expl")
    with FakeOpenAIServer(responder=_heie) as server:
        args = ["eval", "--suite", "expl-aigi-eval", "--data", str(data), "--model", "test-model"]
        result = CliRunner().invoke(app, [*args, "--base-url", server.base_url, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert len(server.requests) == 3 * len(SAMPLES)
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text())["prompt"].startswith("implausibility@")
    records = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in records}
    assert [by_id[str(i)]["label"] for i in range(4)] == ["implausible"] * 3 + ["plausible"]
    assert by_id["0"]["scalar"] == {"value": 0.2, "scale": 1.0, "direction": "plausibility"}
    assert by_id["0"]["score"] == pytest.approx(0.8)  # P(implausible) = 1 - plausibility
    metrics = json.loads((run / "metrics.json").read_text())
    truth = [t for t, _, _ in SAMPLES.values()]
    model = [m for _, m, _ in SAMPLES.values()]
    score = metrics["score"]
    assert score["n"] == 4 and score["n_flipped"] == 0 and score["truth_direction"] == "plausibility"
    assert score["prediction"] == "scalar (plausibility): 4"
    assert score["plcc"] == pytest.approx(pearsonr(model, truth)[0]) and score["srcc"] == pytest.approx(1.0)
    assert metrics["heatmap"]["n"] == 4 and metrics["heatmap"]["cc"] is not None
    assert metrics["classification"]["n"] == 0  # Expl-AIGI-Eval has no per-image class
    report = (run / "report.md").read_text()
    assert "## Heatmap" in report and "## Score" in report and "plausibility" in report
