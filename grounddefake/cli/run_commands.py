"""The commands that make and read runs: eval, score, report, compare, merge."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from grounddefake.backends import FORENSIC
from grounddefake.cli.app import (
    USER_ERRORS,
    app,
    batch_option,
    device_option,
    dtype_option,
    err,
    fail,
    gt_raster_option,
    heatmap_option,
    judge_api_key_env_option,
    judge_base_url_option,
    judge_model_option,
    judge_prompt_option,
    label_map_option,
    local_options,
    max_tokens_option,
    out,
    overlay_size_option,
    overlays_option,
)
from grounddefake.cli.display import metrics_table, progress_bar, published_table
from grounddefake.untrusted import visible


@app.command("eval")
def eval_command(
    data: str = typer.Option("demo", "--data", help="'demo', a manifest .jsonl, or a folder holding manifest.jsonl."),
    model: str | None = typer.Option(
        None,
        "--model",
        help="forensic (default), a preset or model id (see `grounddefake models`), or any model "
        "name with --convention.",
    ),
    prompt: str | None = typer.Option(None, "--prompt", help="Prompt pack name or YAML path."),
    with_boxes: bool = typer.Option(False, "--with-boxes", help="Ask for regions and score localization."),
    out_dir: Path | None = typer.Option(None, "--out", help="Run directory (default runs/<time>-<model>-<data>)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N samples."),
    concurrency: int | None = typer.Option(None, "--concurrency", min=1, help="Requests in flight (default 16)."),
    base_url: list[str] = typer.Option(
        [], "--base-url", help="OpenAI-compatible endpoint; repeat to share the load (default $OPENAI_BASE_URL)."
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable holding the API key (default the preset's, OPENAI_API_KEY)."
    ),
    convention: str | None = typer.Option(
        None, "--convention", help="Box convention of a model that is not a preset (grounddefake conventions)."
    ),
    image_format: str | None = typer.Option(None, "--image-format", help="png (lossless, default) or jpeg."),
    timeout: float = typer.Option(120.0, "--timeout", min=1, help="Seconds per request."),
    max_retries: int = typer.Option(6, "--max-retries", min=0, help="Retries of 429, 5xx, timeouts, drops."),
    rpm: float | None = typer.Option(None, "--rpm", min=1, help="Requests per minute, at most."),
    tpm: float | None = typer.Option(None, "--tpm", min=1, help="Tokens per minute, at most (estimated, settled)."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="Response cache folder (or $GROUNDDEFAKE_CACHE_DIR)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the response cache."),
    shard: str | None = typer.Option(None, "--shard", help="K/N: only shard K of N (by a hash of the sample id)."),
    resume_dir: Path | None = typer.Option(
        None, "--resume", help="Continue this run directory with its own configuration (other options are ignored)."
    ),
    group_by: str | None = typer.Option(
        None, "--group-by", help="meta.FIELD: the same metrics per value (e.g. meta.generator)."
    ),
    positive: str | None = typer.Option(
        None, "--positive", help="The positive class of the metrics (default: the pack's; fake for real/fake)."
    ),
    bootstrap: int | None = typer.Option(
        None, "--bootstrap", min=0, help="N resamples: 95% intervals on the headline numbers."
    ),
    iou_threshold: float | None = typer.Option(
        None, "--iou-threshold", min=0.0, max=1.0, help="A box-matching IoU threshold reported besides 0.5."
    ),
    gt_raster: str | None = gt_raster_option(),
    heatmap: str | None = heatmap_option(),
    label_map: str | None = label_map_option(),
    faithfulness: bool = typer.Option(
        False,
        "--faithfulness",
        help="Ask every answer with regions again with them blanked, and with a control of the same area blanked "
        "(2 more answers each): does the verdict rest on the boxes?",
    ),
    data_format: str | None = typer.Option(
        None, "--format", help="Dataset format (default: detected; `grounddefake data formats` lists them)."
    ),
    suite: str | None = typer.Option(
        None,
        "--suite",
        help="A public-benchmark suite (`grounddefake suites`): its format, prompt and metric "
        "options; flags given here win.",
    ),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Overlays as ground truth | prediction."),
    overlays: str = overlays_option(),
    overlay_size: int = overlay_size_option(),
    max_new_tokens: int = max_tokens_option(),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="0: greedy (default); above: sampled."),
    seed: int = typer.Option(0, "--seed", help="Seed of sampled answers (and of servers that take one)."),
    judge_model: str | None = judge_model_option(),
    judge_base_url: str | None = judge_base_url_option(),
    judge_api_key_env: str | None = judge_api_key_env_option(),
    judge_prompt: str = judge_prompt_option(),
    device: str = device_option(),
    dtype: str = dtype_option(),
    batch_size: int | None = batch_option(),
    adapter: Path | None = typer.Option(
        None,
        "--adapter",
        help="Local models: a LoRA adapter folder (peft's adapter_config.json + weights) loaded on --model; its "
        "content is part of the cache and run keys.",
    ),
) -> None:
    """Evaluate a model on a dataset; writes predictions, metrics, reports and overlays to a run directory."""
    from grounddefake.backends import GenerationParams
    from grounddefake.datasets import load_dataset
    from grounddefake.run_config import RunConfig, in_shard, parse_shard
    from grounddefake.rundir import RunDir
    from grounddefake.runs import evaluate, resume
    from grounddefake.suites import apply_suite

    progress = progress_bar()
    label = escape(visible(model or ("server model" if base_url else FORENSIC)))
    task = progress.add_task(label, total=None, stats=None)

    def on_result(sample: Any, record: dict[str, Any]) -> None:
        progress.advance(task)

    def on_stats(stats: Any) -> None:
        progress.update(task, stats=stats)

    try:
        if resume_dir is not None:
            config = RunDir.at(resume_dir).read_config()
            progress.update(
                task, total=config.get("n_samples"), description=escape(visible(config.get("model", label)))
            )
            with progress:
                result = resume(resume_dir, on_result=on_result, on_stats=on_stats)
        else:
            options = RunConfig(
                data=data,
                model=model if model or base_url else FORENSIC,
                prompt=prompt,
                with_boxes=with_boxes,
                out=None if out_dir is None else str(out_dir),
                limit=limit,
                shard=parse_shard(shard),
                data_format=data_format,
                suite=suite,
                concurrency=concurrency,
                params=GenerationParams(max_tokens=max_new_tokens, temperature=temperature, seed=seed),
                base_urls=tuple(base_url),
                api_key_env=api_key_env,
                convention=convention,
                image_format=image_format,  # type: ignore[arg-type]
                timeout=timeout,
                max_retries=max_retries,
                rpm=rpm,
                tpm=tpm,
                cache=not no_cache,
                cache_dir=None if cache_dir is None else str(cache_dir),
                local=local_options(model, device, dtype, batch_size),
                adapter=None if adapter is None else str(adapter),
                group_by=group_by,
                bootstrap=bootstrap,
                iou_threshold=iou_threshold,
                gt_raster=gt_raster,
                heatmap=heatmap,
                faithfulness=faithfulness,
                label_map=label_map,
                overlays=overlays,  # type: ignore[arg-type]
                overlay_size=overlay_size,
                side_by_side=side_by_side,
                positive=positive,
                judge_model=judge_model,
                judge_base_url=judge_base_url,
                judge_api_key_env=judge_api_key_env,
                judge_prompt=judge_prompt,
            )
            options = apply_suite(options)
            dataset = load_dataset(options.data, options.data_format, label_map=options.label_mapping)  # read once
            ids = [s.id for s in list(dataset.samples)[: options.limit]]
            progress.update(task, total=sum(1 for i in ids if in_shard(i, options.shard)))
            with progress:
                result = evaluate(options, dataset=dataset, on_result=on_result, on_stats=on_stats)
    except KeyboardInterrupt:
        done = int(progress.tasks[0].completed) if progress.tasks else 0
        where = f" in {escape(str(resume_dir or out_dir))}" if (resume_dir or out_dir) else ""
        err.print(
            f"[yellow]interrupted[/]: {done} answers are saved{where}; continue with "
            f"[bold]grounddefake eval --resume RUN_DIR[/] (finished samples are not asked again)"
        )
        raise typer.Exit(code=130) from None
    except (*USER_ERRORS, KeyError, ValueError) as exc:
        raise fail(exc if not isinstance(exc, KeyError) else ValueError(exc.args[0])) from None
    summary(result)


def summary(result: Any) -> None:
    """The metrics table, where the run went, its request counts and its problems."""
    out.print(metrics_table(result.metrics))
    if result.metrics.get("published"):
        out.print(published_table(result.metrics["published"]))
    seconds = result.metrics["seconds"]
    reused = f", {result.reused} reused from an earlier run" if result.reused else ""
    run_dir = escape(visible(result.run_dir))
    out.print(f"{len(result.scores.samples)} samples in {seconds:.1f} s{reused} → [bold]{run_dir}[/]")
    requests = result.metrics.get("requests") or {}
    if requests.get("sent") or requests.get("cached"):
        cost = f", ${requests['cost_usd']:.4f}" if requests.get("cost_usd") else ""
        out.print(
            f"requests: {requests['sent']} sent, {requests['cached']} from cache, {requests['retries']} retries, "
            f"{requests['failed']} failed; {requests['prompt_tokens'] + requests['completion_tokens']:,} tokens{cost}",
            highlight=False,
        )
    for fallback in requests.get("fallbacks", []):
        err.print(f"[yellow]fallback[/] {escape(visible(fallback))}", highlight=False)
    for warning in requests.get("warnings", []):
        err.print(f"[yellow]warning[/] {escape(visible(warning))}", highlight=False, soft_wrap=True)
    for problem in result.problems:
        err.print(
            f"[yellow]skipped[/] {escape(visible(problem.id))}: {escape(visible(problem.reason))}", highlight=False
        )
    for problem in result.metrics.get("overlay_problems", []):
        overlay = f"{escape(visible(problem['id']))}: {escape(visible(problem['reason']))}"
        err.print(f"[yellow]overlay[/] {overlay}", highlight=False)
    data_problems(result.metrics)


def data_problems(metrics: dict[str, Any]) -> None:
    """The dataset's unusable entries a run left out: those listed in its metrics, then how many more."""
    listed = metrics.get("data_problems") or []
    for problem in listed:
        err.print(f"[yellow]data[/] {escape(visible(problem))}", highlight=False)
    more = int(metrics.get("n_data_problems", 0)) - len(listed)
    if more > 0:
        err.print(f"[yellow]data[/] … and {more} more (`grounddefake data inspect` lists them all)", highlight=False)


