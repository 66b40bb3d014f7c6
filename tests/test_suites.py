"""Public-benchmark suites: every shipped suite loads and names a known format; --suite runs one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.datasets import FORMATS
from grounddefake.suites import SuiteError, list_suites, load_suite

from .test_dataset_formats import sid_set


def test_every_suite_loads_with_a_known_format_and_sources() -> None:
    suites = list_suites()
    assert {s.name for s in suites} >= {"synthscars", "loki", "sid-set", "fakexplained", "fakeclue", "expl-aigi-eval"}
    for suite in suites:
        assert suite.format in FORMATS and suite.layout and suite.description
        assert all(p.source and p.reason for p in suite.published), suite.name


def test_unknown_suite_lists_the_known_ones() -> None:
    with pytest.raises(SuiteError, match="sid-set"):
        load_suite("nope")


def test_eval_with_a_suite_uses_its_options_and_flags_win(tmp_path: Path) -> None:
    root = sid_set(tmp_path / "sid")
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--suite", "sid-set", "--data", str(root), "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["data_format"] == "sid-set" and config["options"]["with_boxes"] is True
    assert config["options"]["group_by"] == "meta.subtype"
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert set(metrics["groups"]["values"]) == {"real", "full_synthetic", "tampered"}
    result = runner.invoke(
        app,
        [
            "eval",
            "--suite",
            "sid-set",
            "--data",
            str(root),
            "--out",
            str(tmp_path / "b"),
            "--prompt",
            "verdict",
            "--group-by",
            "label",
        ],
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["options"]["with_boxes"] is False and config["options"]["group_by"] == "label"


def test_a_grounding_prompt_given_with_a_suite_keeps_the_boxes(tmp_path: Path) -> None:
    root = sid_set(tmp_path / "sid")
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--suite",
            "sid-set",
            "--data",
            str(root),
            "--out",
            str(tmp_path / "c"),
            "--prompt",
            "grounded",
            "--bootstrap",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert config["options"]["with_boxes"] is True and config["options"]["bootstrap"] == 0
