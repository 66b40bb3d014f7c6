"""Datasets from the [hardening] issue: decompression bombs, class folders linked out, every manifest problem, a bad
first line, a folder's one annotation file, converting elsewhere, plain folders of unlabelled images, images a
COCO conversion cannot read, and every bad entry of an annotation file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.datasets import DatasetError, detect_format, load_dataset
from grounddefake.images import ImageError
from tests.test_dataset_formats import _image, coco, expl_aigi, fakexplained, imdl_json, llava, loki, synthscars

runner = CliRunner()
PACKAGE = Path(__file__).resolve().parent.parent / "grounddefake"


def _cli(*args: str):
    return runner.invoke(app, list(args))


# --- 6. decompression bombs: one image-opening path, one error type ---------------------------------------------


def test_only_image_files_opens_images_with_pillow() -> None:
    """Every file read for its pixels goes through image_files (bomb guard → ImageError), masks and heatmaps too."""
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "image_files.py" and re.search(r"\bImage\.open\(", p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.fixture
def bombs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A manifest whose masks, heatmap and one image are "bombs" at a lowered limit (100×100 > 2 × 2,000 pixels)."""
    root = tmp_path / "bombs"
    root.mkdir()
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(root / "bomb.png")
    Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(root / "ok.png")
    lines = [
        {"id": "a", "image": "ok.png", "label": "fake", "mask": "bomb.png", "heatmap": "bomb.png"},
        {"id": "b", "image": "bomb.png", "label": "fake", "mask": "bomb.png"},
    ]
    (root / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (root / "preds.jsonl").write_text(
        "".join(json.dumps({"id": i, "label": "fake", "regions": [{"box": [1, 1, 9, 9]}]}) + "\n" for i in "ab")
    )
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    return root


@pytest.mark.parametrize("reader", ["load_mask", "load_heatmap"])
def test_a_bomb_mask_or_heatmap_is_an_image_error(bombs: Path, reader: str) -> None:
    import grounddefake.grounding as grounding

    with pytest.raises(ImageError, match="decompression-bomb"):
        getattr(grounding, reader)(bombs / "bomb.png")


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["data", "inspect", "{root}"], 0, "a: mask missing or unreadable"),
        (["data", "convert", "{root}", "{root}/c.json", "--to", "coco"], 2, "decompression-bomb"),
        (["score", "--predictions", "{root}/preds.jsonl", "--data", "{root}"], 0, "metric"),
    ],
    ids=["inspect", "convert-coco", "score"],
)
def test_commands_do_not_crash_on_a_bomb(bombs: Path, args: list[str], code: int, expected: str) -> None:
    result = _cli(*[a.format(root=bombs) for a in args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    assert expected in " ".join(result.output.split())


# --- 7. a class folder that is a symbolic link out of the dataset ----------------------------------------------


def _layout(kind: str, root: Path, outside: Path) -> str:
    """A layout whose folder ``kind`` links to ``outside``; returns the id of an image that must not be read."""
    _image(outside / "private.png", 9)
    if kind == "real-fake":
        _image(root / "fake" / "f.png", 1)
        (root / "real").symlink_to(outside, target_is_directory=True)
        return "real/private"
    if kind == "binary-folders":
        _image(root / "gen" / "1_fake" / "f.png", 1)
        (root / "gen" / "0_real").symlink_to(outside, target_is_directory=True)
        return "gen/0_real/private"
    if kind == "image-mask":
        (root / "mask").mkdir(parents=True)
        (root / "image").symlink_to(outside, target_is_directory=True)
        return "image/private"
    _image(root / "local" / "a.png", 1)  # images
    (root / "linked").symlink_to(outside, target_is_directory=True)
    return "linked/private"


@pytest.mark.parametrize("kind", ["real-fake", "binary-folders", "image-mask", "images"])
def test_a_class_folder_linked_out_of_the_dataset_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    leaked = _layout(kind, root, tmp_path / "secret")
    try:
        dataset = load_dataset(root, kind)
    except DatasetError as exc:  # nothing else to read: the error says why
        assert "symbolic link out of the dataset folder" in str(exc)
    else:
        assert leaked not in {s.id for s in dataset}
        assert any("symbolic link out of the dataset folder" in p for p in dataset.problems)
    monkeypatch.setenv("GROUNDDEFAKE_FOLLOW_LINKS", "1")
    assert leaked in {s.id for s in load_dataset(root, kind)}


def test_a_sid_set_mask_linked_out_is_not_used(tmp_path: Path) -> None:
    root = tmp_path / "sid"
    _image(root / "tampered" / "t.png", 1)
    _image(tmp_path / "secret.png", 2)
    (root / "masks").mkdir()
    (root / "masks" / "t_mask.png").symlink_to(tmp_path / "secret.png")
    assert load_dataset(root).samples[0].mask is None


# --- 16, 17. every manifest problem, and a bad first line -------------------------------------------------------


def _bad_manifest(root: Path, n_bad: int) -> Path:
    _image(root / "a.png")
    lines = [json.dumps({"id": "a", "image": "a.png", "label": "real"})]
    lines += [
        "{not json" if i % 2 else json.dumps({"id": f"x{i}", "image": "a.png", "label": "?"}) for i in range(n_bad)
    ]
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return root / "manifest.jsonl"


@pytest.mark.parametrize(("n_bad", "listed", "more"), [(3, 3, None), (50, 50, None), (60, 50, 10)])
def test_every_bad_line_is_reported(tmp_path: Path, n_bad: int, listed: int, more: int | None) -> None:
    path = _bad_manifest(tmp_path, n_bad)
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    message = str(info.value)
    assert f"{n_bad} problems" in message
    assert len(re.findall(rf"{re.escape(str(path))}:\d+: ", message)) == listed
    assert f"{path}:2: " in message and f"{path}:3: " in message
    assert (f"and {more} more" in message) == (more is not None)
    lenient = load_dataset(path, strict=False)
    assert [s.id for s in lenient] == ["a"] and len(lenient.problems) == n_bad


def test_data_inspect_lists_every_bad_line(tmp_path: Path) -> None:
    path = _bad_manifest(tmp_path, 60)
    result = _cli("data", "inspect", str(tmp_path), "--json", "--no-hash")
    assert result.exit_code == 0, result.output
    problems = json.loads(result.output)["problems"]
    assert len(problems) == 60 and f"{path}:61: " in problems[-1]


@pytest.mark.parametrize("name", ["data.jsonl", "manifest.jsonl"])
def test_a_bad_first_line_names_file_and_line(tmp_path: Path, name: str) -> None:
    _image(tmp_path / "a.png")
    path = tmp_path / name
    path.write_text('{"id": "a", "image": "a.png",\n{"id": "b", "image": "a.png"}\n')
    assert detect_format(path) == "manifest"
    with pytest.raises(DatasetError, match=rf"{re.escape(str(path))}:1: not valid JSON"):
        load_dataset(path)


# --- 18. a folder holding one annotation file -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "fmt"),
    [(synthscars, "synthscars"), (loki, "loki"), (fakexplained, "fakexplained"), (imdl_json, "imdl-json")],
)
def test_a_folder_with_one_annotation_file_is_detected(tmp_path: Path, build: Callable[[Path], Path], fmt: str) -> None:
    file = build(tmp_path / "data")
    folder = file.parent
    assert detect_format(folder) == fmt
    assert [s.id for s in load_dataset(folder)] == [s.id for s in load_dataset(file)]
    assert load_dataset(folder, fmt).source == file
    (folder / "notes.json").write_text('{"not": "a dataset"}')  # a file of no known format changes nothing
    assert detect_format(folder) == fmt


def test_two_annotation_files_are_not_guessed(tmp_path: Path) -> None:
    folder = synthscars(tmp_path / "data").parent
    (folder / "other.json").write_text((folder / "test.json").read_text())
    assert detect_format(folder) == "images"  # the images are still there, unlabelled; the files must be named


# --- 19. converting to a file outside the dataset ---------------------------------------------------------------


def test_convert_demo_writes_elsewhere_and_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "demo.jsonl"
    result = _cli("data", "convert", "demo", str(target), "--to", "manifest")
    assert result.exit_code == 0, result.output
    assert "paths absolute" in " ".join(result.output.split())
    monkeypatch.setenv("GROUNDDEFAKE_FOLLOW_LINKS", "1")
    demo = load_dataset("demo")
    again = load_dataset(target)
    assert [(s.id, s.image, s.mask) for s in again] == [(s.id, s.image, s.mask) for s in demo]


# --- 20. a plain folder of unlabelled images --------------------------------------------------------------------


def _plain(root: Path) -> Path:
    _image(root / "b.png", 1)
    _image(root / "a.jpg", 2)
    _image(root / "a.png", 3)
    _image(root / "sub" / "c.png", 4)
    (root / ".hidden.png").write_bytes(b"")
    return root


def test_a_plain_folder_of_images_is_an_unlabelled_dataset(tmp_path: Path) -> None:
    root = _plain(tmp_path / "plain")
    assert detect_format(root) == "images"
    dataset = load_dataset(root)
    assert [s.id for s in dataset] == ["a.jpg", "a.png", "b", "sub/c"]  # same stem twice: extensions kept
    assert {s.label for s in dataset} == {None} and dataset.format == "images"


def test_detect_on_a_folder_judges_its_images(tmp_path: Path) -> None:
    root = _plain(tmp_path / "plain")
    result = _cli("detect", str(root), "--json")
    assert result.exit_code == 0, result.output
    seen = [json.loads(line)["image"] for line in result.output.splitlines()]
    assert seen == [str(root / n) for n in ("a.jpg", "a.png", "b.png", "sub/c.png")]


def test_eval_on_unlabelled_images_reports_answers_only(tmp_path: Path) -> None:
    root = _plain(tmp_path / "plain")
    out = tmp_path / "run"
    result = _cli("eval", "--data", str(root), "--with-boxes", "--bootstrap", "20", "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classification"]["n"] == 0
    answers = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(answers) == 4 and all(a["label"] in ("real", "fake", "unknown") for a in answers)


# --- data convert --to coco: an image it cannot read is skipped with its reason, never written as 0x0 -------------


def _unreadable(root: Path, broken: str) -> None:
    """A manifest of a readable fake (with its mask) and one sample whose ``broken`` file cannot be read."""
    _image(root / "ok.png")
    Image.fromarray(np.full((30, 40), 255, np.uint8)).save(root / "mask.png")
    bad = {"id": "bad", "image": "bad.png", "label": "fake", "mask": "mask.png"}
    if broken == "image":
        (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a PNG")
    elif broken == "mask":
        _image(root / "bad.png", 1)
        (root / "bad_mask.png").write_bytes(b"garbage")
        bad["mask"] = "bad_mask.png"
    lines = [{"id": "ok", "image": "ok.png", "label": "fake", "mask": "mask.png"}, bad]
    (root / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


@pytest.mark.parametrize(("broken", "reason"), [("image", "bad.png"), ("missing", "bad.png"), ("mask", "bad_mask")])
def test_coco_conversion_skips_an_unreadable_image_with_its_reason(tmp_path: Path, broken: str, reason: str) -> None:
    from grounddefake.datasets.convert import to_coco

    root = tmp_path / "data"
    root.mkdir()
    _unreadable(root, broken)
    written = to_coco(load_dataset(root), tmp_path / "c.json")
    coco = json.loads((tmp_path / "c.json").read_text())
    assert [(i["sample_id"], i["width"], i["height"]) for i in coco["images"]] == [("ok", 40, 30)]
    assert {a["image_id"] for a in coco["annotations"]} == {1}
    assert written.count == 1 and len(written.skipped) == 1
    assert written.skipped[0].startswith("bad: ") and reason in written.skipped[0]


def test_data_convert_says_how_many_images_it_skipped(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    _unreadable(root, "image")
    result = _cli("data", "convert", str(root), str(tmp_path / "c.json"), "--to", "coco")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1 samples (manifest)" in text and "1 image skipped" in text and "bad: " in text


# --- annotation files: every good entry kept, every bad one listed (bounded, with a count of the rest) ------------


def _json(path: Path, change: Callable[[object], object], encoding: str = "utf-8") -> Path:
    path.write_bytes(json.dumps(change(json.loads(path.read_bytes().decode(encoding)))).encode(encoding))
    return path


def _lines(path: Path, *bad: str) -> Path:
    with path.open("a") as f:
        f.write("".join(line + "\n" for line in bad))
    return path


def _spoiled_imdl(root: Path) -> Path:
    return _json(imdl_json(root), lambda d: [["../out.png", "Negative"], *d, "junk", ["/abs.png", "gts/t.png"]])


def _spoiled_coco(root: Path) -> Path:
    def spoil(data):
        data["images"] += [{"id": 7, "file_name": "../out.png"}, {"id": [8], "file_name": "x.png"}]
        data["annotations"].append({"id": 9, "image_id": [0], "bbox": [1, 1, 2, 2]})
        return data

    return _json(coco(root), spoil)


def _spoiled_synthscars(root: Path) -> Path:
    bad = {"s2": {"img_file_name": "../../out.png"}, "s3": {"img_file_name": "s1.png", "refs": 5}}
    return _json(synthscars(root), lambda d: [*d, "junk", bad])


def _spoiled_loki(root: Path) -> Path:
    bad = [{"image_path": "/abs.png"}, {"image_path": "img/a.png", "problems": {"regional": 7}}]
    return _json(loki(root), lambda d: [*d, *bad], "utf-16")


def _spoiled_fakexplained(root: Path) -> Path:
    bad = [json.dumps({"images": ["../x.png"]}), json.dumps({"images": ["imgs/a.png"], "objects": {"bbox": 5}})]
    return _lines(fakexplained(root), "{not json", *bad)


def _spoiled_llava(root: Path) -> Path:
    return _json(llava(root), lambda d: [*d, {"image": "../x.png"}, {"id": "c", "image": "a.png", "conversations": 3}])


def _spoiled_expl_aigi(root: Path) -> Path:
    bad = json.dumps({"id": "b", "image": "images/a.png", "heatmap": "../h.png"})
    return _lines(expl_aigi(root), "{not json", bad, "[]")


SPOILED = [
    (_spoiled_imdl, "imdl-json", 2, 3),
    (_spoiled_coco, "coco", 3, 3),
    (_spoiled_synthscars, "synthscars", 1, 3),
    (_spoiled_loki, "loki", 2, 2),
    (_spoiled_fakexplained, "fakexplained", 1, 3),
    (_spoiled_llava, "llava", 2, 2),
    (_spoiled_expl_aigi, "expl-aigi", 1, 3),
]


@pytest.mark.parametrize(("build", "fmt", "good", "bad"), SPOILED, ids=[c[1] for c in SPOILED])
def test_every_bad_entry_of_an_annotation_file_is_listed(
    tmp_path: Path, build: Callable[[Path], Path], fmt: str, good: int, bad: int
) -> None:
    path = build(tmp_path / "data")
    dataset = load_dataset(path, fmt)
    assert len(dataset) == good
    assert len(dataset.problems) == bad, dataset.problems
    assert all(p.startswith(str(path)) for p in dataset.problems), dataset.problems
    inspected = _cli("data", "inspect", str(path), "--format", fmt, "--json", "--no-hash")
    assert inspected.exit_code == 0, inspected.output
    assert json.loads(inspected.output)["problems"][:bad] == list(dataset.problems)


def test_an_annotation_file_of_bad_entries_only_lists_them_all(tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    path.write_text(json.dumps([[f"../{i}.png", "Negative"] for i in range(60)]))
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    message = str(info.value)
    assert "60 problems" in message and "and 10 more" in message
    assert message.count("leaves the dataset folder") == 50


def test_eval_lists_the_data_problems_bounded(tmp_path: Path) -> None:
    root = tmp_path / "data"
    path = _json(imdl_json(root), lambda d: [*d, *([f"../{i}.png", "Negative"] for i in range(60))])
    out = tmp_path / "run"
    result = _cli("eval", "--data", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_samples"] == 2 and metrics["n_data_problems"] == 60
    assert len(metrics["data_problems"]) == 50 and "leaves the dataset folder" in metrics["data_problems"][0]
    text = " ".join(result.output.split())
    assert text.count("leaves the dataset folder") == 50 and "and 10 more" in text


def test_data_convert_says_which_entries_it_left_out(tmp_path: Path) -> None:
    path = _spoiled_imdl(tmp_path / "data")
    result = _cli("data", "convert", str(path), str(tmp_path / "m.jsonl"), "--to", "manifest")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "2 samples (imdl-json)" in text and "3 unusable entries of the dataset left out" in text
    assert "leaves the dataset folder" in text and "not an [image, mask] pair" in text
