"""Runs across schema versions: a run directory written by version 1 is resumed, rescored and reported."""

from __future__ import annotations

import json
from pathlib import Path

from grounddefake.api import build_report, evaluate, resume
from grounddefake.records import SCHEMA


def _downgrade_to_schema_1(run: Path, keep: int) -> None:
    """Rewrite a run directory as version 1 wrote it: flat config keys, no ``schema`` anywhere, PNG overlays."""
    config = json.loads((run / "config.json").read_text())
    options = config.pop("options")
    for key in ("schema", "kind"):
        config.pop(key)
    config.update(
        model_requested=options["model"],
        with_boxes=options["with_boxes"],
        limit=options["limit"],
        shard=None,
        params=options["params"],
        local=None,
        scoring={"group_by": "label", "bootstrap": 0, "iou_threshold": 0.5, "side_by_side": False},
    )
    (run / "config.json").write_text(json.dumps(config))
    lines = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    for line in lines:
        line.pop("schema")
    (run / "predictions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines[:keep]))
    rows = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("schema")
        row["overlay"] = f"{row['id']}.png"
    (run / "samples.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    for overlay in (run / "overlays").iterdir():
        overlay.rename(overlay.with_suffix(".png"))


def test_a_schema_1_run_resumes_and_reports(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = evaluate(tiny_dataset, "forensic", "grounded", True, run, overlays="all")
    _downgrade_to_schema_1(run, keep=2)
    _, html = build_report(run, overlays="none")
    gallery = html.read_text()
    assert gallery.count("overlays/s") == 4 and "overlays/s0.png" in gallery  # version-1 overlays are found
    resumed = resume(run)
    assert resumed.reused == 2 and resumed.stats.requests == 2  # two answers kept, two asked
    assert resumed.metrics["classification"] == first.metrics["classification"]
    assert resumed.metrics["groups"]["by"] == "label"  # the flat scoring keys of version 1 were read
    config = json.loads((run / "config.json").read_text())
    assert config["schema"] == SCHEMA and config["options"]["group_by"] == "label"
    assert all(json.loads(line).get("schema") in (None, SCHEMA) for line in (run / "predictions.jsonl").open())
