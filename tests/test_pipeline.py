from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from grounddefake.datasets import load_dataset
from grounddefake.pipeline import predict_samples
from grounddefake.prompts import load_pack
from grounddefake.rundir import RunDir, read_predictions

from .conftest import ScriptedBackend, point_at_marker


def _run(dataset, backend, out: Path):
    return asyncio.run(predict_samples(list(dataset), backend, load_pack("grounded"), RunDir(out), concurrency=2))


def test_records_follow_the_design_format(tiny_dataset: Path, tmp_path: Path) -> None:
    backend = ScriptedBackend(lambda r: '{"verdict": "real", "rationale": "ok", "regions": []}')
    outcome = _run(load_dataset(tiny_dataset), backend, tmp_path / "run")
    lines = (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 4 and len(outcome.records) == 4
    record = json.loads(lines[0])
    assert set(record) >= {
        "id",
        "label",
        "score",
        "rationale",
        "regions",
        "image_size",
        "model",
        "prompt",
        "raw",
        "error",
        "parse_errors",
        "usage",
        "latency_s",
    }
    assert record["prompt"].startswith("grounded@")
    assert record["usage"] == {"prompt_tokens": 10, "completion_tokens": 5}


def test_resume_repeats_no_answered_request_and_retries_failures(tiny_dataset: Path, tmp_path: Path) -> None:
    dataset = load_dataset(tiny_dataset)
    first = ScriptedBackend(
        lambda r: "RAISE:HTTP 503" if r.images[0].pixels[12, 45, 0] == 255 else '{"verdict":"real"}'
    )
    outcome = _run(dataset, first, tmp_path / "run")
    errors = [r for r in outcome.records.values() if r["error"]]
    assert len(errors) == 2 and errors[0]["label"] == "unknown" and "503" in errors[0]["error"]
    second = ScriptedBackend(point_at_marker)
    outcome = _run(dataset, second, tmp_path / "run")
    assert len(second.requests) == 2, "only the two failed samples are asked again"
    assert outcome.reused == 2
    assert all(not r["error"] for r in outcome.records.values())
    assert len(read_predictions(tmp_path / "run" / "predictions.jsonl")) == 4


def test_torn_last_line_is_cut_and_never_swallows_the_next_record(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    pack_id = load_pack("grounded").id
    good = json.dumps({"id": "s0", "label": "real", "error": None, "model": "scripted", "prompt": pack_id})
    (run / "predictions.jsonl").write_text(good + '\n{"id": "s1", "lab')
    backend = ScriptedBackend(lambda r: '{"verdict":"real"}')
    _run(load_dataset(tiny_dataset), backend, run)
    assert len(backend.requests) == 3, "s0 is reused; the torn s1 is asked again"
    lines = (run / "predictions.jsonl").read_text().splitlines()
    assert all(json.loads(line)["id"] for line in lines), "every line is whole JSON"
    again = ScriptedBackend(lambda r: '{"verdict":"real"}')
    _run(load_dataset(tiny_dataset), again, run)
    assert again.requests == [], "a second resume repeats no request"


def test_answers_of_another_model_or_pack_are_not_reused(tiny_dataset: Path, tmp_path: Path) -> None:
    dataset = load_dataset(tiny_dataset)
    _run(dataset, ScriptedBackend(lambda r: '{"verdict":"real"}'), tmp_path / "run")
    other = ScriptedBackend(lambda r: '{"verdict":"fake"}')
    other.model = "other"
    _run(dataset, other, tmp_path / "run")
    assert len(other.requests) == 4


def test_any_backend_exception_is_recorded_not_raised(tiny_dataset: Path, tmp_path: Path) -> None:
    def explode(request):
        raise RuntimeError("socket exploded " + "x" * 5000)

    outcome = _run(load_dataset(tiny_dataset), ScriptedBackend(explode), tmp_path / "run")
    errors = [r["error"] for r in outcome.records.values()]
    assert len(errors) == 4 and all(e.startswith("RuntimeError: socket exploded") for e in errors)
    assert all(len(e) <= 2000 for e in errors)


def test_unreadable_image_is_skipped_and_counted(tiny_dataset: Path, tmp_path: Path) -> None:
    (tiny_dataset.parent / "images" / "s2.png").write_bytes(b"garbage")
    backend = ScriptedBackend(lambda r: '{"verdict":"real"}')
    outcome = _run(load_dataset(tiny_dataset), backend, tmp_path / "run")
    assert [p.id for p in outcome.problems] == ["s2"]
    assert "s2.png" in outcome.problems[0].reason
    assert outcome.records["s2"]["skipped"] is True and "s2.png" in outcome.records["s2"]["error"]
    assert sum(not r.get("skipped") for r in outcome.records.values()) == 3


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_image_sent_untouched_is_skipped_with_its_reason(tiny_dataset: Path, tmp_path: Path, fmt) -> None:
    """The header of a cut file reads fine and nothing would need decoding: the structural check still catches it."""
    from io import BytesIO

    import numpy as np
    from PIL import Image

    buf = BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 96, 3), np.uint8)).save(buf, fmt)
    (tiny_dataset.parent / "images" / "s2.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    outcome = _run(load_dataset(tiny_dataset), ScriptedBackend(lambda r: '{"verdict":"real"}'), tmp_path / "run")
    assert [p.id for p in outcome.problems] == ["s2"]
    assert "s2.png" in outcome.problems[0].reason and "corrupt or truncated" in outcome.problems[0].reason
    assert outcome.records["s2"]["skipped"] is True


def test_multi_turn_conversation_is_sent_with_replies(tiny_dataset: Path, tmp_path: Path) -> None:
    pack_path = tmp_path / "two.yaml"
    pack_path.write_text(
        "name: two\nversion: 1\ndescription: d\ntask: verdict\n"
        "turns:\n  - Describe the image.\n  - 'Given {{ replies[0] }}, is it fake?'\n"
    )
    backend = ScriptedBackend(lambda r: "a cat" if len(r.messages) == 1 else '{"verdict": "fake"}')
    dataset = load_dataset(tiny_dataset)
    asyncio.run(predict_samples(list(dataset)[:1], backend, load_pack(pack_path), RunDir(tmp_path / "run")))
    last = backend.requests[-1].messages
    assert [m.role for m in last] == ["user", "assistant", "user"]
    assert last[2].text == "Given a cat, is it fake?"


@pytest.mark.parametrize(
    ("first", "second", "label", "boxes", "note"),
    [
        ("yes", "<loc0256><loc0256><loc0768><loc0768> manipulated region", "fake", 1, None),
        ("No.", "", "real", 0, None),
        ("no", "<loc0256><loc0256><loc0768><loc0768> manipulated region", "real", 1, None),  # the answer wins
        # the detection label echoes the prompt: it is never read as a verdict
        ("maybe", "<loc0256><loc0256><loc0768><loc0768> manipulated region", "unknown", 1, "no reply is a short"),
        ("No doubt it is fake", "", "unknown", 0, "no reply is a short"),
    ],
)
def test_verdict_and_regions_asked_in_separate_turns(
    tiny_dataset: Path, tmp_path: Path, first: str, second: str, label: str, boxes: int, note: str | None
) -> None:
    """PaliGemma's packs ask "Is this image made by AI?" and then "detect ...": the verdict comes from the answer."""
    backend = ScriptedBackend(lambda r: first if len(r.messages) == 1 else second)
    backend.convention = "paligemma"
    dataset = load_dataset(tiny_dataset)
    outcome = asyncio.run(
        predict_samples(list(dataset)[:1], backend, load_pack("paligemma-detect"), RunDir(tmp_path / "run"))
    )
    record = next(iter(outcome.records.values()))
    assert record["label"] == label and len(record["regions"]) == boxes
    assert not any(e.startswith("no verdict") for e in record["parse_errors"])
    assert any(e.startswith(note) for e in record["parse_errors"]) if note else True


def test_packs_without_answers_read_only_the_last_reply(tiny_dataset: Path, tmp_path: Path) -> None:
    pack_path = tmp_path / "two.yaml"
    pack_path.write_text(
        "name: two\nversion: 1\ndescription: d\ntask: verdict\nturns:\n  - Describe the image.\n  - Real or fake?\n"
    )
    backend = ScriptedBackend(lambda r: "A cat with fake fur." if len(r.messages) == 1 else "I cannot tell.")
    dataset = load_dataset(tiny_dataset)
    outcome = asyncio.run(predict_samples(list(dataset)[:1], backend, load_pack(pack_path), RunDir(tmp_path / "run")))
    record = next(iter(outcome.records.values()))
    assert record["label"] == "unknown" and any(e.startswith("hedged") for e in record["parse_errors"])


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_bounds(tiny_dataset: Path, tmp_path: Path, concurrency: int) -> None:
    backend = ScriptedBackend(lambda r: '{"verdict":"real"}')
    outcome = asyncio.run(
        predict_samples(
            list(load_dataset(tiny_dataset)), backend, load_pack("verdict"), RunDir(tmp_path / "r"), concurrency
        )
    )
    assert len(outcome.records) == 4


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        (b'{"id": "a"}\n{"id": "b", "la', b'{"id": "a"}\n'),
        (b'{"id": "a"}\n' + b"x" * 200_000, b'{"id": "a"}\n'),  # the torn line spans several read blocks
        (b'{"id": "a", "la', b""),
        (b'{"id": "a"}\n', b'{"id": "a"}\n'),
    ],
)
def test_repair_torn_tail(tmp_path: Path, content: bytes, kept: bytes) -> None:
    from grounddefake.rundir import repair_torn_tail

    path = tmp_path / "predictions.jsonl"
    path.write_bytes(content)
    repair_torn_tail(path)
    assert path.read_bytes() == kept


