"""Score prediction records against a dataset and draw one overlay per sample.

Streaming: each sample's ground truth is loaded, scored and dropped; only per-sample scalars are kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grounddefake.grounding import regions_to_mask, truth_mask
from grounddefake.images import ImageError, load_image
from grounddefake.metrics import ClassificationScorer, LocalizationScorer
from grounddefake.overlay import draw_overlay, save_png
from grounddefake.types import Region, Sample, Verdict


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


def score_run(
    samples: Sequence[Sample],
    records: Mapping[str, Mapping[str, Any]],
    localization: bool,
    overlay_dir: Path | None = None,
) -> Evaluation:
    """Classification (and, when ``localization``, mask IoU) over the samples that have a record.

    Samples without a record are counted in ``n_missing``, unreadable ones (``"skipped": true``) in ``n_skipped``;
    neither is scored. Only a "fake" answer's regions count as its localization: a "real" answer claims none.
    """
    classification = ClassificationScorer()
    pixels = LocalizationScorer()
    scores = []
    problems: list[dict[str, str]] = []
    if overlay_dir is not None:
        overlay_dir.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        record = records.get(sample.id)
        if record is None or record.get("skipped"):
            continue
        verdict = verdict_from_record(record)
        classification.update(sample.label, verdict.label)
        size = verdict.image_size
        iou = None
        gt = None
        try:
            if size is not None and (localization or overlay_dir is not None):
                gt = truth_mask(sample, size)
        except ImageError as exc:
            problems.append({"id": sample.id, "reason": str(exc)})
        if localization and sample.label == "fake" and gt is not None and size is not None:
            claimed = verdict.regions if verdict.label == "fake" else ()
            iou = pixels.update(regions_to_mask(claimed, size), gt)
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
        "classification": classification.compute(),
    }
    if localization:
        metrics["localization"] = pixels.compute()
    if problems:
        metrics["problems"] = problems
    return Evaluation(metrics, tuple(scores))
