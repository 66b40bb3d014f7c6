"""grounddefake compare: headline metrics of several runs side by side, per group, with warnings."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from grounddefake.api import evaluate
from grounddefake.cli import app
from grounddefake.compare import compare_runs, render_html, render_markdown

from .conftest import ScriptedBackend, write_dataset


def _run(data: Path, out: Path, verdict: str) -> Path:
    answer = json.dumps({"verdict": verdict, "rationale": "r", "regions": [{"box": [0, 0, 1000, 1000]}]})
    backend = ScriptedBackend(lambda r: answer)
    backend.model = f"always-{verdict}<b>"
    evaluate(data, backend, "grounded", True, out, bootstrap=30, group_by="label")
    return out


def test_two_models_side_by_side(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 6)
    a, b = _run(data, tmp_path / "a", "fake"), _run(data, tmp_path / "b", "real")
    comparison = compare_runs([a, b])
    rows = dict(comparison.rows)
    assert rows["classification.accuracy"][0][0] == 0.5 and rows["classification.accuracy"][1][0] == 0.5
    assert rows["classification.accuracy"][0][1] is not None  # the bootstrap interval travels along
    fake = dict(comparison.groups)["fake"]
    assert (fake[0][0], fake[1][0]) == (1.0, 0.0) and fake[0][1] is not None  # per-group accuracy with its interval
    assert comparison.warnings == ()
    html = render_html(comparison)
    assert "always-fake&lt;b&gt;" in html and "<b>" not in html
    assert "| classification.accuracy | 0.500" in render_markdown(comparison)


def test_runs_on_other_data_are_flagged(tmp_path: Path) -> None:
    a = _run(write_dataset(tmp_path / "d1", 4), tmp_path / "a", "fake")
    b = _run(write_dataset(tmp_path / "d2", 6), tmp_path / "b", "fake")
    assert any("different data" in w for w in compare_runs([a, b]).warnings)
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cmp" / "compare.html").is_file() and (tmp_path / "cmp" / "compare.md").is_file()


def test_markdown_cells_are_escaped(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 4)
    run = _run(data, tmp_path / "a", "fake")
    config = json.loads((run / "config.json").read_text())
    config["model"] = "a|b"
    (run / "config.json").write_text(json.dumps(config))
    header = render_markdown(compare_runs([run])).splitlines()[0]
    assert header == "| metric | a\\|b |"


def test_compare_says_when_the_runs_used_different_prompt_packs(tiny_dataset: Path, tmp_path: Path) -> None:
    from grounddefake.compare import compare_runs

    from .conftest import ScriptedBackend

    answer = '{"verdict": "real", "regions": []}'
    evaluate(tiny_dataset, ScriptedBackend(lambda r: answer), "grounded", True, tmp_path / "a", overlays="none")
    evaluate(tiny_dataset, ScriptedBackend(lambda r: answer), "verdict", False, tmp_path / "b", overlays="none")
    warnings = compare_runs([tmp_path / "a", tmp_path / "b"]).warnings
    assert any("different prompt packs (grounded@" in w for w in warnings)
