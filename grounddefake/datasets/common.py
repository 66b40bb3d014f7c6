"""What every dataset adapter needs: image listing, ids from paths, text files in any encoding, safe paths."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from grounddefake.datasets.manifest import DatasetError, resolve_under

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, every symbolic link on the way followed, stays in the dataset folder ``root`` (always true
    when the user allowed links that leave it, ``GROUNDDEFAKE_FOLLOW_LINKS=1``)."""
    from grounddefake.datasets.manifest import links_may_leave

    if links_may_leave():
        return True
    base, real = os.path.realpath(root), os.path.realpath(path)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def list_images(folder: Path, root: Path, recursive: bool = False, problems: list[str] | None = None) -> list[Path]:
    """Image files in ``folder`` (sorted by name; hidden files skipped). Every path is checked against the dataset
    folder ``root``, not against ``folder``: a class folder or an image that is a symbolic link out of ``root`` is
    skipped, and listed in ``problems``, unless the user allowed it (``GROUNDDEFAKE_FOLLOW_LINKS=1``)."""
    from grounddefake.datasets.manifest import FOLLOW_LINKS_ENV

    if not folder.is_dir():
        return []

    def refuse(path: Path, suffix: str = "") -> None:
        if problems is not None:
            name = path.relative_to(root).as_posix() + suffix
            why = f"a symbolic link out of the dataset folder, skipped ({FOLLOW_LINKS_ENV}=1 follows it)"
            problems.append(f"{name}: {why}")

    if not inside(root, folder):
        refuse(folder, "/")
        return []
    found = _walk(folder, root, refuse) if recursive else folder.iterdir()
    images = []
    for p in found:
        if not is_image(p) or p.name.startswith("."):
            continue
        if not inside(root, p):
            refuse(p)
            continue
        images.append(p)
    return sorted(images)


def _walk(folder: Path, root: Path, refuse: Callable[[Path, str], None]) -> Iterator[Path]:
    """Every file under ``folder``: linked subfolders followed while they stay in ``root`` (once each), the others
    refused."""
    seen: set[str] = set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        kept = []
        for name in dirs:
            if inside(root, Path(top) / name):
                kept.append(name)
            else:
                refuse(Path(top) / name, "/")
        dirs[:] = kept
        yield from (Path(top) / name for name in files)


def relative_id(root: Path, path: Path) -> str:
    """A sample id from a path: relative to ``root``, without extension, with forward slashes."""
    return path.relative_to(root).with_suffix("").as_posix()


def read_text(path: Path) -> str:
    """A text file in UTF-8 (with or without BOM) or UTF-16 (LOKI ships UTF-16 JSON).

    Raises:
        DatasetError: unreadable, or in another encoding.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if len(data) >= 2 and (data[0] == 0 or data[1] == 0):
        try:
            return data.decode("utf-16-le" if data[1] == 0 else "utf-16-be")
        except UnicodeDecodeError:
            pass
    raise DatasetError(f"{path}: neither UTF-8 nor UTF-16 text")


def read_json(path: Path) -> Any:
    """A JSON file in UTF-8 or UTF-16.

    Raises:
        DatasetError: unreadable or not JSON (with the position).
    """
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None


def read_jsonl(path: Path, problems: list[str] | None = None) -> Iterable[tuple[int, Any]]:
    """(line number, parsed object) for every non-empty line; with a ``problems`` list, a line that is not JSON is
    listed there (with file and line) and skipped.

    Raises:
        DatasetError: the file cannot be read; without ``problems``, a line that is not JSON.
    """
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                error = DatasetError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
                if problems is None:
                    raise error from None
                problems.append(str(error))


def find_under(root: Path, relative: str, where: str, folders: Iterable[str] = ("",)) -> Path:
    """``relative`` resolved under ``root`` (or under one of its ``folders``, the first that exists).

    Raises:
        DatasetError: an absolute path or one that leaves ``root``.
    """
    first = None
    for folder in folders:
        candidate = resolve_under(root, f"{folder}/{relative}" if folder else relative, where)
        first = first or candidate
        if candidate.exists():
            return candidate
    assert first is not None
    return first


def first_line_keys(path: Path) -> set[str]:
    """The keys of the first JSON object of a JSONL file (empty when it is not one)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            for line in f:
                if line.strip():
                    value = json.loads(line)
                    return set(value) if isinstance(value, dict) else set()
    except (OSError, json.JSONDecodeError):
        return set()
    return set()
