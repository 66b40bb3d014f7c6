"""The box convention value: what a model's box numbers mean, and the exact maps between them and pixels.

A convention is declared, never guessed from magnitudes. Each one is a small declarative object: the text syntax,
the coordinate space (pixels or normalised to a scale), the axis order, the quantisation and the *reference image*
the numbers are relative to. Grounding is one chain of exact maps:

    model numbers ──(space, scale, axes)──▶ pixels of the reference image ──(reference)──▶ pixels of the image sent
                  ──(the image's Transform)──▶ pixels of the original image ──(sanitise)──▶ Region

The reference image is the image sent (``input``), LLaVA-1.5's mean-padded square (``square-pad``) or Qwen2.5-VL's
smart-resized grid (``smart-resize``, :func:`grounddefake.images.smart_resize`). The registered conventions, one per
model family, are the table in :mod:`grounddefake.conventions`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from grounddefake.grounding import clip_box
from grounddefake.images import QWEN_MAX_PIXELS, QWEN_MAX_RATIO, QWEN_PATCH_FACTOR, smart_resize
from grounddefake.json_recovery import iter_json
from grounddefake.json_regions import read_items, region_items
from grounddefake.model_regions import MAX_ITEMS, MAX_LABEL, Found, ModelRegion, Syntax, dropped_note
from grounddefake.native_syntaxes import MolmoPoints
from grounddefake.types import Box, Region, Size, Transform

MIN_EXTENT = 0.01
"""Boxes narrower or lower than this many pixels are dropped as empty (records keep 3 decimals)."""
POINT_BOX_FRACTION = 0.05
"""A point becomes a square region of this fraction of the image's shorter side, centred on the point."""


Reference = Literal["input", "square-pad", "smart-resize"]
Binning = Literal["round", "floor", "floor-centre", "none"]


