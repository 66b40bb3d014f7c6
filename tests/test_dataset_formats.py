"""Every public dataset format, written here as it ships, read by detection and evaluated end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grounddefake.datasets import FORMATS, DatasetError, detect_format, load_dataset

W, H = 40, 30


def _image(path: Path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(path)


def _mask(path: Path, box=(10, 5, 25, 20)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = np.zeros((H, W), np.uint8)
    mask[box[1] : box[3], box[0] : box[2]] = 255
    Image.fromarray(mask).save(path)


def real_fake(root: Path) -> Path:
    for i in range(2):
        _image(root / "real" / f"r{i}.jpg", i)
        _image(root / "fake" / f"f{i}.png", 10 + i)
    return root


def binary_folders(root: Path) -> Path:
    for gen in ("progan", "sdxl"):
        _image(root / gen / "0_real" / "a.png", 1)
        _image(root / gen / "1_fake" / "b.png", 2)
    return root


def imdl_folders(root: Path) -> Path:
    # Names sort differently in Tp/ and Gt/ (x10 vs x2): pairing by order would mispair them.
    for name in ("x2", "x10"):
        _image(root / "Tp" / f"{name}.jpg", len(name))
        _mask(root / "Gt" / f"{name}_gt.png")
    _image(root / "Tp" / "orphan.jpg", 5)
    _image(root / "Au" / "au1.jpg", 6)
    return root


def sid_set(root: Path) -> Path:
    _image(root / "real" / "0.jpg", 0)
    _image(root / "full_synthetic" / "1.png", 1)
    _image(root / "tampered" / "2.png", 2)
    _mask(root / "masks" / "2_mask.png")
    return root


def image_mask(root: Path) -> Path:
    _image(root / "image" / "a.png", 0)
    _image(root / "image" / "b.png", 1)
    _mask(root / "mask" / "a.png")
    return root


def imdl_json(root: Path) -> Path:
    _image(root / "imgs" / "t.png", 0)
    _image(root / "imgs" / "au.png", 1)
    _mask(root / "gts" / "t.png")
    (root / "test.json").write_text(json.dumps([["imgs/t.png", "gts/t.png"], ["imgs/au.png", "Negative"]]))
    return root / "test.json"


def coco(root: Path) -> Path:
    from pycocotools import mask as mask_utils

    for i in range(3):
        _image(root / "images" / f"{i}.png", i)
    rle = mask_utils.encode(np.asfortranarray((np.arange(H * W).reshape(H, W) % W < 10).astype(np.uint8)))
    rle["counts"] = rle["counts"].decode()
    data = {
        "images": [{"id": i, "file_name": f"{i}.png", "width": W, "height": H} for i in range(3)],
        "annotations": [
            {
                "id": 1,
                "image_id": 0,
                "category_id": 1,
                "segmentation": [[10, 5, 25, 5, 25, 20, 10, 20]],
                "bbox": [10, 5, 15, 15],
                "area": 225,
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "segmentation": rle,
                "bbox": [0, 0, 10, H],
                "area": 300,
                "iscrowd": 1,
            },
        ],
        "categories": [{"id": 1, "name": "tampered"}],
    }
    (root / "annotations.json").write_text(json.dumps(data))
    return root / "annotations.json"


def synthscars(root: Path) -> Path:
    _image(root / "images" / "s1.png", 0)
    data = [
        {
            "s1": {
                "img_file_name": "s1.png",
                "caption": "a hand with six fingers",
                "refs": [{"sentence": "six fingers", "segmentation": [[10, 5, 25, 5, 25, 20, 10, 20]]}],
            }
        }
    ]
    (root / "test.json").write_text(json.dumps(data))
    return root / "test.json"


def loki(root: Path) -> Path:
    _image(root / "img" / "a.png", 0)
    _image(root / "img" / "b.png", 1)
    data = [
        {
            "image_path": "img/a.png",
            "question": "Describe the regional artifacts.",
            "metric": "model-as-judge",
            "problems": {"regional": [{"region": [10, 5, 15, 15], "desc": "melted fingers"}], "global": []},
        },
        {"image_path": "img/b.png", "question": "Is this image AI-generated?", "answer": "no"},
    ]
    (root / "loki.json").write_bytes(json.dumps(data).encode("utf-16"))
    return root / "loki.json"


def fakexplained(root: Path) -> Path:
    _image(root / "imgs" / "a.png", 0)
    line = {
        "images": ["imgs/a.png"],
        "messages": [
            {"role": "user", "content": "<image>Real or fake?"},
            {"role": "assistant", "content": "<think>the <ref-object><bbox></think><verdict>fake</verdict>"},
        ],
        "objects": {"ref": ["distorted wheel"], "bbox": [[10, 5, 25, 20]]},
    }
    (root / "train.jsonl").write_text(json.dumps(line) + "\n")
    return root / "train.jsonl"


def llava(root: Path) -> Path:
    _image(root / "images" / "a.png", 0)
    _image(root / "images" / "b.png", 1)
    data = [
        {
            "id": "a",
            "image": "a.png",
            "label": 0,
            "conversations": [{"from": "human", "value": "<image>\nReal?"}, {"from": "gpt", "value": "It is fake."}],
        },
        {
            "id": "b",
            "image": "b.png",
            "conversations": [
                {"from": "human", "value": "<image>\nReal?"},
                {"from": "gpt", "value": "This is a real photograph."},
            ],
        },
    ]
    (root / "fakeclue.json").write_text(json.dumps(data))
    return root / "fakeclue.json"


def expl_aigi(root: Path) -> Path:
    _image(root / "images" / "a.png", 0)
    _mask(root / "artifact_map" / "a.png")
    line = {
        "id": "a",
        "image": "images/a.png",
        "heatmap": "./artifact_map/a.png",
        "score": 0.25,
        "conversations": [{"from": "gpt", "value": "### Image Description ..."}],
    }
    (root / "test.jsonl").write_text(json.dumps(line) + "\n")
    return root / "test.jsonl"


def manifest(root: Path) -> Path:
    _image(root / "a.png")
    (root / "manifest.jsonl").write_text(json.dumps({"id": "a", "image": "a.png", "label": "real"}) + "\n")
    return root


# (builder, format, {sample id: (label, number of regions, has mask)}, problems expected)
CASES: list[tuple[Callable[[Path], Path], str, dict[str, tuple], int]] = [
    (real_fake, "real-fake", {"real/r0": ("real", 0, False), "fake/f1": ("fake", 0, False)}, 0),
    (binary_folders, "binary-folders", {"sdxl/0_real/a": ("real", 0, False), "progan/1_fake/b": ("fake", 0, False)}, 0),
    (
        imdl_folders,
        "imdl-folders",
        {
            "Tp/x2": ("fake", 0, True),
            "Tp/x10": ("fake", 0, True),
            "Tp/orphan": ("fake", 0, False),
            "Au/au1": ("real", 0, False),
        },
        1,
    ),
    (
        sid_set,
        "sid-set",
        {"real/0": ("real", 0, False), "full_synthetic/1": ("fake", 0, False), "tampered/2": ("fake", 0, True)},
        0,
    ),
    (image_mask, "image-mask", {"image/a": ("fake", 0, True), "image/b": ("real", 0, False)}, 0),
    (imdl_json, "imdl-json", {"imgs/t": ("fake", 0, True), "imgs/au": ("real", 0, False)}, 0),
    (coco, "coco", {"0": ("fake", 1, False), "1": ("fake", 1, True), "2": ("real", 0, False)}, 0),
    (synthscars, "synthscars", {"s1": ("fake", 1, False)}, 0),
    (loki, "loki", {"img/a": ("fake", 1, False), "img/b": ("real", 0, False)}, 0),
    (fakexplained, "fakexplained", {"imgs/a": ("fake", 1, False)}, 0),
    (llava, "llava", {"a": ("fake", 0, False), "b": ("real", 0, False)}, 0),
    (expl_aigi, "expl-aigi", {"a": (None, 0, False)}, 0),
    (manifest, "manifest", {"a": ("real", 0, False)}, 0),
]


@pytest.mark.parametrize(("build", "fmt", "expected", "n_problems"), CASES, ids=[c[1] for c in CASES])
def test_each_format_is_detected_and_read(tmp_path: Path, build, fmt, expected, n_problems) -> None:
    path = build(tmp_path / "data")
    assert detect_format(path) == fmt
    dataset = load_dataset(path)
    assert dataset.format == fmt
    samples = {s.id: s for s in dataset}
    assert set(samples) >= set(expected)
    for sample_id, (label, n_regions, has_mask) in expected.items():
        sample = samples[sample_id]
        assert sample.label == label, sample_id
        assert len(sample.regions) == n_regions, sample_id
        assert (sample.mask is not None) == has_mask, sample_id
        assert sample.image.is_file()
    assert len(dataset.problems) == n_problems


def test_format_specific_details(tmp_path: Path) -> None:
    sid = load_dataset(sid_set(tmp_path / "sid"))
    assert {s.meta["subtype"] for s in sid} == {"real", "full_synthetic", "tampered"}
    cnn = load_dataset(binary_folders(tmp_path / "cnn"))
    assert {s.meta["generator"] for s in cnn} == {"progan", "sdxl"}
    imdl = {s.id: s for s in load_dataset(imdl_folders(tmp_path / "imdl"))}
    assert imdl["Tp/x10"].mask.name == "x10_gt.png"  # paired by name, not by sort order
    c = {s.id: s for s in load_dataset(coco(tmp_path / "coco"))}
    assert c["0"].regions[0].box == (10, 5, 25, 20)
    from grounddefake.grounding import load_mask

    assert (load_mask(c["1"].mask) == (np.arange(H * W).reshape(H, W) % W < 10)).all()  # the RLE's very pixels
    assert c["1"].regions[0].box == (0, 0, 10, H)
    scars = load_dataset(synthscars(tmp_path / "scars")).samples[0]
    assert scars.regions[0].label == "six fingers" and scars.meta["caption"]
    lk = {s.id: s for s in load_dataset(loki(tmp_path / "loki"))}
    assert lk["img/a"].regions[0].box == (10, 5, 25, 20) and lk["img/a"].regions[0].label == "melted fingers"
    heat = load_dataset(expl_aigi(tmp_path / "heat")).samples[0]
    assert heat.heatmap.name == "a.png" and heat.meta["score"] == 0.25
    assert heat.meta["score_direction"] == "plausibility" and heat.label is None


@pytest.mark.parametrize(("build", "fmt"), [(c[0], c[1]) for c in CASES], ids=[c[1] for c in CASES])
def test_eval_runs_on_every_format(tmp_path: Path, build, fmt) -> None:
    from typer.testing import CliRunner

    from grounddefake.cli import app

    path = build(tmp_path / "data")
    result = CliRunner().invoke(app, ["eval", "--data", str(path), "--with-boxes", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_samples"] == len(load_dataset(path))


def test_paths_cannot_leave_the_dataset(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "test.json").write_text(json.dumps([["../../etc/passwd.png", "Negative"]]))
    with pytest.raises(DatasetError, match="leaves the dataset folder"):
        load_dataset(root / "test.json")


def test_unknown_layout_says_how_to_name_a_format(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(DatasetError, match="--format"):
        load_dataset(tmp_path / "x")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        load_dataset(real_fake(tmp_path / "rf"), format="nope")
    assert len(FORMATS) >= 13


def test_inspect_lists_counts_coverage_and_problems(tmp_path: Path) -> None:
    from grounddefake.datasets.inspection import inspect_dataset

    root = sid_set(tmp_path / "sid")
    _image(root / "real" / "dup.jpg", 0)  # the same bytes as real/0.jpg
    _mask(root / "masks" / "3_mask.png")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(root / "masks" / "2_mask.png")  # wrong size
    _image(root / "tampered" / "4.png", 4)  # no mask
    report = inspect_dataset(load_dataset(root))
    assert report.n == 5 and report.labels == {"real": 2, "fake": 3}
    assert report.subtypes == {"real": 2, "full_synthetic": 1, "tampered": 2}
    assert report.coverage["mask"] == 1
    text = "\n".join(report.problems)
    assert "tampered/4.png: no masks/4_mask.png" in text
    assert "mask is 5x5, image is 40x30" in text
    assert "identical image bytes: real/0, real/dup" in text


def test_inspect_reports_missing_images_and_boxes_outside(tmp_path: Path) -> None:
    from grounddefake.datasets.inspection import inspect_dataset

    root = tmp_path / "m"
    _image(root / "a.png")
    lines = [
        {"id": "a", "image": "a.png", "label": "fake", "regions": [{"box": [30, 20, 60, 40]}]},
        {"id": "b", "image": "missing.png", "label": "real"},
    ]
    (root / "manifest.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    problems = "\n".join(inspect_dataset(load_dataset(root)).problems)
    assert "b: image missing" in problems and "a: region 0 [30.0, 20.0, 60.0, 40.0] leaves the 40x30 image" in problems


@pytest.mark.parametrize("to", ["manifest", "coco"])
@pytest.mark.parametrize(("build", "fmt"), [(sid_set, "sid-set"), (coco, "coco"), (loki, "loki")])
def test_convert_round_trips(tmp_path: Path, build, fmt, to: str) -> None:
    from grounddefake.datasets.convert import to_coco, to_manifest
    from grounddefake.grounding import regions_to_mask, truth_mask

    path = build(tmp_path / "data")
    original = load_dataset(path)
    root = path if path.is_dir() else path.parent
    target = root / ("converted.jsonl" if to == "manifest" else "converted.json")
    (to_manifest if to == "manifest" else to_coco)(original, target)
    again = {s.id: s for s in load_dataset(target, "manifest" if to == "manifest" else "coco")}
    for sample in original:
        copy = again[sample.id]
        assert copy.label == sample.label and copy.image == sample.image
        before = truth_mask(sample, (W, H))
        after = truth_mask(copy, (W, H))
        empty = np.zeros((H, W), bool)
        assert ((empty if before is None else before) == (empty if after is None else after)).all()
        if sample.regions:
            assert (regions_to_mask(copy.regions, (W, H)) == regions_to_mask(sample.regions, (W, H))).all()


def test_convert_writes_outside_the_dataset_with_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output elsewhere (the shipped demo lives in site-packages): absolute paths, read back with the user's flag."""
    from grounddefake.datasets.convert import to_manifest

    original = load_dataset(real_fake(tmp_path / "rf"))
    written = to_manifest(original, tmp_path / "other" / "m.jsonl")
    assert (written.count, written.absolute) == (len(original), len(original)) and "paths absolute" in written.how
    with pytest.raises(DatasetError, match="absolute path"):
        load_dataset(tmp_path / "other" / "m.jsonl")
    monkeypatch.setenv("GROUNDDEFAKE_FOLLOW_LINKS", "1")
    again = load_dataset(tmp_path / "other" / "m.jsonl")
    assert [s.image for s in again] == [s.image for s in original]
    inside = to_manifest(original, tmp_path / "rf" / "m.jsonl")
    assert inside.absolute == 0 and inside.how == "paths relative to it"


