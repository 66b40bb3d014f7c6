"""``data export --to sft``: every family's layout, and the round trip through ``eval`` with the same pack and family.

The round trip serves the exported answers from a fake OpenAI-compatible server (each request gets the exported
reply to its image and turn) and runs ``eval`` with the pack and the convention the family answers in: every
verdict must come back as the label, every box as the ground truth within the convention's quantisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.conventions import get_convention
from grounddefake.datasets import load_dataset
from grounddefake.prompts import load_pack
from grounddefake.training.examples import conversation_of, split_of
from grounddefake.training.layouts import SFT_FAMILIES, ExportError, answer_convention, export_sft, sft_family
from grounddefake.training.targets import TargetError, target_of, truth_regions
from grounddefake.types import Region, Sample
from tests.servers.openai_server import FakeOpenAIServer, Reply, request_pixels

SIZES = [(200, 150), (97, 131), (160, 160), (120, 90), (90, 120), (150, 100)]
BOXES = {1: [(20, 30, 90, 100)], 3: [(10, 12, 50, 40), (60, 70, 110, 88)], 5: [(100, 10, 140, 60)]}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Six images of different sizes and aspect ratios: three real, three fake with one or two labelled boxes."""
    rng = np.random.default_rng(3)
    (tmp_path / "images").mkdir()
    lines = []
    for i, (w, h) in enumerate(SIZES):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / "images" / f"{i}.png")
        record: dict[str, Any] = {"id": f"s{i}", "image": f"images/{i}.png", "label": "fake" if i in BOXES else "real"}
        if i in BOXES:
            record["regions"] = [{"box": list(b), "label": f"artifact {k}"} for k, b in enumerate(BOXES[i])]
        lines.append(json.dumps(record))
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "manifest.jsonl"


def replies_in(layout: str, path: Path) -> dict[str, list[str]]:
    """Image → its ground-truth replies in turn order, read back from an exported file."""
    text = path.read_text()
    rows = json.loads(text) if path.suffix == ".json" else [json.loads(line) for line in text.splitlines()]
    replies: dict[str, list[str]] = {}
    for row in rows:
        if layout == "prefix-suffix":
            replies.setdefault(row["image"], []).append(row["suffix"])
        elif layout == "messages":
            replies[row["images"][0]] = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        elif layout in ("llava", "internvl"):
            replies[row["image"]] = [t["value"] for t in row["conversations"] if t["from"] == "gpt"]
        else:
            image = row["contents"][0]["parts"][0]["fileData"]["fileUri"]
            replies[image] = [c["parts"][0]["text"] for c in row["contents"] if c["role"] == "model"]
    return replies


def serve_exported(replies: dict[str, list[str]]) -> Any:
    """A responder that answers each request with the exported reply to its image and turn (the image matched by
    its pixels, after the resize the model's image policy may apply: Qwen2.5-VL's grid)."""
    images = {path: Image.open(path).convert("RGB") for path in replies}

    def respond(body: dict[str, Any]) -> Reply:
        seen = request_pixels(body).astype(float)
        size = (seen.shape[1], seen.shape[0])
        errors = {p: np.abs(np.asarray(i.resize(size, Image.BICUBIC), float) - seen).mean() for p, i in images.items()}
        path = min(errors, key=errors.__getitem__)
        assert errors[path] < 12, "the exported image was not sent"
        turn = sum(m["role"] == "assistant" for m in body["messages"])
        return Reply(text=replies[path][turn])

    return respond


ROUND_TRIPS = [
    *[(family, "grounded") for family in SFT_FAMILIES],
    *[(family, "grounded-native") for family in SFT_FAMILIES],
    ("qwen2.5-vl", "verdict"),
    ("paligemma", "paligemma-detect"),
    ("paligemma", "paligemma-verdict"),
]


