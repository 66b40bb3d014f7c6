"""Every ``--heatmap`` mode on a tiny random local model (tests/tiny_models.py): the probe's tiles are scored from
the model's own Yes/No logits, consensus samples one answer per seed, and each run stores its map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="local models need torch (make test installs the CPU wheel)")
pytest.importorskip("transformers", reason="local models need transformers")

from PIL import Image
from typer.testing import CliRunner

from grounddefake.cli import app
from tests.tiny_models import build_qwen


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_qwen(tmp_path_factory.mktemp("tiny-heatmaps") / "qwen25")


@pytest.mark.parametrize(
    ("mode", "purposes"),
    [("boxes", {"answer": 1}), ("consensus:2", {"answer": 1, "consensus": 1}), ("probe:2", {"answer": 1, "probe": 4})],
)
def test_every_mode_runs_on_a_local_model(checkpoint: Path, tmp_path: Path, mode: str, purposes: dict) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "data.jsonl").write_text(json.dumps({"id": "a", "image": "a.png", "label": "fake"}) + "\n")
    out = tmp_path / "run"
    args = ["eval", "--data", str(tmp_path / "data.jsonl"), "--model", f"local:{checkpoint}", "--heatmap", mode]
    args += ["--max-new-tokens", "4", "--temperature", "0.8", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "predictions.jsonl").read_text())
    assert record["requests_by_purpose"] == purposes
    if mode == "boxes":
        assert "heatmap" not in record
        return
    stored = np.asarray(Image.open(out / record["heatmap"]))
    assert stored.shape == (48, 64) and record["heatmap_mode"] == mode
    if mode.startswith("probe"):  # every tile has a P(Yes) from the model's logits: the map is nowhere empty
        assert not any("tiles without P(Yes)" in note for note in record["parse_errors"]) and stored.min() > 0
