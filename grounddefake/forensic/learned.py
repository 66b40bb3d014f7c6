"""The learned localizer: a small convolutional network run by OpenCV's ``cv2.dnn`` on an ONNX file (no torch).

``localize(image)`` gives a per-pixel probability that the pixel was manipulated, the regions it marks and a
calibrated image-level P(fake). The network (``localizer.onnx``, trained by ``data/train_forensic.py``, described
in ``docs/forensic-model-card.md``) reads the inputs of :mod:`.features` and writes logits on a 1/8 grid. Images
larger than ``TILE`` pixels a side are cut into overlapping tiles, each keeping only the cells at least ``MARGIN``
pixels from its inner borders, so every cell is computed with about the context a single pass would give it (the
inputs are normalised per image before tiling, so tiles share one reference). Regions are the connected parts of
the map at or above the threshold chosen on held-out training photos (``localizer.json``), each at least
``MIN_REGION_CELLS`` cells; the image-level head is a logistic fit of the map's peak, top-1 % and median logits on
the same held-out set, and a region's own score is that head applied to the logits inside it.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .features import OUTPUT_STRIDE, STRIDE, Features, features

WEIGHTS = Path(__file__).with_name("localizer.onnx")
SETTINGS = Path(__file__).with_name("localizer.json")
TILE = 2048
"""Tiles are at most this many pixels a side (a multiple of 16); they overlap by twice ``MARGIN``. The built-in model
analyses at most 2,097,152 pixels, so a photo of aspect ratio up to 2:1 is one pass; wider panoramas are tiled."""
MARGIN = 128
"""Pixels of a tile's inner border whose cells are left to the neighbouring tile (about the network's receptive-field
radius)."""
MIN_REGION_CELLS = 6
"""A region covers at least 6 cells of 8×8 px (384 px²): smaller blobs are the map's speckle."""
MAX_REGIONS = 4
TIE_MARGIN = 0.1
"""Besides the strongest region, a map marks only those whose peak probability is within this of its peak (on
held-out photographs the edited area is one region; weaker blobs beside it are mostly false area)."""


@dataclass(frozen=True)
class LearnedRegion:
    """One region the map marks: its box in image pixels, its peak probability, its share of the image and its own
    P(fake) (the image-level head on the logits inside it)."""

    box: tuple[float, float, float, float]
    score: float
    area_fraction: float
    cells: np.ndarray
    p_fake: float


@dataclass(frozen=True)
class Localization:
    """The map of one image and what follows from it.

    Attributes:
        heatmap: (H, W) float32 in [0, 1], P(manipulated) per pixel.
        regions: the marked regions, strongest first.
        p_fake: calibrated P(fake) from the map's peak.
        peak: the map's peak probability.
        features: the inputs the network saw (with the cue maps, for the rationale).
    """

    heatmap: np.ndarray
    regions: tuple[LearnedRegion, ...]
    p_fake: float
    peak: float
    features: Features


@dataclass(frozen=True)
class Settings:
    """What training chose on held-out photos: the region threshold and the image-level calibration, a logistic
    regression on the map's peak logit, the mean of its top 1 % of logits and its median logit
    (:func:`map_statistics`): a peak counts for what it stands above the rest of the same image. Its intercept
    puts the verdict's 0.5 at the 95th percentile of held-out real photographs' scores, 5 % of them above it (a
    lower prior of edits than the held-out mix: an honest P(fake) for collections where most photographs are real)."""

    threshold: float
    peak: float
    top: float
    median: float
    intercept: float

    def p_fake(self, peak_logit: float, top_logit: float, median_logit: float) -> float:
        return logistic(self.peak * peak_logit + self.top * top_logit + self.median * median_logit + self.intercept)


def logistic(x: float) -> float:
    """1 / (1 + e^-x), with x clamped to ±50."""
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


@functools.cache
def settings() -> Settings:
    data = json.loads(SETTINGS.read_text(encoding="utf-8"))
    calibration = data["calibration"]
    return Settings(
        float(data["threshold"]),
        float(calibration["peak"]),
        float(calibration["top"]),
        float(calibration["median"]),
        float(calibration["intercept"]),
    )


TOP_SHARE = 0.01


def map_statistics(grid: np.ndarray, reference: np.ndarray | None = None) -> tuple[float, float, float]:
    """(peak logit, mean of the top ``TOP_SHARE`` of logits (at least one cell), median logit of ``reference``) of a
    logit map; ``reference`` is the whole image's map when ``grid`` is one region's cells (default: ``grid``)."""
    if grid.size == 0:
        return -50.0, -50.0, -50.0
    flat = np.sort(grid.ravel())[::-1]
    median = float(np.median(reference if reference is not None else flat))
    return float(flat[0]), float(flat[: max(1, round(TOP_SHARE * flat.size))].mean()), median


_local = threading.local()


def _network() -> cv2.dnn.Net:
    """One network per thread (a ``cv2.dnn.Net`` is not safe to share between threads)."""
    net = getattr(_local, "net", None)
    if net is None:
        net = cv2.dnn.readNetFromONNX(str(WEIGHTS))
        _local.net = net
    return net


