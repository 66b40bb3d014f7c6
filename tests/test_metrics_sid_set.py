"""SID-Set metrics the SIDA way: a hand-computed table, a re-implementation from SIDA's description on random cases,
the ``sid-set`` prompt pack, and ``eval --suite sid-set`` end to end against a scripted server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.metrics.accumulator import MetricsAccumulator
from grounddefake.metrics.sid_set import SidSetRow, predicted_class, sid_set_metrics, sid_set_row
from grounddefake.parsing import parse
from grounddefake.prompts import TextPart, load_pack
from grounddefake.scoring import score_sample
from grounddefake.types import Region, Sample
from grounddefake.verdict import Verdict

from .servers.openai_server import FakeOpenAIServer, Reply, request_pixels

R, S, T, U = "real", "full_synthetic", "tampered", "unknown"

# (rows as (truth, predicted, intersection, union), expected numbers), every number worked out by hand
TABLE = [
    pytest.param(
        [(R, R), (R, S), (S, S), (S, T), (T, T, 30, 50), (T, R, 0, 40), (T, U, 0, 10)],
        {
            "n": 7,
            "accuracy_3class": 3 / 7,
            "per_class": {
                R: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
                S: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
                T: {"precision": 0.5, "recall": 1 / 3, "f1": 0.4, "support": 3},
            },
            "ciou_tampered": 30 / 100,
            "giou_tampered": (0.6 + 0 + 0) / 3,
            "sida_f1": 6 / 17,  # 2 * 0.3 * 3/7 / (0.3 + 3/7)
            "sida_auc_approx": 0.5 * 4 / 9,
            "n_unknown": 1,
        },
        id="mixed-with-unknown",
    ),
    pytest.param(
        [(T, S, 0, 0), (T, T, 0, 20)],  # empty masks: no claim scores 1.0, a claimed area 0
        {
            "n": 2,
            "accuracy_3class": 0.5,
            "per_class": {
                R: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
                S: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
                T: {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
            },
            "ciou_tampered": 0.0,
            "giou_tampered": 0.5,
            "sida_f1": 0.0,
            "sida_auc_approx": (1 / 3) * (0.5 / 3),
            "n_unknown": 0,
        },
        id="empty-masks",
    ),
    pytest.param(
        [(R, R), (S, S)],
        {
            "n": 2,
            "accuracy_3class": 1.0,
            "per_class": {
                R: {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
                S: {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
                T: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
            },
            "ciou_tampered": None,
            "giou_tampered": None,
            "sida_f1": None,
            "sida_auc_approx": (2 / 3) * (2 / 3),
            "n_unknown": 0,
        },
        id="no-tampered",
    ),
]


def _approx(value: Any) -> Any:
    return value if value is None or isinstance(value, int) else pytest.approx(value)


@pytest.mark.parametrize(("rows", "expected"), TABLE)
def test_hand_computed_table(rows: list[tuple], expected: dict[str, Any]) -> None:
    metrics = sid_set_metrics([SidSetRow(*r) for r in rows])
    for key, value in expected.items():
        if key == "per_class":
            for name, numbers in value.items():
                got = metrics["per_class"][name]
                assert got["accuracy"] == got["recall"]  # SIDA's per-class accuracy is tp / support
                assert {k: got[k] for k in numbers} == {k: _approx(v) for k, v in numbers.items()}, name
        else:
            assert metrics[key] == _approx(value), key


@pytest.mark.parametrize(
    ("label", "has_regions", "expected"),
    [("real", False, R), ("real", True, R), ("fake", True, T), ("fake", False, S), ("unknown", True, U)],
)
def test_the_predicted_class_comes_from_the_answer(label: str, has_regions: bool, expected: str) -> None:
    assert predicted_class(label, has_regions) == expected


def test_rows_only_for_sid_set_subtypes_and_pixels_only_for_tampered() -> None:
    assert sid_set_row("inpainting", "fake", True, (1, 2)) is None and sid_set_row(None, "real", False, None) is None
    assert sid_set_row(S, "fake", False, (1, 2)) == SidSetRow(S, S)
    assert sid_set_row(T, "fake", True, (1, 2)) == SidSetRow(T, T, 1, 2)
    assert sid_set_row(T, "real", False, None) == SidSetRow(T, R)  # a tampered sample without a mask: not localized


# -- an independent re-implementation of SIDA's test(), from its description ------------------------------------


def _sida_reference(truth: list[int], pred: list[int], gt: list[np.ndarray | None], out: list[np.ndarray | None]):
    """SIDA's numbers: ``pred`` 0/1/2, or 3 for an answer that is none of them (a miss for its true class)."""
    cm = np.zeros((3, 4))
    for t, p in zip(truth, pred, strict=True):
        cm[t, p] += 1
    accuracy = float(np.sum(np.array(truth) == np.array(pred))) / len(truth)
    precision, recall, f1 = [], [], []
    for i in range(3):
        tp = cm[i, i]
        fp = cm[:, i].sum() - tp
        fn = cm[i, :].sum() - tp
        p = tp / (tp + fp) if tp + fp > 0 else 0.0
        r = tp / (tp + fn) if tp + fn > 0 else 0.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r > 0 else 0.0)
    inter_sum = union_sum = 0.0
    per_mask = []
    for mask, predicted in zip(gt, out, strict=True):
        if mask is None:
            continue
        inter = float(np.logical_and(mask, predicted).sum())
        union = float(predicted.sum() + mask.sum() - inter)
        inter_sum, union_sum = inter_sum + inter, union_sum + union
        per_mask.append(inter / (union + 1e-5) + (1.0 if union == 0 else 0.0))
    ciou = inter_sum / (union_sum + 1e-10) if per_mask else None
    giou = float(np.mean(per_mask)) if per_mask else None
    composite = None if ciou is None else 2 * (ciou * accuracy) / (ciou + accuracy + 1e-10)
    auc = float(np.mean(precision) * np.mean(recall))
    return accuracy, precision, recall, f1, ciou, giou, composite, auc


