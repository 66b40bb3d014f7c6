"""Runs: ``evaluate`` a model on a dataset into a run directory, ``resume`` it, ``merge`` shards.

Every run goes the same way after its answers: score the records (no image is decoded), write ``metrics.json`` and
``samples.jsonl``, draw the overlays in a pass of their own, then write ``report.md`` and ``report.html``. The run
directory is locked from the first write to the last.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grounddefake.backends import Backend, create_backend
from grounddefake.cache import ResponseCache
from grounddefake.caller import Caller, RequestStats, RetryPolicy
from grounddefake.datasets import Dataset, fingerprint, load_dataset
from grounddefake.datasets.manifest import MAX_LISTED_PROBLEMS
from grounddefake.heatmaps.modes import HeatmapMode
from grounddefake.label_space import LabelSpaceError, space_of
from grounddefake.moderation import check_judge, moderation_metrics
from grounddefake.overlay_pass import draw_overlays
from grounddefake.pipeline import PredictionOutcome, Problem, predict_samples, resolve_convention, run_blocking
from grounddefake.prompts import PromptPack, PromptPackError, SampleInputError, load_pack
from grounddefake.published import published_json
from grounddefake.records import SCHEMA, skip_reason
from grounddefake.report import render_markdown
from grounddefake.report_html import render_html
from grounddefake.run_config import FORENSIC, RunConfig, in_shard, parse_shard
from grounddefake.rundir import RunDir, RunDirectoryError, default_run_dir
from grounddefake.scoring import Scores, score_records
from grounddefake.suites import apply_suite, load_suite
from grounddefake.types import Sample
from grounddefake.version import __version__

OnResult = Callable[[Sample, dict[str, Any]], None]
OnStats = Callable[[RequestStats], None]


@dataclass(frozen=True)
class RunResult:
    """What a run wrote and measured."""

    run_dir: Path
    metrics: dict[str, Any]
    scores: Scores
    problems: tuple[Problem, ...]
    reused: int
    seconds: float
    stats: RequestStats


def data_name(data: str | Path | Dataset) -> str:
    """How a run names its data in config.json: the path given, or a loaded Dataset's source ("demo" for the demo)."""
    if isinstance(data, Dataset):
        return "demo" if data.name == "demo" else str(data.source)
    return str(data)


def evaluate(
    data: str | Path | Dataset | RunConfig = "demo",
    model: str | Backend | None = FORENSIC,
    prompt: str | Path | PromptPack | None = None,
    with_boxes: bool = False,
    out: str | Path | None = None,
    limit: int | None = None,
    concurrency: int | None = None,
    params: Any = None,
    on_result: OnResult | None = None,
    *,
    on_stats: OnStats | None = None,
    dataset: Dataset | None = None,
    **options: Any,
) -> RunResult:
    """Run ``model`` on ``data`` and write the run directory.

    Writes ``config.json``, ``predictions.jsonl`` (appended and flushed as answers arrive; a re-run in the same
    directory, or :func:`resume`, skips finished samples and retries failed ones), ``metrics.json``,
    ``samples.jsonl``, ``report.md``, ``report.html`` and the overlays ``overlays`` selects.

    Args:
        data: a :class:`RunConfig` holding every option, or the data (``demo``, a manifest, a dataset folder, a
            loaded Dataset) with the other options as keywords (every field of :class:`RunConfig`, such as
            ``suite="synthscars"``, ``base_urls``, ``group_by``, ``overlays``).
        model: a model name (see :class:`RunConfig`) or a Backend.
        prompt: a pack name, YAML path or PromptPack.
        on_result: called with each sample and its record as it arrives.
        on_stats: called with the running request counts after every answer.
        dataset: the data already loaded (a RunConfig names it by path).

    Raises:
        RunDirectoryError: ``out`` holds another configuration's answers, or another process writes it.
    """
    dataset = data if isinstance(data, Dataset) else dataset
    backend = model if isinstance(model, Backend) else None
    pack = prompt if isinstance(prompt, PromptPack) else None
    if isinstance(data, RunConfig):
        config = data
    else:
        if params is not None:
            options["params"] = params
        for key in ("cache_dir", "out", "adapter"):
            if options.get(key) is not None:
                options[key] = str(options[key])
        if isinstance(options.get("shard"), str):
            options["shard"] = parse_shard(options["shard"])
        config = RunConfig(
            data=data_name(data),
            model=backend.model if backend is not None else model,  # type: ignore[arg-type]
            prompt=str(prompt) if isinstance(prompt, (str, Path)) else None if pack is None else pack.source,
            with_boxes=with_boxes,
            out=None if out is None else str(out),
            limit=limit,
            concurrency=concurrency,
            **options,
        )
    return _evaluate(apply_suite(config), dataset, backend, pack, on_result, on_stats)


