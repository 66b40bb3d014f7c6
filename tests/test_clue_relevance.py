"""CLIP relevance scanning (CLUE step 0) with a tiny random CLIP built offline, against the scripted Yes/No server."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="relevance scanning needs torch")
pytest.importorskip("transformers", reason="relevance scanning needs transformers")

import torch
from PIL import Image

from grounddefake.backends import create_backend
from grounddefake.caller import Caller, RetryPolicy
from grounddefake.judges import relevance
from grounddefake.pipeline import Answer, ask, predict_samples
from grounddefake.prompts import PromptPackError, load_pack, pack_from_mapping
from grounddefake.records import verdict_from_record
from grounddefake.rundir import RunDir
from grounddefake.types import Sample

from .servers.openai_server import FakeOpenAIServer
from .servers.yes_no import YesNoScript, fast_requests
from .tiny_models import build_clip

RULES = [
    {"id": "R1", "text": "No guns.", "objective": "A gun is visible.", "preconditions": [["a gun"]]},
    {"id": "R2", "text": "No gore.", "objective": "Blood is visible on the floor.", "preconditions": [["blood"]]},
]
CONTENT = {"R1": "a gun", "R2": "blood"}


def unmet() -> YesNoScript:
    """Every question answered 0.1 against a baseline of 0.5: d = −0.4 < −0.3 · 0.5, unmet by debiasing."""
    return YesNoScript(scores={(None, c): 0.5 for c in CONTENT.values()}, default=0.1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


def pack_data(**judge: Any) -> dict[str, Any]:
    return {"name": "scan", "version": 1, "description": "d", "task": "rules", "judge": judge, "rules": RULES}


def rule_pack(clip: Path, **judge: Any) -> Any:
    return pack_from_mapping(pack_data(relevance="clip", relevance_model=str(clip), **judge), "scan.yaml")


def picture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (80, 100, 3), dtype=np.uint8)


def expected_similarities(clip: Path, pixels: np.ndarray, texts: list[str]) -> list[float]:
    """cos(image, text) from CLIPModel's own forward pass: its logits over its logit scale."""
    from transformers import AutoTokenizer, CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    model = CLIPModel.from_pretrained(clip).eval()
    tokens = AutoTokenizer.from_pretrained(clip)(texts, padding=True, return_tensors="pt")
    values = CLIPImageProcessorPil.from_pretrained(clip)(images=[Image.fromarray(pixels)], return_tensors="pt")
    with torch.inference_mode():
        output = model(**tokens, pixel_values=values["pixel_values"])
        return (output.logits_per_image[0] / model.logit_scale.exp()).tolist()


def judge(pack: Any, pixels: np.ndarray, script: YesNoScript | None = None) -> tuple[Answer, FakeOpenAIServer]:
    async def one() -> Answer:
        backend = create_backend("test-model", base_urls=[server.base_url], convention="norm1000")
        try:
            return await ask(Caller(backend, retry=RetryPolicy(max_retries=0)), pack, pixels)
        finally:
            await backend.aclose()

    with FakeOpenAIServer(responder=script or unmet()) as server:
        answer = asyncio.run(one())
    return answer, server


def asked_contents(server: FakeOpenAIServer) -> list[str]:
    return [b["messages"][-1]["content"][-1]["text"].rpartition("Content: ")[2] for b in fast_requests(server)]


def test_similarities_are_clips_cosines_and_recorded_on_every_rule(clip: Path) -> None:
    answer, server = judge(rule_pack(clip, relevance_threshold=-1.0), picture())
    expected = expected_similarities(clip, answer.prepared.pixels, [r["objective"] for r in RULES])
    assert [r.similarity for r in answer.verdict.rules] == pytest.approx(expected, abs=1e-5)
    assert [r.path for r in answer.verdict.rules] == ["debiased", "debiased"]  # nothing skipped: asked as usual
    assert sorted(asked_contents(server)) == ["a gun", "a gun", "blood", "blood"]  # each: image, baseline


def test_rules_below_the_threshold_are_never_asked(clip: Path) -> None:
    pixels = picture(1)
    pack = rule_pack(clip, relevance_threshold=-1.0)
    prepared_pixels = judge(pack, pixels)[0].prepared.pixels
    sims = dict(
        zip(CONTENT, expected_similarities(clip, prepared_pixels, [r["objective"] for r in RULES]), strict=True)
    )
    low, high = sorted(sims, key=sims.get)
    assert sims[high] - sims[low] > 1e-3
    threshold = (sims[low] + sims[high]) / 2
    script = YesNoScript(scores={(None, CONTENT[high]): 0.5}, default=0.99)
    answer, server = judge(rule_pack(clip, relevance_threshold=threshold), pixels, script)
    rules = {r.id: r for r in answer.verdict.rules}
    skipped, kept = rules[low], rules[high]
    assert (skipped.decision, skipped.path, skipped.score, skipped.preconditions) == (
        "not_violated",
        "relevance",
        None,
        (),
    )
    assert skipped.similarity == pytest.approx(sims[low], abs=1e-5) and f"{sims[low]:.4f}" in skipped.note
    assert (kept.decision, kept.path) == ("violated", "debiased") and kept.similarity == pytest.approx(
        sims[high], abs=1e-5
    )
    assert asked_contents(server) == [CONTENT[high], CONTENT[high]]  # its question and its baseline, nothing else
    assert len(server.requests) == 2 and answer.verdict.requests == 1 and answer.verdict.label == "unsafe"


