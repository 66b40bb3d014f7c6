"""Annotation files of public benchmarks, read as they ship (each reader names the layout it expects; the README's
Data section lists them).

- ``imdl-json``: IMDL-BenCo ``[[image, mask | "Negative"], ...]`` ("Negative" = real).
- ``coco``: COCO JSON; an image with annotations is fake, its polygons (or RLE masks, traced to polygons) are its
  regions; an image without annotations is real unless it says otherwise (``label`` / ``is_fake``).
- ``synthscars``: LEGION's SynthScars (fully synthetic; one flat polygon list per phrase).
- ``loki``: LOKI (UTF-16 JSON); open-ended items carry regions ``[x, y, w, h]``; yes/no items carry their label.
- ``fakexplained``: FakeXplained JSONL (``objects.bbox`` in pixels, ``objects.ref`` their descriptions).
- ``llava``: LLaVA conversation JSON (FakeClue, ICM-Instruct): the ``label`` field, else the verdict of the answer.
- ``expl-aigi``: Expl-AIGI-Eval / RichHF JSONL: a heatmap PNG and a score per generated image.

One bad entry costs only itself: every reader keeps each usable entry and lists every unusable one (a path leaving
the dataset, a field of the wrong type, a line that is not JSON) in ``Dataset.problems``, with file and entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from grounddefake.datasets.common import IMAGE_EXTENSIONS as IMAGE_SUFFIXES
from grounddefake.datasets.common import find_under, first_line_keys, read_json, read_jsonl
from grounddefake.datasets.manifest import Dataset, DatasetError, problems_error
from grounddefake.types import Region, Sample

IMAGE_FOLDERS = ("", "images", "image", "imgs")


_ENTRY_ERRORS = (DatasetError, TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError)
"""What reading one entry may raise: it becomes a problem of that entry, never the end of the file."""


def _each(entries: Iterable[tuple[str, Any]], read: Callable[[str, Any], Sample], problems: list[str]) -> list[Sample]:
    """``read(where, entry)`` for every entry; an entry that cannot be read is listed in ``problems`` (with ``where``
    and why) and costs only itself."""
    samples = []
    for where, entry in entries:
        try:
            samples.append(read(where, entry))
        except DatasetError as exc:
            problems.append(str(exc))
        except _ENTRY_ERRORS as exc:
            problems.append(f"{where}: unusable entry ({type(exc).__name__}: {exc})")
    return samples


def _finish(path: Path, samples: list[Sample], problems: list[str], fmt: str) -> Dataset:
    """The dataset of the samples read; with none, an error listing every problem (bounded)."""
    if not samples:
        raise problems_error(path, problems) if problems else DatasetError(f"{path}: no samples in this {fmt} file")
    seen: set[str] = set()
    unique = []
    for sample in samples:
        if sample.id in seen:
            problems.append(f"{path}: {sample.id}: duplicate id, later entry ignored")
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
    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        if not (isinstance(item, list) and len(item) == 2 and all(_path_text(v) for v in item)):
            raise DatasetError(f"{where}: not an [image, mask] pair of paths")
        image = find_under(path.parent, item[0], where)
        real = item[1] == "Negative"
        mask = None if real else find_under(path.parent, item[1], where)
        return Sample(Path(item[0]).with_suffix("").as_posix(), image, "real" if real else "fake", mask=mask)

    samples = _each(((f"{path}: item {i}", item) for i, item in enumerate(data)), read, problems)
    return _finish(path, samples, problems, "imdl-json")


def read_coco(path: Path) -> Dataset:
    data = read_json(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("images"), list):
        raise DatasetError(f"{path}: a COCO file has an 'images' list")
    problems: list[str] = []
    by_image: dict[Any, list[Mapping[str, Any]]] = {}
    for i, ann in enumerate(_list(data.get("annotations"), f"{path}: 'annotations'")):
        if not isinstance(ann, Mapping) or not _key(ann.get("image_id")):
            problems.append(f"{path}: annotation {i}: not an object with an 'image_id' number or string")
            continue
        by_image.setdefault(ann["image_id"], []).append(ann)
    categories = {
        c["id"]: c.get("name")
        for c in _list(data.get("categories"), f"{path}: 'categories'")
        if isinstance(c, Mapping) and _key(c.get("id"))
    }

    def read(where: str, image: Any) -> Sample:
        if not isinstance(image, Mapping) or not isinstance(image.get("file_name"), str):
            raise DatasetError(f"{where}: an image entry without 'file_name'")
        name = image["file_name"]
        where = f"{path}: image {name}"
        if not _path_text(name):
            raise DatasetError(f"{where}: empty file_name")
        if image.get("id") is not None and not _key(image["id"]):
            raise DatasetError(f"{where}: 'id' is not a number or string")
        regions, masks = [], []
        annotations = by_image.get(image.get("id"), [])
        for ann in annotations:
            label = categories.get(ann.get("category_id"))
            try:
                if isinstance(ann.get("segmentation"), Mapping):
                    masks.append(ann["segmentation"])
                    regions.append(_rle_box(ann["segmentation"], image, label))
                else:
                    regions.extend(_coco_regions(ann, label))
            except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
                problems.append(f"{where}: annotation {ann.get('id')} unusable ({exc})")
        mask = None
        if masks:
            try:
                mask = _mask_file(masks, regions)
            except (TypeError, ValueError, KeyError) as exc:
                problems.append(f"{where}: RLE masks unusable ({exc})")
        label = image.get("label")
        if label not in ("real", "fake"):
            flag = image.get("is_fake")
            label = "fake" if annotations or flag is True else "real"
        meta = {k: image[k] for k in ("generator", "subtype", "source") if k in image}
        return Sample(
            str(image.get("sample_id", image.get("id", Path(name).stem))),
            find_under(path.parent, name, where, IMAGE_FOLDERS),
            label,
            tuple(regions),
            mask=mask,
            meta=meta,
        )

    samples = _each(((f"{path}: image {i}", image) for i, image in enumerate(data["images"])), read, problems)
    return _finish(path, samples, problems, "coco")


def _list(value: Any, where: str) -> list[Any]:
    """A list field (absent or null: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise DatasetError(f"{where} is not a list")
    return value


def _key(value: Any) -> bool:
    """An id COCO entries refer to each other by: a number or a string."""
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def _coco_regions(ann: Mapping[str, Any], label: str | None) -> list[Region]:
    segmentation = ann.get("segmentation")
    if isinstance(segmentation, list) and segmentation:
        return [_polygon_region(flat, label) for flat in segmentation]
    if ann.get("bbox") is not None:
        return [Region.from_json({"box": list(_xywh(ann["bbox"])), "label": label})]
    raise ValueError("no segmentation and no bbox")


MAX_RLE_PIXELS = 100_000_000


def _rle(rle: Mapping[str, Any]) -> Any:
    from pycocotools import mask as mask_utils

    h, w = (int(v) for v in rle["size"])
    if h < 1 or w < 1 or h * w > MAX_RLE_PIXELS:
        raise ValueError(f"RLE size {w}x{h} is not a plausible image size")
    if isinstance(rle.get("counts"), list):
        return mask_utils.frPyObjects(dict(rle), h, w)
    counts = rle["counts"]
    return {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def _rle_box(rle: Mapping[str, Any], image: Mapping[str, Any], label: str | None) -> Region:
    """The box of an RLE mask (its pixels become the sample's mask file)."""
    from pycocotools import mask as mask_utils

    h, w = (int(v) for v in rle["size"])
    if (image.get("width"), image.get("height")) not in ((None, None), (w, h)):
        raise ValueError(f"RLE size {w}x{h} differs from the image's {image.get('width')}x{image.get('height')}")
    x, y, bw, bh = (float(v) for v in mask_utils.toBbox(_rle(rle)))
    if bw <= 0 or bh <= 0:
        raise ValueError("an empty RLE mask")
    return Region((x, y, x + bw, y + bh), label=label)


def _mask_file(masks: list[Mapping[str, Any]], regions: list[Region]) -> Path:
    """The union of an image's RLE masks and polygons, written once (by content) to the user cache as a PNG."""
    import hashlib

    import numpy as np
    from PIL import Image
    from pycocotools import mask as mask_utils

    from grounddefake.cache import default_cache_dir
    from grounddefake.grounding import regions_to_mask

    union = None
    for rle in masks:
        decoded = mask_utils.decode(_rle(rle)).astype(bool)
        union = decoded if union is None else union | decoded
    assert union is not None
    polygons = [r for r in regions if r.polygon is not None]
    if polygons:
        union |= regions_to_mask(polygons, (union.shape[1], union.shape[0]))
    data = np.packbits(union).tobytes() + repr(union.shape).encode()
    folder = default_cache_dir() / "masks"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:24]}.png"
    if not target.exists():
        temporary = target.with_suffix(".tmp.png")
        Image.fromarray(union.astype(np.uint8) * 255).save(temporary)
        temporary.replace(target)
    return target


