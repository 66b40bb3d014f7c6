"""The ICM-Instruct adapter on a fixture in the public layout: labels from names, its Q-A items as samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grounddefake.datasets import DatasetError, detect_format, load_dataset
from grounddefake.datasets.icm import attribute_of, category_of, is_normal, qa_item
from grounddefake.prompts import SampleInputError, load_pack

from .icm_data import CHOICES, EXPLAIN, MC_INSTRUCTION, icm_instruct


@pytest.fixture
def icm_json(tmp_path: Path) -> Path:
    return icm_instruct(tmp_path / "ICM-Instruct")


@pytest.mark.parametrize("where", ["file", "folder"])
def test_the_public_layout_is_detected_and_read_by_image(icm_json: Path, where: str) -> None:
    path = icm_json if where == "file" else icm_json.parent
    assert detect_format(icm_json) == "icm-instruct"
    dataset = load_dataset(path)
    assert dataset.format == "icm-instruct"
    by_id = {s.id: s for s in dataset.samples}
    assert {i: s.label for i, s in by_id.items()} == {
        "bite_finger_20231122110742_1005": "unsafe",
        "upper_bust_2022072011061710001_v2": "unsafe",
        "upper_normal_2022072011061710363_v2": "safe",
        "whole_normal_2022072011061765586_v2": "safe",
    }
    bust = by_id["upper_bust_2022072011061710001_v2"]
    assert bust.meta == {"category": "upper_bust", "attribute": "bust", "icm": "sexy"}
    assert bust.rules == {"sexy": True, "bust": True} and bust.image.is_file()
    assert by_id["upper_normal_2022072011061710363_v2"].rules == {}
    assert by_id["upper_normal_2022072011061710363_v2"].meta["icm"] == "normal"


def test_the_question_view_keeps_mc_yes_no_and_explanations(icm_json: Path) -> None:
    dataset = load_dataset(icm_json.parent, "icm-qa")
    assert dataset.format == "icm-qa" and len(dataset) == 12  # 4 images × (mc, yes/no, explanation)
    assert dataset.problems == ("4 open What/How items left out: neither MQA accuracy nor MEQ scores them",)
    mc = next(s for s in dataset.samples if s.id == "identity_bite_finger_20231122110742_1005_mc_pair1")
    assert mc.label is None and mc.meta["image_label"] == "unsafe" and mc.meta["category"] == "bite_finger"
    assert mc.meta["kind"] == "mc" and mc.meta["question"] == "What is the main focus of the image?"
    assert mc.meta["choices"] == CHOICES and mc.meta["instruction"] == MC_INSTRUCTION
    assert mc.meta["truth"] == "B."
    yes_no = next(s for s in dataset.samples if s.id == "identity_upper_normal_2022072011061710363_v2_pair0")
    assert (yes_no.meta["kind"], yes_no.meta["question"], yes_no.meta["choices"], yes_no.meta["truth"]) == (
        "yes_no",
        "Is the person's skin exposed?",
        [],
        "No.",
    )
    explanation = next(s for s in dataset.samples if s.meta["kind"] == "explanation")
    assert explanation.meta["question"] == EXPLAIN and explanation.meta["truth"].endswith("it is sexy.")


def test_the_reference_answer_never_reaches_a_pack(icm_json: Path) -> None:
    dataset = load_dataset(icm_json, "icm-qa")
    pack = load_pack("icm-mqa")
    for sample in dataset.samples:
        meta = {**sample.meta, "truth": "SENTINEL-TRUTH"}
        inputs = pack.inputs_of(meta, sample.id)
        assert set(inputs) == {"question", "choices", "kind"}
        rendered = pack.render_turn(0, (64, 48), inputs=meta).text
        assert "SENTINEL-TRUTH" not in rendered and rendered.startswith(sample.meta["question"])
    mc = next(s for s in dataset.samples if s.meta["kind"] == "mc")
    assert pack.render_turn(0, (64, 48), inputs=mc.meta).text == "\n".join(
        ["What is the main focus of the image?", *CHOICES, MC_INSTRUCTION]
    )
    with pytest.raises(SampleInputError, match=r"meta\.choices"):
        pack.inputs_of({"question": "q", "kind": "mc"}, "x")


@pytest.mark.parametrize(
    ("category", "name", "normal"),
    [
        ("upper_normal", "upper_normal_1.jpg", True),
        ("whole_normal", "a.jpg", True),
        (None, "x_not-sexy_2.png", True),
        ("sexy_kiss", "sexy_kiss_2023_1.jpg", False),
        ("lower_hips", "lower_hips_1.jpg", False),
    ],
)
def test_icm_label_rule(category: str | None, name: str, normal: bool) -> None:
    assert is_normal(category, name) is normal


@pytest.mark.parametrize(
    ("name", "category", "attribute"),
    [
        ("bite_finger_20231122110742_1005.JPEG", "bite_finger", "bite_finger"),
        ("lower_shoulders_and_belly_20220720110617112_v2.jpg", "lower_shoulders_and_belly", "shoulders_and_belly"),
        ("whole_large_bare_2022072011061711004_v2.jpg", "whole_large_bare", "large_bare"),
        ("upper_normal_2022072011061710363_v2.jpg", "upper_normal", "normal"),
    ],
)
def test_category_and_attribute_from_the_file_name(name: str, category: str, attribute: str) -> None:
    assert category_of(name) == category and attribute_of(category) == attribute


@pytest.mark.parametrize(
    ("item_id", "human", "answer", "kind"),
    [
        ("identity_a_1_mc_pair0", "Q?\nA. x\nB. y\nC. z\nD. w\n Pick one.\n<image>", "C.", "mc"),
        ("identity_a_1_pair0", "Is it wet?\n<image>", "No.", "yes_no"),
        ("identity_a_1_pair1", "How is the light?\n<image>", "Soft light.", "open"),
        ("identity_a_1_description2", "Describe the sexy degree.\n<image>", "It is not sexy.", "explanation"),
    ],
)
def test_item_kinds(item_id: str, human: str, answer: str, kind: str) -> None:
    assert qa_item(item_id, human, answer).kind == kind


def test_a_category_folder_names_images_without_a_prefix(tmp_path: Path) -> None:
    (tmp_path / "val" / "upper_normal").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "val" / "upper_normal" / "0001.png")
    item = {"id": "identity_0001_pair0", "image": "val/upper_normal/0001.png", "conversations": []}
    (tmp_path / "icm.json").write_text(json.dumps([item]))
    (sample,) = load_dataset(tmp_path / "icm.json").samples
    assert sample.label == "safe" and sample.meta["category"] == "upper_normal"


def test_an_unusable_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "icm.json").write_text(json.dumps({"not": "a list"}))
    with pytest.raises(DatasetError, match="LLaVA list"):
        load_dataset(tmp_path / "icm.json", "icm-qa")


@pytest.mark.parametrize("fmt", ["icm-instruct", "icm-qa"])
def test_a_bad_item_costs_only_itself(icm_json: Path, fmt: str) -> None:
    items = json.loads(icm_json.read_text())
    bad = {**items[0], "id": "identity_x_1_pair0", "image": "../outside.png"}
    icm_json.write_text(json.dumps([*items, bad, {"id": "identity_y_1_pair0"}]))
    dataset = load_dataset(icm_json, fmt)
    assert len(dataset) == (4 if fmt == "icm-instruct" else 12)
    assert any("outside.png" in p for p in dataset.problems) and any("has no image" in p for p in dataset.problems)


def test_inspect_does_not_call_the_questions_of_one_image_duplicates(icm_json: Path) -> None:
    from grounddefake.datasets.inspection import inspect_dataset

    inspection = inspect_dataset(load_dataset(icm_json, "icm-qa"))
    assert inspection.problems == ["4 open What/How items left out: neither MQA accuracy nor MEQ scores them"]
