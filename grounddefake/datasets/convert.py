"""``grounddefake data convert``: any readable dataset as a grounddefake manifest or a COCO file."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grounddefake.datasets.manifest import FOLLOW_LINKS_ENV, Dataset, problems_error


@dataclass(frozen=True)
class Converted:
    """What ``data convert`` wrote: the sample count and how many of the file paths in it are absolute.

    Paths are relative to the written file when the files sit under its folder, else absolute (reading such a file
    back needs ``GROUNDDEFAKE_FOLLOW_LINKS=1``, the flag that allows paths leaving a dataset's folder).
    """

    count: int
    paths: int
    absolute: int
    skipped: tuple[str, ...] = ()
    """Samples left out, each as ``id: reason`` (an image or mask that cannot be read: never a made-up size)."""

    @property
    def how(self) -> str:
        """The paths, in words, for the command's output line."""
        if not self.absolute:
            return "paths relative to it"
        which = "paths absolute" if self.absolute == self.paths else f"{self.absolute} of {self.paths} paths absolute"
        return f"{which} (the dataset lies outside its folder; read it back with {FOLLOW_LINKS_ENV}=1)"


class _Paths:
    """Paths of a dataset's files as written into a converted file at ``folder``, counted."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.total, self.absolute = folder, 0, 0

    def __call__(self, path: Path, kind: str = "images") -> str:
        """``path`` relative to the folder; a file grounddefake extracted to its cache (Hugging Face images, COCO RLE
        masks) is copied into ``folder/<kind>/`` first, so the converted dataset stands on its own; a file outside the
        folder is written as an absolute path."""
        from grounddefake.cache import default_cache_dir

        self.total += 1
        absolute = os.path.abspath(path)
        relative = Path(os.path.relpath(absolute, os.path.abspath(self.folder)))
        cache = os.path.abspath(default_cache_dir())
        if relative.parts and relative.parts[0] == ".." and absolute.startswith(cache + os.sep):
            target = self.folder / kind / Path(path).name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copyfile(path, target)
            return f"{kind}/{target.name}"
        if relative.parts and relative.parts[0] == "..":
            self.absolute += 1
            return Path(absolute).as_posix()
        return relative.as_posix()

    def result(self, count: int, skipped: Sequence[str] = ()) -> Converted:
        return Converted(count, self.total, self.absolute, tuple(skipped))


def to_manifest(dataset: Dataset, out: Path) -> Converted:
    """Write ``dataset`` as a manifest JSONL at ``out`` (paths relative to its folder when the files are under it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = _Paths(out.parent)
    lines = []
    for sample in dataset:
        record: dict[str, Any] = {"id": sample.id, "image": paths(sample.image), "label": sample.label}
        if sample.regions:
            record["regions"] = [r.to_json() for r in sample.regions]
        if sample.mask is not None:
            record["mask"] = paths(sample.mask, "masks")
        if sample.heatmap is not None:
            record["heatmap"] = paths(sample.heatmap, "heatmaps")
        if sample.meta:
            record["meta"] = dict(sample.meta)
        lines.append(json.dumps(record, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths.result(len(lines))


def to_coco(dataset: Dataset, out: Path) -> Converted:
    """Write ``dataset`` as COCO JSON at ``out``: regions as polygons and boxes, mask files as RLE, the image-level
    label in ``images[].label``; file names as in :func:`to_manifest`.

    A sample whose image (or mask) cannot be read is left out and listed in ``skipped`` with the reason: COCO
    records every image's size, and a guessed one would be false.

    Raises:
        DatasetError: no image could be read (every reason listed).
    """
    import numpy as np
    from pycocotools import mask as mask_utils

    from grounddefake.grounding import load_mask
    from grounddefake.images import ImageError, read_size

    out.parent.mkdir(parents=True, exist_ok=True)
    paths = _Paths(out.parent)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    skipped: list[str] = []
    for sample in dataset:
        try:
            size = read_size(sample.image)
            mask = load_mask(sample.mask, size) if sample.mask is not None and not sample.regions else None
        except ImageError as exc:
            skipped.append(f"{sample.id}: {exc}")
            continue
        image_id = len(images) + 1
        entry: dict[str, Any] = {
            "id": image_id,
            "file_name": paths(sample.image),
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
        if mask is not None and mask.any():
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
    if not images:
        raise problems_error(dataset.source, skipped)
    data = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "artifact"}]}
    out.write_text(json.dumps(data), encoding="utf-8")
    return paths.result(len(images), skipped)
