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

from grounddefake.conventions import POINT_BOX_FRACTION
from grounddefake.grounding import load_mask, regions_to_heatmap, regions_to_mask
from grounddefake.images import ImageError, load_image
from grounddefake.metrics.classification import ClassificationRow
from grounddefake.metrics.heatmap import heatmap_row
from grounddefake.metrics.localization import LocalizationScorer
from grounddefake.metrics.run import RunMetrics, SampleRows
from grounddefake.overlay import draw_overlay, save_png
from grounddefake.overlay import side_by_side as overlay_side_by_side
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
    """Rebuild a Verdict from a ``predictions.jsonl`` record, validating every field.

    A malformed field never raises: a bad ``image_size`` or ``score`` is dropped, a bad region is skipped, and each
    becomes a parse error. Only ``id`` and ``label`` are needed.
    """
    errors = [str(e) for e in record.get("parse_errors") or () if isinstance(e, str)]
    size = _size(record.get("image_size"))
    if record.get("image_size") is not None and size is None:
        errors.append(f"image_size {record.get('image_size')!r:.60} is not [width, height]; ignored")
    score = record.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1):
        errors.append(f"score {score!r:.40} is not a number in [0, 1]; ignored")
        score = None
    items = record.get("regions") or []
    if not isinstance(items, list):
        errors.append(f"regions {items!r:.60} is not a list; ignored")
        items = []
    extent = None if size is None else POINT_BOX_FRACTION * min(size)
    regions = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, Mapping):
                raise ValueError(f"not an object: {item!r:.60}")
            regions.append(Region.from_json(item, point_extent=extent))
        except (TypeError, ValueError, OverflowError, IndexError, KeyError) as exc:
            errors.append(f"region {i} of the record unusable: {exc}")
    label = record.get("label")
    return Verdict(
        label=label if label in ("real", "fake") else "unknown",
        score=None if score is None else float(score),
        rationale=str(record.get("rationale") or ""),
        regions=tuple(regions),
        raw=str(record.get("raw") or ""),
        error=None if record.get("error") is None else str(record.get("error")),
        parse_errors=tuple(errors),
        image_size=size,
    )


def _size(value: Any) -> Size | None:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    try:
        width, height = (int(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def scale_regions(regions: Sequence[Region], source: Size, target: Size) -> tuple[Region, ...]:
    """Regions given in pixels of a ``source``-sized image, in pixels of the same image at ``target`` size."""
    if tuple(source) == tuple(target):
        return tuple(regions)
    sx, sy = target[0] / source[0], target[1] / source[1]
    scaled = []
    for r in regions:
        box = (r.box[0] * sx, r.box[1] * sy, r.box[2] * sx, r.box[3] * sy)
        polygon = None if r.polygon is None else tuple((x * sx, y * sy) for x, y in r.polygon)
        point = None if r.point is None else (r.point[0] * sx, r.point[1] * sy)
        scaled.append(Region(box, polygon, r.label, r.score, point))
    return tuple(scaled)


def overlay_name(sample_id: str) -> str:
    """A safe file name for a sample's overlay (ids may hold any characters); ids that had to be changed get a short
    hash, so ``a/b`` and ``a:b`` never share a file."""
    import hashlib

    safe = re.sub(r"[^A-Za-z0-9._-]", "_", sample_id)
    if safe != sample_id or len(safe) > 120:
        safe = f"{safe[:100]}-{hashlib.sha256(sample_id.encode('utf-8')).hexdigest()[:10]}"
    return safe + ".png"


def image_size_of(path: Path) -> Size | None:
    """(W, H) of an image as displayed (EXIF rotation applied), from its header; None when unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                width, height = height, width
    except (OSError, ValueError):
        return None
    return (width, height)


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


def load_heatmap(path: Path, size: Size | None = None) -> np.ndarray:
    """A ground-truth heatmap as (H, W) float in [0, 1] (8-bit /255, 16-bit /65535), resized to ``size`` if given.

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
    if size is not None and (values.shape[1], values.shape[0]) != tuple(size):
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
    side_by_side: bool = False,
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
        gt_size: Size | None = None
        if localization or overlay_dir is not None:
            try:
                # Ground truth at its own resolution: the mask file's size, else the image's (for GT regions).
                if sample.mask is not None:
                    gt = load_mask(sample.mask)
                    gt_size = (gt.shape[1], gt.shape[0])
                elif sample.regions:
                    gt_size = image_size_of(sample.image) or size  # GT regions are in the image's own pixels
                    gt = None if gt_size is None else regions_to_mask(sample.regions, gt_size)
            except ImageError as exc:
                problems.append({"id": sample.id, "reason": str(exc)})
        if localization and size is None and (sample.label == "real" or gt is not None):
            problems.append({"id": sample.id, "reason": "no image_size and the image is unreadable: not localized"})
        if localization and size is not None:
            if sample.label == "fake" and gt is not None and gt_size is not None:
                truth_boxes = tuple(r.box for r in scale_regions(sample.regions, gt_size, gt_size))
                predicted = scale_regions(claimed, size, gt_size)  # rasterised at ground-truth resolution
                fake = LocalizationScorer(run.thresholds).update_fake(predicted, gt, truth_boxes)
                empty = fake is None
                iou = None if fake is None else fake.pixels.iou
            elif sample.label == "real":
                real = LocalizationScorer().update_real(claimed, size)
        if sample.heatmap is not None and size is not None:
            try:
                truth_heat = load_heatmap(sample.heatmap)
                heat_size = (truth_heat.shape[1], truth_heat.shape[0])
                predicted_heat = regions_to_heatmap(scale_regions(claimed, size, heat_size), heat_size)
                heat = heatmap_row(predicted_heat, truth_heat)
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
                shown = gt if gt is not None and gt.shape == image.shape[:2] else None
                truth = sample.regions if (image.shape[1], image.shape[0]) == (gt_size or (0, 0)) else ()
                draw = overlay_side_by_side if side_by_side else draw_overlay
                save_png(str(overlay_dir / overlay), draw(image, verdict, truth, truth_mask=shown))
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