def _path_text(value: Any) -> bool:
    """A usable relative path: a non-empty string that names a file."""
    return isinstance(value, str) and value.strip() not in ("", ".", "..") and not value.endswith(("/", "\\"))


def read_synthscars(path: Path) -> Dataset:
    data = read_json(path)
    problems: list[str] = []

    def entries() -> Iterable[tuple[str, Any]]:
        for i, entry in enumerate(data if isinstance(data, list) else [data]):
            if isinstance(entry, Mapping):
                yield from ((f"{path}: {sample_id}", (sample_id, item)) for sample_id, item in entry.items())
            else:
                yield f"{path}: entry {i}", None

    def read(where: str, pair: Any) -> Sample:
        if pair is None:
            raise DatasetError(f"{where}: not an object of samples by id")
        sample_id, item = pair
        if not isinstance(item, Mapping) or not _path_text(item.get("img_file_name")):
            raise DatasetError(f"{where}: no img_file_name")
        regions = []
        for ref in item.get("refs") or []:
            if not isinstance(ref, Mapping):
                problems.append(f"{where}: a ref that is not an object")
                continue
            for flat in ref.get("segmentation") or []:
                try:
                    regions.append(_polygon_region(flat, ref.get("sentence")))
                except (TypeError, ValueError) as exc:
                    problems.append(f"{where}: a polygon unusable ({exc})")
        image = find_under(path.parent, item["img_file_name"], where, IMAGE_FOLDERS)
        meta = {"caption": item.get("caption")} if item.get("caption") else {}
        return Sample(str(sample_id), image, "fake", tuple(regions), meta=meta)

    return _finish(path, _each(entries(), read, problems), problems, "synthscars")


