"""Datasets: adapters that read a benchmark as it ships and yield :class:`~grounddefake.types.Sample` values."""

from __future__ import annotations

from pathlib import Path

from grounddefake.datasets.manifest import Dataset, DatasetError, read_manifest
from grounddefake.resources import demo_manifest

__all__ = ["Dataset", "DatasetError", "load_dataset", "read_manifest"]


def load_dataset(data: str | Path) -> Dataset:
    """Open ``data``: ``demo`` (the built-in demo set), a manifest ``.jsonl`` file, or a folder holding
    ``manifest.jsonl``.

    Raises:
        DatasetError: nothing usable at ``data``.
    """
    if str(data) == "demo":
        dataset = read_manifest(demo_manifest())
        return Dataset("demo", dataset.source, dataset.root, dataset.samples)
    path = Path(data)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder (use a manifest .jsonl, a folder with one, or 'demo')")
    if path.is_dir():
        manifest = path / "manifest.jsonl"
        if not manifest.is_file():
            raise DatasetError(f"{path}: folder has no manifest.jsonl")
        return read_manifest(manifest)
    return read_manifest(path)
