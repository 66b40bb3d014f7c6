"""The values that flow through one pass of grounddefake: dataset sample, prepared image, completion (``Verdict``
has a module of its own; ``docs/ARCHITECTURE.md`` draws the pass).

Every stage takes and returns these frozen dataclasses, so each stage can be tested and swapped alone.
Coordinates are floats in pixels; ``size`` tuples are always ``(width, height)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

Box = tuple[float, float, float, float]
"""(x1, y1, x2, y2) in pixels."""
Size = tuple[int, int]
"""(width, height) in pixels."""
Label = str
"""A label of the task's label space ("real" / "fake" by default, "safe" / "unsafe", ...; see ``label_space``)."""
VerdictLabel = str
"""A label of the task's space, or "unknown" (no answer)."""


@dataclass(frozen=True)
class Region:
    """A suspicious region in pixels of the image as displayed (EXIF orientation applied).

    Attributes:
        box: (x1, y1, x2, y2) with x2 > x1 and y2 > y1.
        polygon: optional outline, ((x, y), ...), at least 3 points; the box is then its bounding box.
        label: what the region shows ("fused fingers"), as written by the annotator or the model.
        score: confidence in [0, 1] when known.
        point: (x, y) when the model pointed rather than drew a box; the box is then a small square around it
            (``conventions.POINT_BOX_FRACTION``).

    >>> hand = Region((10, 20, 110, 70), label="hand", score=0.9)
    >>> hand.box, hand.label
    ((10, 20, 110, 70), 'hand')
    >>> Region.from_json(hand.to_json()) == Region((10.0, 20.0, 110.0, 70.0), label="hand", score=0.9)
    True
    """

    box: Box
    polygon: tuple[tuple[float, float], ...] | None = None
    label: str | None = None
    score: float | None = None
    point: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """The region as JSON data: coordinates to 3 decimals, the score to 4; absent fields left out.

        >>> Region((10, 20.12345, 110, 70), label="hand", score=0.9).to_json()
        {'box': [10.0, 20.123, 110.0, 70.0], 'label': 'hand', 'score': 0.9}
        """
        out: dict[str, Any] = {"box": [round(float(v), 3) for v in self.box]}
        if self.polygon is not None:
            out["polygon"] = [[round(float(x), 3), round(float(y), 3)] for x, y in self.polygon]
        if self.label is not None:
            out["label"] = self.label
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        if self.point is not None:
            out["point"] = [round(float(self.point[0]), 3), round(float(self.point[1]), 3)]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], point_extent: float | None = None) -> Region:
        """Read ``{"box": [...]}``, ``{"polygon": [[x, y], ...]}`` (the box is derived from it) or, with
        ``point_extent``, ``{"point": [x, y]}`` alone (the box is a square of that side around it).

        >>> Region.from_json({"box": [10, 20, 110, 70], "label": "hand"}).box
        (10.0, 20.0, 110.0, 70.0)
        >>> Region.from_json({"polygon": [[0, 0], [40, 0], [20, 30]]}).box
        (0.0, 0.0, 40.0, 30.0)
        >>> Region.from_json({"point": [50, 50]}, point_extent=10).box
        (45.0, 45.0, 55.0, 55.0)
        >>> Region.from_json({"box": [5, 5, 5, 9]})
        Traceback (most recent call last):
        ValueError: box [5.0, 5.0, 5.0, 9.0] has no area (need x2 > x1 and y2 > y1)

        Raises:
            ValueError: a malformed or non-finite coordinate, a box without area, a score that is not a number in
                [0, 1].
        """
        import math

        def numbers(values: Any, count: int, what: str) -> list[float]:
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != count:
                raise ValueError(f"'{what}' needs {count} numbers, got {values!r:.80}")
            out = [float(v) for v in values]
            if not all(math.isfinite(v) for v in out):
                raise ValueError(f"'{what}' has a non-finite value: {values!r:.80}")
            return out

        polygon = data.get("polygon")
        poly: tuple[tuple[float, float], ...] | None = None
        if polygon is not None:
            poly = tuple(tuple(numbers(p, 2, "polygon point")) for p in polygon)  # type: ignore[misc]
            if len(poly) < 3:
                raise ValueError("a polygon needs at least 3 points")
        point = data.get("point")
        pt = None if point is None else tuple(numbers(point, 2, "point"))
        if data.get("box") is not None:
            x1, y1, x2, y2 = numbers(data["box"], 4, "box")
        elif poly is not None:
            xs, ys = [p[0] for p in poly], [p[1] for p in poly]
            x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
        elif pt is not None and point_extent is not None:
            half = max(point_extent / 2, 0.5)
            x1, y1, x2, y2 = pt[0] - half, pt[1] - half, pt[0] + half, pt[1] + half
        else:
            raise ValueError("a region needs a 'box', a 'polygon' or a 'point'")
        if not (x2 > x1 and y2 > y1):
            raise ValueError(f"box {[x1, y1, x2, y2]} has no area (need x2 > x1 and y2 > y1)")
        score = data.get("score")
        valid_score = isinstance(score, (int, float)) and not isinstance(score, bool) and 0 <= float(score) <= 1
        if score is not None and not valid_score:
            raise ValueError(f"score {score!r:.40} is not a number in [0, 1]")
        label = data.get("label")
        return cls(
            box=(x1, y1, x2, y2),
            polygon=poly,
            label=None if label is None else str(label),
            score=None if score is None else float(score),
            point=pt,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Sample:
    """One ground-truth item of a dataset.

    Attributes:
        id: unique within the dataset.
        image: path of the image file.
        label: a label of the task ("real", "fake", "safe", "unsafe", ...), or None when unknown.
        regions: ground-truth regions in pixels of the displayed image.
        mask: path of a binary mask PNG (non-zero = manipulated), same size as the image.
        heatmap: path of a grey-level heatmap PNG.
        meta: free metadata (generator, subtype, ...).
        rules: per-rule truth of a rule task, ``{"R1": True, "R2": False}``; a rule left out is unknown.
    """

    id: str
    image: Path
    label: Label | None
    regions: tuple[Region, ...] = ()
    mask: Path | None = None
    heatmap: Path | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    rules: Mapping[str, bool] = field(default_factory=dict)

    @property
    def has_localization(self) -> bool:
        return bool(self.regions) or self.mask is not None


@dataclass(frozen=True)
class Transform:
    """How the pixels sent to a model relate to the original image.

    ``input = original * scale + offset`` per axis: the original (W, H) image was resized by ``scale`` and then
    placed at ``offset`` (padding) inside an ``input_size`` canvas.

    Attributes:
        original_size: (W, H) of the original, displayed image.
        input_size: (w, h) of the image the model saw.
        scale: (sx, sy) resize factors, input pixels per original pixel.
        offset: (ox, oy) padding in input pixels.

    >>> half = Transform.resize((1920, 1080), (960, 540))
    >>> half.scale
    (0.5, 0.5)
    >>> half.box_to_original((100, 50, 200, 150))  # a box the model drew on the half-size image
    (200.0, 100.0, 400.0, 300.0)
    """

    original_size: Size
    input_size: Size
    scale: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def identity(cls, size: Size) -> Transform:
        """The image was sent as it is.

        >>> Transform.identity((64, 48)).box_to_original((1, 2, 3, 4))
        (1.0, 2.0, 3.0, 4.0)
        """
        return cls(original_size=size, input_size=size)

    @classmethod
    def resize(cls, original_size: Size, input_size: Size) -> Transform:
        """A plain resize of ``original_size`` to ``input_size`` (each axis scaled separately).

        >>> Transform.resize((640, 480), (644, 476)).input_size
        (644, 476)
        """
        (w0, h0), (w1, h1) = original_size, input_size
        return cls(original_size, input_size, (w1 / w0, h1 / h0))

    @classmethod
    def pad_to_square(cls, original_size: Size) -> Transform:
        """Centre the image on a square canvas of side max(W, H) (LLaVA-1.5 ``expand2square``).

        >>> square = Transform.pad_to_square((640, 480))
        >>> square.input_size, square.offset
        ((640, 640), (0.0, 80.0))
        >>> square.box_to_original((0, 80, 640, 560))  # the whole canvas minus the padding
        (0.0, 0.0, 640.0, 480.0)
        """
        w, h = original_size
        side = max(w, h)
        return cls(original_size, (side, side), (1.0, 1.0), ((side - w) / 2, (side - h) / 2))

    def box_to_original(self, box: Box) -> Box:
        """Map an (x1, y1, x2, y2) box from input pixels to original pixels (not clipped)."""
        (sx, sy), (ox, oy) = self.scale, self.offset
        x1, y1, x2, y2 = box
        return ((x1 - ox) / sx, (y1 - oy) / sy, (x2 - ox) / sx, (y2 - oy) / sy)

    def box_to_input(self, box: Box) -> Box:
        """Map an (x1, y1, x2, y2) box from original pixels to input pixels.

        >>> Transform.resize((1920, 1080), (960, 540)).box_to_input((200, 100, 400, 300))
        (100.0, 50.0, 200.0, 150.0)
        """
        (sx, sy), (ox, oy) = self.scale, self.offset
        x1, y1, x2, y2 = box
        return (x1 * sx + ox, y1 * sy + oy, x2 * sx + ox, y2 * sy + oy)

    def point_to_original(self, point: tuple[float, float]) -> tuple[float, float]:
        """Map an (x, y) point from input pixels to original pixels.

        >>> Transform.pad_to_square((640, 480)).point_to_original((320, 320))
        (320.0, 240.0)
        """
        (sx, sy), (ox, oy) = self.scale, self.offset
        return ((point[0] - ox) / sx, (point[1] - oy) / sy)

    def to_json(self) -> dict[str, Any]:
        """The transform as JSON data (recorded with every prediction).

        >>> Transform.pad_to_square((640, 480)).to_json()
        {'original_size': [640, 480], 'input_size': [640, 640], 'scale': [1.0, 1.0], 'offset': [0.0, 80.0]}
        """
        return {
            "original_size": list(self.original_size),
            "input_size": list(self.input_size),
            "scale": list(self.scale),
            "offset": list(self.offset),
        }


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the top alternatives at that position."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_json(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


@dataclass(frozen=True)
class Completion:
    """What a backend returns for one request.

    ``score`` is P(fake) when the backend computed it from the full distribution of the verdict token (local models:
    every verdict word of the vocabulary); otherwise the parser derives it from ``logprobs``.
    """

    text: str
    logprobs: tuple[TokenLogprob, ...] | None = None
    usage: Usage = Usage()
    latency_s: float = 0.0
    finish_reason: str | None = None
    score: float | None = None
    heatmap: Any = field(default=None, repr=False, compare=False)
    """A dense map the model made itself ((h, w) float32 in [0, 1] over the image sent: the built-in model's
    learned localizer), else None. Not cached: only models that are not cached make one."""