def test_data_commands(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from grounddefake.cli import app

    root = sid_set(tmp_path / "sid")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "inspect", str(root), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["format"] == "sid-set"
    result = runner.invoke(app, ["data", "convert", str(root), str(root / "m.jsonl"), "--to", "manifest"])
    assert result.exit_code == 0 and "3 samples (sid-set)" in result.output
    assert runner.invoke(app, ["data", "formats"]).exit_code == 0
    assert runner.invoke(app, ["data", "inspect", str(tmp_path / "none")]).exit_code == 2


def _png_bytes(seed: int) -> bytes:
    import io

    buffer = io.BytesIO()
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _mask_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    mask = np.zeros((H, W), np.uint8)
    mask[5:20, 10:25] = 255
    Image.fromarray(mask).save(buffer, format="PNG")
    return buffer.getvalue()


def test_hugging_face_parquet_with_sid_set_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    rows = [
        {
            "img_id": "a",
            "image": {"bytes": _png_bytes(0), "path": "a.png"},
            "mask": None,
            "width": W,
            "height": H,
            "label": 0,
        },
        {
            "img_id": "b",
            "image": {"bytes": _png_bytes(1), "path": "b.png"},
            "mask": None,
            "width": W,
            "height": H,
            "label": 1,
        },
        {
            "img_id": "c",
            "image": {"bytes": _png_bytes(2), "path": "c.png"},
            "mask": {"bytes": _mask_bytes(), "path": "c_mask.png"},
            "width": W,
            "height": H,
            "label": 2,
        },
    ]
    (tmp_path / "sid" / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "sid" / "data" / "validation-00000-of-00001.parquet")
    root = tmp_path / "sid"
    assert detect_format(root) == "hf"
    samples = {s.id: s for s in load_dataset(root)}
    assert [samples[k].label for k in "abc"] == ["real", "fake", "fake"]
    assert samples["c"].meta["subtype"] == "tampered" and samples["c"].mask is not None
    assert samples["a"].image.read_bytes() == rows[0]["image"]["bytes"]
    assert str(samples["a"].image).startswith(str(tmp_path / "cache"))
    assert load_dataset(root).samples[0].image == samples["a"].image  # written once, found again


def test_eval_on_a_hugging_face_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from grounddefake.cli import app

    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    rows = [
        {"id": str(i), "image": {"bytes": _png_bytes(i), "path": None}, "label": "fake" if i else "real"}
        for i in range(2)
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train.parquet")
    result = CliRunner().invoke(app, ["eval", "--data", str(tmp_path / "train.parquet"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["classification"]["n"] == 2


def test_coco_rle_with_a_hole_keeps_the_hole(tmp_path: Path) -> None:
    from pycocotools import mask as mask_utils

    from grounddefake.grounding import load_mask

    ring = np.zeros((H, W), np.uint8)
    ring[2:28, 2:38] = 1
    ring[8:22, 10:30] = 0
    rle = mask_utils.encode(np.asfortranarray(ring))
    rle["counts"] = rle["counts"].decode()
    _image(tmp_path / "images" / "r.png")
    data = {
        "images": [{"id": 1, "file_name": "r.png", "width": W, "height": H}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": rle,
                "iscrowd": 1,
                "bbox": [2, 2, 36, 26],
                "area": 0,
            }
        ],
        "categories": [{"id": 1, "name": "x"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(data))
    (sample,) = load_dataset(tmp_path / "c.json").samples
    assert (load_mask(sample.mask) == ring.astype(bool)).all()


@pytest.mark.parametrize(
    "bad",
    [
        [["", "Negative"]],
        [[".", "Negative"]],
        {
            "images": [{"id": 1, "file_name": "a.png"}],
            "annotations": [{"id": 1, "image_id": 1, "segmentation": {"size": [100000, 100000], "counts": "0"}}],
        },
    ],
)
def test_malformed_annotations_are_problems_not_crashes(tmp_path: Path, bad) -> None:
    _image(tmp_path / "a.png")
    (tmp_path / "x.json").write_text(json.dumps(bad))
    try:
        dataset = load_dataset(tmp_path / "x.json", "coco" if isinstance(bad, dict) else "imdl-json")
    except DatasetError:
        return  # nothing usable: a clear error
    assert dataset.problems


def test_folder_layouts_skip_links_that_leave_the_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = real_fake(tmp_path / "rf")
    _image(tmp_path / "secret" / "private.png", 9)
    (root / "real" / "leak.png").symlink_to(tmp_path / "secret" / "private.png")
    assert "real/leak" not in {s.id for s in load_dataset(root)}
    monkeypatch.setenv("GROUNDDEFAKE_FOLLOW_LINKS", "1")
    assert "real/leak" in {s.id for s in load_dataset(root)}


@pytest.mark.parametrize(
    ("question", "answer", "label"),
    [
        ("Is this image AI-generated?", "Yes", "fake"),
        ("Is this image AI-generated?", "no", "real"),
        ("Is this a real photo rather than AI-generated?", "yes", "real"),
        ("Is this a real photo rather than AI-generated?", "no", "fake"),
        ("What color is the car?", "yes", None),
    ],
)
def test_loki_yes_no_labels_follow_the_question(question: str, answer: str, label) -> None:
    from grounddefake.datasets.annotation_files import _loki_label

    assert _loki_label({"question": question, "answer": answer}, False) == label


def _paligemma_parquet(root: Path) -> Path:
    """The PaliGemma deepfake set's record shape, as shipped: {image, label: 0 = deepfake / 1 = normal, question}."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    question = "Is this image made by AI?"
    rows = [{"image": {"bytes": _png_bytes(i), "path": None}, "label": i % 2, "question": question} for i in range(4)]
    (root / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "data" / "validation-00000-of-00001.parquet")
    return root


def test_numeric_labels_are_never_guessed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as SID-Set (0 → real) the PaliGemma labels would be inverted: without a mapping it is a one-line error."""
    from typer.testing import CliRunner

    from grounddefake.cli import app

    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    root = _paligemma_parquet(tmp_path / "pg")
    with pytest.raises(DatasetError, match=r"numeric labels \(0, 1\) and no mapping: name it with --label-map"):
        load_dataset(root)
    result = CliRunner().invoke(app, ["data", "inspect", str(root)])
    assert result.exit_code == 2 and "--label-map" in result.output
    dataset = load_dataset(root, label_map={"0": "fake", "1": "real"})
    assert [s.label for s in dataset] == ["fake", "real", "fake", "real"]
    assert dataset.label_mapping == "0 → fake, 1 → real (--label-map)"
    result = CliRunner().invoke(app, ["data", "inspect", str(root), "--label-map", "0=fake,1=real", "--no-hash"])
    assert result.exit_code == 0, result.output
    assert "numeric labels" in result.output and "0 → fake, 1 → real (--label-map)" in result.output
    assert "fake 2" in result.output and "real 2" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [("0=fake,0=real", "mapped twice"), ("0:fake", "is not VALUE=LABEL"), ("0=[x]", "is not VALUE=LABEL")],
)
def test_a_bad_label_map_is_refused(text: str, message: str) -> None:
    from grounddefake.datasets.label_map import LabelMapError, parse_label_map

    with pytest.raises(LabelMapError, match=message):
        parse_label_map(text)


def test_a_label_map_for_text_labels_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="labels are not numbers"):
        load_dataset(real_fake(tmp_path / "rf"), label_map={"0": "fake"})


def test_sid_sets_documented_layout_names_its_own_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [{"img_id": "a", "image": {"bytes": _png_bytes(0), "path": "a.png"}, "mask": None, "label": 0}]
    (tmp_path / "sid").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "sid" / "x.parquet")
    dataset = load_dataset(tmp_path / "sid")
    assert [s.label for s in dataset] == ["real"] and "SID-Set's documented labels" in dataset.label_mapping


def test_eval_and_score_take_the_label_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from grounddefake.cli import app

    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    root = _paligemma_parquet(tmp_path / "pg")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", "--data", str(root), "--label-map", "0=fake,1=real", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["options"]["label_map"] == "0=fake,1=real"
    metrics = json.loads((out / "metrics.json").read_text())["classification"]
    assert (metrics["n_fake"], metrics["n_real"]) == (2, 2)
    args = ["score", "--predictions", str(out), "--data", str(root), "--label-map", "0=real,1=fake"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_paligemma_records_are_read_as_shipped(tmp_path: Path, suffix: str) -> None:
    """{image, label: 0 = deepfake / 1 = normal, question} as a JSON list or JSONL: detected, numeric labels refused
    without a mapping and read through one, the question kept for a pack that declares it."""
    records = []
    for i in range(3):
        _image(tmp_path / "images" / f"{i}.png", i)
        records.append({"image": f"images/{i}.png", "label": i % 2, "question": "Is this image made by AI?"})
    path = tmp_path / f"validation{suffix}"
    text = "".join(json.dumps(r) + "\n" for r in records) if suffix == ".jsonl" else json.dumps(records)
    path.write_text(text)
    assert detect_format(path) == "paligemma"
    with pytest.raises(DatasetError, match=r"numeric labels \(0, 1\) and no mapping"):
        load_dataset(path)
    dataset = load_dataset(path, label_map={"0": "fake", "1": "real"})
    assert [(s.id, s.label) for s in dataset] == [("images/0", "fake"), ("images/1", "real"), ("images/2", "fake")]
    assert dataset.samples[0].meta["question"] == "Is this image made by AI?"
    assert dataset.label_mapping == "0 → fake, 1 → real (--label-map)"
    partial = load_dataset(path, label_map={"0": "fake"})  # an unmapped value costs only its entries, listed
    assert len(partial) == 2 and any("label 1 is not in --label-map" in p for p in partial.problems)


def test_paligemma_text_labels_need_no_mapping(tmp_path: Path) -> None:
    _image(tmp_path / "a.png")
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"image": "a.png", "label": "Fake", "question": "Is this image made by AI?"}) + "\n")
    assert [s.label for s in load_dataset(path)] == ["fake"]


def test_each_samples_question_reaches_the_shipped_paligemma_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's per-sample ``question`` is what the model is asked (``paligemma-question`` declares it), and its
    yes / no answer is the verdict; a record without one is skipped with its reason."""
    from typer.testing import CliRunner

    from grounddefake.cli import app
    from tests.servers.openai_server import FakeOpenAIServer, Reply

    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    questions = ["Is this image made by AI?", "Was this picture generated by a computer?", None]
    records = []
    for i, question in enumerate(questions):
        _image(tmp_path / "images" / f"{i}.png", i)
        records.append({"image": f"images/{i}.png", "label": 0, "question": question})
    data = tmp_path / "seed.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))

    def prompt_of(body: dict) -> str:
        return " ".join(p["text"] for m in body["messages"] for p in m["content"] if p.get("type") == "text")

    def reply(body: dict) -> Reply:
        return Reply(text="yes" if "made by AI" in prompt_of(body) else "no")

    with FakeOpenAIServer(responder=reply) as server:
        out = tmp_path / "run"
        arguments = ["eval", "--data", str(data), "--label-map", "0=fake,1=real", "--prompt", "paligemma-question"]
        arguments += ["--model", "test-model", "--convention", "paligemma", "--base-url", server.base_url]
        result = CliRunner().invoke(app, [*arguments, "--out", str(out)])
        assert result.exit_code == 0, result.output
        asked = sorted(prompt_of(body) for body in server.requests)
    assert asked == ["answer en Is this image made by AI?", "answer en Was this picture generated by a computer?"]
    lines = {r["id"]: r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    assert (lines["images/0"]["label"], lines["images/1"]["label"]) == ("fake", "real")
    assert lines["images/2"]["skipped"] and "has no meta.question" in lines["images/2"]["error"]


def test_the_parquet_question_column_reaches_meta(tmp_path: Path) -> None:
    dataset = load_dataset(_paligemma_parquet(tmp_path / "pg"), label_map={"0": "fake", "1": "real"})
    assert {s.meta["question"] for s in dataset} == {"Is this image made by AI?"}
