"""The CLUE judge through the local transformers backend: tiny random checkpoints (tests/tiny_models.py) check the
token path — M(x, c) and M(None, c) from the model's own logits, the thresholds, the record and ``eval``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="local models need torch (make test installs the CPU wheel)")
pytest.importorskip("transformers", reason="local models need transformers")

import torch
from PIL import Image
from typer.testing import CliRunner

from grounddefake.backends import Backend, GenerationParams, Request
from grounddefake.backends.local import LocalBackend
from grounddefake.caller import Caller, RetryPolicy
from grounddefake.cli import app
from grounddefake.images import prepare_image
from grounddefake.pipeline import Answer, ask
from grounddefake.prompts import ImagePart, Message, TextPart, pack_from_mapping
from grounddefake.types import Completion
from tests.tiny_models import CORPUS, build_llava, build_paligemma, build_qwen

GUN = "a gun"
QUESTION = f"Is the following content visible in this image? Answer Yes or No. Content: {GUN}"
FAMILIES = ["qwen2-vl", "qwen2.5-vl", "qwen3-vl", "llava", "paligemma"]
IMAGE_TOKENS = {"qwen2-vl": "<|image_pad|>", "qwen2.5-vl": "<|image_pad|>", "qwen3-vl": "<|image_pad|>"}
IMAGE_TOKENS |= {"llava": "<image>", "paligemma": "<image>"}
PARAMS = GenerationParams(max_tokens=6)
"""Short answers: the cascade's turns of a random model are noise, and CPU time is shared."""


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-clue")
    return {
        "qwen2-vl": build_qwen(root / "qwen2", version="2"),
        "qwen2.5-vl": build_qwen(root / "qwen25"),
        "qwen3-vl": build_qwen(root / "qwen3", version="3"),
        "llava": build_llava(root / "llava"),
        "paligemma": build_paligemma(root / "paligemma"),
    }


@pytest.fixture(scope="module")
def backends(checkpoints: dict[str, Path]) -> dict[str, LocalBackend]:
    return {name: LocalBackend(f"local:{path}") for name, path in checkpoints.items()}


class Recording(Backend):
    """``inner`` with every request it answered kept (no cache: every request reaches the model)."""

    def __init__(self, inner: LocalBackend) -> None:
        self.inner, self.model, self.image_policy = inner, inner.model, inner.image_policy
        self.convention = inner.convention
        self.requests: list[Request] = []

    async def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        return await self.inner.complete(request)

    def answer_gap(self, answers: Any) -> str | None:
        return self.inner.answer_gap(answers)

    def one_token(self, with_image: bool) -> list[Request]:
        return [r for r in self.requests if r.params.max_tokens == 1 and bool(r.images) == with_image]


def rule_pack(**judge: Any) -> Any:
    rule = {"id": "R1", "text": "No guns.", "objective": "A gun is visible.", "preconditions": [[GUN]]}
    data = {"name": "local-rules", "version": 1, "description": "d", "task": "rules", "judge": judge, "rules": [rule]}
    return pack_from_mapping(data, "local-rules.yaml")


def picture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def judge(backend: LocalBackend, pack: Any, pixels: np.ndarray) -> tuple[Answer, Recording]:
    recording = Recording(backend)

    async def one() -> Answer:
        try:
            return await ask(Caller(recording, retry=RetryPolicy(max_retries=0)), pack, pixels, PARAMS)
        finally:
            await backend.aclose()

    return asyncio.run(one()), recording


