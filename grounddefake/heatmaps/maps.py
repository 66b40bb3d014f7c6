"""The maps themselves: painted boxes, the consensus of several answers, and the probe grid's tile means.

Every map is (H, W) float32 in [0, 1] over the original image: a dense mode's at its size, a model's own map
(:func:`sent_over_original`) at the resolution it was made at when that is smaller. The run stores every map at
most 512 px a side (:mod:`grounddefake.heatmaps.store`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from grounddefake.grounding import regions_to_heatmap
from grounddefake.types import Box, Region, Size, Transform

PROBE_OVERLAP = 0.25
"""Each probe tile overlaps its neighbours by this share of its side."""


def consensus_map(answers: Sequence[Sequence[Region]], size: Size) -> np.ndarray:
    """H(p) = (1/N) Σ_i max{score_r : r ∈ regions_i, p ∈ r}: 0 where answer i claims nothing over p, a region
    without a score counts 1 (``answers``: each answer's claimed regions, in original pixels).

    >>> a, b = [Region((0, 0, 2, 2), score=0.5)], [Region((0, 0, 1, 1))]
    >>> consensus_map([a, b], (2, 2)).tolist()
    [[0.75, 0.25], [0.25, 0.25]]
    """
    total = np.zeros((size[1], size[0]), np.float64)
    for regions in answers:
        total += regions_to_heatmap(regions, size)
    return (total / max(1, len(answers))).astype(np.float32)


def tile_boxes(size: Size, k: int, overlap: float = PROBE_OVERLAP) -> list[Box]:
    """The K×K probe tiles of a (W, H) image, row by row, in original pixels: K equal tiles per axis overlapping by
    ``overlap`` of their side and covering the image edge to edge.

    >>> [tuple(round(v, 1) for v in box) for box in tile_boxes((100, 40), 2)]
    [(0.0, 0.0, 57.1, 22.9), (42.9, 0.0, 100.0, 22.9), (0.0, 17.1, 57.1, 40.0), (42.9, 17.1, 100.0, 40.0)]
    """

    def spans(length: int) -> list[tuple[float, float]]:
        side = length / (k - overlap * (k - 1))
        step = side * (1 - overlap)
        return [(i * step, float(length) if i == k - 1 else i * step + side) for i in range(k)]

    return [(x0, y0, x1, y1) for y0, y1 in spans(size[1]) for x0, x1 in spans(size[0])]


def probe_map(tiles: Sequence[Box], p_yes: Sequence[float | None], size: Size) -> np.ndarray:
    """Per pixel, the mean P(Yes) of the tiles covering it (a pixel belongs to a tile when its centre is inside);
    tiles without a P(Yes) are left out, and a pixel no answered tile covers is 0.

    >>> probe_map([(0, 0, 2, 2), (1, 0, 3, 2)], [1.0, 0.0], (3, 2)).tolist()
    [[1.0, 0.5, 0.0], [1.0, 0.5, 0.0]]
    """
    w, h = size
    total = np.zeros((h, w), np.float64)
    count = np.zeros((h, w), np.int32)
    for (x1, y1, x2, y2), p in zip(tiles, p_yes, strict=True):
        if p is None:
            continue
        c0, c1 = max(0, math.ceil(x1 - 0.5)), min(w, math.ceil(x2 - 0.5))
        r0, r1 = max(0, math.ceil(y1 - 0.5)), min(h, math.ceil(y2 - 0.5))
        total[r0:r1, c0:c1] += p
        count[r0:r1, c0:c1] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0).astype(np.float32)


def sent_over_original(heatmap: np.ndarray, transform: Transform) -> np.ndarray:
    """A map over the image sent, cut to the original image's extent (the padding off) and never enlarged: it covers
    the original image at the sent image's resolution, or at the original's when that is smaller. A model's own map
    of a photo analysed reduced (the built-in model's, above 2 MP) stays that small: the stored map is at most 512 px
    a side, and an original-size copy of a 12000×12000 map alone would hold 576 MB.

    >>> half = Transform.resize((4, 2), (2, 1))
    >>> sent_over_original(np.array([[0.0, 1.0]], np.float32), half).shape
    (1, 2)
    """
    import cv2

    (ow, oh) = transform.original_size
    inner = _inside_original(heatmap, transform)
    h, w = min(inner.shape[0], oh), min(inner.shape[1], ow)
    if (h, w) != inner.shape:  # never enlarged, on either axis
        inner = cv2.resize(inner, (w, h), interpolation=cv2.INTER_AREA)
    return np.clip(inner, 0.0, 1.0, out=inner)


def _inside_original(heatmap: np.ndarray, transform: Transform) -> np.ndarray:
    """The part of a map over the image sent that covers the original image (a float32 copy)."""
    (ow, oh), (sx, sy), (dx, dy) = transform.original_size, transform.scale, transform.offset
    x1, y1 = round(dx), round(dy)
    x2, y2 = round(dx + ow * sx), round(dy + oh * sy)
    part = heatmap[max(0, y1) : max(y1 + 1, y2), max(0, x1) : max(x1 + 1, x2)]
    return np.array(part, np.float32, copy=True, order="C")
