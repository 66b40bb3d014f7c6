"""Box coordinate conventions: how a model writes a box, and how to turn it into pixels of the image it saw.

A convention is declared, never guessed from magnitudes (DESIGN.md, principle 1). Each one names its coordinate
space (pixels of the input image, or normalised to a scale), its axis order and its scale; it converts between
model space and pixels of the *input* image. The image ``Transform`` then takes input pixels back to the original.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from grounddefake.types import Box, Region, Size


@dataclass(frozen=True)
class Convention:
    """A declarative box convention.

    Attributes:
        name: registry key (``norm1000``).
        description: one line for ``grounddefake conventions`` and the docs.
        space: ``pixel`` (absolute pixels of the input image) or ``normalized`` (divide by ``scale``).
        scale: the normalisation divisor (1, 1000, ...); ignored for ``pixel``.
        axis_order: ``xy`` for (x1, y1, x2, y2), ``yx`` for (y1, x1, y2, x2).
    """

    name: str
    description: str
    space: Literal["pixel", "normalized"]
    scale: float = 1.0
    axis_order: Literal["xy", "yx"] = "xy"

    def to_input_pixels(self, values: Sequence[float], input_size: Size) -> Box:
        """Model-space values (4 numbers, in this convention's order) → (x1, y1, x2, y2) in input pixels."""
        a, b, c, d = (float(v) for v in values)
        x1, y1, x2, y2 = (b, a, d, c) if self.axis_order == "yx" else (a, b, c, d)
        if self.space == "pixel":
            return (x1, y1, x2, y2)
        w, h = input_size
        return (x1 / self.scale * w, y1 / self.scale * h, x2 / self.scale * w, y2 / self.scale * h)

    def from_input_pixels(self, box: Box, input_size: Size) -> tuple[float, float, float, float]:
        """(x1, y1, x2, y2) in input pixels → model-space values in this convention's order."""
        x1, y1, x2, y2 = box
        if self.space == "normalized":
            w, h = input_size
            x1, x2 = x1 * self.scale / w, x2 * self.scale / w
            y1, y2 = y1 * self.scale / h, y2 * self.scale / h
        return (y1, x1, y2, x2) if self.axis_order == "yx" else (x1, y1, x2, y2)

    def format_value(self, value: float) -> float | int:
        """Integers for pixel and 0–1000-style scales, 3 decimals for 0–1."""
        return round(value, 3) if self.space == "normalized" and self.scale <= 1 else round(value)

    def format(self, regions: Sequence[Region], input_size: Size) -> str:
        """Regions given in input pixels → the JSON list a model of this convention would write."""
        items = []
        for region in regions:
            values = [self.format_value(v) for v in self.from_input_pixels(region.box, input_size)]
            item: dict = {"box": values}
            if region.label is not None:
                item["label"] = region.label
            if region.score is not None:
                item["score"] = round(region.score, 3)
            items.append(item)
        return json.dumps(items)


_REGISTRY: dict[str, Convention] = {}


def register(convention: Convention) -> Convention:
    """Add ``convention`` to the registry (the name must be new)."""
    if convention.name in _REGISTRY:
        raise ValueError(f"convention '{convention.name}' is already registered")
    _REGISTRY[convention.name] = convention
    return convention


def get_convention(name: str | Convention) -> Convention:
    """Look a convention up by name.

    Raises:
        KeyError: unknown name; the message lists the known ones.
    """
    if isinstance(name, Convention):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown box convention '{name}' (known: {', '.join(sorted(_REGISTRY))})") from None


def conventions() -> list[Convention]:
    """All registered conventions, sorted by name."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


register(Convention("pixel", "absolute pixels of the image sent to the model, (x1, y1, x2, y2)", "pixel"))
register(Convention("norm1", "fractions 0–1 of the image sent, (x1, y1, x2, y2)", "normalized", 1.0))
register(Convention("norm1000", "integers 0–1000 relative to the image sent, (x1, y1, x2, y2)", "normalized", 1000.0))