QUESTION_PACK = """
name: vqa
version: 1
description: asks each sample its own question
task: verdict
inputs: [question]
turns:
  - "{{ inputs.question }} Answer real or fake."
"""


def test_declared_inputs_reach_the_prompt_and_nothing_else(tmp_path: Path) -> None:
    from PIL import Image

    from grounddefake.runs import inputs_digest

    (tmp_path / "images").mkdir()
    lines = []
    for i, question in enumerate(["Is the hand real?", None, "Is the sky real?"]):
        Image.new("RGB", (32, 24), (i * 40, 90, 90)).save(tmp_path / "images" / f"{i}.png")
        meta = {"generator": "secret-generator"} | ({"question": question} if question else {})
        lines.append({"id": f"q{i}", "image": f"images/{i}.png", "label": "fake", "meta": meta})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    pack_path = tmp_path / "vqa.yaml"
    pack_path.write_text(QUESTION_PACK)
    backend = ScriptedBackend(lambda r: '{"verdict": "fake"}')
    pack = load_pack(pack_path)
    samples = list(load_dataset(manifest))
    outcome = asyncio.run(predict_samples(samples, backend, pack, RunDir(tmp_path / "run")))
    prompts = sorted(r.messages[-1].text for r in backend.requests)
    assert prompts == ["Is the hand real? Answer real or fake.", "Is the sky real? Answer real or fake."]
    assert not any("secret-generator" in p or 'fake"' in p for p in prompts)
    skipped = outcome.records["q1"]
    assert skipped["skipped"] and skipped["error"].startswith("missing input: sample 'q1' has no meta.question")
    assert [p.id for p in outcome.problems] == ["q1"]
    changed = [s if s.id != "q0" else type(s)(**{**s.__dict__, "meta": {"question": "Other?"}}) for s in samples]
    assert inputs_digest(pack, samples) != inputs_digest(pack, changed)
    assert inputs_digest(load_pack("verdict"), samples) is None
