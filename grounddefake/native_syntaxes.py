"""Each model family's native box markup: tags, location tokens, bare lists, grid cells and points.

Qwen's ``<|box_start|>`` tokens and InternVL's ``<ref>``/``<box>`` are :class:`Tagged`; PaliGemma writes
:class:`LocTokens`, Florence-2 :class:`Florence`, CogVLM :class:`DoubleBracket`, LLaVA :class:`BareList`, Kosmos-2
:class:`KosmosPatches` and Molmo :class:`MolmoPoints`. Which family uses which, and what its numbers mean, is the
table in :mod:`grounddefake.conventions`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from grounddefake.model_regions import (
    MAX_ITEMS,
    NUMBER,
    Found,
    Markup,
    ModelRegion,
    Syntax,
    capped,
    clean_label,
    format_number,
    grouped,
)

_NUMBERS = re.compile(NUMBER)


def _numbers(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in _NUMBERS.findall(text))


def _keep(label: str | None, regions: Sequence[ModelRegion]) -> str:
    """What the prose keeps of a markup span: its label, unless its regions are past the cap."""
    return (label or "") if len(regions) <= MAX_ITEMS else ""


def _preceding_phrase(text: str, start: int, floor: int) -> str | None:
    """The words right before ``start`` (back to a sentence or clause break, or ``floor``), as a label."""
    before = text[max(floor, start - 120) : start]
    phrase = re.split(r"[.;:,!?\n\]>)]", before)[-1].strip(" \t\"'*`-")
    return clean_label(phrase) if 0 < len(phrase) <= 80 else None


@dataclass(frozen=True)
class Tagged(Syntax):
    """An optional label between tags, then numbers between box tags: ``<ref>hand</ref><box>[[1,2,3,4]]</box>``.

    ``layout`` is how ``write`` lays the numbers out: ``nested`` ``[[a, b, c, d]]``, ``flat`` ``[a, b, c, d]``,
    ``space`` ``a b c d`` or ``pairs`` ``(a,b),(c,d)``. Reading accepts any layout, several boxes per tag pair, and
    an unterminated last box tag (truncated output).
    """

    name: str = "tagged"
    label_open: str | None = "<ref>"
    label_close: str | None = "</ref>"
    box_open: str = "<box>"
    box_close: str = "</box>"
    layout: Literal["nested", "flat", "space", "pairs"] = "nested"

    @property
    def pattern(self) -> re.Pattern[str]:
        return _tagged_pattern(self.label_open, self.label_close, self.box_open, self.box_close)

    def read(self, text: str) -> Found:
        regions: list[ModelRegion] = []
        markup = []
        last = 0
        for match in self.pattern.finditer(text):
            tagged = self.label_open is not None
            label = clean_label(match.group("label")) if tagged else _preceding_phrase(text, match.start(), last)
            last = match.end()
            regions.extend(grouped(_numbers(match.group("inner")), label, match.group()))
            markup.append(Markup(match.start(), match.end(), _keep(match.group("label") if tagged else "", regions)))
        return capped(regions, markup)

    def write(self, regions: Sequence[ModelRegion]) -> str:
        parts = []
        for region in regions:
            label = ""
            if region.label:
                label = (
                    f"{region.label} "
                    if self.label_open is None
                    else f"{self.label_open}{region.label}{self.label_close}"
                )
            parts.append(f"{label}{self.box_open}{self._inner(region.values)}{self.box_close}")
        return " ".join(parts)

    def _inner(self, values: Sequence[float]) -> str:
        v = [format_number(x) for x in values]
        if self.layout == "space":
            return " ".join(v)
        if self.layout == "pairs":
            return ",".join(f"({v[i]},{v[i + 1]})" for i in range(0, len(v), 2))
        flat = "[" + ", ".join(v) + "]"
        return f"[{flat}]" if self.layout == "nested" else flat


_TAGGED_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def _tagged_pattern(label_open: str | None, label_close: str | None, box_open: str, box_close: str) -> re.Pattern[str]:
    key = (label_open or "", label_close or "", box_open, box_close)
    if key not in _TAGGED_CACHE:
        bo, bc = re.escape(box_open), re.escape(box_close)
        label = "(?P<label>)"
        if label_open is not None and label_close is not None:
            label = rf"(?:{re.escape(label_open)}(?P<label>[^<]{{0,500}}){re.escape(label_close)}\s*)?"
        _TAGGED_CACHE[key] = re.compile(rf"{label}{bo}(?P<inner>[^<]{{0,4000}})(?:{bc})?", re.DOTALL)
    return _TAGGED_CACHE[key]


@dataclass(frozen=True)
class LocTokens(Syntax):
    """PaliGemma: four ``<locNNNN>`` tokens (y1 x1 y2 x2, 0–1023), then the label; detections joined by `` ; ``."""

    name: str = "paligemma"

    _pattern = re.compile(r"((?:<loc\d{4}>)+)(?:<seg\d{3}>)*[ \t]*(?P<label>[^;<\n]*)")

    def read(self, text: str) -> Found:
        regions: list[ModelRegion] = []
        markup = []
        for match in self._pattern.finditer(text):
            label = clean_label(match.group("label").strip())
            regions.extend(grouped(_numbers(match.group(1)), label, match.group(1)))
            markup.append(Markup(match.start(), match.end(), _keep(label, regions)))
        return capped(regions, markup)

    def write(self, regions: Sequence[ModelRegion]) -> str:
        return " ; ".join(
            "".join(f"<loc{int(v):04d}>" for v in r.values) + (f" {r.label}" if r.label else "") for r in regions
        )


@dataclass(frozen=True)
class Florence(Syntax):
    """Florence-2: the label, then ``<loc_x1><loc_y1><loc_x2><loc_y2>`` (bins 0–999); several boxes may follow."""

    name: str = "florence2"

    _pattern = re.compile(r"(?:<loc_\d{1,4}>)+")

    def read(self, text: str) -> Found:
        regions: list[ModelRegion] = []
        markup = []
        last = 0
        for match in self._pattern.finditer(text):
            # The label is the text right before the tokens, back to the previous tag or line.
            before = text[max(last, match.start() - 300) : match.start()]
            cut = max(before.rfind(c) for c in ">\n.;:!?")
            label = clean_label(before[cut + 1 :].strip())
            start = match.start() - len(before) + cut + 1
            regions.extend(grouped(_numbers(match.group()), label, match.group()))
            markup.append(Markup(start, match.end(), _keep(before[cut + 1 :], regions)))
            last = match.end()
        return capped(regions, markup)

    def write(self, regions: Sequence[ModelRegion]) -> str:
        return "".join((r.label or "") + "".join(f"<loc_{int(v)}>" for v in r.values) for r in regions)


@dataclass(frozen=True)
class DoubleBracket(Syntax):
    """CogVLM: ``phrase [[x1,y1,x2,y2]]`` with three digits per value; boxes of one phrase joined by ``;``."""

    name: str = "cogvlm"

    _pattern = re.compile(r"\[\[(?P<inner>[\d\s.,;+-]{1,4000})\]\]")

    def read(self, text: str) -> Found:
        regions: list[ModelRegion] = []
        markup = []
        last = 0
        for match in self._pattern.finditer(text):
            label = _preceding_phrase(text, match.start(), last)
            for part in match.group("inner").split(";"):
                regions.extend(grouped(_numbers(part), label, part))
            markup.append(Markup(match.start(), match.end()))
            last = match.end()
        return capped(regions, markup)

    def write(self, regions: Sequence[ModelRegion]) -> str:
        return ", ".join(
            (f"{r.label} " if r.label else "") + "[[" + ",".join(f"{int(v):03d}" for v in r.values) + "]]"
            for r in regions
        )


@dataclass(frozen=True)
class BareList(Syntax):
    """LLaVA style: a bare ``[x1, y1, x2, y2]`` in the prose; the words before it are its label."""

    name: str = "bare-list"

    _pattern = re.compile(rf"\[\s*({NUMBER})\s*,\s*({NUMBER})\s*,\s*({NUMBER})\s*,\s*({NUMBER})\s*\]")

    def read(self, text: str) -> Found:
        regions, markup = [], []
        last = 0
        for match in self._pattern.finditer(text):
            label = _preceding_phrase(text, match.start(), last)
            regions.append(ModelRegion(tuple(float(v) for v in match.groups()), "box", label))
            markup.append(Markup(match.start(), match.end()))
            last = match.end()
        return capped(regions, markup)

    def write(self, regions: Sequence[ModelRegion]) -> str:
        return "; ".join(
            (f"{r.label} " if r.label else "") + "[" + ", ".join(format_number(v) for v in r.values) + "]"
            for r in regions
        )


KOSMOS_GRID = 32
"""Kosmos-2 splits the image into 32 × 32 cells; a box is (top-left cell, bottom-right cell)."""


def patch_index_to_box(first: int, last: int, grid: int = KOSMOS_GRID) -> tuple[float, float, float, float]:
    """Kosmos-2 cell pair → (x1, y1, x2, y2) in 0–1: cell centres, or cell edges when the cells share a row or column.

    The same rule as transformers' ``patch_index_to_coordinate``.
    """
    cell = 1.0 / grid
    ux, uy, lx, ly = first % grid, first // grid, last % grid, last // grid
    if first == last or ux == lx or uy == ly:
        return (ux * cell, uy * cell, lx * cell + cell, ly * cell + cell)
    return (ux * cell + cell / 2, uy * cell + cell / 2, lx * cell + cell / 2, ly * cell + cell / 2)


def box_to_patch_index(box: Sequence[float], grid: int = KOSMOS_GRID) -> tuple[int, int]:
    """(x1, y1, x2, y2) in 0–1 → Kosmos-2 (top-left, bottom-right) cell indices (transformers' rule)."""
    x1, y1, x2, y2 = (min(max(v, 0.0), 1.0) for v in box)
    ux, uy = min(math.floor(x1 * grid), grid - 1), min(math.floor(y1 * grid), grid - 1)
    lx, ly = max(math.ceil(x2 * grid - 1), 0), max(math.ceil(y2 * grid - 1), 0)
    return uy * grid + ux, ly * grid + lx


@dataclass(frozen=True)
class KosmosPatches(Syntax):
    """Kosmos-2: ``<phrase>hand</phrase><object><patch_index_0044><patch_index_0863></object>``.

    Reading returns (x1, y1, x2, y2) in 0–1 decoded from the cells; writing quantises 0–1 boxes to cells.
    """

    name: str = "kosmos2"

    _pattern = re.compile(
        r"(?:<phrase>(?P<label>[^<]{0,500})</phrase>\s*)?<object>(?P<inner>(?:\s*<patch_index_\d{4}>"
        r"|\s*</delimiter_of_multi_objects/>){1,200})\s*(?:</object>)?"
    )

    def read(self, text: str) -> Found:
        regions: list[ModelRegion] = []
        markup = []
        for match in self._pattern.finditer(text):
            label = clean_label(match.group("label"))
            for part in match.group("inner").split("</delimiter_of_multi_objects/>"):
                cells = [int(v) for v in re.findall(r"<patch_index_(\d{4})>", part)]
                if len(cells) != 2 or max(cells) >= KOSMOS_GRID**2:
                    regions.append(ModelRegion((), label=label, problem=f"not a pair of grid cells: {part[:80]!r}"))
                    continue
                regions.append(ModelRegion(patch_index_to_box(cells[0], cells[1]), "box", label))
            markup.append(Markup(match.start(), match.end(), _keep(match.group("label"), regions)))
        return capped(regions, markup)

    def write(self, regions: Sequence[ModelRegion]) -> str:
        parts = []
        for r in regions:
            first, last = box_to_patch_index(r.values)
            phrase = f"<phrase>{r.label}</phrase>" if r.label else ""
            parts.append(f"{phrase}<object><patch_index_{first:04d}><patch_index_{last:04d}></object>")
        return " ".join(parts)


@dataclass(frozen=True)
class MolmoPoints(Syntax):
    """Molmo: ``<point x="61.5" y="40.6" alt="hand">hand</point>`` and ``<points x1=.. y1=.. x2=..>``, percent."""

    name: str = "molmo"

    _pattern = re.compile(r"<(points?)\b(?P<attrs>[^<>]{0,4000})>(?P<label>[^<]{0,500})(?:</\1>)?")
    _attr = re.compile(r'(\w+)\s*=\s*"([^"]*)"')

    def read(self, text: str) -> Found:
        regions: list[ModelRegion] = []
        markup = []
        for match in self._pattern.finditer(text):
            attrs = dict(self._attr.findall(match.group("attrs")))
            label = clean_label(match.group("label").strip() or attrs.get("alt"))
            pairs = [(attrs.get("x"), attrs.get("y"))]
            i = 1
            while f"x{i}" in attrs and i <= MAX_ITEMS:
                pairs.append((attrs[f"x{i}"], attrs.get(f"y{i}")))
                i += 1
            for x, y in pairs:
                if x is None and y is None:
                    continue
                try:
                    regions.append(ModelRegion((float(x), float(y)), "point", label))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    regions.append(ModelRegion((), label=label, problem=f"point without numbers: x={x!r} y={y!r}"))
            markup.append(Markup(match.start(), match.end(), _keep(label, regions)))
        return capped(regions, markup)

    def write(self, regions: Sequence[ModelRegion]) -> str:
        parts = []
        for r in regions:
            label = r.label or ""
            x, y = (format_number(v) for v in r.values[:2])
            parts.append(f'<point x="{x}" y="{y}" alt="{label}">{label}</point>')
        return " ".join(parts)