def resume(run_dir: str | Path, on_result: OnResult | None = None, on_stats: OnStats | None = None) -> RunResult:
    """Continue a run from its ``config.json``: finished samples are kept, failed and missing ones are asked.

    Raises:
        RunDirectoryError: no readable ``config.json`` in ``run_dir``, or it was written by ``score``.
    """
    config = RunDir.at(run_dir).read_config()
    if config.get("kind") == "score":
        raise RunDirectoryError(f"{run_dir} holds scored predictions made elsewhere: there is no model to resume")
    options = RunConfig.from_config(config).replace(out=str(run_dir))
    return evaluate(options, on_result=on_result, on_stats=on_stats)


def inputs_digest(pack: PromptPack, samples: Sequence[Sample]) -> str | None:
    """A sha256 of every sample's declared inputs (None when the pack declares none): a folder dataset's
    fingerprint does not cover ``meta``, and a changed question must not reuse an answer to the old one."""
    if not pack.inputs:
        return None
    digest = hashlib.sha256()
    for sample in samples:
        try:
            values: Any = pack.inputs_of(sample.meta, sample.id)
        except SampleInputError as exc:
            values = str(exc)
        digest.update(json.dumps([sample.id, values], sort_keys=True, default=str).encode() + b"\n")
    return digest.hexdigest()


def _run_key(
    backend: Backend,
    pack: PromptPack,
    options: RunConfig,
    convention: str | None,
    dataset_sha256: str,
    inputs: str | None = None,
) -> str:
    """What makes two runs' answers interchangeable: the data (and the declared inputs of its samples), the model
    (and its code), image policy, prompt, parameters."""
    key = {
        "data": dataset_sha256 if inputs is None else [dataset_sha256, inputs],
        "backend": backend.run_identity(),
        "image_policy": backend.describe().get("image_policy"),
        "convention": convention,
        "prompt": pack.id,
        "params": options.params.to_json(),
    }
    if options.heatmap not in (None, "boxes"):  # a dense mode's answers are others (consensus) or more (probe)
        key["heatmap"] = options.heatmap
    if options.faithfulness:  # its lines carry the deletion test
        key["faithfulness"] = True
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def provenance() -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "grounddefake": __version__,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _backend(options: RunConfig, pack: PromptPack | None = None) -> Backend:
    """The run's backend; a pack that defines its box format stands in for ``--convention`` of an unknown model."""
    return create_backend(
        options.model,
        base_urls=options.base_urls,
        api_key_env=options.api_key_env,
        convention=options.convention,
        image_format=options.image_format,
        timeout=options.timeout,
        local=options.local,
        prompt_convention=None if pack is None else pack.defined_convention,
        adapter=options.adapter,
    )


def _evaluate(
    options: RunConfig,
    dataset: Dataset | None,
    backend: Backend | None,
    pack: PromptPack | None,
    on_result: OnResult | None,
    on_stats: OnStats | None,
) -> RunResult:
    if pack is None and options.prompt is not None:  # a pack the sandbox refuses fails before any file is written
        pack = load_pack(options.prompt)
    check_judge(options)  # so does a judge of explanations that cannot be used
    if options.out is None:  # a new folder: named after the model, so the model is made first
        backend = backend or _backend(options, pack)
        options = options.replace(out=str(default_run_dir(backend.model, options.data)))
    with RunDir.at(options.out).locked() as run_dir:  # before the model is loaded or any request is sent
        backend = backend or _backend(options, pack)
        return _evaluate_locked(run_dir, options, dataset, backend, pack, on_result, on_stats)


