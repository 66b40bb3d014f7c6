"""Regions in JSON answers: which keys hold boxes, points, labels and scores, and the JSON-list syntax.

``{"regions": [{"bbox_2d": [1, 2, 3, 4], "label": "hand"}]}``, a bare list of such objects, named corner keys
(``x_min`` …, ``x``/``y``/``width``/``height``) and lists of numbers are all read. The JSON values themselves are
found by :mod:`grounddefake.json_recovery`.

A box written with more than 4 numbers costs none of its complete boxes (:func:`item_regions`): the 5th of 5 is the
region's score when it lies in [0, 1] (``[x1, y1, x2, y2, score]``), 8 numbers are two boxes, and a remainder is noted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from grounddefake.json_recovery import iter_json
from grounddefake.model_regions import (
    Found,
    Markup,
    ModelRegion,
    Syntax,
    capped,
    clean_label,
    format_number,
    grouped,
)

BOX_KEYS = ("box", "bbox", "bbox_2d", "box_2d", "coordinates", "bounding_box", "bndbox")
POINT_KEYS = ("point_2d", "point", "points")
REGION_LIST_KEYS = ("regions", "boxes", "bboxes", "artifacts", "objects", "detections", "areas", "points")
LABEL_KEYS = ("label", "description", "reason", "artifact", "name", "class_name", "category")
SCORE_KEYS = ("score", "confidence", "probability")
_XY_KEYS = (("x_min", "y_min", "x_max", "y_max"), ("xmin", "ymin", "xmax", "ymax"), ("x1", "y1", "x2", "y2"))


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


def read_items(items: Sequence[Any], axis_order: str = "xy") -> Found:
    """The regions of JSON region items, in order: the first :data:`~grounddefake.model_regions.MAX_ITEMS`, the rest
    counted as dropped."""
    return capped([region for item in items for region in item_regions(item, axis_order)])


def item_regions(item: Any, axis_order: str = "xy") -> list[ModelRegion]:
    """The regions of a JSON item: a mapping with a box or point key (or x_min/... keys), or a list of numbers.

    Named corner keys are explicit about their axes, so they are returned in ``axis_order``. A box of more than 4
    numbers keeps every complete box and notes the rest:

    - 5 numbers ``[x1, y1, x2, y2, s]``: the box, with ``s`` as its score when ``s`` lies in [0, 1] and the item
      has no score key; otherwise ``s`` is ignored. Either way a note says so.
    - 8 numbers: two boxes (noted: a quadrilateral is not read as one).
    - any other count: boxes of 4, and a problem item for the numbers left over.

    A box key holding a list of number lists (``[[x1, y1, x2, y2], [...]]``) is read list by list.

    >>> [(r.values, r.score, r.note) for r in item_regions({"box": [10, 20, 30, 40, 0.9]})]
    [((10.0, 20.0, 30.0, 40.0), 0.9, '5th number 0.9 read as its score')]
    >>> [r.values for r in item_regions({"bbox": [1, 2, 3, 4, 5, 6, 7, 8]})]
    [(1.0, 2.0, 3.0, 4.0), (5.0, 6.0, 7.0, 8.0)]
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
    where = json.dumps(item, default=str)[:80]
    if not isinstance(raw, (list, tuple)):
        return [ModelRegion((), label=label, score=score, problem=f"no box of 4 numbers in {where}")]
    lists = raw if raw and all(isinstance(v, (list, tuple)) for v in raw) else [raw]
    regions = []
    for numbers in lists:
        try:
            values = tuple(_number(v) for v in numbers)
        except (TypeError, ValueError):
            regions.append(ModelRegion((), label=label, score=score, problem=f"box values are not numbers: {where}"))
            continue
        if len(values) == 2 and kind == "box" and not isinstance(item, Mapping):
            regions.append(ModelRegion(values, "point", label, score))
        elif kind == "box" and len(values) > 4:
            regions.extend(_boxes(values, label, score, where))
        else:
            regions.append(ModelRegion(values, kind, label, score))
    return regions


def _boxes(values: tuple[float, ...], label: str | None, score: float | None, where: str) -> list[ModelRegion]:
    """More than 4 numbers of one box key as boxes (see :func:`item_regions`)."""
    if len(values) == 5:
        extra, text = values[4], format_number(values[4]) if math.isfinite(values[4]) else str(values[4])
        if score is None and 0 <= extra <= 1:
            return [ModelRegion(values[:4], "box", label, extra, note=f"5th number {text} read as its score")]
        why = "the region has a score" if score is not None else "not a score in 0–1"
        return [ModelRegion(values[:4], "box", label, score, note=f"5th number {text} ignored: {why}")]
    regions = grouped(values, label, where, score)
    if len(values) == 8:
        regions[0] = replace(regions[0], note="8 numbers read as 2 boxes of 4 (not as a quadrilateral)")
    return regions


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
                read = read_items(items)
                return Found(read.regions, (Markup(found.start, found.end),), read.dropped)
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