def read_loki(path: Path) -> Dataset:
    data = read_json(path)
    items = data if isinstance(data, list) else list(data.values()) if isinstance(data, Mapping) else []
    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        if not isinstance(item, Mapping) or not _path_text(item.get("image_path")):
            raise DatasetError(f"{where} has no image_path")
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
        return Sample(sample_id, find_under(path.parent, item["image_path"], where), label, tuple(regions), meta=meta)

    samples = _each(((f"{path}: item {i}", item) for i, item in enumerate(items)), read, problems)
    return _finish(path, samples, problems, "loki")


def _loki_label(item: Mapping[str, Any], has_regions: bool) -> str | None:
    """Open-ended items with regions are fake; a yes/no item answers the concept its question names first
    ("Is this image AI-generated?" → yes = fake; "Is this a real photo rather than AI-generated?" → yes = real)."""
    if has_regions:
        return "fake"
    answer = str(item.get("answer", "")).strip().lower().rstrip(".")
    question = str(item.get("question", "")).lower()
    fake = re.search(r"ai[- ]generated|generated|synthetic|fake|synthesi[sz]ed", question)
    real = re.search(r"\breal\b|authentic|genuine|natural photo", question)
    if answer not in ("yes", "no") or not (fake or real):
        return None
    asks_fake = bool(fake) and (not real or fake.start() < real.start())
    return ("fake" if answer == "yes" else "real") if asks_fake else ("real" if answer == "yes" else "fake")


def read_fakexplained(path: Path) -> Dataset:
    from grounddefake.parsing import parse

    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        images = item.get("images") if isinstance(item, Mapping) else None
        if isinstance(images, str):
            images = [images]
        if not isinstance(images, list) or not images or not _path_text(images[0]):
            raise DatasetError(f"{where}: no images")
        objects = item.get("objects") if isinstance(item.get("objects"), Mapping) else {}
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
        return Sample(sample_id, find_under(path.parent, images[0], where), label, tuple(regions))

    samples = _each(((f"{path}:{n}", item) for n, item in read_jsonl(path, problems)), read, problems)
    return _finish(path, samples, problems, "fakexplained")


