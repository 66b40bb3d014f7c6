"""Score prediction records against ground truth: one pure function per sample, then the aggregate.

Scoring reads records and ground truth (masks and heatmaps as before) and never decodes a sample's photo: the size
the regions refer to comes from the record (``image_size``) or, when it lacks one, from the image's header.
Streaming: each sample's ground truth is loaded, scored and dropped; only per-sample scalars are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grounddefake.grounding import (
    clip_regions,
    load_heatmap,
    load_mask,
    regions_to_heatmap,
    regions_to_mask,
    scale_regions,
)
from grounddefake.heatmaps.store import load_stored_heatmap
from grounddefake.images import ImageError, image_size_of
from grounddefake.label_space import REAL_FAKE, LabelSpace
from grounddefake.metrics.accumulator import MetricsAccumulator, SampleRows
from grounddefake.metrics.classification import ClassificationRow
from grounddefake.metrics.faithfulness import faithfulness_row
from grounddefake.metrics.heatmap import heatmap_row
from grounddefake.metrics.legion import legion_truth_mask
from grounddefake.metrics.localization import LocalizationScorer
from grounddefake.metrics.rules import RuleRow
from grounddefake.metrics.scores import score_pair
from grounddefake.metrics.sid_set import sid_set_row, tampered_pixels
from grounddefake.records import SampleScore, verdict_from_record
from grounddefake.scalar import Direction, ScalarError, direction_of
from grounddefake.types import Sample, Size
from grounddefake.verdict import Verdict


@dataclass(frozen=True)
class ScoredSample:
    """What one sample contributed: the metric rows, the report's row, and what could not be scored."""

    rows: SampleRows
    score: SampleScore
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scores:
    """The metrics of a set of records and each sample's row."""

    metrics: dict[str, Any]
    samples: tuple[SampleScore, ...]


def group_value(sample: Sample, field: str | None) -> str | None:
    """The value of ``meta.FIELD`` (or a top-level ``label``) for ``--group-by``; None when the sample lacks it."""
    if field is None:
        return None
    if field == "label":
        return sample.label
    value: Any = sample.meta
    for part in field.removeprefix("meta.").split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return None if value is None else str(value)


def truth_direction(meta: Mapping[str, Any]) -> tuple[Direction | None, str | None]:
    """The direction of a sample's ground-truth score (``meta.score_direction``), None when not declared, and a
    note when the declared one is not a direction.

    >>> truth_direction({"score": 0.5, "score_direction": "plausibility"}), truth_direction({"score": 0.5})
    (('plausibility', None), (None, None))
    """
    value = meta.get("score_direction")
    if value is None:
        return None, None
    try:
        return direction_of(value, "meta.score_direction"), None
    except ScalarError as exc:
        return None, f"{exc}: taken as not declared"


def score_sample(
    sample: Sample,
    verdict: Verdict,
    *,
    localization: bool,
    thresholds: tuple[float, ...] = (0.5,),
    group_by: str | None = None,
    space: LabelSpace = REAL_FAKE,
    tokens: int | None = None,
    gt_raster: str = "centre",
    dense_heatmap: Callable[[Size], np.ndarray] | None = None,
    faithfulness: Mapping[str, Any] | None = None,
) -> ScoredSample:
    """Score one verdict against one sample's ground truth, in the task's label ``space`` (``tokens``: what the
    answer cost, for a rule pack's cost table; ``gt_raster``: how ground-truth regions become a mask, ``centre`` or
    ``legion``; ``dense_heatmap``: the answer's own map from a dense ``--heatmap`` mode at a given size, scored in
    place of its painted boxes).

    Only a positive answer's regions ("fake", "unsafe") count as its localization: a negative answer claims none.
    Localization is scored on positive samples (against their regions or mask) and on negative ones (any claimed
    area is a false alarm). Ground-truth masks are compared at their own resolution (the predicted regions are
    scaled to it).
    """
    problems: list[str] = []
    size = verdict.image_size
    positive, negative = sample.label == space.positive, sample.label in space.negatives
    claimed = verdict.regions if verdict.label == space.positive else ()
    fake = real = heat = pair = None
    iou, empty = None, False
    sid_pixels: tuple[int, int] | None = None
    if localization:
        gt, gt_size, truth = None, None, sample.regions
        try:
            if sample.mask is not None:
                gt = load_mask(sample.mask)
                gt_size = (gt.shape[1], gt.shape[0])
                if size is not None and gt_size != tuple(size):
                    problems.append(
                        f"mask {sample.mask.name} is {gt_size[0]}x{gt_size[1]}, the image {size[0]}x{size[1]}: "
                        "compared at the mask's size"
                    )
            elif sample.regions:
                gt_size = image_size_of(sample.image) or size  # GT regions are in the image's own pixels
            if truth and gt_size is not None:
                truth, notes = clip_regions(truth, gt_size, "ground-truth region")
                problems += notes
            if gt is None and truth and gt_size is not None:
                gt = legion_truth_mask(truth, gt_size) if gt_raster == "legion" else regions_to_mask(truth, gt_size)
        except ImageError as exc:
            problems.append(str(exc))
        if size is None and (negative or gt is not None):
            problems.append("no image_size and the image is unreadable: not localized")
        elif size is not None and positive and gt is not None and gt_size is not None:
            truth_boxes = tuple(r.box for r in truth)
            predicted = scale_regions(claimed, size, gt_size)  # rasterised at ground-truth resolution
            fake = LocalizationScorer(thresholds).update_fake(predicted, gt, truth_boxes)
            empty = fake is None
            iou = None if fake is None else fake.pixels.iou
            sid_pixels = tampered_pixels(fake, predicted, gt, gt_size)
        elif size is not None and negative:
            real = LocalizationScorer().update_real(claimed, size)
    if sample.heatmap is not None and size is not None:
        try:
            truth_heat = load_heatmap(sample.heatmap)
            heat_size: Size = (truth_heat.shape[1], truth_heat.shape[0])
            if dense_heatmap is not None:
                predicted_heat = dense_heatmap(heat_size)
            else:
                predicted_heat = regions_to_heatmap(scale_regions(claimed, size, heat_size), heat_size)
            heat = heatmap_row(predicted_heat, truth_heat)
        except ImageError as exc:
            problems.append(str(exc))
    truth_score = sample.meta.get("score") if isinstance(sample.meta, Mapping) else None
    if isinstance(truth_score, (int, float)) and not isinstance(truth_score, bool):
        direction, note = truth_direction(sample.meta)
        problems += [note] if note else []
        pair = score_pair(verdict.score, verdict.scalar, float(truth_score), direction)
    classification = None
    if positive or negative:
        classification = ClassificationRow(str(sample.label), verdict.label, verdict.score)
    elif sample.label is not None:
        problems.append(f"label '{sample.label}' is not one of the task's labels ({', '.join(space.labels)})")
    check = None
    if isinstance(faithfulness, Mapping):
        try:
            check = faithfulness_row(faithfulness, space)
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"faithfulness: unreadable ({type(exc).__name__}: {exc})")
    rules = None
    if verdict.rules:
        rules = RuleRow(sample.label, verdict.label, sample.rules, verdict.rules, verdict.requests, tokens)
    subtype = sample.meta.get("subtype") if isinstance(sample.meta, Mapping) and space == REAL_FAKE else None
    sid = sid_set_row(subtype, verdict.label, bool(claimed), sid_pixels)
    rows = SampleRows(
        group_value(sample, group_by),
        classification,
        fake,
        real,
        empty,
        heat,
        pair,
        rules,
        sid_set=sid,
        faithfulness=check,
    )
    row = SampleScore(sample.id, sample.label, verdict.label, verdict.score, iou, verdict.error, space.positive)
    return ScoredSample(rows, row, tuple(problems))