def _random_case(rng: np.random.Generator, folder: Path, n: int = 12) -> tuple[list[Sample], list[Verdict]]:
    w, h = 16, 12
    samples, verdicts = [], []
    for i in range(n):
        subtype = (R, S, T)[int(rng.integers(3))]
        mask = None
        if subtype == T:
            pixels = np.zeros((h, w), np.uint8)
            if rng.random() < 0.8:  # some masks are empty
                x1, y1 = int(rng.integers(0, w - 1)), int(rng.integers(0, h - 1))
                pixels[y1 : int(rng.integers(y1 + 1, h + 1)), x1 : int(rng.integers(x1 + 1, w + 1))] = 255
            mask = folder / f"{i}_mask.png"
            Image.fromarray(pixels).save(mask)
        label = ("real", "fake", "unknown")[int(rng.choice(3, p=[0.4, 0.5, 0.1]))]
        regions = []
        for _ in range(int(rng.integers(0, 3))):
            x1, y1 = int(rng.integers(0, w - 1)), int(rng.integers(0, h - 1))
            regions.append(Region((x1, y1, int(rng.integers(x1 + 1, w + 1)), int(rng.integers(y1 + 1, h + 1)))))
        sample_label = "real" if subtype == R else "fake"
        samples.append(Sample(f"s{i}", folder / f"{i}.png", sample_label, mask=mask, meta={"subtype": subtype}))
        verdicts.append(Verdict(label, regions=tuple(regions), image_size=(w, h)))
    return samples, verdicts


def _reference_inputs(samples: list[Sample], verdicts: list[Verdict]):
    """Classes and masks as SIDA would see them: the prediction's mask is the union of a fake answer's boxes."""
    truth, pred, gt, out = [], [], [], []
    for sample, verdict in zip(samples, verdicts, strict=True):
        truth.append((R, S, T).index(sample.meta["subtype"]))
        if verdict.label == "real":
            pred.append(0)
        elif verdict.label == "fake":
            pred.append(2 if verdict.regions else 1)
        else:
            pred.append(3)
        if sample.mask is None:
            gt.append(None)
            out.append(None)
            continue
        mask = np.asarray(Image.open(sample.mask)) > 0
        predicted = np.zeros_like(mask)
        if verdict.label == "fake":
            for region in verdict.regions:
                x1, y1, x2, y2 = (int(v) for v in region.box)
                predicted[y1:y2, x1:x2] = True
        gt.append(mask)
        out.append(predicted)
    return truth, pred, gt, out


@pytest.mark.parametrize("seed", range(8))
def test_matches_a_reimplementation_of_sida_on_random_cases(seed: int, tmp_path: Path) -> None:
    samples, verdicts = _random_case(np.random.default_rng(seed), tmp_path)
    accumulator = MetricsAccumulator()
    for sample, verdict in zip(samples, verdicts, strict=True):
        accumulator.add(score_sample(sample, verdict, localization=True).rows)
    ours = accumulator.compute()["sid_set"]
    accuracy, precision, recall, f1, ciou, giou, composite, auc = _sida_reference(*_reference_inputs(samples, verdicts))
    assert ours["n"] == len(samples) and ours["accuracy_3class"] == pytest.approx(accuracy)
    for i, name in enumerate((R, S, T)):
        got = ours["per_class"][name]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((precision[i], recall[i], f1[i]))
    for key, value in (("ciou_tampered", ciou), ("giou_tampered", giou), ("sida_f1", composite)):
        assert (ours[key] is None) == (value is None), key
        if value is not None:
            assert ours[key] == pytest.approx(value, abs=1e-4), key
    assert ours["sida_auc_approx"] == pytest.approx(auc)
    assert ours["n_unknown"] == sum(v.label == "unknown" for v in verdicts)


