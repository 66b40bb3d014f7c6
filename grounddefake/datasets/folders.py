"""Folder layouts: class folders and image + mask folder pairs, read as they ship.

- ``real-fake``: ``real/`` + ``fake/`` (mllm-defake's image folders).
- ``binary-folders``: ``0_real/`` + ``1_fake/``, directly or one level down per generator (CNNSpot, AIGI-Holmes);
  the generator goes into ``meta.generator``.
- ``imdl-folders``: IMDL-BenCo ``Tp/`` + ``Gt/``, paired **by name** (IMDL-BenCo pairs by sort order, which mispairs
  silently); a tampered image without its mask is a problem, not a guess.
- ``sid-set``: SID-Set ``real/``, ``full_synthetic/``, ``tampered/`` + ``masks/{name}_mask.png``; the subtype goes
  into ``meta.subtype``.
- ``image-mask``: FakeShield-style ``image/`` + ``mask/``, paired by name; an image without a mask is real.
- ``images``: a plain folder of images, every subfolder included, no labels (detected last).

Every path is checked against the dataset folder: a class folder that is a symbolic link out of it is refused.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from grounddefake.datasets.common import inside, is_image, list_images, relative_id
from grounddefake.datasets.manifest import Dataset, DatasetError
from grounddefake.types import Sample

MASK_SUFFIXES = ("", "_gt", "_mask", "-gt", "-mask", "_GT", "_Mask")


def _masks_by_name(folder: Path, root: Path, problems: list[str]) -> dict[str, Path]:
    """Mask files by the image stem they belong to (``x.png``, ``x_gt.png``, ``x_mask.png`` all belong to ``x``)."""
    found: dict[str, Path] = {}
    for path in list_images(folder, root, problems=problems):
        stem = path.stem
        for suffix in sorted(MASK_SUFFIXES, key=len, reverse=True):
            if suffix and stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        found.setdefault(stem, path)
    return found


def _dataset(name: str, root: Path, samples: list[Sample], problems: list[str], fmt: str) -> Dataset:
    if not samples:
        why = f" ({'; '.join(problems[:3])})" if problems else ""
        raise DatasetError(f"{root}: no images found in the {fmt} layout{why}")
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{root}: two images share an id (same name in one folder)")
    return Dataset(name, root, root, tuple(samples), fmt, tuple(problems))


def read_real_fake(root: Path) -> Dataset:
    problems: list[str] = []
    samples = [
        Sample(relative_id(root, p), p, label)
        for label in ("real", "fake")
        for p in list_images(root / label, root, problems=problems)
    ]
    return _dataset(root.name, root, samples, problems, "real-fake")


def read_binary_folders(root: Path) -> Dataset:
    samples: list[Sample] = []
    problems: list[str] = []
    groups = (
        [root]
        if (root / "0_real").is_dir() or (root / "1_fake").is_dir()
        else sorted(p for p in root.iterdir() if p.is_dir() and ((p / "0_real").is_dir() or (p / "1_fake").is_dir()))
    )
    for group in groups:
        meta = {} if group == root else {"generator": group.name}
        for folder, label in (("0_real", "real"), ("1_fake", "fake")):
            for path in list_images(group / folder, root, recursive=True, problems=problems):
                samples.append(Sample(relative_id(root, path), path, label, meta=dict(meta)))
    return _dataset(root.name, root, samples, problems, "binary-folders")


def read_imdl_folders(root: Path) -> Dataset:
    samples: list[Sample] = []
    problems: list[str] = []
    masks = _masks_by_name(root / "Gt", root, problems)
    for path in list_images(root / "Tp", root, problems=problems):
        mask = masks.get(path.stem)
        if mask is None:
            problems.append(f"{path.name}: no mask in Gt/ with the same name (kept as fake without localization)")
        samples.append(Sample(relative_id(root, path), path, "fake", mask=mask))
    used = {s.mask for s in samples}
    problems += [f"Gt/{m.name}: a mask without an image in Tp/" for m in masks.values() if m not in used]
    for path in list_images(root / "Au", root, problems=problems):  # CASIA-style authentic folder, when present
        samples.append(Sample(relative_id(root, path), path, "real"))
    return _dataset(root.name, root, samples, problems, "imdl-folders")


def read_sid_set(root: Path) -> Dataset:
    samples: list[Sample] = []
    problems: list[str] = []
    for subtype, label in (("real", "real"), ("full_synthetic", "fake"), ("tampered", "fake")):
        for path in list_images(root / subtype, root, problems=problems):
            mask = None
            if subtype == "tampered":
                candidate = root / "masks" / f"{path.stem}_mask.png"
                mask = candidate if candidate.is_file() and inside(root, candidate) else None
                if mask is None:
                    problems.append(f"tampered/{path.name}: no masks/{path.stem}_mask.png")
            samples.append(Sample(relative_id(root, path), path, label, mask=mask, meta={"subtype": subtype}))
    return _dataset(root.name, root, samples, problems, "sid-set")


def read_image_mask(root: Path) -> Dataset:
    problems: list[str] = []
    masks = _masks_by_name(root / "mask", root, problems)
    samples = []
    for path in list_images(root / "image", root, problems=problems):
        mask = masks.get(path.stem)
        samples.append(Sample(relative_id(root, path), path, "fake" if mask else "real", mask=mask))
    used = {s.mask for s in samples}
    problems += [f"mask/{m.name}: a mask without an image" for m in masks.values() if m not in used]
    return _dataset(root.name, root, samples, problems, "image-mask")


def detect_folder(root: Path) -> str | None:
    """The folder layout of ``root``, or None."""
    if (root / "Tp").is_dir() and (root / "Gt").is_dir():
        return "imdl-folders"
    if (root / "tampered").is_dir() or (root / "full_synthetic").is_dir():
        return "sid-set"
    if (root / "image").is_dir() and (root / "mask").is_dir():
        return "image-mask"
    if (root / "real").is_dir() and (root / "fake").is_dir():
        return "real-fake"
    if (root / "0_real").is_dir() or (root / "1_fake").is_dir():
        return "binary-folders"
    if any(p.is_dir() and ((p / "0_real").is_dir() or (p / "1_fake").is_dir()) for p in root.iterdir()):
        return "binary-folders"
    return None


def read_image_folder(root: Path) -> Dataset:
    """A plain folder of images, subfolders included (sorted by path): no labels, ids from the relative paths.

    ``eval`` on it reports the answers only; classification metrics need labelled samples.
    """
    problems: list[str] = []
    images = list_images(root, root, recursive=True, problems=problems)
    ids = [relative_id(root, p) for p in images]
    twice = {i for i, n in Counter(ids).items() if n > 1}
    samples = [
        Sample(p.relative_to(root).as_posix() if i in twice else i, p, None) for i, p in zip(ids, images, strict=True)
    ]  # x.png and x.jpg side by side keep their extensions
    return _dataset(root.name, root, samples, problems, "images")


def has_images(root: Path) -> bool:
    """Whether ``root`` or any folder under it holds an image file (stops at the first)."""
    return any(is_image(p) and not p.name.startswith(".") for p in root.rglob("*"))


READERS = {
    "real-fake": read_real_fake,
    "binary-folders": read_binary_folders,
    "imdl-folders": read_imdl_folders,
    "sid-set": read_sid_set,
    "image-mask": read_image_mask,
    "images": read_image_folder,
}
