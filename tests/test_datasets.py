from __future__ import annotations

import json
from pathlib import Path

import pytest

from grounddefake.datasets import DatasetError, load_dataset, read_manifest


def test_demo_set_ships_with_the_package() -> None:
    demo = load_dataset("demo")
    labels = [s.label for s in demo]
    assert labels.count("real") >= 12 and labels.count("fake") >= 24
    kinds = {s.meta["manipulation"] for s in demo if s.label == "fake"}
    assert kinds == {"inpaint", "copymove", "splice", "resample", "smooth"}
    for sample in demo:
        assert sample.image.is_file()
        if sample.label == "fake":
            assert sample.mask is not None and sample.mask.is_file() and sample.regions


def test_manifest_paths_resolve_relative_to_it(tiny_dataset: Path) -> None:
    dataset = load_dataset(tiny_dataset.parent)
    assert len(dataset) == 4
    assert dataset.samples[1].image == (tiny_dataset.parent / "images" / "s1.png").resolve()
    assert dataset.samples[1].regions[0].box == (40.0, 10.0, 70.0, 30.0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"image": "a.png"}', "'id' is required"),
        ('{"id": "x"}', "'image' is required"),
        ('{"id": "x", "image": "a.png", "label": "maybe?"}', "'label'"),
        ('{"id": "x", "image": "a.png", "label": "unknown"}', "'label'"),
        ('{"id": "x", "image": "a.png", "label": 1}', "'label'"),
        ('{"id": "x", "image": "a.png", "label": "real", "rules": {"R1": "yes"}}', "rules.R1"),
        ('{"id": "x", "image": "a.png", "label": "real", "rules": ["R1"]}', "'rules'"),
        ('{"id": "x", "image": "a.png", "regions": [{"box": [3, 3, 1, 1]}]}', r"regions\[0\]"),
        ('{"id": "x", "image": "../../etc/passwd"}', "leaves the dataset folder"),
        ('{"id": "x", "image": "/etc/passwd"}', "absolute path"),
        ('{"id": "x", "image": "a.png", "mask": "../m.png"}', "leaves the dataset folder"),
        ('{"id": "s0", "image": "a.png"}', "duplicate id"),
        ('{"id": "x", "image": "a.png", "regions": 5}', "'regions' must be a list"),
        ('{"id": "x", "image": "a.png", "meta": [1]}', "'meta' must be an object"),
    ],
)
def test_bad_line_names_file_and_line(tiny_dataset: Path, line: str, message: str) -> None:
    with open(tiny_dataset, "a") as f:
        f.write(line + "\n")
    with pytest.raises(DatasetError, match=message) as info:
        read_manifest(tiny_dataset)
    assert f"{tiny_dataset}:5" in str(info.value)


@pytest.mark.parametrize("make", ["missing", "empty-dir", "empty-manifest"])
def test_unusable_dataset(tmp_path: Path, make: str) -> None:
    target = tmp_path / "nothing"
    if make == "empty-dir":
        target.mkdir()
    elif make == "empty-manifest":
        target = tmp_path / "m.jsonl"
        target.write_text("\n")
    with pytest.raises(DatasetError, match=str(target)):
        load_dataset(target)


def test_demo_manifest_matches_design_format() -> None:
    demo = load_dataset("demo")
    record = json.loads(demo.source.read_text().splitlines()[1])
    assert set(record) >= {"id", "image", "label", "regions", "mask", "meta"}


def test_demo_polygons_and_masks_follow_the_same_raster_rule() -> None:
    from PIL import Image

    from grounddefake.grounding import load_mask, regions_to_mask

    for sample in load_dataset("demo"):
        if sample.label == "fake" and sample.regions[0].polygon is not None:
            size = Image.open(sample.image).size
            assert (load_mask(sample.mask, size) == regions_to_mask(sample.regions, size)).all(), sample.id


def test_non_utf8_manifest_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"id": "\xff", "image": "a.png"}\n')
    with pytest.raises(DatasetError, match="not UTF-8") as info:
        read_manifest(path)
    assert str(path) in str(info.value)


def test_line_separator_characters_inside_strings_stay_in_their_line(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"id": "a\u2028b", "image": "x.png"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert read_manifest(path).samples[0].id == "a\u2028b"


def test_links_leaving_the_dataset_need_the_users_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Hugging Face cache snapshot links each file to a blob outside the snapshot folder: allowed only by flag."""
    blobs, snapshot = tmp_path / "blobs", tmp_path / "snapshot"
    blobs.mkdir()
    (snapshot / "images").mkdir(parents=True)
    (blobs / "abc").write_bytes(b"fake image bytes")
    (snapshot / "images" / "0.png").symlink_to(blobs / "abc")
    (snapshot / "manifest.jsonl").write_text('{"id": "0", "image": "images/0.png"}\n')
    with pytest.raises(DatasetError, match="GROUNDDEFAKE_FOLLOW_LINKS"):
        load_dataset(snapshot)
    monkeypatch.setenv("GROUNDDEFAKE_FOLLOW_LINKS", "1")
    sample = load_dataset(snapshot).samples[0]
    assert sample.image.read_bytes() == b"fake image bytes"