def yes_no_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Token ids whose decoded text is "yes" / "no" in any case, up to white space, quotes and asterisks."""
    words = {i: tokenizer.decode([i]).strip(" \t\n\"'*").lower() for i in range(len(tokenizer))}
    return [i for i, w in words.items() if w == "yes"], [i for i, w in words.items() if w == "no"]


def expected_m(backend: LocalBackend, pixels: np.ndarray | None, question: str = QUESTION) -> float:
    """p(Yes) / (p(Yes) + p(No)) of the first output position, from one forward pass over the question."""
    parts = (ImagePart(0), TextPart(question)) if pixels is not None else (TextPart(question),)
    images = (prepare_image(pixels, backend.image_policy),) if pixels is not None else ()
    request = Request((Message("user", parts),), images)
    with torch.inference_mode():
        logits = backend.network(**backend.encode([request])).logits[0, -1].float()
    p = torch.softmax(logits, dim=-1)
    yes, no = yes_no_ids(backend.inputs.tokenizer)
    assert yes and no  # the tiny corpus spells both
    p_yes, p_no = float(p[yes].sum()), float(p[no].sum())
    return p_yes / (p_yes + p_no)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_fast_score_is_p_yes_over_the_tokenizers_yes_and_no_tokens(
    backends: dict[str, LocalBackend], family: str
) -> None:
    backend = backends[family]
    pixels = picture()
    answer, recording = judge(backend, rule_pack(debias=False, cascade=False), pixels)
    (fast,) = recording.one_token(with_image=True)
    assert fast.messages == (Message("user", (ImagePart(0), TextPart(QUESTION))),) and fast.answers
    (rule,) = answer.verdict.rules
    assert rule.preconditions[0].score == pytest.approx(expected_m(backend, pixels), abs=1e-5)
    assert answer.verdict.requests == 1 and len(recording.requests) == 1


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "paligemma"])
def test_the_baseline_is_asked_without_the_image(backends: dict[str, LocalBackend], family: str) -> None:
    backend = backends[family]
    answer, recording = judge(backend, rule_pack(cascade=False), picture())
    (baseline,) = recording.one_token(with_image=False)
    assert baseline.images == () and baseline.messages == (Message("user", (TextPart(QUESTION),)),)
    ids = backend.encode([baseline])["input_ids"][0].tolist()
    assert backend.inputs.tokenizer.convert_tokens_to_ids(IMAGE_TOKENS[family]) not in ids
    pre = answer.verdict.rules[0].preconditions[0]
    assert pre.baseline == pytest.approx(expected_m(backend, None), abs=1e-5)
    assert pre.score == pytest.approx(expected_m(backend, picture()), abs=1e-5)
    assert abs(pre.score - pre.baseline) > 1e-4  # the image changes the answer: it really was removed
    assert answer.verdict.requests == 1  # the baseline is not counted per image


def test_paligemma_has_no_text_only_baseline_and_says_so(backends: dict[str, LocalBackend]) -> None:
    answer, recording = judge(backends["paligemma"], rule_pack(cascade=False), picture())
    pre = answer.verdict.rules[0].preconditions[0]
    assert pre.baseline is None and pre.decision == "undecided"
    assert "text-only baseline" in pre.note and "PaliGemma answers only about an image" in pre.note
    assert len(recording.requests) == 2  # the question, and the baseline that was refused


def threshold_cases(m: float, b: float) -> list[tuple[dict[str, Any], str, str, str]]:
    """(judge params, precondition decision, rule decision, path) just either side of every threshold, for the
    measured M(x, c) = m and M(None, c) = b: d = m − b decides against −low·b and high·(1 − b)."""
    eps, d = 1e-3, m - b
    cases = [
        ({"debias": False, "tau": m - eps}, "met", "violated", "fast"),
        ({"debias": False, "tau": m + eps}, "unmet", "not_violated", "fast"),
        ({"low": 1.0, "high": 1.0, "cascade": False, "tau": m - eps}, "undecided", "violated", "debiased"),
        ({"low": 1.0, "high": 1.0, "cascade": False, "tau": m + eps}, "undecided", "not_violated", "debiased"),
    ]
    if d < 0:  # unmet iff d < −low·b
        cases += [({"low": -d / b - eps}, "unmet", "not_violated", "debiased")]
        cases += [
            ({"low": -d / b + eps, "high": 1.0, "cascade": False, "tau": 1.0}, "undecided", "not_violated", "debiased")
        ]
    else:  # met iff d > high·(1 − b)
        cases += [({"high": d / (1 - b) - eps}, "met", "violated", "debiased")]
        cases += [
            (
                {"high": d / (1 - b) + eps, "low": 1.0, "cascade": False, "tau": 1.0},
                "undecided",
                "not_violated",
                "debiased",
            )
        ]
    return cases


@pytest.mark.parametrize("family", ["qwen2-vl", "llava"])
def test_decisions_follow_the_thresholds_and_the_record_says_so(backends: dict[str, LocalBackend], family: str) -> None:
    backend = backends[family]
    pixels = picture(3)
    m, b = expected_m(backend, pixels), expected_m(backend, None)
    for params, pre, decision, path in threshold_cases(m, b):
        answer, _ = judge(backend, rule_pack(**params), pixels)
        record = answer.record("s", model=backend.model, prompt="local-rules@x")
        (rule,) = record["rules"]
        assert (rule["preconditions"][0]["decision"], rule["decision"], rule["path"]) == (pre, decision, path), params
        assert record["label"] == ("unsafe" if decision == "violated" else "safe")
        assert record["score"] == pytest.approx(m, abs=1e-5)  # one precondition: the rule's and image's score is M


@pytest.mark.parametrize(
    ("corpus", "missing"),
    [
        ([*CORPUS[:-1], "Real or fake? yes"], "No"),
        (CORPUS[:-1], "Yes or No"),
    ],
)
def test_a_tokenizer_without_yes_or_no_leaves_every_precondition_undecided(
    tmp_path: Path, corpus: list[str], missing: str
) -> None:
    backend = LocalBackend(f"local:{build_qwen(tmp_path / 'qwen', version='2', corpus=corpus)}")
    yes, no = yes_no_ids(backend.inputs.tokenizer)
    assert not no and (not yes) == (missing == "Yes or No")
    answer, recording = judge(backend, rule_pack(), picture())
    (rule,) = answer.verdict.rules
    assert [(p.decision, p.score, p.note) for p in rule.preconditions] == [
        ("undecided", None, f"the tokenizer has no token spelling {missing}")
    ]
    assert recording.one_token(with_image=True) == [] and recording.one_token(with_image=False) == []
    assert rule.path == "cascade" and rule.score is None  # the rating has no P(Yes) either
    assert answer.verdict.requests == 2  # the cascade's two turns, nothing else


PACK_YAML = """\
name: tiny-rules
version: 1
description: two rules for a tiny local model
task: rules
labels: [safe, unsafe]
positive: unsafe
method: clue
judge: {cascade: false}
rules:
  - id: weapons
    text: No weapons.
    objective: A gun is visible.
    preconditions: [[a gun, a rifle]]
  - id: gore
    text: No gore.
    objective: Blood is visible.
    preconditions: [[blood], [a wound]]
