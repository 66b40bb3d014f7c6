"""``grounddefake data inspect``: what a dataset holds and what is wrong with it, before any money is spent."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grounddefake.datasets.manifest import Dataset


@dataclass
class Inspection:
    """Counts, ground-truth coverage, image sizes and problems of one dataset."""

    format: str
    n: int
    labels: dict[str, int]
    subtypes: dict[str, int]
    generators: dict[str, int]
    coverage: dict[str, int]
    sizes: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    label_mapping: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _size(path: Path) -> tuple[int, int] | None:
    from grounddefake.images import image_size_of

    return image_size_of(path)


def inspect_dataset(dataset: Dataset, hash_images: bool = True) -> Inspection:
    """Read every file's header (and bytes, for duplicates) and list the problems sample by sample."""
    problems = list(dataset.problems)
    sizes: list[tuple[int, int]] = []
    hashes: dict[str, list[str]] = {}
    hashed: set[Path] = set()
    for sample in dataset:
        if not sample.image.is_file():
            problems.append(f"{sample.id}: image missing ({sample.image})")
            continue
        size = _size(sample.image)
        if size is None:
            problems.append(f"{sample.id}: image unreadable ({sample.image})")
            continue
        sizes.append(size)
        if hash_images and sample.image not in hashed:  # samples asking about one file are not duplicates
            hashed.add(sample.image)
            hashes.setdefault(hashlib.sha256(sample.image.read_bytes()).hexdigest(), []).append(sample.id)
        for kind, path in (("mask", sample.mask), ("heatmap", sample.heatmap)):
            if path is None:
                continue
            other = _size(path) if path.is_file() else None
            if other is None:
                problems.append(f"{sample.id}: {kind} missing or unreadable ({path})")
            elif kind == "mask" and other != size:
                problems.append(f"{sample.id}: mask is {other[0]}x{other[1]}, image is {size[0]}x{size[1]}")
        for i, region in enumerate(sample.regions):
            x1, y1, x2, y2 = region.box
            if x1 < 0 or y1 < 0 or x2 > size[0] or y2 > size[1]:
                problems.append(f"{sample.id}: region {i} {list(region.box)} leaves the {size[0]}x{size[1]} image")
        if sample.label == "real" and (sample.regions or sample.mask is not None):
            problems.append(f"{sample.id}: a real image with ground-truth regions or a mask")
    for sample_ids in hashes.values():
        if len(sample_ids) > 1:
            problems.append(
                f"identical image bytes: {', '.join(sample_ids[:5])}" + (" …" if len(sample_ids) > 5 else "")
            )
    widths = np.array([w for w, _ in sizes]) if sizes else np.array([0])
    heights = np.array([h for _, h in sizes]) if sizes else np.array([0])
    return Inspection(
        format=dataset.format,
        n=len(dataset),
        labels=dict(Counter(str(s.label) for s in dataset)),
        subtypes=dict(Counter(str(s.meta["subtype"]) for s in dataset if "subtype" in s.meta)),
        generators=dict(Counter(str(s.meta["generator"]) for s in dataset if "generator" in s.meta)),
        coverage={
            "mask": sum(1 for s in dataset if s.mask is not None),
            "regions": sum(1 for s in dataset if s.regions),
            "heatmap": sum(1 for s in dataset if s.heatmap is not None),
            "score": sum(1 for s in dataset if isinstance(s.meta.get("score"), (int, float))),
        },
        sizes={
            "readable": len(sizes),
            "width": {"min": int(widths.min()), "median": float(np.median(widths)), "max": int(widths.max())},
            "height": {"min": int(heights.min()), "median": float(np.median(heights)), "max": int(heights.max())},
            "megapixels_median": float(np.median(widths * heights) / 1e6),
        },
        problems=problems,
        label_mapping=dataset.label_mapping,
    )
