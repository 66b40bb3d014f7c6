"""Label spaces beyond real/fake: the value, packs that declare one, the parser reading its labels, metrics with the
declared positive class, and a whole run on safe/unsafe data (eval, --positive, score)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.label_space import REAL_FAKE, LabelSpace, LabelSpaceError, space_from_truth
from grounddefake.metrics.classification import ClassificationRow, classification_metrics
from grounddefake.parsing import parse_with_transform
from grounddefake.prompts import PromptPackError, pack_from_mapping
from grounddefake.records import SampleScore
from grounddefake.runs import evaluate
from grounddefake.types import Transform

from .conftest import ScriptedBackend

SAFETY = LabelSpace(("safe", "unsafe"), "unsafe")


@pytest.mark.parametrize(
    ("labels", "positive", "problem"),
    [
        (("safe",), "safe", "at least two"),
        (("safe", "safe"), "safe", "twice"),
        (("safe", "Unsafe"), "Unsafe", "lower-case"),
        (("safe", "unknown"), "safe", "unknown"),
        (("safe", "unsafe"), "harmful", "not one of the labels"),
    ],
)
def test_a_label_space_refuses_what_cannot_be_scored(labels: tuple[str, ...], positive: str, problem: str) -> None:
    with pytest.raises(LabelSpaceError, match=problem):
        LabelSpace(labels, positive)


def test_positive_override_and_spaces_from_truth() -> None:
    assert SAFETY.with_positive("safe").negatives == ("unsafe",)
    assert space_from_truth(["real", "fake"], None) == REAL_FAKE
    assert space_from_truth(["safe", None, "unsafe", "safe"], "unsafe") == SAFETY
    assert space_from_truth(["a", "b"], "real") == LabelSpace(("real", "fake"), "real")


def _pack(**fields: object) -> dict[str, object]:
    return {"name": "safety", "version": 1, "description": "d", "task": "verdict", "turns": ["Safe?"], **fields}


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"labels": ["safe", "unsafe"]}, "field 'positive': required"),
        ({"positive": "unsafe"}, "field 'positive'"),
        ({"labels": "safe, unsafe", "positive": "unsafe"}, "field 'labels'"),
        ({"labels": ["safe", "unsafe"], "positive": "bad"}, "field 'positive'"),
        ({"labels": ["safe", "unsafe"], "positive": "unsafe", "answers": {"yes": "fake"}}, "field 'answers'"),
    ],
)
def test_packs_declare_a_usable_space(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(PromptPackError, match=problem):
        pack_from_mapping(_pack(**fields), "mem")


def test_a_pack_declares_labels_and_positive() -> None:
    pack = pack_from_mapping(_pack(labels=["safe", "unsafe"], positive="unsafe", answers={"yes": "unsafe"}), "mem")
    assert pack.label_space == SAFETY and pack.answers == {"yes": "unsafe"}
    assert pack_from_mapping(_pack(), "mem").label_space == REAL_FAKE


@pytest.mark.parametrize(
    ("text", "label", "note"),
    [
        ('{"verdict": "unsafe", "rationale": "a raised knife"}', "unsafe", None),
        ('{"label": "Safe"}', "safe", None),
        ("Verdict: unsafe", "unsafe", None),
        ("<answer>safe</answer>", "safe", None),
        ("The image is safe.", "safe", None),
        ("This is not unsafe: a kitchen knife on a board.", "safe", None),
        ("Parts look safe, others unsafe.", "unknown", "contradictory"),
        ("I cannot determine that.", "unknown", "hedged"),
        ("The photo looks fake.", "unknown", "no verdict"),  # real/fake words are not this task's labels
    ],
)
def test_the_parser_reads_the_labels_of_the_space(text: str, label: str, note: str | None) -> None:
    verdict = parse_with_transform(text, None, Transform.identity((64, 64)), space=SAFETY)
    assert verdict.label == label
    assert verdict.score is None
    if note:
        assert any(note in e for e in verdict.parse_errors), verdict.parse_errors


def test_classification_uses_the_declared_positive_class_as_sklearn_does() -> None:
    rng = np.random.default_rng(3)
    truth = rng.choice(["safe", "unsafe"], 60).tolist()
    scores = rng.random(60).tolist()
    predicted = ["unsafe" if s > 0.5 else "safe" for s in scores]
    rows = [ClassificationRow(t, p, s) for t, p, s in zip(truth, predicted, scores, strict=True)]
    m = classification_metrics(rows, SAFETY)
    y = [t == "unsafe" for t in truth]
    yhat = [p == "unsafe" for p in predicted]
    assert m["positive"] == "unsafe" and m["n_safe"] + m["n_unsafe"] == 60
    assert m["precision"] == pytest.approx(precision_score(y, yhat))
    assert m["recall"] == pytest.approx(recall_score(y, yhat))
    assert m["f1"] == pytest.approx(f1_score(y, yhat))
    assert m["auc"] == pytest.approx(roc_auc_score(y, scores))
    assert "unsafe" in m["definition"]["precision_recall_f1"] and "fake" not in json.dumps(m["definition"])
    flipped = classification_metrics(rows, SAFETY.with_positive("safe"))
    assert flipped["recall"] == pytest.approx(recall_score([not v for v in y], [not v for v in yhat]))


@pytest.mark.parametrize(
    ("truth", "predicted", "kind"),
    [
        ("safe", "unsafe", "fp"),
        ("unsafe", "safe", "fn"),
        ("unsafe", "unsafe", "ok"),
        ("unsafe", "unknown", "unknown"),
        ("safe", "safe", "ok"),
    ],
)
def test_mistakes_are_named_by_the_positive_class(truth: str, predicted: str, kind: str) -> None:
    row = SampleScore("1", truth, predicted, None, None, None, "unsafe")
    assert row.kind == kind
    assert SampleScore.from_json(row.to_json()) == row


@pytest.fixture
def safety_dataset(tmp_path: Path) -> Path:
    """Two unsafe images (a red patch, its mask and per-rule truth) and two safe ones."""
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    lines = []
    for i in range(4):
        pixels = np.full((80, 120, 3), 100, np.uint8)
        line: dict[str, object] = {"id": f"s{i}", "image": f"images/s{i}.png"}
        if i < 2:
            pixels[20:50, 40:80] = (255, 0, 0)
            mask = np.zeros((80, 120), np.uint8)
            mask[20:50, 40:80] = 255
            Image.fromarray(mask).save(tmp_path / "masks" / f"s{i}.png")
            line.update(label="unsafe", mask=f"masks/s{i}.png", rules={"weapons": True, "gore": False})
        else:
            line.update(label="safe", rules={"weapons": False})
        Image.fromarray(pixels).save(tmp_path / "images" / f"s{i}.png")
        lines.append(json.dumps(line))
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "manifest.jsonl"


def _safety_pack(tmp_path: Path) -> Path:
    path = tmp_path / "safety.yaml"
    path.write_text(
        "name: safety\nversion: 1\ndescription: safe or unsafe\ntask: grounded\nconvention: pixel\n"
        "labels: [safe, unsafe]\npositive: unsafe\nturns:\n  - 'Is this image safe or unsafe? Box what is unsafe.'\n"
    )
    return path


def _judge(request: object) -> str:
    """Unsafe with the red patch's box when the image has one, else safe."""
    pixels = request.images[0].pixels  # type: ignore[attr-defined]
    if (pixels[..., 0] > 200).any():
        return json.dumps({"verdict": "unsafe", "regions": [{"box": [40, 20, 80, 50]}]})
    return json.dumps({"verdict": "safe"})


