"""``grounddefake data convert``: any readable dataset as a grounddefake manifest or a COCO file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from grounddefake.datasets.manifest import Dataset, DatasetError


def _relative(path: Path, folder: Path, kind: str = "images") -> str:
    """``path`` relative to ``folder``; a file grounddefake extracted to its cache (Hugging Face images, COCO RLE
    masks) is copied into ``folder/<kind>/`` first, so the converted dataset stands on its own."""
    from grounddefake.cache import default_cache_dir

    relative = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(folder)))
    cache = os.path.abspath(default_cache_dir())
    if relative.parts and relative.parts[0] == ".." and os.path.abspath(path).startswith(cache + os.sep):
        target = folder / kind / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copyfile(path, target)
        return f"{kind}/{target.name}"
    if relative.parts and relative.parts[0] == "..":
        raise DatasetError(
            f"{path} is outside {folder}: write the converted file inside the dataset folder "
            "(paths in a manifest stay under its folder)"
        )
    return relative.as_posix()


def to_manifest(dataset: Dataset, out: Path) -> int:
    """Write ``dataset`` as a manifest JSONL at ``out`` (paths relative to its folder). Returns the sample count."""
    folder = out.parent
    lines = []
    for sample in dataset:
        record: dict[str, Any] = {"id": sample.id, "image": _relative(sample.image, folder), "label": sample.label}
        if sample.regions:
            record["regions"] = [r.to_json() for r in sample.regions]
        if sample.mask is not None:
            record["mask"] = _relative(sample.mask, folder, "masks")
        if sample.heatmap is not None:
            record["heatmap"] = _relative(sample.heatmap, folder, "heatmaps")
        if sample.meta:
            record["meta"] = dict(sample.meta)
        lines.append(json.dumps(record, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def to_coco(dataset: Dataset, out: Path) -> int:
    """Write ``dataset`` as COCO JSON at ``out``: regions as polygons and boxes, mask files as RLE, the image-level
    label in ``images[].label``. Returns the sample count."""
    import numpy as np
    from pycocotools import mask as mask_utils

    from grounddefake.grounding import load_mask
    from grounddefake.images import image_size_of

    folder = out.parent
    images, annotations = [], []
    for image_id, sample in enumerate(dataset, start=1):
        size = image_size_of(sample.image) or (0, 0)
        entry: dict[str, Any] = {
            "id": image_id,
            "file_name": _relative(sample.image, folder),
            "width": size[0],
            "height": size[1],
            "label": sample.label,
            "sample_id": sample.id,
        }
        entry.update({k: v for k, v in sample.meta.items() if k in ("generator", "subtype", "source")})
        images.append(entry)
        for region in sample.regions:
            x1, y1, x2, y2 = region.box
            points = region.polygon or ((x1, y1), (x2, y1), (x2, y2), (x1, y2))
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "iscrowd": 0,
                    "segmentation": [[float(v) for p in points for v in p]],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                }
            )
        if sample.mask is not None and not sample.regions:
            mask = load_mask(sample.mask)
            if mask.any():
                rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": 1,
                        "iscrowd": 1,
                        "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                        "area": float(mask_utils.area(rle)),
                    }
                )
    data = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "artifact"}]}
    out.write_text(json.dumps(data), encoding="utf-8")
    return len(images)
