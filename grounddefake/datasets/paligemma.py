"""The PaliGemma deepfake classifier's records as shipped: ``{image, label, question}`` as a JSON list or JSONL
(the Hugging Face parquet of the same shape is read by the ``hf`` format). The labels are numbers whose meaning
the data does not say (that set writes 0 = deepfake, 1 = normal), so they need ``--label-map``; text labels
``real`` / ``fake`` are read as they are. The per-sample ``question`` goes into ``meta.question``, where a pack
that declares the input reads it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grounddefake.datasets.common import find_under, read_json, read_jsonl
from grounddefake.datasets.entries import IMAGE_FOLDERS, each_entry, finish, path_text
from grounddefake.datasets.label_map import describe, label_key
from grounddefake.datasets.manifest import Dataset, DatasetError
from grounddefake.types import Sample

KEYS = {"image", "label", "question"}
"""The record's keys; with ``conversations`` or ``id`` it is another format (LLaVA, a manifest)."""


def looks_like_paligemma(keys: Iterable[str]) -> bool:
    """Whether an entry's keys are this format's.

    >>> looks_like_paligemma({"image", "label", "question"}), looks_like_paligemma({"id", "image", "label"})
    (True, False)
    """
    keys = set(keys)
    return keys >= KEYS and not keys & {"conversations", "id", "messages"}


def read_paligemma(path: Path, label_map: Mapping[str, str] | None = None) -> Dataset:
    """The records of ``path`` (``.json`` list or ``.jsonl``).

    Raises:
        DatasetError: no usable record, or numeric labels without ``label_map`` (never guessed).
    """
    problems: list[str] = []
    if path.suffix.lower() == ".jsonl":
        entries = [(f"{path}:{n}", item) for n, item in read_jsonl(path, problems)]
    else:
        data = read_json(path)
        if not isinstance(data, list):
            raise DatasetError(f"{path}: a PaliGemma-style JSON file is a list of {{image, label, question}}")
        entries = [(f"{path}: item {i}", item) for i, item in enumerate(data)]
    numeric = sorted({label_key(e.get("label")) or "?" for _, e in entries if _is_number(e)}) if not label_map else []
    if numeric:
        raise DatasetError(
            f"{path}: numeric labels ({', '.join(numeric)}) and no mapping: name it with --label-map "
            "(e.g. 0=fake,1=real); conventions disagree, so numbers are never guessed"
        )

    def read(where: str, item: Any) -> Sample:
        if not isinstance(item, Mapping) or not path_text(item.get("image")):
            raise DatasetError(f"{where}: no image path")
        value = item.get("label")
        if label_map is not None:
            key = label_key(value)
            label = label_map.get(key) if key is not None else None
            if label is None:
                raise DatasetError(f"{where}: label {value!r} is not in --label-map")
        elif isinstance(value, str) and value.strip().lower() in ("real", "fake"):
            label = value.strip().lower()
        else:
            raise DatasetError(f"{where}: label {value!r} is neither real nor fake (name numbers with --label-map)")
        meta = {"question": item["question"]} if isinstance(item.get("question"), str) else {}
        image = find_under(path.parent, item["image"], where, IMAGE_FOLDERS)
        return Sample(Path(item["image"]).with_suffix("").as_posix(), image, label, meta=meta)

    dataset = finish(path, each_entry(entries, read, problems), problems, "paligemma")
    mapping = f"{describe(label_map)} (--label-map)" if label_map else ""
    return Dataset(
        dataset.name, dataset.source, dataset.root, dataset.samples, dataset.format, dataset.problems, mapping
    )


def _is_number(entry: Any) -> bool:
    value = entry.get("label") if isinstance(entry, Mapping) else None
    return isinstance(value, (int, float)) and not isinstance(value, bool)
