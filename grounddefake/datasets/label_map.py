"""``--label-map 0=fake,1=real``: what a dataset's numeric labels mean. Numbers are never guessed: conventions
disagree (PaliGemma's deepfake set: 0 = deepfake, 1 = normal; FakeVLM: 1 = real; SID-Set: 0 = real), so a format
whose labels are numbers needs the mapping, unless its layout documents its own (SID-Set's mask column)."""

from __future__ import annotations

from collections.abc import Mapping

from grounddefake.datasets.manifest import DatasetError
from grounddefake.label_space import is_label


class LabelMapError(DatasetError):
    """A ``--label-map`` that cannot be read (names the bad entry)."""


def parse_label_map(text: str | None) -> dict[str, str] | None:
    """``"0=fake, 1=real"`` as ``{"0": "fake", "1": "real"}``; None or empty text is no mapping.

    >>> parse_label_map("0=fake,1=real")
    {'0': 'fake', '1': 'real'}
    >>> parse_label_map("0=fake,0=real")
    Traceback (most recent call last):
    grounddefake.datasets.label_map.LabelMapError: --label-map: value '0' is mapped twice
    """
    if text is None or not text.strip():
        return None
    mapping: dict[str, str] = {}
    for entry in text.split(","):
        value, sep, label = (part.strip() for part in entry.partition("="))
        if not sep or not value or not is_label(label.lower()):
            raise LabelMapError(f"--label-map: {entry.strip()!r} is not VALUE=LABEL (e.g. 0=fake,1=real)")
        if value in mapping:
            raise LabelMapError(f"--label-map: value {value!r} is mapped twice")
        mapping[value] = label.lower()
    return mapping


def label_key(value: object) -> str | None:
    """The text a label value is looked up by (``1``, ``1.0`` and ``"1"`` alike); None for anything else.

    >>> label_key(1), label_key(1.0), label_key(" 1 "), label_key(True), label_key(0.5)
    ('1', '1', '1', None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def describe(mapping: Mapping[str, str]) -> str:
    """One line for ``data inspect``.

    >>> describe({"0": "fake", "1": "real"})
    '0 → fake, 1 → real'
    """
    return ", ".join(f"{value} → {label}" for value, label in mapping.items())
