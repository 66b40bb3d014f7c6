"""COCO JSON as a dataset: an image with annotations is fake, its polygons (or RLE masks, written once to the user
cache as a mask file) are its regions; an image without annotations is real unless it says otherwise (``label`` /
``is_fake``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grounddefake.datasets.common import find_under, read_json
from grounddefake.datasets.entries import IMAGE_FOLDERS, each_entry, finish, path_text, polygon_region, xywh
from grounddefake.datasets.manifest import Dataset, DatasetError
from grounddefake.types import Region, Sample


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
        if not path_text(name):
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

    samples = each_entry(((f"{path}: image {i}", image) for i, image in enumerate(data["images"])), read, problems)
    return finish(path, samples, problems, "coco")


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
        return [polygon_region(flat, label) for flat in segmentation]
    if ann.get("bbox") is not None:
        return [Region.from_json({"box": list(xywh(ann["bbox"])), "label": label})]
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