def test_an_image_no_rule_applies_to_costs_no_request(clip: Path) -> None:
    answer, server = judge(rule_pack(clip, relevance_threshold=1.0), picture(2))
    assert server.requests == [] and answer.verdict.requests == 0
    assert [r.path for r in answer.verdict.rules] == ["relevance", "relevance"]
    assert answer.verdict.label == "safe" and answer.verdict.score is None  # no probability was measured


def test_clip_loads_once_per_run_and_scans_off_the_event_loop(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    threads: set[str] = set()

    class Counting(relevance.ClipScanner):
        def __init__(self, folder: str) -> None:
            loads.append(folder)
            super().__init__(folder)

        def similarities(self, pixels: np.ndarray, texts: Any) -> tuple[float, ...]:
            threads.add(threading.current_thread().name)
            return super().similarities(pixels, texts)

    monkeypatch.setattr(relevance, "_SCANNERS", {})
    monkeypatch.setattr(relevance, "ClipScanner", Counting)
    samples = []
    for i in range(4):
        Image.fromarray(picture(i)).save(tmp_path / f"{i}.png")
        samples.append(Sample(str(i), tmp_path / f"{i}.png", None))
    pack = rule_pack(clip, relevance_threshold=-1.0)
    with FakeOpenAIServer(responder=unmet()) as server:
        backend = create_backend("test-model", base_urls=[server.base_url], convention="norm1000")
        outcome = asyncio.run(predict_samples(samples, backend, pack, RunDir(tmp_path / "run"), concurrency=4))
    assert loads == [str(clip)]
    assert threads and threading.main_thread().name not in threads
    assert all(all(r["similarity"] is not None for r in rec["rules"]) for rec in outcome.records.values())


def test_the_record_round_trips_the_similarity(clip: Path) -> None:
    answer, _ = judge(rule_pack(clip, relevance_threshold=1.0), picture())
    line = json.loads(json.dumps(answer.record("s", model="test-model", prompt="scan@x")))
    assert [r["path"] for r in line["rules"]] == ["relevance", "relevance"] and "similarity" in line["rules"][0]
    assert verdict_from_record(line).rules == answer.verdict.rules


def test_a_broken_checkpoint_at_run_time_makes_every_rule_unknown(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "clip"
    shutil.copytree(clip, broken)
    pack = rule_pack(broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    monkeypatch.setattr(relevance, "_SCANNERS", {})
    answer, server = judge(pack, picture())
    assert [r.decision for r in answer.verdict.rules] == ["unknown", "unknown"] and server.requests == []
    assert answer.verdict.label == "unknown" and answer.verdict.error.startswith("request failed: relevance scan")


def not_clip(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "tokenizer.json").write_text("{}")
    return folder


@pytest.mark.parametrize(
    ("judge_params", "problem"),
    [
        ({"relevance": "clip", "relevance_model": "/no/such/clip"}, "judge.relevance_model': /no/such/clip is not a"),
        ({"relevance": "clip"}, "needs a local CLIP checkpoint folder"),
        ({"relevance": "clip", "relevance_model": "NOT_CLIP"}, "holds a 'bert' model, not CLIP"),
        ({"relevance": "owlv2"}, "relevance must be one of clip"),
        ({"relevance": "clip", "relevance_model": "CLIP", "relevance_threshold": 1.5}, "relevance_threshold must"),
    ],
)
def test_a_bad_relevance_setting_is_refused_at_load_in_one_line(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, judge_params: dict, problem: str
) -> None:
    monkeypatch.delenv(relevance.ENV_MODEL, raising=False)
    folders = {"CLIP": str(clip), "NOT_CLIP": str(not_clip(tmp_path / "bert"))}
    params = {k: folders.get(v, v) if isinstance(v, str) else v for k, v in judge_params.items()}
    with pytest.raises(PromptPackError, match=problem) as caught:
        pack_from_mapping(pack_data(**params), "scan.yaml")
    assert "\n" not in str(caught.value)


def test_the_checkpoint_comes_from_the_pack_folder_or_the_environment(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(clip, tmp_path / "models" / "clip")
    (tmp_path / "scan.yaml").write_text(json.dumps(pack_data(relevance="clip", relevance_model="models/clip")))
    relative = load_pack(tmp_path / "scan.yaml")
    assert relative.judge.relevance_model == str((tmp_path / "models" / "clip").resolve())
    monkeypatch.setenv(relevance.ENV_MODEL, str(clip))
    from_env = pack_from_mapping(pack_data(relevance="clip"), "scan.yaml")
    assert from_env.judge.relevance_model == str(clip.resolve())
    assert from_env.hash == relative.hash  # the same weights elsewhere: the same pack


def test_the_hash_follows_the_clip_weights_and_an_off_scan_changes_nothing(clip: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(clip, changed)
    data = bytearray((changed / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (changed / "model.safetensors").write_bytes(bytes(data))
    assert rule_pack(changed).hash != rule_pack(clip).hash != rule_pack(clip, relevance_threshold=0.3).hash
    plain = pack_from_mapping(pack_data(), "scan.yaml")
    assert pack_from_mapping(pack_data(relevance="off", relevance_threshold=0.3), "scan.yaml").hash == plain.hash