@dataclass(frozen=True)
class Convention:
    """A declarative box convention.

    Attributes:
        name: registry key (``qwen2.5-vl``).
        description: one line for ``grounddefake conventions`` and the docs.
        families: the model families that answer this way.
        syntax: how boxes are written (used by ``format``, and read after JSON).
        space: ``pixel`` (pixels of the reference image) or ``normalized`` (fractions × ``scale``).
        scale: the normalisation: 1, 100, 999, 1000, 1024; ignored for ``pixel``.
        axis_order: ``xy`` for (x1, y1, x2, y2) and (x, y); ``yx`` for (y1, x1, y2, x2) and (y, x).
        reference: the image the numbers refer to: the image sent (``input``), its mean-padded square
            (``square-pad``, LLaVA-1.5) or its smart-resized grid (``smart-resize``, Qwen2.5-VL).
        resolution: the step between values the model writes, in model units (1 for integers, 0.01 for 2 decimals).
        binning: ``round`` to the nearest step; ``floor`` into bins read at their start (PaliGemma) or at their
            centre (``floor-centre``, Florence-2); ``none`` when the syntax itself quantises (Kosmos-2 cells).
        max_value: the largest value the model writes (999 for 000–999 bins), or None.
        also: further syntaxes the family is known to use, read when JSON and ``syntax`` find nothing.
        models: regular expressions (case-insensitive, searched) for the model names of the family, such as
            ``Qwen/Qwen2.5-VL-7B-Instruct`` or Ollama's ``qwen2.5vl:7b``: how presets and local models find it.
        max_pixels: the ``smart-resize`` area limit of the server (Qwen2.5-VL's own config by default; about
            1 MP for transformers without a config, the cookbook and Ollama). ``qwen2.5-vl@1003520`` names it.
    """

    name: str
    description: str
    families: tuple[str, ...]
    syntax: Syntax
    space: Literal["pixel", "normalized"]
    scale: float = 1.0
    axis_order: Literal["xy", "yx"] = "xy"
    reference: Reference = "input"
    resolution: float = 1.0
    binning: Binning = "round"
    max_value: float | None = None
    also: tuple[Syntax, ...] = ()
    models: tuple[str, ...] = ()
    max_pixels: int = QWEN_MAX_PIXELS

    # -- geometry ---------------------------------------------------------------------------------------------

    def reference_transform(self, input_size: Size) -> Transform:
        """How pixels of the image sent (``input_size``) relate to pixels of the reference image."""
        size = (int(input_size[0]), int(input_size[1]))
        if self.reference == "square-pad":
            return Transform.pad_to_square(size)
        if self.reference == "smart-resize":
            try:
                return Transform.resize(size, smart_resize(size, max_pixels=self.max_pixels))
            except ValueError:
                return Transform.identity(size)  # Qwen refuses such an image: there is no answer to map
        return Transform.identity(size)

    def _to_canvas(self, value: float, extent: int) -> float:
        if self.binning == "floor-centre":
            value += self.resolution / 2
        return value if self.space == "pixel" else value / self.scale * extent

    def _from_canvas(self, value: float, extent: int) -> float:
        return value if self.space == "pixel" else value / extent * self.scale

    def box_to_input(self, values: Sequence[float], input_size: Size) -> Box:
        """Model numbers of a box (4, in this convention's order) → (x1, y1, x2, y2) in pixels of the image sent."""
        a, b, c, d = (float(v) for v in values)
        x1, y1, x2, y2 = (b, a, d, c) if self.axis_order == "yx" else (a, b, c, d)
        reference = self.reference_transform(input_size)
        cw, ch = reference.input_size
        canvas = (self._to_canvas(x1, cw), self._to_canvas(y1, ch), self._to_canvas(x2, cw), self._to_canvas(y2, ch))
        return reference.box_to_original(canvas)

    def point_to_input(self, values: Sequence[float], input_size: Size) -> tuple[float, float]:
        """Model numbers of a point (2, in this convention's order) → (x, y) in pixels of the image sent."""
        a, b = (float(v) for v in values)
        x, y = (b, a) if self.axis_order == "yx" else (a, b)
        reference = self.reference_transform(input_size)
        cw, ch = reference.input_size
        return reference.point_to_original((self._to_canvas(x, cw), self._to_canvas(y, ch)))

    def box_from_input(self, box: Box, input_size: Size) -> tuple[float, ...]:
        """(x1, y1, x2, y2) in pixels of the image sent → the model numbers, quantised as the model writes them."""
        reference = self.reference_transform(input_size)
        cw, ch = reference.input_size
        x1, y1, x2, y2 = reference.box_to_input(box)
        xy = (
            self._from_canvas(x1, cw),
            self._from_canvas(y1, ch),
            self._from_canvas(x2, cw),
            self._from_canvas(y2, ch),
        )
        ordered = (xy[1], xy[0], xy[3], xy[2]) if self.axis_order == "yx" else xy
        return tuple(self._quantise(v) for v in ordered)

    def point_from_input(self, point: tuple[float, float], input_size: Size) -> tuple[float, ...]:
        """(x, y) in pixels of the image sent → the model numbers of a point."""
        reference = self.reference_transform(input_size)
        cw, ch = reference.input_size
        (sx, sy), (ox, oy) = reference.scale, reference.offset
        x, y = point[0] * sx + ox, point[1] * sy + oy
        xy = (self._from_canvas(x, cw), self._from_canvas(y, ch))
        ordered = (xy[1], xy[0]) if self.axis_order == "yx" else xy
        return tuple(self._quantise(v) for v in ordered)

    def _quantise(self, value: float) -> float:
        if self.binning == "none":
            return value
        steps = value / self.resolution
        steps = math.floor(steps) if self.binning in ("floor", "floor-centre") else round(steps)
        quantised = round(steps * self.resolution, 6)
        if self.max_value is not None:
            quantised = min(quantised, self.max_value)
        return max(quantised, 0.0)

    def step(self, input_size: Size) -> tuple[float, float]:
        """The (x, y) distance in pixels of the image sent between two values the model can write."""
        reference = self.reference_transform(input_size)
        cw, ch = reference.input_size
        sx, sy = reference.scale
        if self.space == "pixel":
            return (self.resolution / sx, self.resolution / sy)
        return (self.resolution / self.scale * cw / sx, self.resolution / self.scale * ch / sy)

    # -- text -------------------------------------------------------------------------------------------------

    def read_native(self, text: str) -> Found:
        """Regions in this family's own markup: ``syntax`` first, then each of ``also``."""
        for syntax in (self.syntax, *self.also):
            if syntax.json:
                continue
            found = syntax.read(text)
            if found.regions:
                return found
        return Found()

    def parse(self, text: str) -> list[ModelRegion]:
        """Text → regions in model space: the first JSON value holding regions, else the native markup.

        >>> from grounddefake.conventions import get_convention
        >>> (region,) = get_convention("paligemma").parse("<loc0256><loc0102><loc0768><loc0512> hand")
        >>> region.values, region.kind, region.label
        ((256.0, 102.0, 768.0, 512.0), 'box', 'hand')
        """
        for found in iter_json(text):
            items = region_items(found.value)
            if items is not None:
                return list(read_items(items, self.axis_order).regions)
        return list(self.read_native(text).regions)

    def format(self, regions: Sequence[Region], image_size: Size, input_size: Size | None = None) -> str:
        """Regions in original pixels → the text a model of this family writes (few-shot examples, training data).

        ``input_size`` is the (w, h) of the image the model sees (default: the original).

        >>> from grounddefake.conventions import get_convention
        >>> hand = Region((64, 120, 320, 360), label="hand")
        >>> get_convention("paligemma").format([hand], (640, 480))
        '<loc0256><loc0102><loc0768><loc0512> hand'
        >>> get_convention("qwen2-vl").format([hand], (640, 480))
        '<|object_ref_start|>hand<|object_ref_end|><|box_start|>(100,250),(500,750)<|box_end|>'
        """
        transform = Transform.identity(image_size) if input_size is None else Transform.resize(image_size, input_size)
        return self.format_input([_region_to_input(r, transform) for r in regions], transform.input_size)

    def format_input(self, regions: Sequence[Region], input_size: Size) -> str:
        """:meth:`format` for regions already in pixels of the image sent."""
        points_only = isinstance(self.syntax, MolmoPoints)
        model = []
        for region in regions:
            if points_only or (region.point is not None and self.writes_points):
                point = region.point or _centre(region.box)
                model.append(ModelRegion(self.point_from_input(point, input_size), "point", region.label, region.score))
            else:
                model.append(
                    ModelRegion(self.box_from_input(region.box, input_size), "box", region.label, region.score)
                )
        return self.syntax.write(model)

    @property
    def writes_points(self) -> bool:
        """Whether the syntax has a point form (JSON point keys, Molmo's ``<point>``)."""
        return self.syntax.json or isinstance(self.syntax, MolmoPoints)

    def example(self, size: Size = (640, 480)) -> str:
        """One answer in this convention: a "fused fingers" region at the same place in an image of ``size``
        (by default 640×480, where it is the box (64, 120, 320, 360))."""
        (w, h), (ew, eh) = size, EXAMPLE_SIZE
        x1, y1, x2, y2 = EXAMPLE_REGION.box
        region = Region((x1 / ew * w, y1 / eh * h, x2 / ew * w, y2 / eh * h), label=EXAMPLE_REGION.label)
        return self.format([region], size)

    # -- grounding --------------------------------------------------------------------------------------------

    def _reference_notes(self, input_size: Size) -> list[str]:
        if self.reference == "smart-resize" and max(input_size) / max(min(input_size), 1) > QWEN_MAX_RATIO:
            return [f"Qwen's processor refuses an aspect ratio above {QWEN_MAX_RATIO}: boxes read in the image sent"]
        return []

    def snap_note(self, input_size: Size) -> str | None:
        """An informational note when the reference image is not ``input_size`` itself (Qwen's 28-px grid).

        ``input_size`` means the image that was sent; a caller who passes the model's own coordinate space
        (supervision's ``input_wh``) learns from the note that it was resized again.

        >>> from grounddefake.conventions import get_convention
        >>> get_convention("qwen2.5-vl").snap_note((640, 480))
        "input size 640x480 snapped to Qwen's 28-px grid: 644x476, the size the model saw"
        >>> get_convention("qwen2.5-vl").snap_note((644, 476)) is None
        True
        """
        if self.reference != "smart-resize" or self._reference_notes(input_size):
            return None
        seen = self.reference_transform(input_size).input_size
        if tuple(seen) == tuple(input_size):
            return None
        (w, h), (sw, sh) = input_size, seen
        return f"input size {w}x{h} snapped to Qwen's {QWEN_PATCH_FACTOR}-px grid: {sw}x{sh}, the size the model saw"

    def _scale_notes(self, regions: Sequence[ModelRegion]) -> list[str]:
        """A warning (not a reinterpretation) when every number is a fraction under a 0–100+ convention."""
        values = [v for r in regions if r.problem is None for v in r.values if math.isfinite(v)]
        fractions = values and all(abs(v) <= 1 for v in values) and not all(float(v).is_integer() for v in values)
        if self.space == "normalized" and self.scale >= 100 and fractions:
            return [
                f"every number is within 0–1 under the 0–{self.scale:g} convention '{self.name}': the model "
                "may be answering in 0–1 (InternVL3.5 does); read as declared, prompt for the declared range"
            ]
        return []

    def ground(self, regions: Sequence[ModelRegion], transform: Transform) -> tuple[list[Region], list[str]]:
        """Model-space regions → Regions in original pixels, with one note per fix or dropped item.

        >>> from grounddefake.conventions import get_convention
        >>> norm1000 = get_convention("norm1000")
        >>> regions, notes = norm1000.ground(norm1000.parse('[{"box": [100, 250, 500, 750]}]'),
        ...                                  Transform.identity((640, 480)))
        >>> regions[0].box, notes
        ((64.0, 120.0, 320.0, 360.0), [])
        >>> regions, notes = norm1000.ground(norm1000.parse('[{"box": [100, 250, 1200, 750]}]'),
        ...                                  Transform.identity((640, 480)))
        >>> regions[0].box, notes
        ((64.0, 120.0, 640, 360.0), ['region 0: box (64, 120, 768, 360): clipped to the image 640x480'])
        """
        grounded: list[Region] = []
        notes: list[str] = self._reference_notes(transform.input_size) if regions else []
        width, height = transform.original_size
        if len(regions) > MAX_ITEMS:
            notes.append(dropped_note(len(regions) - MAX_ITEMS))
        for i, item in enumerate(regions[:MAX_ITEMS]):
            if item.problem is not None:
                notes.append(f"region {i}: {item.problem}")
                continue
            if item.note is not None:
                notes.append(f"region {i}: {item.note}")
            need = 2 if item.kind == "point" else 4
            if len(item.values) != need:
                notes.append(f"region {i}: a {item.kind} needs {need} numbers, got {len(item.values)}")
                continue
            if not all(math.isfinite(v) for v in item.values):
                notes.append(f"region {i}: {item.kind} values are not finite")
                continue
            point = None
            if item.kind == "point":
                point = transform.point_to_original(self.point_to_input(item.values, transform.input_size))
                if not (0 <= point[0] <= width and 0 <= point[1] <= height):
                    notes.append(f"region {i}: point {_fmt(point)} lies outside the image {width}x{height}; dropped")
                    continue
                half = max(POINT_BOX_FRACTION * min(width, height) / 2, 0.5)
                box, fixes = sanitize_box(
                    (point[0] - half, point[1] - half, point[0] + half, point[1] + half), (width, height)
                )
                fixes = [f for f in fixes if "dropped" in f]
            else:
                box, fixes = sanitize_box(
                    transform.box_to_original(self.box_to_input(item.values, transform.input_size)), (width, height)
                )
            notes.extend(f"region {i}: {fix}" for fix in fixes)
            if box is None:
                continue
            score = item.score
            if score is not None and not math.isfinite(score):
                notes.append(f"region {i}: score {score} is not a finite number; dropped the score")
                score = None
            label = None if item.label is None else item.label[:MAX_LABEL]
            grounded.append(
                Region(box, label=label, score=None if score is None else min(max(score, 0.0), 1.0), point=point)
            )
        return grounded, notes + self._scale_notes(regions)


