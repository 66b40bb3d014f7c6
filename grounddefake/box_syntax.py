"""How boxes are written in text: JSON found anywhere in an answer, and each model family's native markup.

A syntax reads text into :class:`ModelRegion` values — numbers exactly as the model wrote them, in its own order
and scale — and writes such values back as text. It knows nothing about pixels: the convention
(:mod:`grounddefake.conventions`) says what the numbers mean. Readers never raise; an item that cannot be read
becomes a ModelRegion with a ``problem``, so one bad box never costs the others.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBERS = re.compile(NUMBER)
MAX_ITEMS = 1000
"""At most this many regions are read from one answer."""
MAX_LABEL = 200
"""Region labels are cut to this many characters."""

BOX_KEYS = ("box", "bbox", "bbox_2d", "box_2d", "coordinates", "bounding_box", "bndbox")
POINT_KEYS = ("point_2d", "point", "points")
REGION_LIST_KEYS = ("regions", "boxes", "bboxes", "artifacts", "objects", "detections", "areas", "points")
LABEL_KEYS = ("label", "description", "reason", "artifact", "name", "class_name", "category")
SCORE_KEYS = ("score", "confidence", "probability")
_XY_KEYS = (("x_min", "y_min", "x_max", "y_max"), ("xmin", "ymin", "xmax", "ymax"), ("x1", "y1", "x2", "y2"))


@dataclass(frozen=True)
class ModelRegion:
    """One region as the model wrote it.

    Attributes:
        values: the numbers in the model's order and scale: 4 for a box, 2 for a point.
        kind: ``box`` or ``point``.
        label: the model's label for the region, when it gave one.
        score: the model's confidence, when it gave one.
        problem: why this item cannot be used (then ``values`` may be empty).
    """

    values: tuple[float, ...]
    kind: Literal["box", "point"] = "box"
    label: str | None = None
    score: float | None = None
    problem: str | None = None


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


def clean_label(value: Any) -> str | None:
    """A region label as plain text of bounded length, or None."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())
    return text[:MAX_LABEL] or None


# ----------------------------------------------------------------------------------------------------------------
# JSON anywhere in the text


_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_OPEN = re.compile(r"[\[{]")
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)|[\[\]{},]', re.DOTALL)
_CLOSER = {"[": "]", "{": "}"}
MAX_FAILED_STARTS = 100
"""A text with more unreadable brackets than this stops being searched for JSON (bounds the work per answer)."""
TOLERANT_BUDGET = 400_000
"""At most this many characters per text go through the tolerant (slower) reader."""
MAX_LITERAL = 20_000
"""Python-literal answers (single quotes, True/None) longer than this are not evaluated."""
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


@dataclass(frozen=True)
class JsonValue:
    """A JSON object or array found in a text, where it was, and whether it had to be repaired."""

    value: Any
    start: int
    end: int
    repaired: bool = False


def iter_json(text: str) -> Iterator[JsonValue]:
    """Every JSON object or array in ``text`` in reading order; fenced blocks first, then bare values.

    Tolerates single quotes, trailing commas, Python literals and a truncated final value (cut to its last complete
    member and closed). Values nested in a yielded value are not yielded again.
    """
    fenced: list[tuple[int, int]] = []
    if "```" in text:
        for fence in _FENCE.finditer(text):
            for found in _iter_bare(text, fence.start(1), fence.end(1)):
                fenced.append((fence.start(), fence.end()))
                yield JsonValue(found.value, fence.start(), fence.end(), found.repaired)
                break
    pos = 0
    for start, end in [*fenced, (len(text), len(text))]:
        if pos < start:
            yield from _iter_bare(text, pos, start)
        pos = max(pos, end)


