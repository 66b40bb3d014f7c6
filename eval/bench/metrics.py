"""Benchmark the localization scorer: 1024×1024 ground-truth masks, 1–5 predicted boxes per sample.

Run from the repository root::

    .venv/bin/python eval/bench/metrics.py [--n 2000] [--reference-n 100]

Each sample's mask (1–3 random rectangles and ellipses) and predicted boxes (with scores) are generated from a fixed
seed, outside the timed section. Timed: ``LocalizationScorer.update_fake`` — pixel IoU, F1, precision, recall, the
heatmap AUC, the pointing game and box matching. The reference computes the same per-image numbers the
straightforward way with its own rasteriser (pixel centres in [x1, x2), scikit-learn ``roc_auc_score`` on all
pixels, numpy IoU / F1) on the first ``--reference-n`` samples; the values must agree (|Δ| ≤ 1e-6 for IoU / F1,
≤ 1e-3 for AUC) or the script exits with an error. Goals (issue #5): at
least 500 samples/s on one core and at least 10× the reference.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from grounddefake.metrics.localization import LocalizationScorer  # noqa: E402
from grounddefake.types import Region  # noqa: E402

SIZE = 1024
GOAL_PER_SECOND = 500


def make_case(seed: int) -> tuple[np.ndarray, list[Region], list[tuple[float, float, float, float]]]:
    """(GT mask, predicted regions with scores, GT boxes: the bounding box of each drawn shape)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    boxes = []
    for _ in range(rng.integers(1, 4)):
        x, y = (int(v) for v in rng.integers(0, SIZE - 200, 2))
        w, h = (int(v) for v in rng.integers(20, 200, 2))
        if rng.random() < 0.5:
            mask[y : y + h, x : x + w] = 1
        else:
            cv2.ellipse(mask, (x + w // 2, y + h // 2), (w // 2, h // 2), 0, 0, 360, 1, -1)
        boxes.append((float(x), float(y), float(x + w), float(y + h)))
    regions = []
    for _ in range(rng.integers(1, 6)):
        x, y = rng.uniform(0, SIZE - 100, 2)
        regions.append(Region((x, y, x + rng.uniform(10, 300), y + rng.uniform(10, 300)), score=float(rng.random())))
    return mask.astype(bool), regions, boxes


def reference(regions: list[Region], truth: np.ndarray) -> tuple[float, float, float]:
    """IoU, F1 and AUC the straightforward way, with an independent rasteriser (pixel centres in [x1, x2))."""
    centres = np.arange(SIZE) + 0.5
    heat = np.zeros(truth.shape)
    for r in regions:
        cols = (centres >= r.box[0]) & (centres < r.box[2])
        rows = (centres >= r.box[1]) & (centres < r.box[3])
        block = np.ix_(rows, cols)
        heat[block] = np.maximum(heat[block], r.score)
    pred = heat > 0
    tp = np.logical_and(pred, truth).sum()
    union = np.logical_or(pred, truth).sum()
    f1 = 2 * tp / (pred.sum() + truth.sum())
    return tp / union, f1, roc_auc_score(truth.ravel(), heat.ravel())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--reference-n", type=int, default=100)
    args = parser.parse_args()
    scorer = LocalizationScorer()
    ours = 0.0
    rows = []
    for seed in range(args.n):
        truth, regions, boxes = make_case(seed)
        start = time.perf_counter()
        rows.append(scorer.update_fake(regions, truth, boxes))
        ours += time.perf_counter() - start
    start = time.perf_counter()
    metrics = scorer.compute()
    compute_s = time.perf_counter() - start
    ref_time, worst_iou, worst_f1, worst_auc = 0.0, 0.0, 0.0, 0.0
    for seed in range(args.reference_n):
        truth, regions, _ = make_case(seed)
        start = time.perf_counter()
        iou, f1, auc = reference(regions, truth)
        ref_time += time.perf_counter() - start
        row = rows[seed].pixels
        worst_iou = max(worst_iou, abs(row.iou - iou))
        worst_f1 = max(worst_f1, abs(row.f1 - f1))
        worst_auc = max(worst_auc, abs(row.auc - auc))
    per_second = args.n / (ours + compute_s)
    reference_per_second = args.reference_n / ref_time
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"samples: {args.n} at {SIZE}x{SIZE}, 1-5 scored boxes each; iou_mean {metrics['iou_mean']:.4f}, "
        f"box_f1 {metrics['box_f1']:.4f}"
    )
    print(f"metrics_samples_per_second: {per_second:.0f} (goal >= {GOAL_PER_SECOND})")
    print(f"reference_samples_per_second: {reference_per_second:.1f} (scikit-learn AUC + numpy IoU/F1)")
    print(f"metrics_speedup_vs_reference: {per_second / reference_per_second:.1f}x (goal >= 10)")
    print(
        f"max |difference| over {args.reference_n} samples: IoU {worst_iou:.2e}, F1 {worst_f1:.2e}, "
        f"AUC {worst_auc:.2e} (limits 1e-6, 1e-6, 1e-3)"
    )
    print(f"peak_rss_mb: {peak_mb:.0f}")
    if worst_iou > 1e-6 or worst_f1 > 1e-6 or worst_auc > 1e-3:
        raise SystemExit("the scorer disagrees with the reference beyond the limits")


if __name__ == "__main__":
    main()