@app.command("score")
def score_command(
    predictions: Path = typer.Option(
        ..., "--predictions", help="A predictions.jsonl (each line: id, label, ...), or a run directory (its own)."
    ),
    data: str = typer.Option(..., "--data", help="The dataset the predictions answer."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Write a run directory here (config, metrics, samples, reports, overlays)."
    ),
    group_by: str | None = typer.Option(None, "--group-by", help="meta.FIELD: the same metrics per value."),
    bootstrap: int = typer.Option(0, "--bootstrap", min=0, help="N resamples: 95% intervals on the headline numbers."),
    iou_threshold: float = typer.Option(0.5, "--iou-threshold", min=0.0, max=1.0, help="Extra box IoU threshold."),
    gt_raster: str | None = gt_raster_option(),
    label_map: str | None = label_map_option(),
    overlays: str = overlays_option(),
    overlay_size: int = overlay_size_option(),
    data_format: str | None = typer.Option(None, "--format", help="Dataset format (default: detected)."),
    positive: str | None = typer.Option(
        None, "--positive", help="The positive class of the metrics (default: the pack's; fake for real/fake)."
    ),
    judge_model: str | None = judge_model_option(),
    judge_base_url: str | None = judge_base_url_option(),
    judge_api_key_env: str | None = judge_api_key_env_option(),
    judge_prompt: str = judge_prompt_option(),
) -> None:
    """Score predictions made anywhere against a dataset (the same code as eval); prints the table and, with --out,
    writes a run directory that `report` and `compare` read."""
    from grounddefake.offline import score

    try:
        metrics = score(
            predictions,
            data,
            out_dir,
            group_by=group_by,
            bootstrap=bootstrap,
            iou_threshold=iou_threshold,
            gt_raster=gt_raster,
            label_map=label_map,
            overlays=overlays,  # type: ignore[arg-type]
            overlay_size=overlay_size,
            data_format=data_format,
            positive=positive,
            judge_model=judge_model,
            judge_base_url=judge_base_url,
            judge_api_key_env=judge_api_key_env,
            judge_prompt=judge_prompt,
        )
    except (*USER_ERRORS, ValueError) as exc:
        raise fail(exc) from None
    metrics.setdefault("n_errors", 0)
    out.print(metrics_table(metrics))
    if out_dir is not None:
        out.print(f"→ [bold]{escape(str(out_dir))}[/] (metrics.json, report.md, report.html)")
    data_problems(metrics)


