"""LEGION's way (SynthScars, LOKI): the 2-class mIoU its table reports, and its ground-truth rasterisation.

LEGION (arXiv 2503.15264) reports mIoU *above* its F1 (54.62 vs 29.90 on SynthScars). For one pair of masks the
foreground IoU is F1 / (2 − F1) ≤ F1, so its mIoU cannot be the foreground IoU averaged like its F1; the per-image
mean of the foreground and the background IoU fits (the background of a small artifact is nearly all agreed on, so
its IoU is close to 1). Its ground truth (opendatalab/LEGION ``eval/utils.py`` at 55fe9b0, ``generate_mask`` and
``generate_loki_mask``) truncates polygon points to integers and fills them with ``cv2.fillPoly``, and fills LOKI
boxes end-inclusive with ``cv2.rectangle`` — both cover more pixels than the pixel-centre rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grounddefake.types import Region, Size

TWO_CLASS_DEFINITION = (
    "per-image mean of the foreground IoU |P∩G| / |P∪G| and the background IoU |¬P∩¬G| / |¬P∪¬G|, averaged over "
    "counted samples (LEGION's reported mIoU, inferred from its table: mIoU above F1 is impossible for the foreground "
    "IoU alone); a background shared by nothing (P∩G is the whole image) scores 1"
)


def two_class_iou(intersection: int, union: int, pixels: int) -> float:
    """Mean of the foreground and background IoU of one image from its counts (``pixels``: the image's size).

    >>> two_class_iou(10, 30, 100)  # foreground 1/3, background 70/90
    0.5555555555555556
    """
    foreground = intersection / union if union else 1.0
    background_union = pixels - intersection
    background = (pixels - union) / background_union if background_union else 1.0
    return (foreground + background) / 2


def legion_truth_mask(regions: Sequence[Region], size: Size) -> np.ndarray:
    """(H, W) bool mask of ground-truth ``regions`` drawn as LEGION's evaluation draws them.

    A polygon's vertices are truncated to integers and filled by ``cv2.fillPoly`` (its outline included); a box is
    truncated to integers, its far corner clamped to the last pixel, and filled end-inclusive by ``cv2.rectangle``.

    >>> int(legion_truth_mask([Region((2.6, 2.6, 5.4, 5.4))], (8, 8)).sum())  # pixels 2..5 on each axis
    16
    """
    import cv2

    w, h = size
    mask = np.zeros((h, w), np.uint8)
    for region in regions:
        if region.polygon is not None:
            points = np.asarray(region.polygon, np.float32).astype(np.int32)
            if len(points) >= 3:
                cv2.fillPoly(mask, [points.reshape(-1, 1, 2)], 1)
            continue
        x1, y1, x2, y2 = (int(v) for v in region.box)
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w - 1, x2), min(h - 1, y2)
        cv2.rectangle(mask, (x1, y1), (x2, y2), 1, thickness=-1)
    return mask.astype(bool)
