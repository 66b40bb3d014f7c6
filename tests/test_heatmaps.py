"""Dense heatmaps: the ``--heatmap`` modes parsed and refused, ``consensus:N`` maps against a brute-force vote map of
per-seed boxes, ``probe:K`` maps against the tiles' scripted P(Yes), the stored PNGs, the requests by purpose, and
the dense map scored by the heatmap metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.heatmaps.maps import tile_boxes
from grounddefake.heatmaps.modes import HeatmapMode, HeatmapModeError

from .servers.openai_server import FakeOpenAIServer, Reply, request_pixels
from .servers.yes_no import yes_no_logprobs

W, H = 48, 32


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        (None, HeatmapMode()),
        ("boxes", HeatmapMode()),
        ("consensus:5", HeatmapMode("consensus", 5)),
        ("probe:4", HeatmapMode("probe", 4)),
        (" probe:1 ", HeatmapMode("probe", 1)),
    ],
)
def test_modes_parse(text: str | None, mode: HeatmapMode) -> None:
    assert HeatmapMode.parse(text) == mode


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dense", "one of boxes, consensus:N, probe:K"),
        ("consensus:1", "2 <= N <= 64"),
        ("probe:0", "1 <= K <= 16"),
        ("probe:4:x", "one of boxes"),
    ],
)
def test_unknown_modes_are_refused(text: str, message: str) -> None:
    with pytest.raises(HeatmapModeError, match=message):
        HeatmapMode.parse(text)


def _dataset(root: Path) -> Path:
    """One fake image, grey with a red block at columns 24..48, rows 0..16, and a ground-truth heatmap of the block."""
    root.mkdir(parents=True, exist_ok=True)
    pixels = np.full((H, W, 3), 128, np.uint8)
    pixels[:16, 24:] = (220, 20, 20)
    Image.fromarray(pixels).save(root / "a.png")
    truth = np.zeros((H, W), np.uint8)
    truth[:16, 24:] = 255
    Image.fromarray(truth).save(root / "a_heat.png")
    line = {"id": "a", "image": "a.png", "label": "fake", "heatmap": "a_heat.png"}
    (root / "data.jsonl").write_text(json.dumps(line) + "\n")
    return root / "data.jsonl"


SEED_BOXES = {0: ([0, 0, 500, 500], 0.8), 1: ([250, 0, 1000, 500], None), 2: ([0, 500, 1000, 1000], 0.5)}
"""Per seed, one box in norm1000 and its score: the answers of consensus:3 (seed 1's has no score: it counts 1)."""


def _consensus_responder(body: dict) -> Reply:  # type: ignore[type-arg]
    box, score = SEED_BOXES[body["seed"]]
    region = {"box": box, "label": "artifact", **({} if score is None else {"score": score})}
    return Reply(text=json.dumps({"verdict": "fake", "rationale": "r", "regions": [region]}))


def _run(data: Path, out: Path, server: FakeOpenAIServer, *extra: str):  # type: ignore[no-untyped-def]
    args = ["eval", "--data", str(data), "--model", "test-model", "--convention", "norm1000", "--with-boxes"]
    return CliRunner().invoke(app, [*args, "--base-url", server.base_url, "--out", str(out), "--no-cache", *extra])


def _stored(out: Path, record: dict) -> np.ndarray:  # type: ignore[type-arg]
    return np.asarray(Image.open(out / record["heatmap"]), np.float64) / 255


def test_consensus_map_is_the_vote_map_of_the_seeds_boxes(tmp_path: Path) -> None:
    data, out = _dataset(tmp_path / "data"), tmp_path / "run"
    with FakeOpenAIServer(responder=_consensus_responder) as server:
        result = _run(data, out, server, "--heatmap", "consensus:3", "--temperature", "0.7")
    assert result.exit_code == 0, result.output
    assert sorted(b["seed"] for b in server.requests) == [0, 1, 2]
    record = json.loads((out / "predictions.jsonl").read_text())
    # brute force: each answer paints its box (pixel centres inside) with its score (1 without), averaged over 3
    expected = np.zeros((H, W))
    for box, score in SEED_BOXES.values():
        x1, y1, x2, y2 = (v / 1000 * s for v, s in zip(box, (W, H, W, H), strict=True))
        ys, xs = np.mgrid[0:H, 0:W] + 0.5
        expected += np.where((xs >= x1) & (xs <= x2) & (ys >= y1) & (ys <= y2), 1.0 if score is None else score, 0)
    expected /= 3
    assert np.abs(_stored(out, record) - expected).max() <= 0.5 / 255 + 1e-9
    assert record["heatmap_mode"] == "consensus:3" and record["label"] == "fake"
    assert record["requests"] == 3 and record["requests_by_purpose"] == {"answer": 1, "consensus": 2}
    assert record["score"] == pytest.approx(1.0)  # every vote is fake and no answer has a score: the vote share
    assert json.loads((out / "config.json").read_text())["options"]["heatmap"] == "consensus:3"


def test_consensus_at_temperature_zero_is_refused_in_one_line(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "data")
    with FakeOpenAIServer(responder=_consensus_responder) as server:
        result = _run(data, tmp_path / "run", server, "--heatmap", "consensus:3")
    assert result.exit_code == 2 and "at temperature 0 they are all the same" in result.output
    assert not server.requests


def _probe_responder(body: dict) -> Reply:  # type: ignore[type-arg]
    """A tile showing red pixels is an artifact (P(Yes) 0.9), any other 0.2; the answer itself: fake, no region."""
    if body.get("max_tokens") == 1:
        red = (request_pixels(body)[..., 0] > 200).any()
        p = 0.9 if red else 0.2
        return Reply(text="Yes" if p >= 0.5 else "No", logprobs=yes_no_logprobs(p))
    return Reply(text=json.dumps({"verdict": "fake", "rationale": "r", "regions": []}))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_probe_map_is_the_mean_of_the_tiles_p_yes(tmp_path: Path, k: int) -> None:
    data, out = _dataset(tmp_path / "data"), tmp_path / "run"
    with FakeOpenAIServer(responder=_probe_responder) as server:
        result = _run(data, out, server, "--heatmap", f"probe:{k}", "--overlays", "all")
    assert result.exit_code == 0, result.output
    tiles = [b for b in server.requests if b.get("max_tokens") == 1]
    assert len(tiles) == k * k
    record = json.loads((out / "predictions.jsonl").read_text())
    assert record["requests"] == 1 + k * k and record["requests_by_purpose"] == {"answer": 1, "probe": k * k}
    # expected from the description: K tiles a side, each 1 / (K − 0.25 (K − 1)) of it, stepping by 3/4 of a tile
    side_w, side_h = W / (k - 0.25 * (k - 1)), H / (k - 0.25 * (k - 1))
    total, count = np.zeros((H, W)), np.zeros((H, W))
    for i in range(k):
        for j in range(k):
            x0, y0 = j * 0.75 * side_w, i * 0.75 * side_h
            cols = (np.arange(W) + 0.5 >= x0) & (np.arange(W) + 0.5 <= x0 + side_w)
            rows = (np.arange(H) + 0.5 >= y0) & (np.arange(H) + 0.5 <= y0 + side_h)
            red = bool((rows[:16, None] & cols[None, 24:]).any())
            total[np.ix_(rows, cols)] += 0.9 if red else 0.2
            count[np.ix_(rows, cols)] += 1
    assert np.abs(_stored(out, record) - total / count).max() <= 0.5 / 255 + 1e-6
    heatmap = json.loads((out / "metrics.json").read_text())["heatmap"]
    if k == 3:  # the dense map is what the heatmap metrics score: it follows the red block (every 2x2 tile sees red)
        assert heatmap["cc"] > 0.3
    assert tile_boxes((W, H), k)[-1][2:] == (W, H)
    # the overlay blends the dense map (no region is claimed: only the map colours it); the page links the map
    overlay = np.asarray(Image.open(out / "overlays" / "a.jpg").convert("RGB"), np.int16)
    assert np.abs(overlay - np.asarray(Image.open(data.parent / "a.png").convert("RGB"), np.int16)).mean() > 5
    assert '"heatmap": "heatmaps/a.png"' in (out / "report.html").read_text()


def test_boxes_is_todays_mode_and_costs_nothing_more(tmp_path: Path) -> None:
    data, out = _dataset(tmp_path / "data"), tmp_path / "run"
    with FakeOpenAIServer() as server:
        result = _run(data, out, server, "--heatmap", "boxes")
    assert result.exit_code == 0, result.output
    record = json.loads((out / "predictions.jsonl").read_text())
    assert len(server.requests) == 1 and "heatmap" not in record
    assert record["requests_by_purpose"] == {"answer": 1}


def test_detect_writes_the_probe_map(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "data")
    target = tmp_path / "map.png"
    with FakeOpenAIServer(responder=_probe_responder) as server:
        args = ["detect", str(data.parent / "a.png"), "--model", "test-model", "--convention", "norm1000"]
        result = CliRunner().invoke(
            app, [*args, "--base-url", server.base_url, "--heatmap", "probe:3", "--heatmap-out", str(target)]
        )
    assert result.exit_code == 0, result.output
    stored = np.asarray(Image.open(target))
    assert stored.shape == (H, W) and stored[:8, -8:].mean() > stored[-8:, :8].mean()


def test_compare_puts_modes_side_by_side(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "data")
    with FakeOpenAIServer(responder=_probe_responder) as server:
        for mode in ("boxes", "probe:3"):
            assert _run(data, tmp_path / mode.replace(":", "-"), server, "--heatmap", mode).exit_code == 0
    runs = [str(tmp_path / "boxes"), str(tmp_path / "probe-3")]
    result = CliRunner().invoke(app, ["compare", *runs, "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "cmp" / "compare.md").read_text()
    assert r"| metric | test-model | test-model \[probe:3\] |" in markdown  # Markdown-escaped brackets
    assert "| requests.per_image | 1.000 | 10.000 |" in markdown and "| heatmap.cc | 0.000 |" in markdown


def test_explanations_are_judged_against_the_datasets_reference(tmp_path: Path) -> None:
    """Expl-AIGI-Eval's chain of thought is the reference of each rationale; the judge of explanations scores it."""
    from .test_dataset_formats import expl_aigi

    data = expl_aigi(tmp_path / "data")
    seen = []

    def judge(body: dict) -> Reply:  # type: ignore[type-arg]
        prompt = body["messages"][-1]["content"]
        seen.append(prompt if isinstance(prompt, str) else " ".join(p.get("text", "") for p in prompt))
        scores = {"accuracy": 80, "preciseness": 60, "comprehensiveness": 40, "fluency": 100}
        return Reply(text=json.dumps(scores))

    with FakeOpenAIServer() as model, FakeOpenAIServer(responder=judge) as judging:
        args = ["--judge-model", "judge", "--judge-base-url", judging.base_url]
        result = _run(data, tmp_path / "run", model, *args)
    assert result.exit_code == 0, result.output
    assert "### Image Description" in seen[0] and "The fingers of the left hand are fused." in seen[0]
    meq = json.loads((tmp_path / "run" / "metrics.json").read_text())["moderation"]["meq"]
    assert meq["n_scored"] == 1 and meq["meq"] == pytest.approx(0.7)


def test_a_debiased_probe_takes_out_the_prior_asked_once_per_run(tmp_path: Path) -> None:
    """Without an image the model says Yes with 0.5: a red tile's 0.9 becomes (0.9 − 0.5) / 0.5 = 0.8, others 0."""
    root = tmp_path / "data"
    data = _dataset(root)
    (root / "b.png").write_bytes((root / "a.png").read_bytes())
    lines = [json.loads(data.read_text()), {"id": "b", "image": "b.png", "label": "fake"}]
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))

    baselines = []

    def responder(body: dict) -> Reply:  # type: ignore[type-arg]
        parts = body["messages"][-1]["content"]
        if body.get("max_tokens") == 1 and not any(isinstance(p, dict) and p.get("type") == "image_url" for p in parts):
            baselines.append(body)
            return Reply(text="Yes", logprobs=yes_no_logprobs(0.5))
        return _probe_responder(body)

    out = tmp_path / "run"
    with FakeOpenAIServer(responder=responder) as server:
        result = _run(data, out, server, "--heatmap", "probe:1:debiased")
    assert result.exit_code == 0, result.output
    assert len(baselines) == 1  # one text-only baseline for the run, however many images
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    for record in records:
        assert record["heatmap_mode"] == "probe:1:debiased"
        assert np.allclose(_stored(out, record), 0.8, atol=0.5 / 255 + 1e-6)
