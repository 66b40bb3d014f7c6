"""Draw a verdict on its image: predicted boxes with labels and scores, the ground-truth outline, a verdict banner.

Line widths and text scale with the image, so the overlay stays readable from thumbnails to 4K.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from grounddefake.grounding import regions_to_heatmap, regions_to_mask
from grounddefake.types import Region


class Drawable(Protocol):
    """What an overlay shows of a verdict (:class:`grounddefake.verdict.Verdict` is one): this module needs no more,
    so it sits below the verdict, whose ``overlay()`` calls it."""

    @property
    def label(self) -> str: ...

    @property
    def score(self) -> float | None: ...

    @property
    def regions(self) -> Sequence[Region]: ...

    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True)
class _Nothing:
    """No verdict: the ground-truth half of a side-by-side overlay."""

    label: str
    score: float | None
    regions: Sequence[Region]
    error: str | None


PREDICTION = (255, 64, 32)  # RGB
TRUTH = (32, 220, 64)
BANNER = {
    "fake": (200, 30, 30),
    "unsafe": (200, 30, 30),
    "real": (30, 140, 60),
    "safe": (30, 140, 60),
    "unknown": (110, 110, 110),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _ascii(text: str, limit: int) -> str:
    """Hershey fonts draw ASCII only; model text is also bounded here."""
    text = unicodedata.normalize("NFKD", text.replace("×", "x")).encode("ascii", "ignore").decode()
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(canvas: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int], scale: float) -> None:
    thickness = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thickness)
    x, y = origin
    y = max(th + base, y)
    x = min(max(0, x), max(0, canvas.shape[1] - tw - 2))
    cv2.rectangle(canvas, (x, y - th - base), (x + tw + 2, y), color, -1)
    cv2.putText(canvas, text, (x + 1, y - base // 2), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)


HEAT_ALPHA = 0.45
"""Opacity of the predicted heatmap where it is hottest."""


def region_caption(number: int, region: Region) -> str:
    """The caption drawn over a predicted region: its number, its score and its label, visibly apart (the Hershey
    font's space is narrow: "#1 0.99" read as "#10.99").

    >>> region_caption(1, Region((0, 0, 5, 5), label="copy-move", score=0.99))
    '#1: 0.99 | copy-move'
    """
    parts = [f"#{number}:"]
    if region.score is not None:
        parts.append(f"{region.score:.2f}")
    if region.label:
        parts.append(("| " if region.score is not None else "") + _ascii(region.label, 28))
    return " ".join(parts)


def draw_overlay(
    pixels: np.ndarray,
    verdict: Drawable,
    truth: Sequence[Region] = (),
    truth_mask: np.ndarray | None = None,
    heatmap: bool = True,
    dense: np.ndarray | None = None,
) -> np.ndarray:
    """Annotate a copy of ``pixels``.

    Args:
        pixels: (H, W, 3) uint8 RGB image the verdict refers to.
        verdict: its regions are in pixels of ``pixels``.
        truth: ground-truth regions: their boxes are drawn (dashed-free, thin) and, without a mask, their outline.
        truth_mask: (H, W) bool ground-truth mask, outlined in the truth colour.
        heatmap: blend the predicted heatmap (highest region score per pixel) as a colour map.
        dense: a dense ``--heatmap`` mode's map ((H, W) in [0, 1] at the size of ``pixels``), blended instead.

    Returns:
        (H, W, 3) uint8 RGB annotated image.
    """
    canvas = np.ascontiguousarray(pixels.copy())
    h, w = canvas.shape[:2]
    unit = max(h, w) / 640.0
    line = max(1, round(2 * unit))
    scale = max(0.35, 0.45 * unit)
    if heatmap and (verdict.regions or dense is not None):
        heat = regions_to_heatmap(verdict.regions, (w, h)) if dense is None else np.clip(dense, 0.0, 1.0)
        ys, xs = np.nonzero(heat.any(axis=1))[0], np.nonzero(heat.any(axis=0))[0]
        if len(ys):  # blend only the rows and columns the regions cover: most of a large image stays untouched
            window = (slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1))
            hot = heat[window]
            colours = cv2.cvtColor(
                cv2.applyColorMap((hot * 255).astype(np.uint8), cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB
            )
            alpha = (hot * HEAT_ALPHA).astype(np.float32)[..., None]
            blended = canvas[window] * (1 - alpha) + colours * alpha
            canvas[window] = blended.astype(np.uint8)
    if truth_mask is None and truth:
        truth_mask = regions_to_mask(truth, (w, h))
    if truth_mask is not None and truth_mask.any():
        contours, _ = cv2.findContours(truth_mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(canvas, contours, -1, TRUTH, line, cv2.LINE_8)
    for region in truth:
        x1, y1, x2, y2 = (round(v) for v in region.box)
        cv2.rectangle(canvas, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), TRUTH, max(1, line // 2), cv2.LINE_8)
    for i, region in enumerate(verdict.regions, start=1):
        x1, y1, x2, y2 = (round(v) for v in region.box)
        cv2.rectangle(canvas, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), PREDICTION, line, cv2.LINE_8)
        _label(canvas, region_caption(i, region), (x1, y1 - line), PREDICTION, scale * 0.9)
    banner = verdict.label.upper()
    if verdict.score is not None:
        banner += f"  P(fake)={verdict.score:.2f}"
    if verdict.error:
        banner += "  ERROR: " + _ascii(verdict.error, 40)
    _label(canvas, banner, (0, 0), BANNER.get(verdict.label, BANNER["unknown"]), scale * 1.2)
    return canvas


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
JPEG_QUALITY = 90


def save_image(path: str, pixels: np.ndarray) -> None:
    """Write (H, W, 3) uint8 RGB pixels as PNG or JPEG (quality 90), as the file name's suffix says.

    Raises:
        OSError: another suffix, or the file cannot be written.
    """
    suffix = path[path.rfind(".") :].lower() if "." in path else ""
    if suffix not in IMAGE_SUFFIXES:
        raise OSError(f"{path}: an overlay is written as .png or .jpg")
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if suffix != ".png" else []
    ok, data = cv2.imencode(suffix, cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise OSError(f"{path}: could not encode the image")
    try:
        with open(path, "wb") as f:
            f.write(data.tobytes())
    except OSError as exc:
        raise OSError(f"{path}: could not write the image ({exc.strerror or exc})") from None


def side_by_side(
    pixels: np.ndarray,
    verdict: Drawable,
    truth: Sequence[Region] = (),
    truth_mask: np.ndarray | None = None,
    dense: np.ndarray | None = None,
) -> np.ndarray:
    """Ground truth (left) and prediction (right) next to each other, with a white gap: (H, W·2 + gap, 3)."""
    empty = _Nothing("unknown", None, (), None)
    left = draw_overlay(pixels, empty, truth, truth_mask, heatmap=False)
    _label(left, "GROUND TRUTH", (0, 0), TRUTH, max(0.35, 0.45 * max(pixels.shape[:2]) / 640.0) * 1.2)
    right = draw_overlay(pixels, verdict, heatmap=True, dense=dense)
    gap = np.full((pixels.shape[0], max(4, pixels.shape[1] // 80), 3), 255, np.uint8)
    return np.concatenate([left, gap, right], axis=1)