@app.command("report")
def report_command(
    run_dir: Path = typer.Argument(..., help="A run directory (of eval, score or merge)."),
    overlays: str = overlays_option(),
    overlay_size: int = overlay_size_option(),
) -> None:
    """Rebuild report.md and the self-contained report.html of a run, drawing the overlays it lacks."""
    from grounddefake.offline import build_report

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            markdown, html = build_report(run_dir, overlays, overlay_size)  # type: ignore[arg-type]
    except (*USER_ERRORS, ValueError) as exc:
        raise fail(exc) from None
    for warning in caught:
        err.print(f"[yellow]warning[/] {escape(visible(warning.message))}", highlight=False)
    out.print(f"→ [bold]{escape(str(markdown))}[/], [bold]{escape(str(html))}[/]")


@app.command("compare")
def compare_command(
    runs: list[Path] = typer.Argument(..., help="Run directories on the same data."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write compare.md and compare.html here."),
) -> None:
    """Compare models on the same data: headline metrics with intervals, and accuracy per group."""
    from grounddefake.compare import compare_runs, render_html, render_markdown

    try:
        comparison = compare_runs(runs)
    except USER_ERRORS as exc:
        raise fail(exc) from None
    table = Table(show_header=True, header_style="bold")
    table.add_column("metric")
    for model in comparison.models:
        table.add_column(visible(model), justify="right")
    for name, cells in comparison.rows:
        table.add_row(
            name,
            *(("—" if v is None else f"{v:.3f}" + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")) for v, ci in cells),
        )
    out.print(table, markup=False, highlight=False)
    for warning in comparison.warnings:
        err.print(f"[yellow]warning[/] {escape(visible(warning))}")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "compare.md").write_text(render_markdown(comparison), encoding="utf-8")
        (out_dir / "compare.html").write_text(render_html(comparison), encoding="utf-8")
        out.print(f"→ [bold]{escape(str(out_dir))}[/] (compare.md, compare.html)")


@app.command("merge")
def merge_command(
    runs: list[Path] = typer.Argument(..., help="Run directories of the shards of one run."),
    out_dir: Path = typer.Option(..., "--out", help="The merged run directory."),
) -> None:
    """Combine the shard runs of one configuration into one run (metrics as if it had not been sharded)."""
    from grounddefake.runs import merge

    try:
        result = merge(runs, out_dir)
    except USER_ERRORS as exc:
        raise fail(exc) from None
    summary(result)