def logits(pixels: np.ndarray, cues: np.ndarray, tile: int = TILE) -> np.ndarray:
    """(H/8, W/8) float32 logits for one image's inputs, tiled when a side exceeds ``tile`` (a multiple of 16 above
    twice ``MARGIN``)."""
    if tile % STRIDE or tile <= 2 * MARGIN:
        raise ValueError(f"a tile is a multiple of {STRIDE} above {2 * MARGIN} px, got {tile}")
    _, h, w = pixels.shape
    if h <= tile and w <= tile:
        return _run(pixels, cues)
    total = np.zeros((h // OUTPUT_STRIDE, w // OUTPUT_STRIDE), np.float32)
    s = OUTPUT_STRIDE
    for y in _starts(h, tile, tile - 2 * MARGIN):
        for x in _starts(w, tile, tile - 2 * MARGIN):
            th, tw = min(tile, h - y), min(tile, w - x)
            part = _run(pixels[:, y : y + th, x : x + tw], cues[:, y // s : (y + th) // s, x // s : (x + tw) // s])
            # the cells this tile keeps: all but a MARGIN at each border it shares with another tile
            top, left = (MARGIN if y > 0 else 0) // s, (MARGIN if x > 0 else 0) // s
            bottom = (th - MARGIN if y + th < h else th) // s
            right = (tw - MARGIN if x + tw < w else tw) // s
            total[y // s + top : y // s + bottom, x // s + left : x // s + right] = part[top:bottom, left:right]
    return total


def _starts(extent: int, tile: int, step: int) -> list[int]:
    if extent <= tile:
        return [0]
    starts = list(range(0, extent - tile, step))
    return [*starts, extent - tile]


def _run(pixels: np.ndarray, cues: np.ndarray) -> np.ndarray:
    net = _network()
    net.setInput(np.ascontiguousarray(pixels[None]), "pixels")
    net.setInput(np.ascontiguousarray(cues[None]), "cues")
    return np.asarray(net.forward(), np.float32)[0, 0]


def localize(image: np.ndarray) -> Localization:
    """The learned map, regions and P(fake) of an (H, W, 3) uint8 RGB image."""
    found = features(image)
    grid = logits(found.pixels, found.cues)
    w, h = found.size
    rows, cols = -(-h // OUTPUT_STRIDE), -(-w // OUTPUT_STRIDE)
    grid = grid[:rows, :cols]
    probability = 1.0 / (1.0 + np.exp(-grid))
    chosen = settings()
    p_fake = chosen.p_fake(*map_statistics(grid))
    regions = marked(grid, chosen.threshold, (w, h), chosen)
    if not regions and p_fake >= 0.5 and probability.size:  # a confident peak below the region threshold: its
        regions = _regions(grid, float(probability.max()) / 2, (w, h), chosen)[:1]  # half-maximum extent
    heatmap = cv2.resize(probability, (cols * OUTPUT_STRIDE, rows * OUTPUT_STRIDE), interpolation=cv2.INTER_LINEAR)
    heatmap = heatmap[:h, :w].astype(np.float32)
    peak = float(probability.max()) if probability.size else 0.0
    return Localization(heatmap, regions, p_fake, peak, found)


def marked(
    grid: np.ndarray, threshold: float, size: tuple[int, int], chosen: Settings | None = None
) -> tuple[LearnedRegion, ...]:
    """The regions a map marks: its connected parts at ``threshold`` whose peak is within ``TIE_MARGIN`` of the
    strongest one's."""
    found = _regions(grid, threshold, size, chosen)
    return tuple(r for r in found if r.score >= found[0].score - TIE_MARGIN)


def _regions(
    grid: np.ndarray, threshold: float, size: tuple[int, int], chosen: Settings | None = None
) -> tuple[LearnedRegion, ...]:
    """The connected parts of the map at or above ``threshold`` (logits ``grid`` on the 1/8 grid), strongest first."""
    w, h = size
    probability = 1.0 / (1.0 + np.exp(-grid))
    count, labels, stats, _ = cv2.connectedComponentsWithStats((probability >= threshold).astype(np.uint8), 8)
    found = []
    for k in range(1, count):
        if stats[k, cv2.CC_STAT_AREA] < MIN_REGION_CELLS:
            continue
        cells = labels == k
        x, y = stats[k, cv2.CC_STAT_LEFT], stats[k, cv2.CC_STAT_TOP]
        bw, bh = stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT]
        s = OUTPUT_STRIDE
        box = (float(x * s), float(y * s), float(min(w, (x + bw) * s)), float(min(h, (y + bh) * s)))
        area = float(cells.sum() * s * s) / (w * h)
        peak = float(probability[cells].max())
        own = chosen.p_fake(*map_statistics(grid[cells], grid)) if chosen is not None else peak
        found.append(LearnedRegion(box, peak, area, cells, own))
    found.sort(key=lambda r: r.score, reverse=True)
    return tuple(found[:MAX_REGIONS])
