"""What every annotation-file reader shares: one entry read at a time (a bad one is a listed problem, never the end
of the file), the dataset of the entries read, and the small value readers (paths, ``[x, y, w, h]``, polygons)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from grounddefake.datasets.manifest import Dataset, DatasetError, problems_error
from grounddefake.types import Region, Sample

IMAGE_FOLDERS = ("", "images", "image", "imgs")
"""Where an annotation file's image names are looked up, in order (beside it, then its usual image folders)."""

ENTRY_ERRORS = (DatasetError, TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError)
"""What reading one entry may raise: it becomes a problem of that entry, never the end of the file."""


def each_entry(
    entries: Iterable[tuple[str, Any]], read: Callable[[str, Any], Sample], problems: list[str]
) -> list[Sample]:
    """``read(where, entry)`` for every entry; an entry that cannot be read is listed in ``problems`` (with ``where``
    and why) and costs only itself."""
    samples = []
    for where, entry in entries:
        try:
            samples.append(read(where, entry))
        except DatasetError as exc:
            problems.append(str(exc))
        except ENTRY_ERRORS as exc:
            problems.append(f"{where}: unusable entry ({type(exc).__name__}: {exc})")
    return samples


def finish(path: Path, samples: list[Sample], problems: list[str], fmt: str) -> Dataset:
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


def xywh(box: Any) -> tuple[float, float, float, float]:
    """``[x, y, w, h]`` as corners ``(x1, y1, x2, y2)``."""
    x, y, w, h = (float(v) for v in box)
    return (x, y, x + w, y + h)


def polygon_region(flat: Any, label: str | None = None) -> Region:
    """A region from a flat ``[x1, y1, x2, y2, …]`` polygon (COCO, SynthScars)."""
    values = [float(v) for v in flat]
    if len(values) < 6 or len(values) % 2:
        raise ValueError(f"a polygon needs an even number (≥ 6) of coordinates, got {len(values)}")
    points = [[values[i], values[i + 1]] for i in range(0, len(values), 2)]
    return Region.from_json({"polygon": points, "label": label})


def path_text(value: Any) -> bool:
    """A usable relative path: a non-empty string that names a file."""
    return isinstance(value, str) and value.strip() not in ("", ".", "..") and not value.endswith(("/", "\\"))