def read_llava(path: Path) -> Dataset:
    from grounddefake.parsing import parse

    data = read_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: a LLaVA conversation file is a list of objects")
    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        if not isinstance(item, Mapping) or not _path_text(item.get("image")):
            raise DatasetError(f"{where} has no image")
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
        return Sample(sample_id, find_under(path.parent, item["image"], where, IMAGE_FOLDERS), label, meta=meta)

    samples = _each(((f"{path}: item {i}", item) for i, item in enumerate(data)), read, problems)
    return _finish(path, samples, problems, "llava")


def _label_value(value: Any) -> str | None:
    """FakeClue labels: "real" / "fake", or FakeVLM's numbers (1 = real, 0 = fake)."""
    if isinstance(value, str) and value.lower() in ("real", "fake"):
        return value.lower()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return "real" if value == 1 else "fake"
    return None


def read_expl_aigi(path: Path) -> Dataset:
    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        if not isinstance(item, Mapping) or not _path_text(item.get("image")):
            raise DatasetError(f"{where}: no image")
        heatmap = item.get("heatmap") if _path_text(item.get("heatmap")) else None
        meta: dict[str, Any] = {}
        if isinstance(item.get("score"), (int, float)):
            meta["score"] = float(item["score"])
        return Sample(
            str(item.get("id", Path(item["image"]).with_suffix("").as_posix())),
            find_under(path.parent, item["image"], where, IMAGE_FOLDERS),
            "fake",  # Pick-a-Pic images: all generated
            heatmap=None if not isinstance(heatmap, str) else find_under(path.parent, heatmap, where),
            meta=meta,
        )

    samples = _each(((f"{path}:{n}", item) for n, item in read_jsonl(path, problems)), read, problems)
    return _finish(path, samples, problems, "expl-aigi")


def detect_file(path: Path, guess: bool = True) -> str | None:
    """The annotation format of a file, from its structure (not its name). Any other ``.jsonl`` file is a manifest
    candidate (so a bad line is reported with file and line), unless ``guess`` is off (a folder's files)."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        keys = first_line_keys(path)
        if path.name == "manifest.jsonl":
            return "manifest"
        if {"images", "objects"} <= keys or {"images", "messages"} <= keys:
            return "fakexplained"
        if "image" in keys and ("conversations" in keys or ("score" in keys and "label" not in keys)):
            return "expl-aigi"
        if {"id", "image"} <= keys or guess:
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
    if isinstance(first, list) and len(first) == 2 and isinstance(first[0], str):
        if Path(first[0]).suffix.lower() in IMAGE_SUFFIXES:  # not IMDL's balanced [[ClassName, path]] lists
            return "imdl-json"
        return None
    if isinstance(data, Mapping) and any(isinstance(v, Mapping) and "img_file_name" in v for v in data.values()):
        return "synthscars"
    if isinstance(first, Mapping):
        if "image_path" in first:
            return "loki"
        if "conversations" in first and "image" in first:
            return "llava"
        inner = next(iter(first.values()), None)
        if isinstance(inner, Mapping) and "img_file_name" in inner:
            return "synthscars"
    return None


def annotation_file_in(folder: Path, fmt: str | None = None) -> Path | None:
    """The one annotation file directly in ``folder`` whose structure is a known format (``fmt`` when given); None
    when there is none, several, or a folder of per-image JSON files (more than 8 to look at)."""
    candidates = [
        p
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in (".json", ".jsonl") and not p.name.startswith(".") and p.is_file()
    ]
    if len(candidates) > 8:
        return None
    found = [p for p in candidates if (detected := detect_file(p, guess=False)) and fmt in (None, detected)]
    return found[0] if len(found) == 1 else None


READERS = {
    "imdl-json": read_imdl_json,
    "coco": read_coco,
    "synthscars": read_synthscars,
    "loki": read_loki,
    "fakexplained": read_fakexplained,
    "llava": read_llava,
    "expl-aigi": read_expl_aigi,
}
