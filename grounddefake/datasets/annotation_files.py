"""Annotation files of public benchmarks, read as they ship (formats: ``reference/datasets.md``).

- ``imdl-json``: IMDL-BenCo ``[[image, mask | "Negative"], ...]`` ("Negative" = real).
- ``coco``: COCO JSON; an image with annotations is fake, its polygons (or RLE masks, traced to polygons) are its
  regions; an image without annotations is real unless it says otherwise (``label`` / ``is_fake``).
- ``synthscars``: LEGION's SynthScars (fully synthetic; one flat polygon list per phrase).
- ``loki``: LOKI (UTF-16 JSON); open-ended items carry regions ``[x, y, w, h]``; yes/no items carry their label.
- ``fakexplained``: FakeXplained JSONL (``objects.bbox`` in pixels, ``objects.ref`` their descriptions).
- ``llava``: LLaVA conversation JSON (FakeClue, ICM-Instruct): the ``label`` field, else the verdict of the answer.
- ``expl-aigi``: Expl-AIGI-Eval / RichHF JSONL: a heatmap PNG and a score per generated image.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grounddefake.datasets.common import find_under, first_line_keys, read_json, read_jsonl
from grounddefake.datasets.manifest import Dataset, DatasetError
from grounddefake.types import Region, Sample

IMAGE_FOLDERS = ("", "images", "image", "imgs")


def _finish(path: Path, samples: list[Sample], problems: list[str], fmt: str) -> Dataset:
    if not samples:
        raise DatasetError(f"{path}: no samples in this {fmt} file")
    seen: set[str] = set()
    unique = []
    for sample in samples:
        if sample.id in seen:
            problems.append(f"{sample.id}: duplicate id, later entry ignored")
            continue
        seen.add(sample.id)
        unique.append(sample)
    return Dataset(path.parent.name, path, path.parent, tuple(unique), fmt, tuple(problems))


def _xywh(box: Any) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in box)
    return (x, y, x + w, y + h)


def _polygon_region(flat: Any, label: str | None = None) -> Region:
    values = [float(v) for v in flat]
    if len(values) < 6 or len(values) % 2:
        raise ValueError(f"a polygon needs an even number (≥ 6) of coordinates, got {len(values)}")
    points = [[values[i], values[i + 1]] for i in range(0, len(values), 2)]
    return Region.from_json({"polygon": points, "label": label})


def read_imdl_json(path: Path) -> Dataset:
    data = read_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: an IMDL-BenCo JSON is a list of [image, mask] pairs")
    samples, problems = [], []
    root = path.parent
    for i, item in enumerate(data):
        where = f"{path}: item {i}"
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)):
            problems.append(f"{where}: not an [image, mask] pair")
            continue
        image = find_under(root, item[0], where)
        real = item[1] == "Negative"
        mask = None if real else find_under(root, item[1], where)
        samples.append(Sample(Path(item[0]).with_suffix("").as_posix(), image, "real" if real else "fake", mask=mask))
    return _finish(path, samples, problems, "imdl-json")


def read_coco(path: Path) -> Dataset:
    data = read_json(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("images"), list):
        raise DatasetError(f"{path}: a COCO file has an 'images' list")
    by_image: dict[Any, list[Mapping[str, Any]]] = {}
    for ann in data.get("annotations") or []:
        if isinstance(ann, Mapping):
            by_image.setdefault(ann.get("image_id"), []).append(ann)
    categories = {c.get("id"): c.get("name") for c in data.get("categories") or [] if isinstance(c, Mapping)}
    samples, problems = [], []
    for image in data["images"]:
        if not isinstance(image, Mapping) or not isinstance(image.get("file_name"), str):
            problems.append(f"{path}: an image entry without 'file_name'")
            continue
        name = image["file_name"]
        where = f"{path}: image {name}"
        regions = []
        for ann in by_image.get(image.get("id"), []):
            label = categories.get(ann.get("category_id"))
            try:
                regions.extend(_coco_regions(ann, label))
            except (TypeError, ValueError, KeyError) as exc:
                problems.append(f"{where}: annotation {ann.get('id')} unusable ({exc})")
        label = image.get("label")
        if label not in ("real", "fake"):
            flag = image.get("is_fake")
            label = "fake" if regions or flag is True else "real"
        meta = {k: image[k] for k in ("generator", "subtype", "source") if k in image}
        samples.append(
            Sample(
                str(image.get("sample_id", image.get("id", Path(name).stem))),
                find_under(path.parent, name, where, IMAGE_FOLDERS),
                label,
                tuple(regions),
                meta=meta,
            )
        )
    return _finish(path, samples, problems, "coco")


def _coco_regions(ann: Mapping[str, Any], label: str | None) -> list[Region]:
    segmentation = ann.get("segmentation")
    if isinstance(segmentation, list) and segmentation:
        return [_polygon_region(flat, label) for flat in segmentation]
    if isinstance(segmentation, Mapping):  # RLE, compressed or not: traced to polygons
        return _rle_regions(segmentation, label)
    if ann.get("bbox") is not None:
        return [Region.from_json({"box": list(_xywh(ann["bbox"])), "label": label})]
    raise ValueError("no segmentation and no bbox")


def _rle_regions(rle: Mapping[str, Any], label: str | None) -> list[Region]:
    """An RLE mask as polygons through the outer boundary of its pixels (every connected component)."""
    import cv2
    import numpy as np
    from pycocotools import mask as mask_utils

    h, w = (int(v) for v in rle["size"])
    if isinstance(rle.get("counts"), list):
        rle = mask_utils.frPyObjects(dict(rle), h, w)
    mask = mask_utils.decode(rle).astype(np.uint8)
    # Trace at 2x so the contour runs along pixel edges, then map back to edge coordinates.
    big = cv2.resize(mask, (w * 2, h * 2), interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    regions = []
    for contour in contours:
        points = contour.reshape(-1, 2).astype(float)
        if len(points) >= 3:
            edge = [[(x + 0.5) / 2, (y + 0.5) / 2] for x, y in points]
            regions.append(Region.from_json({"polygon": edge, "label": label}))
    if not regions:
        raise ValueError("an empty RLE mask")
    return regions


def read_synthscars(path: Path) -> Dataset:
    data = read_json(path)
    entries = data if isinstance(data, list) else [data]
    samples, problems = [], []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        for sample_id, item in entry.items():
            where = f"{path}: {sample_id}"
            if not isinstance(item, Mapping) or not isinstance(item.get("img_file_name"), str):
                problems.append(f"{where}: no img_file_name")
                continue
            regions = []
            for ref in item.get("refs") or []:
                for flat in ref.get("segmentation") or []:
                    try:
                        regions.append(_polygon_region(flat, ref.get("sentence")))
                    except (TypeError, ValueError) as exc:
                        problems.append(f"{where}: a polygon unusable ({exc})")
            image = find_under(path.parent, item["img_file_name"], where, IMAGE_FOLDERS)
            meta = {"caption": item.get("caption")} if item.get("caption") else {}
            samples.append(Sample(str(sample_id), image, "fake", tuple(regions), meta=meta))
    return _finish(path, samples, problems, "synthscars")


def read_loki(path: Path) -> Dataset:
    data = read_json(path)
    items = data if isinstance(data, list) else list(data.values()) if isinstance(data, Mapping) else []
    samples, problems = [], []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("image_path"), str):
            continue
        where = f"{path}: item {i}"
        regions = []
        problems_field = item.get("problems")
        if isinstance(problems_field, Mapping):
            for regional in problems_field.get("regional") or []:
                try:
                    box = _xywh(regional["region"])
                    regions.append(Region.from_json({"box": list(box), "label": regional.get("desc")}))
                except (TypeError, ValueError, KeyError) as exc:
                    problems.append(f"{where}: a region unusable ({exc})")
        label = _loki_label(item, bool(regions))
        sample_id = str(item.get("id", Path(item["image_path"]).with_suffix("").as_posix()))
        meta = {k: item[k] for k in ("question_type", "metric", "modality") if k in item}
        samples.append(
            Sample(sample_id, find_under(path.parent, item["image_path"], where), label, tuple(regions), meta=meta)
        )
    return _finish(path, samples, problems, "loki")


def _loki_label(item: Mapping[str, Any], has_regions: bool) -> str | None:
    """Open-ended items with regions are fake; yes/no items answer whether the image is AI-generated."""
    if has_regions:
        return "fake"
    answer = str(item.get("answer", "")).strip().lower()
    question = str(item.get("question", "")).lower()
    asks_fake = any(w in question for w in ("ai-generated", "ai generated", "generated", "synthetic", "fake"))
    if answer in ("yes", "no") and asks_fake:
        return "fake" if answer == "yes" else "real"
    return None


def read_fakexplained(path: Path) -> Dataset:
    from grounddefake.parsing import parse

    samples, problems = [], []
    for number, item in read_jsonl(path):
        where = f"{path}:{number}"
        images = item.get("images") if isinstance(item, Mapping) else None
        if not images or not isinstance(images[0], str):
            problems.append(f"{where}: no images")
            continue
        objects = item.get("objects") or {}
        regions = []
        for i, box in enumerate(objects.get("bbox") or []):
            refs = objects.get("ref") or []
            try:
                regions.append(Region.from_json({"box": box, "label": refs[i] if i < len(refs) else None}))
            except (TypeError, ValueError) as exc:
                problems.append(f"{where}: box {i} unusable ({exc})")
        answer = next(
            (
                m.get("content")
                for m in reversed(item.get("messages") or [])
                if isinstance(m, Mapping) and m.get("role") == "assistant"
            ),
            None,
        )
        label = parse(answer, None, (1, 1)).label if isinstance(answer, str) else "unknown"
        if label == "unknown":
            label = "fake" if regions else None  # FakeXplained's boxes mark fakes; real images have none
        sample_id = str(item.get("id", Path(images[0]).with_suffix("").as_posix()))
        samples.append(Sample(sample_id, find_under(path.parent, images[0], where), label, tuple(regions)))
    return _finish(path, samples, problems, "fakexplained")


def read_llava(path: Path) -> Dataset:
    from grounddefake.parsing import parse

    data = read_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: a LLaVA conversation file is a list of objects")
    samples, problems = [], []
    for i, item in enumerate(data):
        if not isinstance(item, Mapping) or not isinstance(item.get("image"), str):
            problems.append(f"{path}: item {i} has no image")
            continue
        label = _label_value(item.get("label"))
        if label is None:
            answer = next(
                (
                    t.get("value")
                    for t in item.get("conversations") or []
                    if isinstance(t, Mapping) and t.get("from") == "gpt"
                ),
                None,
            )
            verdict = parse(answer, None, (1, 1)).label if isinstance(answer, str) else "unknown"
            label = None if verdict == "unknown" else verdict
        sample_id = str(item.get("id", Path(item["image"]).with_suffix("").as_posix()))
        meta = {k: item[k] for k in ("cate", "category", "generator") if k in item}
        samples.append(
            Sample(
                sample_id, find_under(path.parent, item["image"], f"{path}: item {i}", IMAGE_FOLDERS), label, meta=meta
            )
        )
    return _finish(path, samples, problems, "llava")


def _label_value(value: Any) -> str | None:
    """FakeClue labels: "real" / "fake", or FakeVLM's numbers (1 = real, 0 = fake)."""
    if isinstance(value, str) and value.lower() in ("real", "fake"):
        return value.lower()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return "real" if value == 1 else "fake"
    return None