def test_a_safety_run_scores_with_its_positive_class(safety_dataset: Path, tmp_path: Path) -> None:
    result = evaluate(safety_dataset, ScriptedBackend(_judge), str(_safety_pack(tmp_path)), True, tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["labels"] == ["safe", "unsafe"] and config["positive"] == "unsafe"
    c = result.metrics["classification"]
    assert (c["positive"], c["n_safe"], c["n_unsafe"], c["accuracy"], c["recall"]) == ("unsafe", 2, 2, 1.0, 1.0)
    assert result.metrics["localization"]["iou_mean"] == pytest.approx(1.0)
    rows = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert {r["positive"] for r in rows} == {"unsafe"}
    assert "fake" not in result.metrics["classification"]["definition"]["precision_recall_f1"]


def test_positive_overrides_the_pack_and_a_foreign_label_is_listed(safety_dataset: Path, tmp_path: Path) -> None:
    pack = str(_safety_pack(tmp_path))
    result = evaluate(safety_dataset, ScriptedBackend(_judge), pack, False, tmp_path / "r1", positive="safe")
    assert result.metrics["classification"]["positive"] == "safe"
    with pytest.raises(PromptPackError, match="--positive"):
        evaluate(safety_dataset, ScriptedBackend(_judge), pack, False, tmp_path / "r2", positive="fake")
    real_fake = evaluate(safety_dataset, ScriptedBackend(_judge), "verdict", False, tmp_path / "r3")
    assert real_fake.metrics["classification"]["n"] == 0
    assert any("not one of the task's labels" in p["reason"] for p in real_fake.metrics["problems"])


def test_score_takes_a_positive_class(safety_dataset: Path, tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    answers = {"s0": ("unsafe", 0.9), "s1": ("safe", 0.4), "s2": ("safe", 0.1), "s3": ("unsafe", 0.6)}
    predictions.write_text(
        "".join(json.dumps({"id": i, "label": label, "score": s}) + "\n" for i, (label, s) in answers.items())
    )
    out = tmp_path / "scored"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "--predictions",
            str(predictions),
            "--data",
            str(safety_dataset),
            "--positive",
            "unsafe",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())["classification"]
    assert (metrics["precision"], metrics["recall"], metrics["auc"]) == (0.5, 0.5, 0.75)
    kinds = {
        json.loads(line)["id"]: SampleScore.from_json(json.loads(line)).kind
        for line in (out / "samples.jsonl").read_text().splitlines()
    }
    assert kinds == {"s0": "ok", "s1": "fn", "s2": "ok", "s3": "fp"}