"""


def test_eval_runs_a_rule_pack_on_a_local_model(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    lines = []
    for i, label in enumerate(["unsafe", "safe", "unsafe", "safe"]):
        Image.fromarray(picture(i)).save(tmp_path / "images" / f"{i}.png")
        lines.append(json.dumps({"id": f"s{i}", "image": f"images/{i}.png", "label": label}))
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "rules.yaml").write_text(PACK_YAML)
    out = tmp_path / "run"
    arguments = ["eval", "--data", str(tmp_path / "manifest.jsonl"), "--prompt", str(tmp_path / "rules.yaml")]
    arguments += ["--model", f"local:{checkpoints['qwen2.5-vl']}", "--max-new-tokens", "4", "--out", str(out)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["error"] is None for r in records)
    backend = LocalBackend(f"local:{checkpoints['qwen2.5-vl']}")
    for record in records:  # in the order they finished
        i = int(record["id"][1:])
        assert [r["id"] for r in record["rules"]] == ["weapons", "gore"]
        assert record["label"] == ("unsafe" if any(r["decision"] == "violated" for r in record["rules"]) else "safe")
        first = record["rules"][0]["preconditions"][0]
        assert first["text"] == GUN and first["baseline"] == pytest.approx(expected_m(backend, None), abs=1e-5)
        assert first["score"] == pytest.approx(expected_m(backend, picture(i)), abs=1e-5)
        assert record["requests"] == sum(len(r["preconditions"]) for r in record["rules"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classification"]["positive"] == "unsafe" and metrics["classification"]["n"] == 4


def test_the_cascades_rating_turn_is_scored_by_its_yes_and_no_tokens(backends: dict[str, LocalBackend]) -> None:
    """A local model's score of the rating turn is P(Yes) of its Yes/No tokens, never P(fake) of verdict words."""
    from grounddefake.judges.yes_no import YES_NO

    answer, recording = judge(backends["llava"], rule_pack(low=1.0, high=1.0), picture())
    think, rate = recording.requests[-2:]
    assert (think.answers, rate.answers) == (None, YES_NO)
    assert "Think step by step" in think.messages[-1].text and "Based on your reasoning" in rate.messages[-1].text
    assert answer.verdict.rules[0].path == "cascade"
