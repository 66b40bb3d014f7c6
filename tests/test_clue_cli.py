"""``grounddefake eval`` and ``detect`` with the shipped constitution against a local server that scripts Yes/No
log-probabilities: the records, metrics.json's rules group, both reports and the per-rule lines, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grounddefake.cli import app

from .servers.openai_server import FakeOpenAIServer
from .servers.yes_no import YesNoScript, fast_requests

RED, BLUE, GREEN = "#c81e1e", "#1e1ec8", "#1ea01e"
COLOURS = {RED: (200, 30, 30), BLUE: (30, 30, 200), GREEN: (30, 160, 30)}


class Baselines05(YesNoScript):
    """The script, with every text-only baseline 0.5 unless set."""

    def __call__(self, body):  # type: ignore[no-untyped-def]
        if self.key(body) is None:
            content = body["messages"][-1]["content"][-1]["text"].rpartition("Content:")[2].strip()
            self.scores.setdefault((None, content), 0.5)
        return super().__call__(body)


def script() -> Baselines05:
    """Baselines 0.5 and M 0.1 unless said: debiased, d = -0.4 < -0.15 → unmet. Red: a gun pointed at a person, both
    0.99 → met (d = 0.49 > 0.4): weapons violated by debiasing. Blue: the gun 0.6 stays undecided, the aim is met →
    the cascade rates Yes (P 0.9). Green: "a person" has a strong language prior (0.9), M 0.6 → d = -0.3 < -0.27 →
    unmet, although raw M ≥ 0.5."""
    scores: dict[tuple[str | None, str], float] = {(None, "a person"): 0.9}
    for colour, gun in ((RED, 0.99), (BLUE, 0.6)):
        scores[(colour, "a gun")] = gun
        scores[(colour, "a weapon pointed at a person")] = 0.99
    scores[(GREEN, "a person")] = 0.6
    # red's box question (after a violation decided by the scores) gets the middle half: (40, 30, 120, 90) in pixels
    return Baselines05(scores=scores, default=0.1, ratings={BLUE: ("Yes", 0.9)}, boxes={RED: [250, 250, 750, 750]})


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    lines = []
    for name, colour, label, rules, box in (
        ("red", RED, "unsafe", {"weapons": True}, [40, 30, 120, 90]),
        ("blue", BLUE, "unsafe", {"weapons": True}, [16, 12, 80, 60]),  # the cascade's [100, 100, 500, 500]
        ("green", GREEN, "safe", None, None),
    ):
        pixels = np.zeros((120, 160, 3), np.uint8)
        pixels[:] = COLOURS[colour]
        Image.fromarray(pixels).save(tmp_path / f"{name}.png")
        line = {"id": name, "image": f"{name}.png", "label": label, "meta": {"rule": "weapons" if rules else "none"}}
        if rules:
            line["rules"], line["regions"] = rules, [{"box": box}]
        lines.append(json.dumps(line))
    (tmp_path / "data.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "data.jsonl"


def test_eval_with_the_constitution_scores_rules_end_to_end(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(responder=script()) as server:
        args = ["eval", "--data", str(dataset), "--prompt", "constitution.yaml", "--model", "test-model"]
        result = CliRunner().invoke(app, [*args, "--base-url", server.base_url, "--out", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    assert {k: r["label"] for k, r in records.items()} == {"red": "unsafe", "blue": "unsafe", "green": "safe"}
    weapons = {k: next(d for d in r["rules"] if d["id"] == "weapons") for k, r in records.items()}
    assert [(weapons[k]["decision"], weapons[k]["path"]) for k in ("red", "blue", "green")] == [
        ("violated", "debiased"),
        ("violated", "cascade"),
        ("not_violated", "debiased"),
    ]
    assert weapons["blue"]["score"] == pytest.approx(0.9, abs=1e-6) and weapons["red"]["groups"] == [4, 2]
    # one text-only baseline per precondition asked, however many images asked it
    # grounded safety: the violated rules' regions in original pixels, labelled with the rule, scored like fakes
    assert [(r["box"], r["label"]) for r in records["red"]["regions"]] == [([40.0, 30.0, 120.0, 90.0], "weapons")]
    assert [(r["box"], r["label"]) for r in records["blue"]["regions"]] == [([16.0, 12.0, 80.0, 60.0], "weapons")]
    baselines = [b["messages"][-1]["content"][-1]["text"] for b in fast_requests(server, with_image=False)]
    assert len(baselines) == len(set(baselines)) > 8

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classification"]["positive"] == "unsafe" and metrics["classification"]["accuracy"] == 1.0
    localization = metrics["localization"]
    assert (localization["n"], localization["iou_mean"], localization["n_real"], localization["real_fp_rate"]) == (
        2, 1.0, 1, 0.0,
    )  # fmt: skip
    rules = metrics["rules"]
    assert rules["rules"][:2] == ["violence", "weapons"] and len(rules["rules"]) == 8
    assert {k: rules["per_rule"]["weapons"][k] for k in ("n", "support", "tp", "tn", "fp", "fn")} == {
        "n": 3, "support": 2, "tp": 2, "tn": 1, "fp": 0, "fn": 0,
    }  # fmt: skip
    assert rules["per_rule"]["nudity"]["n"] == 1  # only the safe image has nudity truth (false)
    assert rules["rule_named_accuracy"] == {"value": 1.0, "n": 3, "correct": 2 + 1, "n_unverifiable": 0}
    # raw M >= 0.5 finds green's "a person" met, but the judge never asked the groups after it: unknown
    assert [rules["ablation"][v]["accuracy"] for v in ("raw", "debiased", "judge")] == pytest.approx([2 / 3, 1, 1])
    assert rules["ablation"]["raw"]["n_unknown"] == 1
    assert rules["cost"]["by_path"]["cascade"]["decisions"] == 1
    assert rules["cost"]["requests"] == sum(r["requests"] for r in records.values())

    report = (out / "report.md").read_text()
    assert (
        "## Rules (8 rules, positive class unsafe)" in report
        and "## Localization (unsafe samples" in report
        and "| weapons | 3 | 2 |" in report
    )
    assert "| raw M ≥ 0.5 | 0.667 |" in report
    assert "weapons violated by cascade (0.90); 7 not violated (7 debiased)" in report
    html = (out / "report.html").read_text()
    assert 'id="rules"' in html and "debiasing alone" in html


def test_detect_prints_one_line_per_rule(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(dataset.parent / "cache"))
    with FakeOpenAIServer(responder=script()) as server:
        args = ["detect", str(dataset.parent / "red.png"), "--prompt", "constitution.yaml", "--model", "test-model"]
        result = CliRunner().invoke(app, [*args, "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    assert ": unsafe" in result.output and "P(unsafe)=0.990" in result.output
    assert "rule weapons: violated 0.99 by debiased" in result.output
    assert result.output.count("  rule ") == 8


def test_compare_shows_rule_metrics_side_by_side(dataset: Path, tmp_path: Path) -> None:
    runs = []
    for name, rating in (("yes", ("Yes", 0.9)), ("no", ("No", 0.2))):
        responder = script()
        responder.ratings[BLUE] = rating  # "no": blue's weapons rule is missed by the cascade
        with FakeOpenAIServer(responder=responder) as server:
            args = ["eval", "--data", str(dataset), "--prompt", "constitution.yaml", "--model", "test-model"]
            out = tmp_path / name
            result = CliRunner().invoke(app, [*args, "--base-url", server.base_url, "--out", str(out), "--no-cache"])
        assert result.exit_code == 0, result.output
        runs.append(out)
    result = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "cmp" / "compare.md").read_text()
    # weapons: tp 2, tn 1 → F1 1; missed: tp 1, fn 1 → 2/3. Rule-named accuracy 3/3 and 2/3.
    assert "| rules.per_rule.weapons.f1 | 1.000 | 0.667 |" in markdown
    assert "| rules.rule_named_accuracy.value | 1.000 | 0.667 |" in markdown
    assert "| rules.ablation.raw.accuracy | 0.667 | 0.667 |" in markdown
    assert "rules.micro.f1" in result.output


def test_the_os_bench_suite_runs_the_constitution(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "suite"
    with FakeOpenAIServer(responder=script()) as server:
        args = ["eval", "--suite", "os-bench", "--data", str(dataset), "--model", "test-model", "--no-cache"]
        result = CliRunner().invoke(app, [*args, "--base-url", server.base_url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["prompt"].startswith("constitution@") and config["positive"] == "unsafe"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classification"]["recall"] == 1.0 and metrics["rules"]["micro"]["f1"] == 1.0
    assert set(metrics["groups"]["values"]) == {"weapons", "none"}


def test_the_python_api_returns_per_rule_decisions(dataset: Path) -> None:
    """``Detector(prompt="constitution.yaml")``, as the README shows it: the same decisions as ``eval``'s red line."""
    from grounddefake import Detector

    with FakeOpenAIServer(responder=script()) as server:
        detector = Detector(model="test-model", prompt="constitution.yaml", base_urls=[server.base_url], cache=False)
        verdict = detector.detect(dataset.parent / "red.png")
    assert verdict.label == "unsafe" and verdict.score == pytest.approx(0.99, abs=1e-6)
    decisions = {r.id: (r.decision, r.path) for r in verdict.rules}
    assert decisions["weapons"] == ("violated", "debiased") and len(decisions) == 8
    assert [(r.box, r.label) for r in verdict.regions] == [((40.0, 30.0, 120.0, 90.0), "weapons")]
