"""mllm-defake interop: its v3 prompts as packs (no code, no label leak) and its result CSVs as predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grounddefake.api import score
from grounddefake.prompts import PromptPackError, load_pack

from .conftest import write_dataset

P5 = {
    "format_version": "3",
    "name": "p5",
    "conversations": [
        {
            "id": "subject",
            "response_var_name": "subject",
            "payload": [["system", "You are an expert."], ["user", "What is the subject? {image_url}", "{image_url}"]],
        },
        {
            "id": "result",
            "response_var_name": "result",
            "payload": [["user", "The subject is {subject}. Answer {{real}} or {{generated}}.", "{image_url}"]],
        },
    ],
}


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "prompt.json"
    path.write_text(json.dumps(data))
    return path


def test_a_v3_prompt_becomes_a_verdict_pack(tmp_path: Path) -> None:
    pack = load_pack(_write(tmp_path, P5))
    assert pack.task == "verdict" and len(pack.turns) == 2
    assert pack.render_system((10, 10)) == "You are an expert."
    first = pack.render_turn(0, (10, 10))
    assert first.text == "What is the subject?" and [type(p).__name__ for p in first.parts] == ["TextPart", "ImagePart"]
    second = pack.render_turn(1, (10, 10), replies=["a cat"])
    assert second.text == "The subject is a cat. Answer {real} or {generated}."


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decorators": ["roi.dinov2"]}, "run Python code"),
        ({"payload": [["user", "The answer is {label}. {image_url}"]]}, "ground truth"),
        ({"payload": [["user", "{_image_path}"]]}, "ground truth"),
        ({"payload": [["user", "{nope}"]]}, "unknown field"),
        ({"payload": [["assistant", "fake"]]}, "not supported"),
    ],
)
def test_unsafe_or_unknown_prompts_are_refused(tmp_path: Path, change: dict, message: str) -> None:
    data = {**P5, "conversations": [{**P5["conversations"][0], **change}]}
    with pytest.raises(PromptPackError, match=message):
        load_pack(_write(tmp_path, data))


def test_result_csv_is_scored(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 4)
    images = sorted((tmp_path / "data" / "images").glob("*.png"))
    rows = ["path,label,pred,response"]
    rows.append(f"{images[0]},1,1,It is real.")  # the full path
    rows.append(f"images/{images[1].name},0,0,Generated.")  # relative to another folder
    rows.append(f"/elsewhere/{images[2].name},1,-1,Unclear.")  # only the file name matches
    rows.append("/no/such.png,0,0,Generated.")
    csv = tmp_path / "out.csv"
    csv.write_text("\n".join(rows) + "\n")
    metrics = score(csv, data)
    c = metrics["classification"]
    assert (c["n"], c["n_unknown"], c["accuracy"]) == (3, 1, pytest.approx(2 / 3))
    assert metrics["n_missing"] == 1 and metrics["n_unmatched_predictions"] == 1


def test_csv_rows_whose_label_disagrees_are_not_matched(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 2)  # img0000 real, img0001 fake
    rows = [
        "path,label,pred,response",
        "/elsewhere/fake/img0000.png,0,0,Generated.",
        "images/img0001.png,0,0,Generated.",
        "images/img0001.png,0,1,Again.",
    ]
    csv = tmp_path / "data" / "out.csv"
    csv.write_text("\n".join(rows) + "\n")
    metrics = score(csv, data)
    assert metrics["classification"]["n"] == 1 and metrics["n_unmatched_predictions"] == 2