def _evaluate_locked(
    run_dir: RunDir,
    options: RunConfig,
    dataset: Dataset | None,
    backend: Backend,
    pack: PromptPack | None,
    on_result: OnResult | None,
    on_stats: OnStats | None,
) -> RunResult:
    task = "grounded" if options.with_boxes else "verdict"
    pack = pack or load_pack(options.prompt or backend.prompt_defaults.get(task, task))
    if pack.task == "judge":
        raise PromptPackError(f"'{pack.name}' is a judge pack: it scores explanations with --judge-model, not --prompt")
    grounds = pack.task == "grounded" or any(rule.ground for rule in pack.rules)
    if options.with_boxes and not grounds:
        raise PromptPackError(
            f"--with-boxes needs a grounding prompt pack (task grounded, or rules with ground: true); '{pack.name}' "
            f"has task '{pack.task}'"
        )
    convention = resolve_convention(pack, backend)
    heatmap = HeatmapMode.parse(options.heatmap)
    heatmap.check(options.params.temperature)
    try:
        space = pack.label_space.with_positive(options.positive)
    except LabelSpaceError as exc:
        raise PromptPackError(f"--positive: {exc} of the prompt pack '{pack.name}'") from None
    dataset = dataset or load_dataset(options.data, options.data_format, label_map=options.label_mapping)
    samples = [s for s in list(dataset.samples)[: options.limit] if in_shard(s.id, options.shard)]
    dataset_sha256 = fingerprint(dataset)
    run_key = _run_key(backend, pack, options, convention, dataset_sha256, inputs_digest(pack, samples))
    run_dir.check_answers_belong(run_key)
    concurrency = options.concurrency or getattr(backend, "default_concurrency", 4)
    config = {
        **provenance(),
        "kind": "eval",
        "run_key": run_key,
        "options": options.replace(data_format=dataset.format).to_json(),
        "data": options.data,
        "data_format": dataset.format,
        "dataset_source": str(dataset.source),
        "dataset_sha256": dataset_sha256,
        "n_samples": len(samples),
        "model": backend.model,
        "backend": backend.describe(),
        "prompt": pack.id,
        "prompt_source": pack.source,
        "convention": convention,
        **space.to_json(),
        "localization": options.with_boxes or grounds,
        "concurrency": concurrency,
    }
    run_dir.write_config(config)
    response_cache = ResponseCache(options.cache_dir) if options.cache and backend.cacheable else None
    retry = RetryPolicy(max_retries=options.max_retries)
    caller = Caller(backend, cache=response_cache, retry=retry, rpm=options.rpm, tpm=options.tpm, prompt_hash=pack.hash)

    def report(sample: Sample, record: dict[str, Any]) -> None:
        if on_result:
            on_result(sample, record)
        if on_stats:
            on_stats(caller.stats)

    async def predict() -> PredictionOutcome:
        try:
            return await predict_samples(
                samples,
                caller,
                pack,
                run_dir,
                concurrency,
                options.params,
                report,
                run_key,
                heatmap,
                options.faithfulness,
            )
        finally:
            await backend.aclose()
            if response_cache is not None:
                response_cache.close()

    outcome = run_blocking(predict)
    return finish_run(run_dir, options, config, samples, outcome, dataset.problems)


def finish_run(
    run_dir: RunDir,
    options: RunConfig,
    config: Mapping[str, Any],
    samples: Sequence[Sample],
    outcome: PredictionOutcome,
    data_problems: Sequence[str] = (),
) -> RunResult:
    """Score the records, write metrics.json and samples.jsonl, draw the overlays, write the reports.

    ``metrics.json`` → ``phases`` holds the seconds of each step (``answers`` is the request phase, also
    ``seconds``), so the time after the model is visible beside the time with it. ``data_problems``: the dataset's
    entries that could not be read (:func:`data_problems_json`).
    """
    clock = time.perf_counter()
    scores = score_records(
        samples,
        outcome.records,
        localization=bool(config.get("localization")),
        thresholds=options.iou_thresholds,
        group_by=options.group_by,
        bootstrap=options.bootstrap_draws,
        space=space_of(config.get("labels"), config.get("positive")),
        gt_raster=options.truth_raster,
        run_dir=run_dir.path,
    )
    metrics = dict(scores.metrics)
    moderation = moderation_metrics(samples, outcome.records, options)  # MQA, and MEQ by the judge
    if moderation is not None:
        metrics["moderation"] = moderation
    if options.suite is not None:
        suite = load_suite(options.suite)
        metrics["published"] = published_json(suite.name, suite.published, metrics)
    metrics["skipped"] = [{"id": p.id, "reason": p.reason} for p in outcome.problems]
    metrics.update(data_problems_json(data_problems))
    metrics["seconds"] = round(outcome.seconds, 3)
    metrics["requests"] = outcome.stats.to_json()
    phases = metrics["phases"] = {"answers": round(outcome.seconds, 3)}
    run_dir.write_metrics(metrics)  # first: nothing after it (overlays, reports) can lose the numbers
    run_dir.write_samples(scores.samples)
    phases["scoring"], clock = round(time.perf_counter() - clock, 3), time.perf_counter()
    drawn = draw_overlays(
        run_dir,
        samples,
        outcome.records,
        scores.samples,
        mode=options.overlays,
        size=options.overlay_size,
        paired=options.side_by_side,
        redraw=True,
    )
    if drawn.problems:
        metrics["overlay_problems"] = list(drawn.problems)
    phases["overlays"], clock = round(time.perf_counter() - clock, 3), time.perf_counter()
    overlays = run_dir.drawn_overlays()
    run_dir.write_report(
        render_markdown(config, metrics, scores.samples, overlays, outcome.records),
        render_html(config, metrics, scores.samples, outcome.records, overlays),
    )
    phases["reports"] = round(time.perf_counter() - clock, 3)
    run_dir.write_metrics(metrics)
    return RunResult(run_dir.path, metrics, scores, outcome.problems, outcome.reused, outcome.seconds, outcome.stats)


