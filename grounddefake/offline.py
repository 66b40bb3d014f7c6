"""Runs without a model: ``score`` predictions made elsewhere into a run directory, and rebuild a run's ``report``.

Both go through the same steps as ``eval`` after its answers (:func:`grounddefake.runs.finish_run`), so ``report``
and ``compare`` read their directories like any other run's.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grounddefake.caller import RequestStats
from grounddefake.datasets import DatasetError, fingerprint, load_dataset
from grounddefake.datasets.label_map import parse_label_map
from grounddefake.heatmaps.store import HEATMAPS
from grounddefake.images import image_size_of
from grounddefake.label_space import space_from_truth
from grounddefake.moderation import check_judge, moderation_metrics
from grounddefake.overlay_pass import draw_overlays
from grounddefake.pipeline import PredictionOutcome, Problem
from grounddefake.records import SampleScore, record_size, skip_reason
from grounddefake.report import render_markdown
from grounddefake.report_html import render_html
from grounddefake.run_config import DEFAULT_OVERLAY_SIZE, OVERLAY_MODES, OverlayMode, RunConfig
from grounddefake.rundir import RunDir, RunDirectoryError, read_predictions
from grounddefake.runs import data_name, data_problems_json, finish_run, provenance
from grounddefake.scoring import score_records


def score(
    predictions: str | Path,
    data: str | Path,
    out: str | Path | None = None,
    *,
    group_by: str | None = None,
    bootstrap: int = 0,
    iou_threshold: float = 0.5,
    gt_raster: str | None = None,
    label_map: str | None = None,
    localization: bool | None = None,
    overlays: OverlayMode = "mistakes",
    overlay_size: int | None = None,
    data_format: str | None = None,
    positive: str | None = None,
    judge_model: str | None = None,
    judge_base_url: str | None = None,
    judge_api_key_env: str | None = None,
    judge_prompt: str = "meq-judge",
) -> dict[str, Any]:
    """Score a predictions file made anywhere against a dataset; with ``out``, write a full run directory there
    (config, predictions, samples, metrics, overlays, report.md, report.html), which ``report`` and ``compare`` read.

    A predictions line needs only ``id`` and ``label``; ``score``, ``regions``, ``image_size`` and the rest are
    optional (a missing ``image_size`` is read from the image's header). An mllm-defake result CSV is read too.
    ``eval`` uses the same scoring code.

    Args:
        localization: score localization (default: when any line has regions).
        gt_raster: how ground-truth regions become a mask (``centre``, default, or ``legion``).
        label_map: what the dataset's numeric labels mean (``0=fake,1=real``).
        overlays: which overlays to draw into ``out`` (``none``, ``mistakes``, ``all``).
        positive: the positive class (default ``fake``); another one (``unsafe``) makes the labels those of the
            ground truth plus it.
        judge_model, judge_base_url, judge_api_key_env, judge_prompt: the LLM judge that scores explanations
            (MEQ, ``metrics.json → moderation``), on its own OpenAI-compatible endpoint; its requests are cached.

    Raises:
        FileNotFoundError: no such predictions file.
        RunDirectoryError: ``out`` is an eval run directory (its config would be replaced), or is being written.
    """
    source = Path(predictions)
    if source.is_dir():  # a run directory: its predictions
        source = source / "predictions.jsonl"
    if not source.is_file():
        raise FileNotFoundError(f"{predictions}: no such predictions file")
    dataset = load_dataset(data, data_format, label_map=parse_label_map(label_map))
    samples = list(dataset.samples)
    space = space_from_truth((s.label for s in samples), positive)
    unmatched_rows = 0
    if source.suffix.lower() == ".csv":  # an mllm-defake result CSV (1 real, 0 fake, -1 unknown)
        from grounddefake.interop import read_mllm_defake_csv

        records, unmatched_rows = read_mllm_defake_csv(source, samples)
    else:
        records = read_predictions(source)
    for sample in samples:
        record = records.get(sample.id)
        if record is not None and record_size(record.get("image_size")) is None and not record.get("skipped"):
            size = image_size_of(sample.image)
            records[sample.id] = {**record, "image_size": None if size is None else list(size)}
    if localization is None:
        localization = any(r.get("regions") for r in records.values())
    n_unmatched = len(set(records) - {s.id for s in samples}) + unmatched_rows
    options = RunConfig(
        data=data_name(data),
        data_format=dataset.format,
        out=None if out is None else str(out),
        group_by=group_by,
        bootstrap=bootstrap,
        iou_threshold=iou_threshold,
        gt_raster=gt_raster,
        label_map=label_map,
        overlays=overlays,
        overlay_size=overlay_size or DEFAULT_OVERLAY_SIZE,
        model=None,
        positive=positive,
        judge_model=judge_model,
        judge_base_url=judge_base_url,
        judge_api_key_env=judge_api_key_env,
        judge_prompt=judge_prompt,
    )
    check_judge(options)
    ordered = {s.id: records[s.id] for s in samples if s.id in records}
    if out is None:
        scores = score_records(
            samples,
            ordered,
            localization=localization,
            thresholds=options.iou_thresholds,
            group_by=group_by,
            bootstrap=bootstrap,
            space=space,
            gt_raster=options.truth_raster,
            run_dir=source.parent,
        )
        moderation = moderation_metrics(samples, ordered, options)
        extra = {} if moderation is None else {"moderation": moderation}
        return {
            **scores.metrics,
            **extra,
            "n_unmatched_predictions": n_unmatched,
            **data_problems_json(dataset.problems),
        }
    target = RunDir.at(out)
    if target.has_config() and target.read_config().get("kind", "eval") != "score":
        raise RunDirectoryError(f"{out} is the run directory of an eval: score into another --out")
    with target.locked():
        target.write_predictions(ordered.values())
        _copy_heatmaps(source.parent, target.path)
        config = {
            **provenance(),
            "kind": "score",
            "run_key": hashlib.sha256(source.read_bytes()).hexdigest()[:16],
            "options": options.to_json(),
            "predictions_source": str(source.resolve()),
            "data": options.data,
            "data_format": dataset.format,
            "dataset_source": str(dataset.source),
            "dataset_sha256": fingerprint(dataset),
            "n_samples": len(samples),
            "model": _most_common(ordered, "model") or source.stem,
            "prompt": _most_common(ordered, "prompt") or "—",
            **space.to_json(),
            "localization": localization,
        }
        target.write_config(config)
        problems = tuple(Problem(i, skip_reason(r)) for i, r in ordered.items() if r.get("skipped"))
        outcome = PredictionOutcome(ordered, problems, 0, 0.0, RequestStats())
        result = finish_run(target, options, config, samples, outcome, dataset.problems)
    metrics = {**result.metrics, "n_unmatched_predictions": n_unmatched}
    target.write_metrics(metrics)
    return metrics


def _copy_heatmaps(source: Path, target: Path) -> None:
    """The dense maps the predictions name (``heatmaps/`` beside them), into the new run directory."""
    folder = source / HEATMAPS
    if folder.is_dir() and folder.resolve() != (target / HEATMAPS).resolve():
        shutil.copytree(folder, target / HEATMAPS, dirs_exist_ok=True)


def _most_common(records: Mapping[str, Mapping[str, Any]], field: str) -> str | None:
    values = Counter(str(r[field]) for r in records.values() if r.get(field))
    return values.most_common(1)[0][0] if values else None


def build_report(
    run_dir: str | Path, overlays: OverlayMode = "mistakes", overlay_size: int | None = None
) -> tuple[Path, Path]:
    """Rebuild ``report.md`` and ``report.html`` of a run from its files, first drawing any overlay ``overlays``
    selects that is missing (``all`` draws the rest of a run made with the default). An overlay that cannot be
    drawn (the run's data moved, an image unreadable) is a warning, and the reports are written all the same.

    Raises:
        RunDirectoryError: not a run directory, or another process writes it.
        FileNotFoundError: a file of the run is missing.
        ValueError: ``overlays`` is not one of none, mistakes, all.
    """
    if overlays not in OVERLAY_MODES:
        raise ValueError(f"overlays is one of {', '.join(OVERLAY_MODES)}, got {overlays!r}")
    target = RunDir.at(run_dir)
    config = target.read_config()
    metrics = target.read_metrics()
    rows = target.read_samples()
    records = target.read_predictions()
    with target.locked():
        if overlays != "none":
            _draw_missing_overlays(target, config, records, rows, overlays, overlay_size)
        drawn = target.drawn_overlays()
        return target.write_report(
            render_markdown(config, metrics, rows, drawn, records), render_html(config, metrics, rows, records, drawn)
        )


def _draw_missing_overlays(
    target: RunDir,
    config: Mapping[str, Any],
    records: Mapping[str, Mapping[str, Any]],
    rows: Sequence[SampleScore],
    overlays: OverlayMode,
    overlay_size: int | None,
) -> None:
    try:
        options = RunConfig.from_config(config)
    except (KeyError, TypeError, ValueError):
        options = RunConfig()
    try:
        dataset = load_dataset(config["data"], config.get("data_format"), label_map=options.label_mapping)
    except (DatasetError, FileNotFoundError, KeyError) as exc:
        warnings.warn(f"overlays not drawn: the run's data cannot be read ({exc})", stacklevel=3)
        return
    outcome = draw_overlays(
        target,
        list(dataset.samples),
        records,
        rows,
        mode=overlays,
        size=overlay_size or options.overlay_size,
        paired=options.side_by_side,
    )
    for problem in outcome.problems:
        warnings.warn(f"{problem['id']}: {problem['reason']}", stacklevel=3)
