"""Draw a run's overlays in a pass of their own, off the critical path of scoring.

Which samples get one is one choice with one meaning on ``eval``, ``score`` and ``report`` (``--overlays``):
``none``, ``mistakes`` (failed requests, unknowns, false positives, false negatives, then the fakes located with an
IoU below :data:`POOR_IOU`, lowest first; at most :data:`MISTAKES_LIMIT`) or ``all``. Each image is decoded once at
reduced size (JPEG draft mode) and drawn with its long side at most ``size`` pixels; the work is spread over every
core (decoding, resizing and PNG encoding release the GIL). A failure costs only its own overlay: it is reported,
never raised.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from grounddefake.grounding import clip_regions, load_mask, scale_regions
from grounddefake.heatmaps.store import load_stored_heatmap
from grounddefake.images import image_size_of, load_image
from grounddefake.overlay import draw_overlay, save_image, side_by_side
from grounddefake.records import SampleScore, verdict_from_record
from grounddefake.run_config import DEFAULT_OVERLAY_SIZE, OverlayMode
from grounddefake.rundir import RunDir, find_overlay
from grounddefake.types import Sample

MISTAKES_LIMIT = 200
POOR_IOU = 0.5
"""A fake located with a mask IoU below this is a localization mistake."""
_PRIORITY = {"error": 0, "unknown": 1, "fp": 2, "fn": 3, "wrong": 4}


@dataclass(frozen=True)
class OverlayOutcome:
    """How many overlays were drawn, and the samples whose overlay could not be (with the reason)."""

    drawn: int
    problems: tuple[dict[str, str], ...] = ()


def select_overlays(rows: Sequence[SampleScore], mode: OverlayMode, limit: int = MISTAKES_LIMIT) -> list[str]:
    """The ids whose overlay ``mode`` asks for, most telling first.

    >>> rows = [SampleScore("a", "fake", "fake", None, 0.9, None), SampleScore("b", "real", "fake", None, None, None),
    ...         SampleScore("c", "fake", "fake", None, 0.1, None), SampleScore("d", "real", "real", None, None, None)]
    >>> select_overlays(rows, "mistakes"), select_overlays(rows, "none"), len(select_overlays(rows, "all"))
    (['b', 'c'], [], 4)
    """
    if mode == "none":
        return []
    if mode == "all":
        return [r.id for r in rows]
    wrong = sorted((r for r in rows if r.kind in _PRIORITY), key=lambda r: _PRIORITY[r.kind])
    poor = (r for r in rows if r.kind == "ok" and r.iou is not None and r.iou < POOR_IOU)
    lowest_iou = sorted(poor, key=lambda r: r.iou or 0.0)
    return [r.id for r in (*wrong, *lowest_iou)][:limit]


def _decode_side(image: str | os.PathLike[str], size: int) -> int:
    """The long side to decode ``image`` at: the largest 1/2^k of its own (k ≤ 3) within ``size``, where JPEG's DCT
    scaling gives it directly and no resize follows; ``size`` when the image is smaller or larger than that."""
    displayed = image_size_of(image)
    if displayed is None:
        return size  # the decoder reports the problem
    side = max(displayed)
    for factor in (1, 2, 4, 8):
        if side <= size * factor:
            return min(size, math.ceil(side / factor))
    return size


def draw_sample_overlay(
    sample: Sample,
    record: Mapping[str, Any],
    target: str,
    size: int = DEFAULT_OVERLAY_SIZE,
    paired: bool = False,
    run_dir: Path | None = None,
) -> None:
    """Draw one sample's overlay (its verdict and ground truth) at long side ≤ ``size`` into ``target``; a record's
    dense map (a file of ``run_dir``) is blended in place of the painted boxes.

    Raises:
        ImageError: the image or its ground-truth mask cannot be read.
        OSError: the overlay cannot be written.
    """
    reduced = load_image(sample.image, max_side=_decode_side(sample.image, size))
    pixels, shown, original = reduced.pixels, reduced.size, reduced.displayed_size
    verdict = verdict_from_record(record)
    regions, _ = clip_regions(scale_regions(verdict.regions, verdict.image_size or original, shown), shown)
    verdict = replace(verdict, regions=regions, image_size=shown)
    truth_mask = None
    if sample.mask is not None:
        mask = load_mask(sample.mask)
        truth_mask = cv2.resize(mask.astype(np.uint8), shown, interpolation=cv2.INTER_NEAREST).astype(bool)
    truth, _ = clip_regions(scale_regions(sample.regions, original, shown), shown)  # scoring lists what was clipped
    dense = None
    if run_dir is not None and isinstance(record.get("heatmap"), str):
        dense = load_stored_heatmap(run_dir, record["heatmap"], shown)
    draw = side_by_side if paired else draw_overlay
    save_image(target, draw(pixels, verdict, truth, truth_mask=truth_mask, dense=dense))


def draw_overlays(
    run_dir: RunDir,
    samples: Sequence[Sample],
    records: Mapping[str, Mapping[str, Any]],
    rows: Sequence[SampleScore],
    *,
    mode: OverlayMode = "mistakes",
    size: int = DEFAULT_OVERLAY_SIZE,
    paired: bool = False,
    redraw: bool = False,
    workers: int | None = None,
) -> OverlayOutcome:
    """Draw the overlays ``mode`` selects into the run's ``overlays/``; with ``redraw`` false, only missing ones."""
    wanted = select_overlays(rows, mode)
    if not wanted:
        return OverlayOutcome(0)
    run_dir.overlays.mkdir(parents=True, exist_ok=True)
    drawn = set() if redraw else run_dir.drawn_overlays()
    by_id = {s.id: s for s in samples}
    jobs = [
        (by_id[i], records[i], run_dir.overlay(i))
        for i in wanted
        if i in by_id and i in records and find_overlay(i, drawn) is None
    ]

    def one(job: tuple[Sample, Mapping[str, Any], os.PathLike[str]]) -> dict[str, str] | None:
        sample, record, target = job
        try:
            draw_sample_overlay(sample, record, os.fspath(target), size, paired, run_dir.path)
        except Exception as exc:  # an overlay is never worth a run: its failure is reported, not raised
            return {"id": sample.id, "reason": f"overlay not drawn: {type(exc).__name__}: {exc}"[:500]}
        return None

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        problems = tuple(p for p in pool.map(one, jobs) if p is not None)
    return OverlayOutcome(len(jobs) - len(problems), problems)
