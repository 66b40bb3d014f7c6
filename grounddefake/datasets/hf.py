"""Hugging Face datasets: parquet files (a hub snapshot's ``data/*.parquet``) or a ``save_to_disk`` folder of
``.arrow`` files, read with pyarrow (``pip install grounddefake[hf]``).

Image and mask columns hold ``{"bytes", "path"}`` structs; their bytes are written once, by content hash, under the
user cache folder (``…/grounddefake/hf/``) so every stage can open them as files. Labels: a text column ``label``
(``real`` / ``fake``), numbers through ``--label-map`` (never guessed: PaliGemma's deepfake set writes 0 = deepfake,
1 = normal), or SID-Set's documented numbers when the rows have its ``mask`` column (0 real, 1 full synthetic,
2 tampered; the subtype goes into ``meta.subtype``). The id is ``img_id`` or ``id`` when present, else the row number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from grounddefake.datasets.label_map import describe, label_key
from grounddefake.datasets.manifest import Dataset, DatasetError
from grounddefake.types import Sample

SID_SET_LABELS = {0: ("real", "real"), 1: ("fake", "full_synthetic"), 2: ("fake", "tampered")}


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found = sorted(path.rglob("*.parquet")) or sorted(path.rglob("*.arrow"))
    return [p for p in found if not p.name.startswith(".")]


def is_hf(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() in (".parquet", ".arrow")
    return path.is_dir() and (
        bool(list(path.glob("*.parquet")))
        or bool(list(path.glob("data/*.parquet")))
        or ((path / "state.json").is_file() and bool(list(path.glob("*.arrow"))))
    )


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.ipc as ipc
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            f"{path}: reading Hugging Face parquet/arrow files needs pyarrow: pip install 'grounddefake[hf]'"
        ) from None
    for file in _files(path):
        try:
            if file.suffix == ".parquet":
                batches = pq.ParquetFile(file).iter_batches(batch_size=256)
            else:
                with open(file, "rb") as f:
                    table = ipc.open_stream(f).read_all()
                batches = table.to_batches(max_chunksize=256)
            for batch in batches:
                yield from batch.to_pylist()
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{file}: unreadable ({exc})") from None


def _write(blob: Any, folder: Path, stem: str) -> Path | None:
    """The bytes of an image struct as a file under ``folder`` (named by content); None when there are none."""
    if isinstance(blob, dict):
        data, name = blob.get("bytes"), blob.get("path") or ""
    else:
        data, name = blob, ""
    if not isinstance(data, (bytes, bytearray)) or not data:
        return None
    suffix = Path(str(name)).suffix.lower() or _sniff(data)
    target = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    if not target.exists():
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_bytes(data)
        temporary.replace(target)
    return target


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".img"


def read_hf(path: Path, cache: Path | None = None, label_map: Mapping[str, str] | None = None) -> Dataset:
    """The rows of ``path`` as samples; numeric labels through ``label_map`` (or SID-Set's documented mapping when
    the rows have SID-Set's ``mask`` column).

    Raises:
        DatasetError: no rows with an image, or numeric labels without a mapping (never guessed).
    """
    from grounddefake.cache import default_cache_dir

    files = _files(path)
    if not files:
        raise DatasetError(f"{path}: no .parquet or .arrow files")
    key = hashlib.sha256(
        "".join(f"{f.resolve()}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files).encode()
    ).hexdigest()[:16]
    folder = (cache or default_cache_dir()) / "hf" / key
    folder.mkdir(parents=True, exist_ok=True)
    samples, problems = [], []
    seen: set[str] = set()
    numeric: set[str] = set()
    sid_layout = False
    for number, row in enumerate(_rows(path)):
        raw_id = row.get("img_id", row.get("id"))
        sample_id = str(number) if raw_id is None else str(raw_id)
        if sample_id in seen:
            problems.append(f"row {number}: duplicate id {sample_id!r}, ignored")
            continue
        seen.add(sample_id)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in sample_id)[:80]
        image = _write(row.get("image"), folder, safe)
        if image is None:
            problems.append(f"row {number} ({sample_id}): no image bytes")
            continue
        sid_layout = sid_layout or "mask" in row
        value = row.get("label")
        if label_map is None and isinstance(value, (int, float)) and not isinstance(value, bool):
            numeric.add(label_key(value) or repr(value))
        label, meta = _label(value, label_map, "mask" in row)
        if label_map is not None and label is None and value is not None:
            problems.append(f"row {number} ({sample_id}): label {value!r} is not in --label-map")
        mask = _write(row.get("mask"), folder, f"{safe}_mask")
        if meta.get("subtype") == "tampered" and mask is None:
            problems.append(f"{sample_id}: tampered without a mask")
        for key_name in ("generator", "source", "width", "height", "question"):
            if key_name in row and row[key_name] is not None:
                meta[key_name] = row[key_name]
        samples.append(Sample(sample_id, image, label, mask=mask, meta=meta))
    if not samples:
        raise DatasetError(f"{path}: no rows with an image")
    if numeric and not sid_layout:
        values = ", ".join(sorted(numeric))
        raise DatasetError(
            f"{path}: numeric labels ({values}) and no mapping: name it with --label-map (e.g. 0=fake,1=real); "
            "conventions disagree, so numbers are never guessed"
        )
    if label_map is not None:
        mapping = f"{describe(label_map)} (--label-map)"
    elif numeric:
        mapping = "0 → real, 1 → fake (full synthetic), 2 → fake (tampered): SID-Set's documented labels (mask column)"
    else:
        mapping = ""
    root = path if path.is_dir() else path.parent
    return Dataset(path.name, path, root, tuple(samples), "hf", tuple(problems), mapping)


def _label(value: Any, label_map: Mapping[str, str] | None, sid_layout: bool) -> tuple[str | None, dict[str, Any]]:
    """A row's label: through ``label_map`` when given; else text ``real``/``fake``, or SID-Set's numbers when the
    row has SID-Set's layout (a ``mask`` column)."""
    if label_map is not None:
        key = label_key(value)
        return (label_map.get(key) if key is not None else None), {}
    if isinstance(value, str) and value.lower() in ("real", "fake"):
        return value.lower(), {}
    if sid_layout and isinstance(value, int) and not isinstance(value, bool) and value in SID_SET_LABELS:
        label, subtype = SID_SET_LABELS[value]
        return label, {"subtype": subtype}
    return None, {}
