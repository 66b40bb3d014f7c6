"""The CLUE judge against a real local HTTP server that scripts Yes/No log-probabilities per image and question."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from grounddefake.backends import create_backend
from grounddefake.caller import Caller, RetryPolicy
from grounddefake.pipeline import ask, predict_samples
from grounddefake.prompts import load_pack, pack_from_mapping
from grounddefake.records import SCHEMA, prediction_record, verdict_from_record
from grounddefake.rundir import RunDir
from grounddefake.types import Sample

from .servers.openai_server import FakeOpenAIServer
from .servers.yes_no import YesNoScript, fast_requests

RED, BLUE, GREEN = (200, 30, 30), (30, 30, 200), (30, 160, 30)
GUN = "a gun"


def rule_pack(rules: list[dict[str, Any]], **judge: Any) -> Any:
    return pack_from_mapping(
        {
            "name": "test-rules",
            "version": 1,
            "description": "rules for tests",
            "task": "rules",
            "labels": ["safe", "unsafe"],
            "positive": "unsafe",
            "method": "clue",
            "convention": "norm1000",
            "judge": judge,
            "rules": rules,
        },
        "test-rules.yaml",
    )


ONE_RULE = [{"id": "R1", "text": "No guns.", "objective": "A gun is visible.", "preconditions": [[GUN]]}]


def image(colour: tuple[int, int, int], marker: bool = False) -> np.ndarray:
    """A 100×100 image of one colour; ``marker``: a white square at (40..60, 40..60)."""
    pixels = np.zeros((100, 100, 3), np.uint8)
    pixels[:] = colour
    if marker:
        pixels[40:60, 40:60] = 255
    return pixels


def marker_key(pixels: np.ndarray) -> str:
    """``marked`` while the white square is there, ``blanked`` once ablation filled it."""
    return "marked" if pixels[50, 50].min() > 250 else "blanked"


def judge(script: YesNoScript, pack: Any, pixels: np.ndarray) -> tuple[Any, FakeOpenAIServer]:
    async def one() -> Any:
        backend = create_backend("test-model", base_urls=[server.base_url], convention="norm1000")
        try:
            return await ask(Caller(backend, retry=RetryPolicy(max_retries=0)), pack, pixels)
        finally:
            await backend.aclose()

    with FakeOpenAIServer(responder=script) as server:
        answer = asyncio.run(one())
    return answer, server


# (judge params, M(x, c), M(None, c), M(x∖box, c), cascade rating) →
# (precondition decision, rule decision, path, image label, score, requests). Hand-computed from the thresholds:
# debiased with M(None) = 0.5: met iff M − 0.5 > 0.8 · 0.5 = 0.4, unmet iff M − 0.5 < −0.3 · 0.5 = −0.15.
CASES = [
    ({"debias": False}, 0.7, None, None, None, ("met", "violated", "fast", "unsafe", 0.7, 1)),
    ({"debias": False}, 0.3, None, None, None, ("unmet", "not_violated", "fast", "safe", 0.3, 1)),
    ({"debias": False, "tau": 0.8}, 0.7, None, None, None, ("unmet", "not_violated", "fast", "safe", 0.7, 1)),
    ({}, 0.95, 0.5, None, None, ("met", "violated", "debiased", "unsafe", 0.95, 1)),
    ({}, 0.3, 0.5, None, None, ("unmet", "not_violated", "debiased", "safe", 0.3, 1)),
    ({"high": 0.1}, 0.6, 0.5, None, None, ("met", "violated", "debiased", "unsafe", 0.6, 1)),
    ({}, 0.6, 0.5, None, ("Yes", 0.85), ("undecided", "violated", "cascade", "unsafe", 0.85, 3)),
    ({}, 0.6, 0.5, None, ("No", 0.2), ("undecided", "not_violated", "cascade", "safe", 0.2, 3)),
    ({}, 0.6, 0.5, None, ("Perhaps", 0.5), ("undecided", "unknown", "cascade", "unknown", None, 3)),
    ({"ablate": "own-box"}, 0.8, 0.5, 0.1, None, ("met", "violated", "ablation", "unsafe", 0.8, 3)),
    ({"ablate": "own-box"}, 0.8, 0.5, 0.5, ("Yes", 0.9), ("undecided", "violated", "cascade", "unsafe", 0.9, 5)),
    ({"cascade": False}, 0.6, 0.5, None, None, ("undecided", "violated", "debiased", "unsafe", 0.6, 1)),
    ({"cascade": False}, 0.4, 0.5, None, None, ("undecided", "not_violated", "debiased", "safe", 0.4, 1)),
]


@pytest.mark.parametrize(("params", "score", "baseline", "ablated", "rating", "expected"), CASES)
def test_every_path_decides_as_computed_by_hand(
    params: dict, score: float, baseline: float | None, ablated: float | None, rating: Any, expected: tuple
) -> None:
    script = YesNoScript(image_key=marker_key, boxes={"marked": [400, 400, 600, 600]})
    script.scores[("marked", GUN)] = score
    if baseline is not None:
        script.scores[(None, GUN)] = baseline
    if ablated is not None:
        script.scores[("blanked", GUN)] = ablated
    if rating is not None:
        script.ratings["marked"] = rating
    answer, server = judge(script, rule_pack(ONE_RULE, **params), image(RED, marker=True))
    pre, decision, path, label, image_score, requests = expected
    verdict = answer.verdict
    (rule,) = verdict.rules
    assert (rule.preconditions[0].decision, rule.decision, rule.path) == (pre, decision, path)
    assert verdict.label == label and verdict.requests == requests
    assert (verdict.score is None) == (image_score is None)
    if image_score is not None:
        assert verdict.score == pytest.approx(image_score, abs=1e-6)
    assert rule.preconditions[0].score == pytest.approx(score, abs=1e-6)
    assert rule.preconditions[0].baseline == (None if params.get("debias") is False else pytest.approx(baseline))
    assert len(server.requests) == requests + (params.get("debias") is not False)  # + the one baseline
    assert len(answer.completions) == requests
    if ablated is not None:
        assert rule.preconditions[0].ablated == pytest.approx(ablated, abs=1e-6)
    fast = fast_requests(server, with_image=True)[0]
    assert fast["logprobs"] is True and fast["messages"][-1]["content"][-1]["text"] == (
        f"Is the following content visible in this image? Answer Yes or No. Content: {GUN}"
    )


def test_a_server_without_logprobs_sends_every_rule_to_the_cascade() -> None:
    rules = [
        {"id": "R1", "text": "t", "objective": "A gun is visible.", "preconditions": [[GUN]], "ground": True},
        {"id": "R2", "text": "t", "objective": "Blood is visible.", "preconditions": [["blood"], ["a wound"]]},
    ]
    script = YesNoScript(logprobs=False, ratings={"#c81e1e": ("Yes", 0.9)})
    answer, _ = judge(script, rule_pack(rules), image(RED))
    verdict = answer.verdict
    assert [r.path for r in verdict.rules] == ["cascade", "cascade"]
    assert [r.decision for r in verdict.rules] == ["violated", "violated"]
    notes = {p.note for r in verdict.rules for p in r.preconditions}
    assert notes == {"no log-probabilities in the answer"}
    assert verdict.label == "unsafe" and verdict.score is None  # no logprobs: no P(unsafe)
    # R1 grounds: the cascade's box (0-1000 on a 100 px image) in original pixels, labelled with the rule id
    assert [(r.box, r.label) for r in verdict.regions] == [((10.0, 10.0, 50.0, 50.0), "R1")]
    assert verdict.requests == 1 + 2 + 2 + 2  # R1: one question + cascade; R2: two questions + cascade


def test_a_failed_request_makes_the_rule_and_the_image_unknown() -> None:
    rules = [
        {"id": "R1", "text": "t", "objective": "o", "preconditions": [[GUN]]},
        {"id": "R2", "text": "t", "objective": "o", "preconditions": [["blood"]]},
    ]
    script = YesNoScript(failing={GUN}, scores={(None, "blood"): 0.5, ("#c81e1e", "blood"): 0.1})
    answer, _ = judge(script, rule_pack(rules), image(RED))
    verdict = answer.verdict
    assert [r.decision for r in verdict.rules] == ["unknown", "not_violated"]
    assert verdict.rules[0].note.startswith("request failed") and "scripted failure" in verdict.rules[0].note
    assert verdict.label == "unknown" and verdict.score is None and verdict.error == verdict.rules[0].note
    record = prediction_record("s", verdict, model="m", prompt="p")
    assert record["error"]  # a resumed run asks it again


def test_groups_short_circuit_on_met_and_on_all_unmet() -> None:
    rules = [{"id": "R1", "text": "t", "objective": "o", "preconditions": [["a person", "a crowd"], [GUN], ["blood"]]}]
    scores = {(None, c): 0.5 for c in ("a person", "a crowd", GUN, "blood")}
    scores |= {("#c81e1e", "a person"): 0.99, ("#c81e1e", "a crowd"): 0.2, ("#c81e1e", GUN): 0.1}
    answer, server = judge(YesNoScript(scores=scores), rule_pack(rules), image(RED))
    (rule,) = answer.verdict.rules
    # "a crowd" is not asked (its group is met by "a person"), nor "blood" (the gun's group is all unmet)
    assert [p.text for p in rule.preconditions] == ["a person", GUN]
    assert [p.decision for p in rule.preconditions] == ["met", "unmet"]
    assert rule.decision == "not_violated" and rule.score == pytest.approx(0.1)  # min(max(.99), max(.1))
    assert len(fast_requests(server, with_image=True)) == 2 and answer.verdict.label == "safe"


def _write_images(folder: Path, colours: list[tuple[int, int, int]]) -> list[Sample]:
    samples = []
    for i, colour in enumerate(colours):
        path = folder / f"{i}.png"
        Image.fromarray(image(colour)).save(path)
        samples.append(Sample(str(i), path, None))
    return samples


TWO_RULES = [
    {"id": "R1", "text": "t", "objective": "A gun is visible.", "preconditions": [[GUN, "a rifle"]], "ground": True},
    {"id": "R2", "text": "t", "objective": "Blood is visible.", "preconditions": [["blood"]]},
]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_baselines_are_asked_once_per_precondition_per_run(tmp_path: Path, concurrency: int) -> None:
    samples = _write_images(tmp_path, [RED, BLUE, GREEN, RED, BLUE, GREEN])
    scores = {(None, GUN): 0.5, (None, "a rifle"): 0.5, (None, "blood"): 0.5, ("#c81e1e", GUN): 0.99}
    script = YesNoScript(scores=scores, default=0.1)
    pack = rule_pack(TWO_RULES)
    with FakeOpenAIServer(responder=script) as server:
        backend = create_backend("test-model", base_urls=[server.base_url], convention="norm1000")
        run = RunDir(tmp_path / "run")
        outcome = asyncio.run(predict_samples(samples, backend, pack, run, concurrency=concurrency))
    baselines = fast_requests(server, with_image=False)
    assert sorted(b["messages"][0]["content"][0]["text"].rpartition(": ")[2] for b in baselines) == sorted(
        [GUN, "a rifle", "blood"]
    )
    records = outcome.records
    assert [records[s.id]["label"] for s in samples] == ["unsafe", "safe", "safe", "unsafe", "safe", "safe"]
    # a met gun ends its OR-group (a rifle is not asked), then the grounded rule asks for its box; baselines are not
    # counted per image
    assert [records[s.id]["requests"] for s in samples] == [3, 3, 3, 3, 3, 3]
    assert len(server.requests) == 18 + 3
    line = json.loads((tmp_path / "run" / "predictions.jsonl").read_text().splitlines()[0])
    assert line["schema"] == SCHEMA and {r["id"] for r in line["rules"]} == {"R1", "R2"}


def test_the_record_round_trips_its_rules() -> None:
    script = YesNoScript(scores={(None, GUN): 0.5, ("#c81e1e", GUN): 0.99, (None, "blood"): 0.5}, default=0.2)
    answer, _ = judge(script, rule_pack(TWO_RULES), image(RED))
    line = answer.record("s1", model="test-model", prompt="test-rules@x")
    assert line["label"] == "unsafe" and line["requests"] == 3  # two questions and R1's box (the model has none)
    assert line["rules"][0]["note"] == "grounding: the model gave no box of 'a gun'"
    assert line["rules"][0]["preconditions"][0] == {
        "text": GUN,
        "score": 0.99,
        "baseline": 0.5,
        "decision": "met",
        "group": 0,
    }
    assert line["rules"][0]["groups"] == [2]
    back = verdict_from_record(json.loads(json.dumps(line)))
    assert back.rules == answer.verdict.rules and back.requests == 3 and not back.parse_errors
    # (the label line of verdict_from_record reads real/fake only until label spaces are generalised)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("rules", [{"id": "R1", "text": "t", "objective": "o", "preconditions": []}], "preconditions"),
        ("rules", [{"id": "R1", "text": "t", "objective": "o", "preconditions": [["a"]], "colour": 1}], "unknown"),
        ("judge", {"tau": 1.5}, "tau must be a number"),
        ("judge", {"ablate": "owlv2"}, "ablate must be one of"),
        ("judge", {"relevance": "clip", "relevance_model": "/no/such/clip"}, "/no/such/clip is not a folder"),
        ("judge", {"fast_question": "{{ inputs.secret }}"}, "judge.fast_question"),
        ("method", "reason", "judged by 'clue'"),
    ],
)
def test_malformed_rule_packs_are_refused_at_load(field: str, value: Any, problem: str) -> None:
    data = {
        "name": "r",
        "version": 1,
        "description": "d",
        "task": "rules",
        "convention": "norm1000",
        "rules": ONE_RULE,
        field: value,
    }
    with pytest.raises(ValueError, match=problem):
        pack_from_mapping(data, "r.yaml")


def test_judge_parameters_and_templates_are_part_of_the_pack_hash() -> None:
    base = rule_pack(ONE_RULE)
    assert rule_pack(ONE_RULE, low=0.3).hash == base.hash  # a default written out is the same pack
    assert rule_pack(ONE_RULE, low=0.2).hash != base.hash
    assert rule_pack(ONE_RULE, fast_question="Can you see {{ content }}? Yes or No.").hash != base.hash


def test_the_shipped_constitution() -> None:
    pack = load_pack("constitution.yaml")
    assert pack.method == "clue" and pack.task == "rules" and len(pack.rules) >= 8
    assert {"violence", "weapons", "nudity", "self_harm", "drugs", "hate_symbols", "gore", "minors_at_risk"} <= {
        r.id for r in pack.rules
    }
    assert pack.convention == "norm1000" and all(r.ground for r in pack.rules)
    assert pack.judge is not None and (pack.judge.tau, pack.judge.low, pack.judge.high) == (0.5, 0.3, 0.8)