def test_each_group_recomputes_from_its_rows(tmp_path: Path) -> None:
    samples, verdicts = _random_case(np.random.default_rng(3), tmp_path, n=20)
    accumulator = MetricsAccumulator()
    for sample, verdict in zip(samples, verdicts, strict=True):
        accumulator.add(score_sample(sample, verdict, localization=True, group_by="meta.subtype").rows)
    metrics = accumulator.compute("meta.subtype")
    for subtype, group in metrics["groups"]["values"].items():
        assert group["sid_set"]["n"] == sum(s.meta["subtype"] == subtype for s in samples)
        assert group["sid_set"]["accuracy_3class"] == pytest.approx(group["sid_set"]["per_class"][subtype]["recall"])


def test_no_sid_set_group_without_sid_set_subtypes(tmp_path: Path) -> None:
    accumulator = MetricsAccumulator()
    sample = Sample("a", tmp_path / "a.png", "real", meta={"subtype": "inpainting"})
    accumulator.add(score_sample(sample, Verdict("real", image_size=(8, 8)), localization=True).rows)
    assert "sid_set" not in accumulator.compute()


# -- the sid-set prompt pack -------------------------------------------------------------------------------------


def test_the_sid_set_pack_asks_for_regions_only_for_tampered_images() -> None:
    pack = load_pack("sid-set")
    assert pack.task == "grounded" and pack.convention == "norm1000" and pack.schema is not None
    text = " ".join(p.text for p in pack.render_turn(0, (640, 480)).parts if isinstance(p, TextPart))
    assert "ONLY for a tampered image" in text and "fully synthetic image or a real one" in text


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"verdict": "fake", "rationale": "r", "regions": [{"box": [100, 250, 500, 750], "label": "face"}]}, T),
        ({"verdict": "fake", "rationale": "wholly generated", "regions": []}, S),
        ({"verdict": "real", "rationale": "r", "regions": []}, R),
        ({"verdict": "maybe", "rationale": "r", "regions": []}, U),
    ],
)
def test_a_pack_answer_parses_into_the_class_the_derivation_expects(answer: dict, expected: str) -> None:
    verdict = parse(json.dumps(answer), load_pack("sid-set").convention, (640, 480))
    assert predicted_class(verdict.label, bool(verdict.regions)) == expected


# -- end to end --------------------------------------------------------------------------------------------------

W, H = 50, 40
COLOURS = {"real": (200, 0, 0), "full_synthetic": (0, 200, 0), "tampered": (0, 0, 200), "tampered2": (200, 200, 0)}
ANSWERS = {  # the tampered image is boxed exactly (mask 10..30 x 10..30); the second one is called fully synthetic
    "real": {"verdict": "real", "rationale": "plain", "regions": []},
    "full_synthetic": {"verdict": "fake", "rationale": "generated", "regions": []},
    "tampered": {"verdict": "fake", "rationale": "edit", "regions": [{"box": [200, 250, 600, 750], "label": "x"}]},
    "tampered2": {"verdict": "fake", "rationale": "generated", "regions": []},
}


def _sid_set_folder(root: Path) -> Path:
    for name, colour in COLOURS.items():
        folder = "tampered" if name.startswith("tampered") else name
        (root / folder).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (W, H), colour).save(root / folder / f"{name}.png")
        if folder == "tampered":
            mask = np.zeros((H, W), np.uint8)
            mask[10:30, 10:30] = 255
            (root / "masks").mkdir(exist_ok=True)
            Image.fromarray(mask).save(root / "masks" / f"{name}_mask.png")
    return root


def _answer_by_colour(body: dict[str, Any]) -> Reply:
    pixels = request_pixels(body).astype(float)
    mean = pixels.reshape(-1, 3).mean(0)
    name = min(COLOURS, key=lambda n: float(np.abs(mean - np.array(COLOURS[n])).sum()))
    return Reply(json.dumps(ANSWERS[name]))


def test_eval_with_the_sid_set_suite_writes_the_sid_set_group(tmp_path: Path) -> None:
    data = _sid_set_folder(tmp_path / "sid")
    with FakeOpenAIServer(responder=_answer_by_colour) as server:
        args = ["eval", "--suite", "sid-set", "--data", str(data), "--model", "test-model", "--convention", "norm1000"]
        result = CliRunner().invoke(app, [*args, "--base-url", server.base_url, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["prompt"].startswith("sid-set@")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    sid = metrics["sid_set"]
    assert sid["n"] == 4 and sid["accuracy_3class"] == pytest.approx(0.75) and sid["n_unknown"] == 0
    assert (sid["ciou_tampered"], sid["giou_tampered"]) == pytest.approx((0.5, 0.5))
    assert sid["sida_f1"] == pytest.approx(0.6)  # 2 * 0.5 * 0.75 / 1.25
    assert sid["per_class"]["tampered"]["recall"] == 0.5 and sid["per_class"]["full_synthetic"]["precision"] == 0.5
    assert sid["sida_auc_approx"] == pytest.approx((2.5 / 3) ** 2)
    assert sid["source"].startswith("hzlsaber/SIDA") and "predicted" in sid["definition"]
    assert metrics["groups"]["values"]["tampered"]["sid_set"]["ciou_tampered"] == pytest.approx(0.5)
