"""FakeXplain's box IoU: greedy nearest-centre matching, averaged over ground-truth boxes.

The only public IoU code of FakeXplain (arXiv 2506.07045) is the fine-tuning reward of mllm-defake
(``mllm_defake/finetune/rewards/utils.py::cal_iou`` at 5453a8a): each predicted box, in the answer's order, takes
the still unmatched ground-truth box whose centre is nearest to its own (the first on a tie); a predicted box left
without a partner is ignored, and the sum of the matched pairs' IoUs is divided by the number of ground-truth boxes.
So extra predicted boxes cost nothing (where a union mask pays for them) and missing ones count 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from grounddefake.types import Box

DEFINITION = (
    "FakeXplain's box IoU: each predicted box in answer order takes the unmatched ground-truth box with the nearest "
    "centre (the first on a tie), unmatched predictions are ignored, and the matched IoUs are summed and divided by "
    "the number of ground-truth boxes; averaged over positive samples with ground-truth boxes (n_box; real images, "
    "which its reward scores 1.0, are not counted). Predicted boxes are clipped to the image; the reward's "
    "intersection max(0, w·h) would count boxes disjoint on both axes as overlapping, the standard IoU here does not"
)


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _iou(a: Box, b: Box) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nearest_centre_iou(predicted: Sequence[Box], truth: Sequence[Box]) -> float:
    """FakeXplain's IoU of one image's ``predicted`` boxes (in answer order) against its non-empty ``truth`` boxes.

    >>> nearest_centre_iou([(0, 0, 10, 10), (50, 50, 60, 60), (0, 0, 99, 99)], [(0, 0, 10, 10), (50, 50, 70, 60)])
    0.75
    """
    matched: set[int] = set()
    total = 0.0
    for box in predicted:
        best, nearest = -1, math.inf
        cx, cy = _centre(box)
        for j, gt in enumerate(truth):
            if j in matched:
                continue
            gx, gy = _centre(gt)
            distance = math.hypot(cx - gx, cy - gy)
            if distance < nearest:
                best, nearest = j, distance
        if best >= 0:
            matched.add(best)
            total += _iou(box, truth[best])
    return total / len(truth)
