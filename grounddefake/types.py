"""The values that flow through one pass of grounddefake (see DESIGN.md → One pass of data).

Every stage takes and returns these frozen dataclasses, so each stage can be tested and swapped alone.
Coordinates are floats in pixels; ``size`` tuples are always ``(width, height)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

Box = tuple[float, float, float, float]
"""(x1, y1, x2, y2) in pixels."""
Size = tuple[int, int]
"""(width, height) in pixels."""
Label = Literal["real", "fake"]
VerdictLabel = Literal["real", "fake", "unknown"]


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
    """

    box: Box
    polygon: tuple[tuple[float, float], ...] | None = None
    label: str | None = None
    score: float | None = None
    point: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
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
        label: "real", "fake", or None when unknown.
        regions: ground-truth regions in pixels of the displayed image.
        mask: path of a binary mask PNG (non-zero = manipulated), same size as the image.
        heatmap: path of a grey-level heatmap PNG.
        meta: free metadata (generator, subtype, ...).
    """

    id: str
    image: Path
    label: Label | None
    regions: tuple[Region, ...] = ()
    mask: Path | None = None
    heatmap: Path | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

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
    """

    original_size: Size
    input_size: Size
    scale: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def identity(cls, size: Size) -> Transform:
        return cls(original_size=size, input_size=size)

    @classmethod
    def resize(cls, original_size: Size, input_size: Size) -> Transform:
        """A plain resize of ``original_size`` to ``input_size`` (each axis scaled separately)."""
        (w0, h0), (w1, h1) = original_size, input_size
        return cls(original_size, input_size, (w1 / w0, h1 / h0))

    @classmethod
    def pad_to_square(cls, original_size: Size) -> Transform:
        """Centre the image on a square canvas of side max(W, H) (LLaVA-1.5 ``expand2square``)."""
        w, h = original_size
        side = max(w, h)
        return cls(original_size, (side, side), (1.0, 1.0), ((side - w) / 2, (side - h) / 2))

    def box_to_original(self, box: Box) -> Box:
        """Map an (x1, y1, x2, y2) box from input pixels to original pixels (not clipped)."""
        (sx, sy), (ox, oy) = self.scale, self.offset
        x1, y1, x2, y2 = box
        return ((x1 - ox) / sx, (y1 - oy) / sy, (x2 - ox) / sx, (y2 - oy) / sy)

    def box_to_input(self, box: Box) -> Box:
        """Map an (x1, y1, x2, y2) box from original pixels to input pixels."""
        (sx, sy), (ox, oy) = self.scale, self.offset
        x1, y1, x2, y2 = box
        return (x1 * sx + ox, y1 * sy + oy, x2 * sx + ox, y2 * sy + oy)

    def point_to_original(self, point: tuple[float, float]) -> tuple[float, float]:
        (sx, sy), (ox, oy) = self.scale, self.offset
        return ((point[0] - ox) / sx, (point[1] - oy) / sy)

    def to_json(self) -> dict[str, Any]:
        return {
            "original_size": list(self.original_size),
            "input_size": list(self.input_size),
            "scale": list(self.scale),
            "offset": list(self.offset),
        }


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send to a model.

    Attributes:
        payload: encoded bytes, exactly what is sent.
        media_type: MIME type of ``payload`` ("image/png", "image/jpeg", ...).
        transform: maps model-space pixels back to the original image.
        decoded: (h, w, 3) uint8 RGB array of the image the model sees, or None when ``payload`` is the original
            file sent untouched and was never decoded; read :attr:`pixels`, which decodes it on demand.
        sha256: hex digest of ``payload``.
        source_sha256: hex digest of the original file, when the image came from one.
    """

    payload: bytes
    media_type: str
    transform: Transform
    decoded: np.ndarray | None = field(default=None, repr=False, compare=False)
    sha256: str = ""
    source_sha256: str | None = None

    @property
    def pixels(self) -> np.ndarray:
        """(h, w, 3) uint8 RGB of the image the model sees; an untouched payload is decoded on first use, then kept."""
        if self.decoded is None:
            object.__setattr__(self, "decoded", _decode_payload(self.payload, self.media_type))
        assert self.decoded is not None
        return self.decoded


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


@dataclass(frozen=True)
class Verdict:
    """The model's answer about one image, in pixels of the original image.

    Attributes:
        label: "real", "fake" or "unknown" (unparseable, hedged, or the request failed).
        score: P(fake) when the backend gave verdict-token probabilities, else None.
        rationale: the model's explanation without JSON or tag noise.
        regions: suspicious regions in original pixels.
        raw: the model's raw text.
        error: why there is no answer (request failure), else None.
        parse_errors: one reason per item that could not be used (dropped box, hedged verdict, ...).
        image_size: (W, H) of the original image the regions refer to.
    """

    label: VerdictLabel
    score: float | None = None
    rationale: str = ""
    regions: tuple[Region, ...] = ()
    raw: str = ""
    error: str | None = None
    parse_errors: tuple[str, ...] = ()
    image_size: Size | None = None

    def mask(self, size: Size | None = None) -> np.ndarray:
        """Union of the regions as an (H, W) bool mask; ``size`` defaults to ``image_size``."""
        from grounddefake.grounding import regions_to_mask

        return regions_to_mask(self.regions, self._size(size))

    def heatmap(self, size: Size | None = None) -> np.ndarray:
        """(H, W) float32 map in [0, 1]: each pixel holds the highest score of the regions covering it."""
        from grounddefake.grounding import regions_to_heatmap

        return regions_to_heatmap(self.regions, self._size(size))

    def overlay(self, image: Any, truth: Sequence[Region] = ()) -> np.ndarray:
        """The image (path, PIL image or RGB array) annotated with this verdict, as an (H, W, 3) uint8 array."""
        from grounddefake.images import load_image
        from grounddefake.overlay import draw_overlay

        return draw_overlay(load_image(image).pixels, self, truth=truth)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": None if self.score is None else round(float(self.score), 6),
            "rationale": self.rationale,
            "regions": [r.to_json() for r in self.regions],
            "image_size": None if self.image_size is None else list(self.image_size),
            "raw": self.raw,
            "error": self.error,
            "parse_errors": list(self.parse_errors),
        }

    def _size(self, size: Size | None) -> Size:
        if size is not None:
            return size
        if self.image_size is None:
            raise ValueError("this verdict has no image_size; pass size=(W, H)")
        return self.image_size


def _decode_payload(payload: bytes, media_type: str) -> np.ndarray:
    """Pixels of an encoded payload (an untouched JPEG / PNG / WebP file), or of raw RGB bytes."""
    import numpy as np

    from grounddefake.images import load_image

    if media_type.startswith("image/x-raw-rgb"):
        w, h = (int(v) for v in media_type.rpartition("size=")[2].split("x"))
        return np.frombuffer(payload, np.uint8).reshape(h, w, 3)
    return load_image(payload).pixels