def record_tokens(record: Mapping[str, Any]) -> int | None:
    """Prompt + completion tokens of a record's ``usage``; None when it has none.

    >>> record_tokens({"usage": {"prompt_tokens": 120, "completion_tokens": 3}}), record_tokens({})
    (123, None)
    """
    usage = record.get("usage")
    if not isinstance(usage, Mapping):
        return None
    counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens")]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        return None
    return int(sum(counts))  # type: ignore[arg-type]


def _stored_heatmap(run_dir: Path | None, record: Mapping[str, Any]) -> Callable[[Size], np.ndarray] | None:
    """The loader of a record's dense heatmap (``heatmap``: a PNG of the run directory), None when it has none."""
    relative = record.get("heatmap")
    if run_dir is None or not isinstance(relative, str):
        return None
    return lambda size: load_stored_heatmap(run_dir, relative, size)


def score_records(
    samples: Sequence[Sample],
    records: Mapping[str, Mapping[str, Any]],
    *,
    localization: bool,
    thresholds: tuple[float, ...] = (0.5,),
    group_by: str | None = None,
    bootstrap: int = 0,
    space: LabelSpace = REAL_FAKE,
    gt_raster: str = "centre",
    run_dir: Path | None = None,
) -> Scores:
    """Every metric over the samples that have a record (classification; localization when asked; heatmap and
    score groups when the ground truth has them; a record's dense map, read from ``run_dir``, is what its heatmap
    metrics score).

    Samples without a record are counted in ``n_missing``, unreadable ones (``"skipped": true``) in ``n_skipped``;
    neither is scored.
    """
    accumulator = MetricsAccumulator(localization=localization, thresholds=thresholds, space=space, gt_raster=gt_raster)
    rows: list[SampleScore] = []
    problems: list[dict[str, str]] = []
    for sample in samples:
        record = records.get(sample.id)
        if record is None or record.get("skipped"):
            continue
        scored = score_sample(
            sample,
            verdict_from_record(record),
            localization=localization,
            thresholds=thresholds,
            group_by=group_by,
            space=space,
            tokens=record_tokens(record),
            gt_raster=gt_raster,
            dense_heatmap=_stored_heatmap(run_dir, record),
            faithfulness=record.get("faithfulness"),
        )
        accumulator.add(scored.rows)
        rows.append(scored.score)
        problems += [{"id": sample.id, "reason": reason} for reason in scored.problems]
    metrics: dict[str, Any] = {
        "n_samples": len(samples),
        "n_missing": sum(1 for s in samples if s.id not in records),
        "n_skipped": sum(1 for s in samples if (records.get(s.id) or {}).get("skipped")),
        "n_errors": sum(1 for s in rows if s.error),
        **accumulator.compute(group_by, bootstrap),
    }
    if problems:
        metrics["problems"] = problems
    return Scores(metrics, tuple(rows))
