"""Score prediction records against a dataset and draw one overlay per sample.

Streaming: each sample's ground truth is loaded, scored and dropped; only per-sample scalars are kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grounddefake.grounding import regions_to_heatmap, truth_mask
from grounddefake.images import ImageError, load_image
from grounddefake.metrics.classification import ClassificationRow
from grounddefake.metrics.heatmap import heatmap_row
from grounddefake.metrics.localization import LocalizationScorer
from grounddefake.metrics.run import RunMetrics, SampleRows
from grounddefake.overlay import draw_overlay, save_png
from grounddefake.types import Region, Sample, Size, Verdict


@dataclass(frozen=True)
class SampleScore:
    """What one sample contributed: its labels and, for scored fakes, its IoU."""

    id: str
    truth: str | None
    predicted: str
    score: float | None
    iou: float | None
    error: str | None
    overlay: str | None


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, Any]
    samples: tuple[SampleScore, ...]


def verdict_from_record(record: Mapping[str, Any]) -> Verdict:
    """Rebuild a Verdict from a ``predictions.jsonl`` record; an unusable region becomes a parse error."""
    size = record.get("image_size")
    regions, errors = [], list(record.get("parse_errors") or ())
    for i, item in enumerate(record.get("regions") or []):
        try:
            regions.append(Region.from_json(item))
        except (TypeError, ValueError, AttributeError) as exc:
            errors.append(f"region {i} of the record unusable: {exc}")
    return Verdict(
        label=record.get("label", "unknown"),
        score=record.get("score"),
        rationale=record.get("rationale") or "",
        regions=tuple(regions),
        raw=record.get("raw") or "",
        error=record.get("error"),
        parse_errors=tuple(errors),
        image_size=None if size is None else (int(size[0]), int(size[1])),
    )


def overlay_name(sample_id: str) -> str:
    """A safe file name for a sample's overlay (ids may hold any characters)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", sample_id)[:120] + ".png"


def group_value(sample: Sample, field: str | None) -> str | None:
    """The value of ``meta.FIELD`` (or a top-level ``label``) for ``--group-by``; None when the sample lacks it."""
    if field is None:
        return None
    if field == "label":
        return sample.label
    name = field.removeprefix("meta.")
    value: Any = sample.meta
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return None if value is None else str(value)


def load_heatmap(path: Path, size: Size) -> np.ndarray:
    """A ground-truth heatmap as (H, W) float in [0, 1] at ``size`` (8-bit /255, 16-bit /65535).

    Raises:
        ImageError: unreadable.
    """
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode.startswith("I"):
                values = np.asarray(img, np.float64) / 65535.0
            else:
                values = np.asarray(img.convert("L"), np.float64) / 255.0
    except (OSError, ValueError) as exc:
        raise ImageError(f"{path}: unreadable heatmap ({exc})") from None
    if (values.shape[1], values.shape[0]) != tuple(size):
        import cv2

        values = cv2.resize(values, tuple(size), interpolation=cv2.INTER_LINEAR)
    return np.clip(values, 0.0, 1.0)


def score_run(
    samples: Sequence[Sample],
    records: Mapping[str, Mapping[str, Any]],
    localization: bool,
    overlay_dir: Path | None = None,
    *,
    group_by: str | None = None,
    bootstrap: int = 0,
    iou_threshold: float = 0.5,
) -> Evaluation:
    """Every metric over the samples that have a record (classification; localization when asked; heatmap and
    score groups when the ground truth has them).

    Samples without a record are counted in ``n_missing``, unreadable ones (``"skipped": true``) in ``n_skipped``;
    neither is scored. Only a "fake" answer's regions count as its localization: a "real" answer claims none.
    """
    run = RunMetrics(localization=localization, thresholds=tuple(sorted({0.5, iou_threshold})))
    scores = []
    problems: list[dict[str, str]] = []
    if overlay_dir is not None:
        overlay_dir.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        record = records.get(sample.id)
        if record is None or record.get("skipped"):
            continue
        verdict = verdict_from_record(record)
        size = verdict.image_size
        claimed = verdict.regions if verdict.label == "fake" else ()
        gt, iou, fake, real, empty, heat, pair = None, None, None, None, False, None, None
        try:
            if size is not None and (localization or overlay_dir is not None):
                gt = truth_mask(sample, size)
        except ImageError as exc:
            problems.append({"id": sample.id, "reason": str(exc)})
        if localization and size is not None:
            if sample.label == "fake" and gt is not None:
                truth_boxes = tuple(r.box for r in sample.regions)
                fake = LocalizationScorer(run.thresholds).update_fake(claimed, gt, truth_boxes)
                empty = fake is None
                iou = None if fake is None else fake.pixels.iou
            elif sample.label == "real":
                real = LocalizationScorer().update_real(claimed, size)
        if sample.heatmap is not None and size is not None:
            try:
                heat = heatmap_row(regions_to_heatmap(claimed, size), load_heatmap(sample.heatmap, size))
            except ImageError as exc:
                problems.append({"id": sample.id, "reason": str(exc)})
        truth_score = sample.meta.get("score") if isinstance(sample.meta, Mapping) else None
        if isinstance(truth_score, (int, float)) and verdict.score is not None:
            pair = (float(verdict.score), float(truth_score))
        classification = None
        if sample.label in ("real", "fake"):
            classification = ClassificationRow(sample.label, verdict.label, verdict.score)
        run.add(SampleRows(group_value(sample, group_by), classification, fake, real, empty, heat, pair))
        overlay = None
        if overlay_dir is not None:
            try:
                image = load_image(sample.image).pixels
                overlay = overlay_name(sample.id)
                save_png(str(overlay_dir / overlay), draw_overlay(image, verdict, truth_mask=gt))
            except ImageError as exc:
                problems.append({"id": sample.id, "reason": str(exc)})
        scores.append(SampleScore(sample.id, sample.label, verdict.label, verdict.score, iou, verdict.error, overlay))
    metrics: dict[str, Any] = {
        "n_samples": len(samples),
        "n_missing": sum(1 for s in samples if s.id not in records),
        "n_skipped": sum(1 for s in samples if (records.get(s.id) or {}).get("skipped")),
        "n_errors": sum(1 for s in scores if s.error),
        **run.compute(group_by, bootstrap),
    }
    if problems:
        metrics["problems"] = problems
    return Evaluation(metrics, tuple(scores))