EXAMPLE_SIZE: Size = (640, 480)
EXAMPLE_REGION = Region((64.0, 120.0, 320.0, 360.0), label="fused fingers")


def _centre(box: Box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def _region_to_input(region: Region, transform: Transform) -> Region:
    (sx, sy), (ox, oy) = transform.scale, transform.offset
    point = None if region.point is None else (region.point[0] * sx + ox, region.point[1] * sy + oy)
    return Region(transform.box_to_input(region.box), label=region.label, score=region.score, point=point)


def sanitize_box(box: Sequence[float], size: Size) -> tuple[Box | None, list[str]]:
    """Reorder corners, clip to the image, drop empty boxes. Returns (box or None, the reason for each fix)."""
    notes = []
    x1, y1, x2, y2 = box
    if x1 > x2 or y1 > y2:
        notes.append(f"box {_fmt(box)}: corners reordered")
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
    clipped = clip_box((x1, y1, x2, y2), size)
    if clipped != (x1, y1, x2, y2):
        notes.append(f"box {_fmt((x1, y1, x2, y2))}: clipped to the image {size[0]}x{size[1]}")
    if not (clipped[2] - clipped[0] >= MIN_EXTENT and clipped[3] - clipped[1] >= MIN_EXTENT):
        notes.append(f"box {_fmt((x1, y1, x2, y2))}: dropped, no area inside the image")
        return None, notes
    return clipped, notes


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"