def _iter_bare(text: str, begin: int, stop: int) -> Iterator[JsonValue]:
    decoder = json.JSONDecoder()
    segment = text[begin:stop]
    pos, failed, repaired_once = 0, 0, False
    budget = TOLERANT_BUDGET
    while failed < MAX_FAILED_STARTS:
        match = _OPEN.search(segment, pos)
        if match is None:
            return
        i = match.start()
        try:
            value, end = decoder.raw_decode(segment, i)
        except (ValueError, RecursionError):  # JSONDecodeError, and integers past Python's digit limit
            value, end = None, i
        if isinstance(value, (dict, list)):
            yield JsonValue(value, begin + i, begin + end)
            pos = end
            continue
        end, ran_out = _balanced_end(segment, i)
        if end is not None and end - i <= budget:
            budget -= end - i
            value = loads_tolerant(segment[i:end])
            if isinstance(value, (dict, list)):
                yield JsonValue(value, begin + i, begin + end)
                pos = end
                continue
        elif ran_out and not repaired_once:
            repaired_once = True
            value = _repair_truncated(segment[i:])
            if isinstance(value, (dict, list)):
                yield JsonValue(value, begin + i, begin + len(segment), repaired=True)
                return
        failed += 1
        pos = i + 1


def loads_tolerant(body: str) -> Any:
    """``json.loads``, then without trailing commas, then as a Python literal (single quotes, True/None)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        pass
    no_commas = _TRAILING_COMMA.sub(r"\1", body)
    try:
        return json.loads(no_commas)
    except (ValueError, RecursionError):
        pass
    if len(no_commas) > MAX_LITERAL:
        return None
    try:
        value = ast.literal_eval(no_commas)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


def _balanced_end(text: str, start: int) -> tuple[int | None, bool]:
    """(end index of the bracket group opening at ``start``, whether the text ran out first).

    Double- and single-quoted strings are skipped. The scan gives up (None, False) past MAX_SCAN characters or
    MAX_DEPTH levels of nesting, so a flood of brackets costs little.
    """
    depth = 0
    for token in _BALANCE_TOKENS.finditer(text, start, min(len(text), start + MAX_SCAN)):
        kind = token.group()
        if kind in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return None, False
        elif kind in "]}":
            depth -= 1
            if depth == 0:
                return token.end(), False
    return None, start + MAX_SCAN >= len(text)


MAX_SCAN = 50_000
MAX_DEPTH = 64
_BALANCE_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)|\'(?:[^\'\\\n]|\\.)*\'|[\[\]{}]', re.DOTALL)


def _repair_truncated(text: str) -> Any:
    """Close a truncated JSON value at its last complete member; None when nothing complete is left."""
    stack: list[str] = []
    cuts: list[tuple[int, str]] = []
    for token in _TOKENS.finditer(text):
        kind = token.group()
        if kind in "[{":
            stack.append(_CLOSER[kind])
        elif kind in "]}":
            if not stack:
                return None
            stack.pop()
            if stack:
                cuts.append((token.end(), "".join(reversed(stack))))
        elif kind == "," and stack and stack[-1] == "}":
            cuts.append((token.start(), "".join(reversed(stack))))
    for cut, closers in reversed(cuts[-8:]):
        value = loads_tolerant(text[:cut].rstrip().rstrip(",") + closers)
        if isinstance(value, (dict, list)):
            return value
    return None


def first_key(data: Mapping[Any, Any], keys: Sequence[str]) -> Any:
    """The value of the first of ``keys`` present in ``data`` (keys compared case-insensitively)."""
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        if key in lowered:
            return lowered[key]
    return None


def region_items(value: Any) -> list[Any] | None:
    """The region items a JSON value holds (possibly ``[]``), or None when it says nothing about regions.

    A regions key holding one object counts as one region; an object with a box or point key is itself a region;
    a list of such objects or of number lists is a list of regions.
    """
    if isinstance(value, Mapping):
        found = first_key(value, REGION_LIST_KEYS)
        if found is not None:
            return found if isinstance(found, list) else [found]
        if is_region(value):
            return [value]
        for nested in value.values():
            if isinstance(nested, Mapping):
                inner = region_items(nested)
                if inner is not None:
                    return inner
        return None
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value) and any(map(is_region, value)):
        return value
    return None


def is_region(item: Mapping[Any, Any]) -> bool:
    """Whether a JSON object is itself a region (it has a box or point key, or named corner keys)."""
    keys = {str(k).lower() for k in item}
    named = (*_XY_KEYS, ("x", "y", "width", "height"), ("x", "y", "w", "h"))
    return bool(keys & {*BOX_KEYS, *POINT_KEYS}) or any(set(names) <= keys for names in named)


def json_region(item: Any, axis_order: str = "xy") -> ModelRegion:
    """A region from a JSON item: a mapping with a box or point key (or x_min/... keys), or a list of numbers.

    Named corner keys are explicit about their axes, so they are returned in ``axis_order``.
    """
    label = score = None
    raw: Any = item
    kind: Literal["box", "point"] = "box"
    if isinstance(item, Mapping):
        label = clean_label(first_key(item, LABEL_KEYS))
        found_score = first_key(item, SCORE_KEYS)
        if isinstance(found_score, (int, float)) and not isinstance(found_score, bool):
            try:
                score = float(found_score)
            except OverflowError:
                score = math.inf
        raw = first_key(item, BOX_KEYS)
        if raw is None:
            raw = first_key(item, POINT_KEYS)
            kind = "point"
        if raw is None or isinstance(raw, Mapping):
            corners = raw if isinstance(raw, Mapping) else item
            raw, kind = _named_corners(corners, axis_order), "box"
            if raw is None:
                raw, kind = _named_point(corners, axis_order), "point"
    if isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], list):
        raw = raw[0]
    where = json.dumps(item, default=str)[:80]
    if not isinstance(raw, (list, tuple)):
        return ModelRegion((), label=label, score=score, problem=f"no box of 4 numbers in {where}")
    try:
        values = tuple(_number(v) for v in raw)
    except (TypeError, ValueError):
        return ModelRegion((), label=label, score=score, problem=f"box values are not numbers: {where}")
    if len(values) == 2 and kind == "box" and not isinstance(item, Mapping):
        kind = "point"
    return ModelRegion(values, kind, label, score)


def _named_corners(item: Mapping[Any, Any], axis_order: str) -> list[Any] | None:
    lowered = {str(k).lower(): v for k, v in item.items()}
    for names in _XY_KEYS:
        if all(n in lowered for n in names):
            x1, y1, x2, y2 = (lowered[n] for n in names)
            return [y1, x1, y2, x2] if axis_order == "yx" else [x1, y1, x2, y2]
    for w, h in (("width", "height"), ("w", "h")):
        if all(n in lowered for n in ("x", "y", w, h)):
            try:
                x1, y1 = _number(lowered["x"]), _number(lowered["y"])
                x2, y2 = x1 + _number(lowered[w]), y1 + _number(lowered[h])
            except (TypeError, ValueError):
                return [lowered["x"], lowered["y"], lowered[w], lowered[h]]  # reported as not numbers
            return [y1, x1, y2, x2] if axis_order == "yx" else [x1, y1, x2, y2]
    return None


def _named_point(item: Mapping[Any, Any], axis_order: str) -> list[Any] | None:
    """``{"x": .., "y": ..}`` (Moondream's points) in ``axis_order``."""
    lowered = {str(k).lower(): v for k, v in item.items()}
    if "x" in lowered and "y" in lowered:
        return [lowered["y"], lowered["x"]] if axis_order == "yx" else [lowered["x"], lowered["y"]]
    return None


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise TypeError("not a number")
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float: reported as not finite
        return math.inf


# ----------------------------------------------------------------------------------------------------------------
# Native syntaxes


def format_number(value: float) -> str:
    """Integers without a decimal point, other values with up to 4 significant decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _numbers(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in _NUMBERS.findall(text))


def _grouped(numbers: Sequence[float], label: str | None, where: str) -> list[ModelRegion]:
    """Numbers in groups of 4 (boxes); anything else (a truncated box) is one problem item."""
    if numbers and len(numbers) % 4 == 0:
        return [ModelRegion(tuple(numbers[i : i + 4]), "box", label) for i in range(0, len(numbers), 4)]
    return [ModelRegion((), label=label, problem=f"{len(numbers)} numbers in {where[:80]!r}, not boxes of 4")]


def _preceding_phrase(text: str, start: int, floor: int) -> str | None:
    """The words right before ``start`` (back to a sentence or clause break, or ``floor``), as a label."""
    before = text[max(floor, start - 120) : start]
    phrase = re.split(r"[.;:,!?\n\]>)]", before)[-1].strip(" \t\"'*`-")
    return clean_label(phrase) if 0 < len(phrase) <= 80 else None


class Syntax:
    """Base of the text syntaxes. ``json`` syntaxes are read by the JSON-anywhere reader."""

    name = ""
    json = False

    def read(self, text: str) -> Found:
        raise NotImplementedError

    def write(self, regions: Sequence[ModelRegion]) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class JsonList(Syntax):
    """A JSON list of objects: ``[{"bbox_2d": [x1, y1, x2, y2], "label": "hand"}]``."""

    box_key: str = "box"
    point_key: str = "point"
    name: str = "json"
    json: bool = True

    def read(self, text: str) -> Found:
        for found in iter_json(text):
            items = region_items(found.value)
            if items is not None:
                regions = tuple(json_region(item) for item in items[:MAX_ITEMS])
                return Found(regions, (Markup(found.start, found.end),))
        return Found()

    def write(self, regions: Sequence[ModelRegion]) -> str:
        items = []
        for region in regions:
            key = self.point_key if region.kind == "point" else self.box_key
            item: dict[str, Any] = {key: [_json_number(v) for v in region.values]}
            if region.label is not None:
                item["label"] = region.label
            if region.score is not None:
                item["score"] = round(region.score, 3)
            items.append(item)
        return json.dumps(items, ensure_ascii=False)


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(format_number(value))


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
            regions.extend(_grouped(_numbers(match.group("inner")), label, match.group()))
            markup.append(Markup(match.start(), match.end(), (match.group("label") or "") if tagged else ""))
            if len(regions) >= MAX_ITEMS:
                break
        return Found(tuple(regions[:MAX_ITEMS]), tuple(markup))

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
            regions.extend(_grouped(_numbers(match.group(1)), label, match.group(1)))
            markup.append(Markup(match.start(), match.end(), label or ""))
        return Found(tuple(regions[:MAX_ITEMS]), tuple(markup))

    def write(self, regions: Sequence[ModelRegion]) -> str:
        return " ; ".join(
            "".join(f"<loc{int(v):04d}>" for v in r.values) + (f" {r.label}" if r.label else "") for r in regions
        )


@dataclass(frozen=True)
class Florence(Syntax):
    """Florence-2: the label, then ``<loc_x1><loc_y1><loc_x2><loc_y2>`` (bins 0–999); several boxes may follow."""

    name: str = "florence2"

    _pattern = re.compile(r"(?:<loc_\d{1,4}>){4,}")

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
            regions.extend(_grouped(_numbers(match.group()), label, match.group()))
            markup.append(Markup(start, match.end(), before[cut + 1 :]))
            last = match.end()
        return Found(tuple(regions[:MAX_ITEMS]), tuple(markup))

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
                regions.extend(_grouped(_numbers(part), label, part))
            markup.append(Markup(match.start(), match.end()))
            last = match.end()
        return Found(tuple(regions[:MAX_ITEMS]), tuple(markup))

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
        return Found(tuple(regions[:MAX_ITEMS]), tuple(markup))

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
            markup.append(Markup(match.start(), match.end(), match.group("label") or ""))
        return Found(tuple(regions[:MAX_ITEMS]), tuple(markup))

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
            markup.append(Markup(match.start(), match.end(), label or ""))
        return Found(tuple(regions[:MAX_ITEMS]), tuple(markup))

    def write(self, regions: Sequence[ModelRegion]) -> str:
        parts = []
        for r in regions:
            label = r.label or ""
            x, y = (format_number(v) for v in r.values[:2])
            parts.append(f'<point x="{x}" y="{y}" alt="{label}">{label}</point>')
        return " ".join(parts)