def read_expl_aigi(path: Path) -> Dataset:
    samples, problems = [], []
    for number, item in read_jsonl(path):
        where = f"{path}:{number}"
        if not isinstance(item, Mapping) or not isinstance(item.get("image"), str):
            problems.append(f"{where}: no image")
            continue
        heatmap = item.get("heatmap")
        meta: dict[str, Any] = {}
        if isinstance(item.get("score"), (int, float)):
            meta["score"] = float(item["score"])
        samples.append(
            Sample(
                str(item.get("id", Path(item["image"]).stem)),
                find_under(path.parent, item["image"], where, IMAGE_FOLDERS),
                "fake",  # Pick-a-Pic images: all generated
                heatmap=None if not isinstance(heatmap, str) else find_under(path.parent, heatmap, where),
                meta=meta,
            )
        )
    return _finish(path, samples, problems, "expl-aigi")


def detect_file(path: Path) -> str | None:
    """The annotation format of a file, from its structure (not its name)."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        keys = first_line_keys(path)
        if path.name == "manifest.jsonl":
            return "manifest"
        if {"images", "objects"} <= keys or {"images", "messages"} <= keys:
            return "fakexplained"
        if "image" in keys and ("conversations" in keys or ("score" in keys and "label" not in keys)):
            return "expl-aigi"
        if {"id", "image"} <= keys:
            return "manifest"
        return None
    if suffix != ".json":
        return None
    try:
        data = read_json(path)
    except DatasetError:
        return None
    if isinstance(data, Mapping) and "images" in data and "annotations" in data:
        return "coco"
    items = data if isinstance(data, list) else list(data.values()) if isinstance(data, Mapping) else []
    first = items[0] if items else None
    if isinstance(first, list) and len(first) == 2:
        return "imdl-json"
    if isinstance(first, Mapping):
        if "image_path" in first:
            return "loki"
        if "conversations" in first and "image" in first:
            return "llava"
        inner = next(iter(first.values()), None)
        if isinstance(inner, Mapping) and "img_file_name" in inner:
            return "synthscars"
    return None


READERS = {
    "imdl-json": read_imdl_json,
    "coco": read_coco,
    "synthscars": read_synthscars,
    "loki": read_loki,
    "fakexplained": read_fakexplained,
    "llava": read_llava,
    "expl-aigi": read_expl_aigi,
}