@pytest.mark.parametrize(("family", "prompt"), ROUND_TRIPS)
def test_exported_answers_parse_back_through_eval(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, family: str, prompt: str
) -> None:
    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    export = tmp_path / "sft"
    result = CliRunner().invoke(
        app,
        ["data", "export", str(dataset), str(export), "--family", family, "--prompt", prompt, "--val-fraction", "0"],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((export / "export.json").read_text())
    assert manifest["conversations"] == {"train": len(SIZES)} and manifest["skipped"] == []
    replies = replies_in(manifest["layout"], export / manifest["files"]["train"])
    pack = load_pack(prompt)
    convention = manifest["convention"] or "norm1000"
    assert manifest["convention"] == (
        None
        if pack.task == "verdict"
        else SFT_FAMILIES[family].convention
        if pack.convention == "native"
        else pack.convention
    )
    with FakeOpenAIServer(responder=serve_exported(replies)) as server:
        out = tmp_path / "run"
        arguments = ["eval", "--data", str(dataset), "--prompt", prompt, "--model", "test-model"]
        arguments += ["--convention", convention, "--base-url", server.base_url, "--out", str(out)]
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    for i, size in enumerate(SIZES):
        record = records[f"s{i}"]
        assert record["error"] is None and record["label"] == ("fake" if i in BOXES else "real"), record
        if pack.task != "grounded":
            continue
        truth = BOXES.get(i, [])
        found = sorted(tuple(r["box"]) for r in record["regions"])
        assert len(found) == len(truth), record
        step = max(get_convention(convention).step(size))
        for got, want in zip(found, sorted(truth), strict=True):
            assert np.allclose(got, want, atol=step + 1e-3), (got, want, step)
        labels = sorted(r.get("label") or "" for r in record["regions"])
        assert labels == sorted(f"artifact {k}" for k in range(len(truth)))


LAYOUT_KEYS = {
    "prefix-suffix": {"image", "prefix", "suffix"},
    "messages": {"messages", "images"},
    "llava": {"id", "image", "conversations"},
    "internvl": {"id", "image", "width", "height", "conversations"},
    "gemini": {"systemInstruction", "contents"},
}


@pytest.mark.parametrize("family", list(SFT_FAMILIES))
def test_each_family_gets_its_trainers_layout(dataset: Path, tmp_path: Path, family: str) -> None:
    written = export_sft(load_dataset(dataset), load_pack("grounded-native"), family, tmp_path / "sft")
    path = written.files["train"]
    rows = json.loads(path.read_text()) if path.suffix == ".json" else list(map(json.loads, path.open()))
    assert {frozenset(r) for r in rows} == {frozenset(LAYOUT_KEYS[written.family.layout])}
    first = rows[0]
    if written.family.layout == "messages":
        assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
        assert first["messages"][1]["content"].count("<image>") == len(first["images"]) == 1
    elif written.family.layout in ("llava", "internvl"):
        assert first["conversations"][0]["value"].startswith("<image>\nYou are an image-forensics expert")
    elif written.family.layout == "prefix-suffix":
        assert first["prefix"].startswith("Is this image real") and "<image>" not in first["prefix"]
    if written.family.layout == "internvl":
        sample = next(s for s in load_dataset(dataset) if str(s.image.resolve()) == first["image"])
        assert (first["width"], first["height"]) == Image.open(sample.image).size


def test_paligemma_rows_are_one_per_turn_as_paligemma_is_asked(dataset: Path, tmp_path: Path) -> None:
    written = export_sft(load_dataset(dataset), load_pack("paligemma-detect"), "paligemma", tmp_path / "sft", None, 0.0)
    rows = [json.loads(line) for line in written.files["train"].open()]
    assert len(rows) == 2 * len(SIZES)
    assert [r["prefix"] for r in rows[:2]] == ["answer en Is this image made by AI?", "detect manipulated region"]
    by_turn = {(r["image"].endswith("/1.png"), r["prefix"][:6]): r["suffix"] for r in rows}
    assert by_turn[(True, "answer")] == "yes" and by_turn[(True, "detect")].startswith("<loc")
    assert by_turn[(False, "answer")] in ("yes", "no")


def test_the_split_is_by_id_hash_whatever_the_order(dataset: Path, tmp_path: Path) -> None:
    samples = load_dataset(dataset).samples
    ids = [f"img_{i:05d}" for i in range(2000)]
    share = sum(split_of(i, 0.2) == "val" for i in ids) / len(ids)
    assert 0.17 < share < 0.23
    pack = load_pack("grounded")
    forward = {
        c.sample_id: c.split for c in (conversation_of(s, pack, get_convention("norm1000"), 0.5) for s in samples)
    }
    backward = {
        c.sample_id: c.split for c in (conversation_of(s, pack, get_convention("norm1000"), 0.5) for s in samples[::-1])
    }
    assert forward == backward == {s.id: split_of(s.id, 0.5) for s in samples}


def test_a_mask_without_boxes_gives_its_connected_parts(tmp_path: Path) -> None:
    mask = np.zeros((60, 80), np.uint8)
    mask[5:15, 10:30] = 255
    mask[40:55, 50:75] = 255
    mask[30, 2] = 255  # one pixel: noise, not a region
    Image.fromarray(mask).save(tmp_path / "m.png")
    regions = truth_regions(Sample("a", tmp_path / "a.png", "fake", mask=tmp_path / "m.png"), (80, 60))
    assert sorted(r.box for r in regions) == [(10.0, 5.0, 30.0, 15.0), (50.0, 40.0, 75.0, 55.0)]


@pytest.mark.parametrize(
    ("meta", "regions", "rationale", "source"),
    [
        ({"explanation": "The  shadow falls\nthe wrong way."}, (), "The shadow falls the wrong way.", "data"),
        ({}, (Region((0, 0, 9, 9), label="extra finger"),), "Manipulated: extra finger.", "regions"),
        ({}, (), "Signs of AI generation across the image.", "regions"),
    ],
)
def test_the_rationale_is_the_datas_explanation_else_made_from_regions(
    meta: dict, regions: tuple, rationale: str, source: str
) -> None:
    sample = Sample("a", Path("a.png"), "fake", regions=regions, meta=meta)
    target = target_of(load_pack("grounded"), sample, get_convention("norm1000"), (100, 100))
    answer = json.loads(target.replies[0])
    assert (answer["verdict"], answer["rationale"], target.rationale_from) == ("fake", rationale, source)
    assert list(answer) == ["verdict", "rationale", "regions"]  # the schema's order


@pytest.mark.parametrize(
    ("prompt", "family", "convention", "message"),
    [
        ("constitution", "qwen2.5-vl", None, "judges rules"),
        ("implausibility", "qwen2.5-vl", None, "asks for a score"),
        ("grounded", "qwen9", None, "--family is one of"),
        ("grounded-native", "qwen2.5-vl", "qwen2-vl", "is not qwen2.5-vl's"),
    ],
)
def test_packs_and_families_that_cannot_be_exported_are_refused(
    dataset: Path, tmp_path: Path, prompt: str, family: str, convention: str | None, message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        export_sft(load_dataset(dataset), load_pack(prompt), family, tmp_path / "sft", convention)


def test_a_convention_variant_of_the_family_is_taken() -> None:
    chosen = answer_convention(load_pack("grounded-native"), sft_family("qwen2.5-vl"), "qwen2.5-vl@1003520")
    assert chosen is not None and chosen.max_pixels == 1003520


def test_unlabelled_samples_are_left_out_with_their_reason(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="is not one of the pack's labels"):
        target_of(load_pack("verdict"), Sample("u", Path("u.png"), None), None, (10, 10))
    lines = dataset.read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "label": None})
    dataset.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["data", "export", str(dataset), str(tmp_path / "sft"), "--family", "llava"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "sft" / "export.json").read_text())
    assert [s["id"] for s in manifest["skipped"]] == ["s0"] and "1 sample left out" in result.output