def data_problems_json(problems: Sequence[str]) -> dict[str, Any]:
    """The metrics keys of a dataset's unusable entries: ``n_data_problems`` and the first
    :data:`~grounddefake.datasets.manifest.MAX_LISTED_PROBLEMS` of them in ``data_problems`` (none: no keys)."""
    if not problems:
        return {}
    return {"n_data_problems": len(problems), "data_problems": list(problems[:MAX_LISTED_PROBLEMS])}


def merge(run_dirs: Sequence[str | Path], out: str | Path) -> RunResult:
    """Combine shard runs of one configuration into one run; its metrics equal those of the unsharded run.

    Raises:
        RunDirectoryError: the runs differ in configuration or dataset, or a sample is answered in two of them.
    """
    shards = [RunDir.at(d) for d in run_dirs]
    configs = [shard.read_config() for shard in shards]
    first = configs[0]
    for d, config in zip(run_dirs, configs, strict=True):
        for field in ("run_key", "dataset_sha256", "localization"):
            if config.get(field) != first.get(field):
                raise RunDirectoryError(f"{d}: {field} differs from {run_dirs[0]}; only shards of one run merge")
    options = RunConfig.from_config(first).replace(shard=None, out=str(out))
    if any(RunConfig.from_config(c).limit != options.limit for c in configs):
        raise RunDirectoryError(
            f"the runs differ in limit; only shards of one run merge ({', '.join(map(str, run_dirs))})"
        )
    dataset = load_dataset(first["data"], first.get("data_format"), label_map=options.label_mapping)
    samples = list(dataset.samples)[: options.limit]
    records: dict[str, dict[str, Any]] = {}
    for d, shard in zip(run_dirs, shards, strict=True):
        for sample_id, record in shard.read_predictions().items():
            if sample_id in records:
                raise RunDirectoryError(f"sample {sample_id!r} is answered in more than one of the runs ({d})")
            records[sample_id] = record
    ordered = {s.id: records[s.id] for s in samples if s.id in records}
    unreadable = [Problem(i, skip_reason(r)) for i, r in ordered.items() if r.get("skipped")]
    missing = [Problem(s.id, "missing from every shard") for s in samples if s.id not in records]
    stats, seconds = RequestStats(), 0.0
    for shard in shards:
        try:
            metrics = shard.read_metrics()
        except FileNotFoundError:
            continue  # a shard that was never finished: its answers still count, its counts are unknown
        stats.add_json(metrics.get("requests") or {})
        seconds = max(seconds, float(metrics.get("seconds", 0.0)))
    target = RunDir.at(out)
    with target.locked():
        target.write_predictions(ordered.values())
        config = {
            **first,
            "options": options.to_json(),
            "shard": None,
            "n_samples": len(samples),
            "merged_from": [str(d) for d in run_dirs],
        }
        target.write_config(config)
        outcome = PredictionOutcome(ordered, (*unreadable, *missing), 0, seconds, stats)
        return finish_run(target, options, config, samples, outcome, dataset.problems)
