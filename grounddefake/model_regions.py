"""Regions as a model wrote them, and the interface every box syntax implements.

A syntax (:mod:`grounddefake.json_regions`, :mod:`grounddefake.native_syntaxes`) reads text into
:class:`ModelRegion` values — numbers exactly as the model wrote them, in its own order and scale — and writes such
values back as text. It knows nothing about pixels: the convention (:mod:`grounddefake.conventions`) says what the
numbers mean. Readers never raise; an item that cannot be read becomes a ModelRegion with a ``problem``, so one bad
box never costs the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
"""A decimal number as models write it (sign, fraction and exponent optional)."""
MAX_ITEMS = 1000
"""At most this many regions are read from one answer."""
MAX_LABEL = 200
"""Region labels are cut to this many characters."""


@dataclass(frozen=True)
class ModelRegion:
    """One region as the model wrote it.

    Attributes:
        values: the numbers in the model's order and scale: 4 for a box, 2 for a point.
        kind: ``box`` or ``point``.
        label: the model's label for the region, when it gave one.
        score: the model's confidence, when it gave one.
        problem: why this item cannot be used (then ``values`` may be empty).
        note: how a usable item was read when the model wrote more than it (a 5th number read as the score, 8
            numbers read as two boxes); the parser reports it beside the region.
    """

    values: tuple[float, ...]
    kind: Literal["box", "point"] = "box"
    label: str | None = None
    score: float | None = None
    problem: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Markup:
    """A stretch of text that held box markup, and what the prose keeps in its place (the region's label)."""

    start: int
    end: int
    keep: str = ""


@dataclass(frozen=True)
class Found:
    """What a native syntax read: the regions and the markup to drop from the rationale."""

    regions: tuple[ModelRegion, ...] = ()
    markup: tuple[Markup, ...] = ()
    dropped: int = 0
    """How many regions were read past :data:`MAX_ITEMS` and dropped."""


def capped(regions: Sequence[ModelRegion], markup: Sequence[Markup] = ()) -> Found:
    """A Found of the first :data:`MAX_ITEMS` regions, counting the rest as dropped."""
    return Found(tuple(regions[:MAX_ITEMS]), tuple(markup), max(0, len(regions) - MAX_ITEMS))


def grouped(numbers: Sequence[float], label: str | None, where: str, score: float | None = None) -> list[ModelRegion]:
    """Numbers in groups of 4 (boxes); a remainder (a stray or truncated value) is one problem item after them.

    One bad value never costs the complete boxes: 13 numbers are 3 boxes and a note about the 13th (Hugging Face's
    Florence-2 post-processor keeps the 3 boxes too).
    """
    whole = len(numbers) - len(numbers) % 4
    regions = [ModelRegion(tuple(numbers[i : i + 4]), "box", label, score) for i in range(0, whole, 4)]
    if not numbers:
        regions.append(ModelRegion((), label=label, problem=f"no numbers in {where[:80]!r}, not a box of 4"))
    elif whole < len(numbers):
        left = len(numbers) - whole
        problem = (
            f"{left} number{'s' * (left > 1)} left over after {whole // 4} box(es) in {where[:80]!r}, not a box of 4"
        )
        regions.append(ModelRegion((), label=label, problem=problem))
    return regions


def dropped_note(dropped: int) -> str:
    """The parse note for regions past the cap."""
    return f"{dropped} region(s) dropped: at most {MAX_ITEMS} regions are read from one answer"


def clean_label(value: Any) -> str | None:
    """A region label as plain text of bounded length, or None."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())
    return text[:MAX_LABEL] or None


def format_number(value: float) -> str:
    """Integers without a decimal point, other values with up to 4 significant decimals.

    >>> format_number(12.0), format_number(0.123456), format_number(2.5)
    ('12', '0.1235', '2.5')
    """
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


class Syntax:
    """Base of the text syntaxes. ``json`` syntaxes are read by the JSON-anywhere reader."""

    name = ""
    json = False

    def read(self, text: str) -> Found:
        """The regions written in ``text`` in this syntax, and the stretches of markup that held them."""
        raise NotImplementedError

    def write(self, regions: Sequence[ModelRegion]) -> str:
        """``regions`` as a model of this family writes them."""
        raise NotImplementedError
