"""Datasets: adapters that read a benchmark as it ships and yield :class:`~grounddefake.types.Sample` values.

``load_dataset(path)`` detects the format from the folder layout or the file's structure; ``format=NAME`` names it.
Formats (``FORMATS``): the grounddefake manifest, class folders, image + mask folder pairs, IMDL-BenCo JSON, COCO,
SynthScars, LOKI, FakeXplained, LLaVA conversations, ICM-Instruct (by image or by question), Expl-AIGI-Eval /
RichHF, and a plain folder of unlabelled images.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from grounddefake.datasets import annotation_files, folders, hf, icm, paligemma
from grounddefake.datasets.manifest import Dataset, DatasetError, read_manifest
from grounddefake.resources import demo_manifest

__all__ = ["FORMATS", "Dataset", "DatasetError", "detect_format", "fingerprint", "load_dataset", "read_manifest"]

FORMATS: dict[str, tuple[str, Callable[[Path], Dataset]]] = {
    "manifest": ("grounddefake manifest JSONL (a folder holding manifest.jsonl, or the file)", read_manifest),
    "real-fake": ("folders real/ + fake/ (mllm-defake)", folders.read_real_fake),
    "binary-folders": (
        "0_real/ + 1_fake/, directly or per generator (CNNSpot, AIGI-Holmes)",
        folders.read_binary_folders,
    ),
    "imdl-folders": ("IMDL-BenCo Tp/ + Gt/ (paired by name), Au/ for authentic", folders.read_imdl_folders),
    "sid-set": ("SID-Set real/ + full_synthetic/ + tampered/ + masks/{name}_mask.png", folders.read_sid_set),
    "image-mask": ("FakeShield-style image/ + mask/ (paired by name; no mask = real)", folders.read_image_mask),
    "imdl-json": ('IMDL-BenCo JSON [[image, mask | "Negative"], ...]', annotation_files.read_imdl_json),
    "coco": ("COCO JSON with polygons or RLE (annotated images are fake)", annotation_files.read_coco),
    "synthscars": ("SynthScars / LEGION JSON (refs with flat polygons)", annotation_files.read_synthscars),
    "loki": ("LOKI JSON (UTF-16; regions [x, y, w, h])", annotation_files.read_loki),
    "fakexplained": ("FakeXplained JSONL (objects.bbox in pixels)", annotation_files.read_fakexplained),
    "llava": (
        "LLaVA conversation JSON (FakeClue, ICM-Instruct): label field, else the answer's verdict",
        annotation_files.read_llava,
    ),
    "icm-instruct": (
        "ICM-Instruct LLaVA JSON by image: safe iff the category or file name says normal / not-sexy, else unsafe",
        icm.read_icm_instruct,
    ),
    "icm-qa": (
        "ICM-Instruct LLaVA JSON by question: its multiple-choice, Yes/No and explanation items (MQA, MEQ)",
        icm.read_icm_qa,
    ),
    "expl-aigi": ("Expl-AIGI-Eval / RichHF JSONL (heatmap PNG + score)", annotation_files.read_expl_aigi),
    "paligemma": (
        "PaliGemma-style {image, label, question} JSON list or JSONL (numeric labels need --label-map)",
        lambda path: paligemma.read_paligemma(path),
    ),
    "hf": ("Hugging Face parquet files or a save_to_disk folder (SID-Set columns; needs the 'hf' extra)", hf.read_hf),
    "images": ("a plain folder of images, subfolders included, unlabelled (detected last)", folders.read_image_folder),
}


def detect_format(path: Path) -> str | None:
    """The format of a dataset folder or annotation file, or None.

    A folder: ``manifest.jsonl``, a folder layout, Hugging Face files, the one annotation file it holds, and last a
    plain folder of images.
    """
    if path.is_dir():
        if (path / "manifest.jsonl").is_file():
            return "manifest"
        if name := folders.detect_folder(path) or ("hf" if hf.is_hf(path) else None):
            return name
        if (single := annotation_files.annotation_file_in(path)) is not None:
            return annotation_files.detect_file(single)
        return "images" if folders.has_images(path) else None
    if hf.is_hf(path):
        return "hf"
    return annotation_files.detect_file(path)


NUMERIC_LABELS = ("hf", "paligemma")
"""Formats whose labels may be numbers, read through ``--label-map``."""


def load_dataset(
    data: str | Path | Dataset,
    format: str | None = None,
    strict: bool = True,
    label_map: Mapping[str, str] | None = None,
) -> Dataset:
    """Open ``data``: ``demo``, a folder or an annotation file in any of ``FORMATS`` (detected, or ``format``).

    ``strict=False`` keeps a manifest's good lines and lists its bad ones in ``Dataset.problems`` (``data inspect``).
    ``label_map`` says what numeric labels mean (``{"0": "fake", "1": "real"}``; formats with numeric labels only).

    Raises:
        DatasetError: nothing usable at ``data``, an unknown format, or a structural problem (with file and line).
    """
    if isinstance(data, Dataset):
        return data
    if str(data) == "demo":
        dataset = read_manifest(demo_manifest(), strict)
        return Dataset("demo", dataset.source, dataset.root, dataset.samples)
    path = Path(data)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder (use a dataset folder, an annotation file, or 'demo')")
    if format is not None and format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r} (known: {', '.join(FORMATS)})")
    name = format or detect_format(path)
    if name is None:
        raise DatasetError(
            f"{path}: no known dataset layout or annotation format here; name one with --format "
            f"({', '.join(FORMATS)}) — `grounddefake data formats` describes them"
        )
    if path.is_dir() and (name == "manifest" or name in annotation_files.READERS):
        single: Path | None = path / "manifest.jsonl"
        if name != "manifest" or not (path / "manifest.jsonl").is_file():
            single = annotation_files.annotation_file_in(path, name)
        if single is None:
            raise DatasetError(f"{path}: no single {name} file in this folder; name the file itself")
        path = single
    if label_map is not None and name not in NUMERIC_LABELS:
        raise DatasetError(
            f"--label-map: the {name} format's labels are not numbers (it applies to: {', '.join(NUMERIC_LABELS)})"
        )
    if name == "hf":
        return hf.read_hf(path, label_map=label_map)
    if name == "paligemma":
        return paligemma.read_paligemma(path, label_map)
    if name == "manifest":
        return read_manifest(path, strict)
    return FORMATS[name][1](path)


def fingerprint(dataset: Dataset) -> str:
    """A sha256 identifying the dataset's content: the annotation file's bytes, or for a folder layout the listing
    of its samples (id, label, files and their sizes)."""
    import hashlib

    digest = hashlib.sha256()
    if dataset.source.is_file():
        digest.update(dataset.source.read_bytes())
        return digest.hexdigest()
    for sample in dataset.samples:
        files = [p for p in (sample.image, sample.mask, sample.heatmap) if p is not None]
        sizes = [str(p.stat().st_size) if p.exists() else "-" for p in files]
        digest.update(f"{sample.id}\t{sample.label}\t{[str(p) for p in files]}\t{sizes}\n".encode())
    return digest.hexdigest()
