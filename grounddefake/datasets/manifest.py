"""The grounddefake manifest: JSONL, one sample per line, paths relative to the manifest."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from grounddefake.label_space import UNKNOWN, is_label
from grounddefake.types import Region, Sample

_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


class DatasetError(ValueError):
    """A dataset cannot be read; the message names the file (and line)."""


@dataclass(frozen=True)
class Dataset:
    """A list of samples read from ``source``; ``root`` is where relative paths resolve.

    Attributes:
        format: the adapter that read it (``manifest``, ``sid-set``, ``coco``, ...).
        problems: per-sample problems found while reading (an image without its mask, an unusable annotation);
            the samples concerned are kept when they can still be scored, and ``data inspect`` lists them.
    """

    name: str
    source: Path
    root: Path
    samples: tuple[Sample, ...]
    format: str = "manifest"
    problems: tuple[str, ...] = ()
    label_mapping: str = ""
    """How numeric labels were read (``0 → fake, 1 → real (--label-map)``); empty when the labels are text."""

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        return len(self.samples)


def resolve_under(root: Path, relative: str, where: str) -> Path:
    """``root / relative``, refusing absolute paths and ``..`` that leave ``root``.

    A symbolic link that points outside ``root`` is refused unless the user allows it with
    ``GROUNDDEFAKE_FOLLOW_LINKS=1`` (a Hugging Face cache snapshot links every file to its blob store); the same flag
    allows absolute paths and ``..`` (a manifest written by ``data convert`` outside its dataset's folder). String
    operations and cached folder lookups, not pathlib: a 100k-line manifest resolves in a fraction of a second.
    """
    allowed = links_may_leave()
    if (os.path.isabs(relative) or relative.startswith(("/", "\\"))) and not allowed:
        raise DatasetError(
            f"{where}: absolute path {relative!r} not allowed; paths are relative to the manifest "
            f"({FOLLOW_LINKS_ENV}=1 allows paths that leave the dataset folder)"
        )
    base = _absolute(str(root))
    joined = os.path.normpath(os.path.join(base, relative))
    if not _under(joined, base) and not allowed:
        raise DatasetError(f"{where}: path {relative!r} leaves the dataset folder {root}")
    if not allowed:
        folder, name = os.path.split(joined)
        real = os.path.realpath(joined) if os.path.islink(joined) else os.path.join(_real(folder), name)
        if not _under(real, _real(base)):
            raise DatasetError(
                f"{where}: {relative!r} is a symbolic link to {real}, outside the dataset folder; allow it with "
                f"{FOLLOW_LINKS_ENV}=1 (for example a Hugging Face cache snapshot)"
            )
    return Path(joined)


@lru_cache(maxsize=4096)
def _real(folder: str) -> str:
    return os.path.realpath(folder)


FOLLOW_LINKS_ENV = "GROUNDDEFAKE_FOLLOW_LINKS"


def links_may_leave() -> bool:
    """Whether the user allowed symbolic links that point outside a dataset folder."""
    return os.environ.get(FOLLOW_LINKS_ENV, "") not in ("", "0")


def _under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


@lru_cache(maxsize=64)
def _absolute(path: str) -> str:
    return os.path.abspath(path)


def sample_from_record(record: Any, root: Path, where: str) -> Sample:
    """Validate one manifest record (a parsed JSON object)."""
    if not isinstance(record, Mapping):
        raise DatasetError(f"{where}: expected a JSON object, got {type(record).__name__}")
    sample_id = record.get("id")
    if not isinstance(sample_id, (str, int)) or str(sample_id) == "":
        raise DatasetError(f"{where}: field 'id' is required (a non-empty string)")
    image = record.get("image")
    if not isinstance(image, str) or not image:
        raise DatasetError(f"{where}: field 'image' is required (a path relative to the manifest)")
    label = _label(record.get("label"), where)
    rules = _rule_truth(record.get("rules"), where)
    raw_regions = record.get("regions") or []
    if not isinstance(raw_regions, list):
        raise DatasetError(f"{where}: field 'regions' must be a list, got {type(raw_regions).__name__}")
    regions = []
    for i, item in enumerate(raw_regions):
        try:
            regions.append(Region.from_json(item))
        except (TypeError, ValueError, AttributeError) as exc:
            raise DatasetError(f"{where}: regions[{i}]: {exc}") from None
    paths = {}
    for key in ("mask", "heatmap"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise DatasetError(f"{where}: field '{key}' must be a path")
        paths[key] = resolve_under(root, value, where) if value else None
    meta = record.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise DatasetError(f"{where}: field 'meta' must be an object")
    return Sample(
        id=str(sample_id),
        image=resolve_under(root, image, where),
        label=label,
        regions=tuple(regions),
        mask=paths["mask"],
        heatmap=paths["heatmap"],
        meta=dict(meta),
        rules=rules,
    )


def _label(value: Any, where: str) -> str | None:
    """A manifest ``label``: any label of the task's space ("real", "fake", "safe", "unsafe", ...) or null. Which
    labels count is the task's business (the pack declares them); the manifest only refuses what is no label."""
    if value is None:
        return None
    text = value.strip().lower() if isinstance(value, str) else None
    if not is_label(text):
        raise DatasetError(
            f'{where}: field \'label\' must be a label such as "real", "fake", "safe" or "unsafe" (letters, '
            f"digits, '-', '_', spaces; at most 40; not '{UNKNOWN}'), or null; got {value!r:.60}"
        )
    return text


def _rule_truth(value: Any, where: str) -> dict[str, bool]:
    """Per-rule truth, ``{"R1": true, "R2": false}``: a rule left out (or null) is unknown."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DatasetError(f"{where}: field 'rules' must map rule ids to true / false, got {type(value).__name__}")
    truth = {}
    for rule, violated in value.items():
        if not isinstance(rule, str) or not _RULE_ID.fullmatch(rule):
            raise DatasetError(f"{where}: rules: {rule!r:.40} is not a rule id (letters, digits, '_', '-', '.')")
        if violated is None:
            continue
        if not isinstance(violated, bool):
            raise DatasetError(f"{where}: rules.{rule} must be true, false or null, got {violated!r:.40}")
        truth[rule] = violated
    return truth


MAX_LISTED_PROBLEMS = 50


def bounded(
    problems: Sequence[str], limit: int = MAX_LISTED_PROBLEMS, where: str = "`grounddefake data inspect` lists them all"
) -> list[str]:
    """The first ``limit`` problems, then one line saying how many more there are and ``where`` they are all."""
    more = len(problems) - limit
    return [*problems[:limit], *([f"… and {more} more ({where})"] if more > 0 else [])]


def problems_error(path: Path, problems: Sequence[str]) -> DatasetError:
    """One error listing every problem (the first :data:`MAX_LISTED_PROBLEMS`, then how many more)."""
    if len(problems) == 1:
        return DatasetError(problems[0])
    listed = "\n".join(f"  {p}" for p in bounded(problems))
    return DatasetError(f"{path}: {len(problems)} problems\n{listed}")


def read_manifest(path: str | Path, strict: bool = True) -> Dataset:
    """Read a manifest JSONL file, checking every line.

    Args:
        strict: raise when any line is bad; else keep the good lines and list the bad ones in ``problems``
            (``data inspect``).

    Raises:
        DatasetError: missing file, bad JSON or a bad field (every one, with file and line number), duplicate ids.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such manifest file")
    root = path.parent
    samples: list[Sample] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            sample = sample_from_record(record, root, where)
            if sample.id in seen:
                raise DatasetError(f"{where}: duplicate id {sample.id!r} (first on line {seen[sample.id]})")
        except DatasetError as exc:
            problems.append(str(exc))
            continue
        seen[sample.id] = number
        samples.append(sample)
    if problems and strict:
        raise problems_error(path, problems)
    if not samples and not problems:
        raise DatasetError(f"{path}: the manifest has no samples")
    return Dataset(name=path.parent.name, source=path, root=root, samples=tuple(samples), problems=tuple(problems))
