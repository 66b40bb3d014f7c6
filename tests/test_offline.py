"""Runs without a model: predictions scored into a run directory that report and compare read; reports that draw
the overlays they lack; scoring that never decodes a photo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grounddefake.api import build_report, evaluate, resume, score
from grounddefake.cli import app
from grounddefake.records import SCHEMA
from grounddefake.rundir import RunDirectoryError

from .conftest import ScriptedBackend


def _boxes(request) -> str:
    return json.dumps({"verdict": "fake", "regions": [{"box": [400, 150, 750, 480], "score": 0.8}]})


def _predictions(tmp_path: Path) -> Path:
    lines = [
        {"id": "s0", "label": "real", "model": "my-model", "prompt": "mine"},
        {"id": "s1", "label": "fake", "score": 0.9, "regions": [{"box": [40, 10, 70, 30]}], "model": "my-model"},
        {"id": "s2", "label": "fake", "score": 0.7, "regions": [{"box": [0, 0, 10, 10]}], "model": "my-model"},
        {"id": "s3", "label": "real", "score": 0.2, "model": "my-model"},
    ]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_score_writes_a_run_that_report_and_compare_read(tiny_dataset: Path, tmp_path: Path) -> None:
    predictions = _predictions(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["score", "--predictions", str(predictions), "--data", str(tiny_dataset), "--out", str(tmp_path / "scored")],
    )
    assert result.exit_code == 0, result.output
    scored = tmp_path / "scored"
    config = json.loads((scored / "config.json").read_text())
    assert config["kind"] == "score" and config["model"] == "my-model" and config["schema"] == SCHEMA
    assert config["predictions_source"] == str(predictions.resolve())
    for name in ("predictions.jsonl", "samples.jsonl", "metrics.json", "report.md", "report.html"):
        assert (scored / name).is_file(), name
    assert sorted(p.name for p in (scored / "overlays").iterdir()) == ["s2.jpg", "s3.jpg"]  # fp and fn
    metrics = json.loads((scored / "metrics.json").read_text())
    assert metrics["classification"]["accuracy"] == pytest.approx(0.5)
    assert metrics["localization"]["iou_mean"] == pytest.approx(0.5)
    assert runner.invoke(app, ["report", str(scored)]).exit_code == 0
    evaluate(tiny_dataset, ScriptedBackend(_boxes), "grounded", True, tmp_path / "eval")
    compared = runner.invoke(app, ["compare", str(scored), str(tmp_path / "eval")])
    assert compared.exit_code == 0, compared.output
    assert "my-model" in compared.output


def test_score_never_decodes_a_photo(tiny_dataset: Path, tmp_path: Path) -> None:
    predictions = _predictions(tmp_path)
    before = score(predictions, tiny_dataset, overlays="none")
    for image in (tiny_dataset.parent / "images").glob("*.png"):
        data = image.read_bytes()
        image.write_bytes(data[:64])  # the header stays readable, the pixels are gone
    after = score(predictions, tiny_dataset, tmp_path / "out", overlays="none")
    assert after["classification"] == before["classification"]
    assert after["localization"]["iou_mean"] == before["localization"]["iou_mean"]
    assert "problems" not in after


def test_score_refuses_to_replace_an_eval_run(tiny_dataset: Path, tmp_path: Path) -> None:
    evaluate(tiny_dataset, ScriptedBackend(_boxes), "grounded", True, tmp_path / "eval", overlays="none")
    with pytest.raises(RunDirectoryError, match="run directory of an eval"):
        score(_predictions(tmp_path), tiny_dataset, tmp_path / "eval")
    with pytest.raises(RunDirectoryError, match="no model to resume"):
        score(_predictions(tmp_path), tiny_dataset, tmp_path / "scored")
        resume(tmp_path / "scored")


def test_report_draws_the_overlays_it_lacks(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    evaluate(tiny_dataset, ScriptedBackend(_boxes), "grounded", True, run, overlays="none")
    assert not (run / "overlays").exists() or not any((run / "overlays").iterdir())
    assert '"overlay": null' in (run / "report.html").read_text().replace('"overlay":null', '"overlay": null')
    build_report(run, overlays="mistakes")
    assert sorted(p.name for p in (run / "overlays").iterdir()) == ["s0.jpg", "s2.jpg"]  # the false positives
    build_report(run, overlays="all")
    assert len(list((run / "overlays").iterdir())) == 4
    assert (run / "report.html").read_text().count("overlays/s") == 4
    assert "overlays/s1.jpg" in (run / "report.md").read_text()


def test_the_python_api_runs_a_suite(tiny_dataset: Path, tmp_path: Path) -> None:
    result = evaluate(
        tiny_dataset, ScriptedBackend(_boxes), out=tmp_path / "run", suite="synthscars", data_format="manifest"
    )
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["options"]["suite"] == "synthscars" and config["options"]["with_boxes"]
    assert "localization" in result.metrics


def test_a_report_whose_data_moved_is_written_with_a_warning(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    evaluate(tiny_dataset, ScriptedBackend(_boxes), "grounded", True, run, overlays="none")
    tiny_dataset.rename(tmp_path / "moved.jsonl")
    result = CliRunner().invoke(app, ["report", str(run), "--overlays", "all"])
    assert result.exit_code == 0, result.output
    assert "overlays not drawn: the run's data cannot be read" in result.output
    assert (run / "report.html").is_file()


@pytest.mark.parametrize("command", ["eval", "score", "report"])
def test_one_overlays_flag_with_one_meaning(tiny_dataset: Path, tmp_path: Path, command: str) -> None:
    run = tmp_path / "run"
    evaluate(tiny_dataset, ScriptedBackend(_boxes), "grounded", True, run, overlays="none")
    args = {
        "eval": ["eval", "--data", str(tiny_dataset), "--out", str(tmp_path / "new")],
        "score": ["score", "--predictions", str(run / "predictions.jsonl"), "--data", str(tiny_dataset)],
        "report": ["report", str(run)],
    }[command]
    result = CliRunner().invoke(app, [*args, "--overlays", "some"])
    assert result.exit_code == 2 and "overlays is one of none, mistakes, all" in result.output
