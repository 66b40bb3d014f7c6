"""The ``grounddefake`` command line: eval, merge, detect, parse, prompts, models, conventions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from grounddefake.backends import FORENSIC, UnknownModelError
from grounddefake.datasets import DatasetError
from grounddefake.images import ImageError
from grounddefake.local import LocalModelError
from grounddefake.prompts import PromptPackError, list_packs, load_pack
from grounddefake.runner import RunDirectoryError

app = typer.Typer(
    help="Ask multimodal LLMs whether an image is AI-generated, where and why, and measure how right they are.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
USER_ERRORS = (
    DatasetError,
    PromptPackError,
    UnknownModelError,
    ImageError,
    RunDirectoryError,
    FileNotFoundError,
    LocalModelError,
)


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _device_option() -> Any:
    return typer.Option("auto", "--device", help="Local models: auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps.")


def _dtype_option() -> Any:
    return typer.Option(
        "auto", "--dtype", help="Local models: auto (bf16 where supported), float32, bfloat16, float16."
    )


def _batch_option() -> Any:
    return typer.Option(
        None, "--batch-size", min=1, help="Local models: requests generated together, left-padded (default 8)."
    )


def _max_tokens_option() -> Any:
    return typer.Option(1024, "--max-new-tokens", min=1, help="Tokens generated per answer, at most.")


def _local_options(model: str | None, device: str, dtype: str, batch_size: int | None = None) -> Any:
    """LocalOptions for a local model (``local:``/``hf:``), else None.

    Raises:
        LocalModelError: local-model options given for another model (they would be silently ignored).
    """
    from grounddefake.local import LocalModelError, LocalOptions, is_local_ref

    if is_local_ref(model):
        return LocalOptions(device=device, dtype=dtype, batch_size=batch_size or LocalOptions.batch_size)
    given = [
        f"--{name} {value}"
        for name, value, default in (
            ("device", device, "auto"),
            ("dtype", dtype, "auto"),
            ("batch-size", batch_size, None),
        )
        if value is not None and value != default
    ]
    if given:
        raise LocalModelError(f"{', '.join(given)}: only for local models (--model local:/path or hf:ORG/NAME)")
    return None


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def metrics_table(metrics: dict[str, Any]) -> Table:
    """The headline numbers of a run as a rich table (95% intervals when bootstrapped)."""
    table = Table(title="metrics", show_header=True, header_style="bold")
    intervals = "bootstrap" in metrics
    table.add_column("metric")
    table.add_column("value", justify="right")
    if intervals:
        table.add_column("95% CI", justify="right")
    table.add_column("over", justify="right")

    def row(group: dict[str, Any], key: str, name: str, over: str) -> None:
        value = group.get(key) if isinstance(group.get(key), (int, float)) else None
        ci = (group.get("ci95") or {}).get(key)
        cells = [name, _num(value) if key in group else str(group.get(key, ""))]
        if intervals:
            cells.append("" if not ci else f"{ci[0]:.3f}–{ci[1]:.3f}")
        table.add_row(*cells, over)

    c = metrics["classification"]
    row(c, "accuracy", "accuracy (unknown = wrong)", f"{c['n']} labelled")
    row(c, "balanced_accuracy", "balanced accuracy", f"{c['n']} labelled")
    row(c, "accuracy_real", "accuracy (real)", f"{c['n_real']} real")
    row(c, "accuracy_fake", "accuracy (fake)", f"{c['n_fake']} fake")
    row(c, "f1", "F1 (fake, answered)", f"{c['n'] - c['n_unknown']} answered")
    if c.get("auc") is not None:
        row(c, "auc", "ROC AUC of P(fake)", f"{c['n_scored']} scored")
        row(c, "ece", "ECE (10 bins)", f"{c['n_scored']} scored")
    row(c, "n_unknown", "unknown answers", f"{c['n']} labelled")
    loc = metrics.get("localization")
    if loc:
        over = f"{loc['n']} fake with GT"
        row(loc, "iou_mean", "mask IoU (per-image mean)", over)
        row(loc, "iou_pooled", "mask IoU (pooled)", over)
        row(loc, "f1_mean", "pixel F1 (per-image mean)", over)
        row(loc, "pixel_auc_mean", "pixel AUC (per-image mean)", over)
        row(loc, "pointing_game", "pointing game (15 px)", over)
        if loc.get("n_box"):
            row(loc, "box_f1", "box F1 @ IoU 0.5", f"{loc['n_box']} with GT boxes")
            if loc.get("ap") is not None:
                row(loc, "ap", "COCO AP@[.5:.95]", f"{loc['n_box']} with GT boxes")
        if loc.get("n_real"):
            row(loc, "real_fp_rate", "real images with a region", f"{loc['n_real']} real")
    row({"n": metrics.get("n_errors", 0)}, "n", "failed requests", "")
    if metrics.get("skipped"):
        row({"n": len(metrics["skipped"])}, "n", "skipped (unreadable)", "")
    return table


class RateColumn(ProgressColumn):
    """Answers per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("—/s" if speed is None else f"{speed:.1f}/s", style="progress.data.speed")


class StatsColumn(ProgressColumn):
    """Errors, retries, cached answers, tokens and the estimated cost so far."""

    def render(self, task: Task) -> Text:
        stats = task.fields.get("stats")
        if stats is None:
            return Text("")
        parts = [f"{stats.errors} errors", f"{stats.retries} retries"]
        if stats.cached:
            parts.append(f"{stats.cached} cached")
        if stats.tokens:
            parts.append(f"{stats.tokens:,} tok")
        if stats.cost:
            parts.append(f"${stats.cost:.2f}")
        return Text(" · ".join(parts), style="dim")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        StatsColumn(),
        console=err,
        transient=True,
    )


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
    bootstrap: int | None = typer.Option(
        None, "--bootstrap", min=0, help="N resamples: 95% intervals on the headline numbers."
    ),
    iou_threshold: float | None = typer.Option(
        None, "--iou-threshold", min=0.0, max=1.0, help="A box-matching IoU threshold reported besides 0.5."
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
    max_new_tokens: int = _max_tokens_option(),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="0: greedy (default); above: sampled."),
    seed: int = typer.Option(0, "--seed", help="Seed of sampled answers (and of servers that take one)."),
    device: str = _device_option(),
    dtype: str = _dtype_option(),
    batch_size: int | None = _batch_option(),
) -> None:
    """Evaluate a model on a dataset; writes predictions, metrics, report.md and overlays to a run directory."""
    from grounddefake.api import evaluate, parse_shard, read_config, resume
    from grounddefake.backends import GenerationParams
    from grounddefake.datasets import load_dataset
    from grounddefake.suites import SuiteError, load_suite

    if suite is not None:
        try:
            chosen = load_suite(suite)
        except SuiteError as exc:
            raise _fail(exc) from None
        if prompt is not None and chosen.with_boxes and not with_boxes:
            from grounddefake.prompts import PromptPackError, load_pack

            try:
                with_boxes = load_pack(prompt).task == "grounded"  # a grounding pack given here keeps the boxes
            except PromptPackError as exc:
                raise _fail(exc) from None
        else:
            with_boxes = with_boxes or chosen.with_boxes
        prompt = prompt or chosen.prompt
        data_format = data_format or chosen.format
        group_by = group_by or chosen.group_by
        iou_threshold = iou_threshold if iou_threshold is not None else chosen.iou_threshold
        bootstrap = bootstrap if bootstrap is not None else (chosen.bootstrap or 0)
    iou_threshold = 0.5 if iou_threshold is None else iou_threshold
    bootstrap = bootstrap or 0

    progress = _progress()
    label = model or ("server model" if base_url else FORENSIC)
    task = progress.add_task(label, total=None, stats=None)

    def on_result(sample: Any, record: dict[str, Any]) -> None:
        progress.advance(task)

    def on_stats(stats: Any) -> None:
        progress.update(task, stats=stats)

    try:
        if image_format not in (None, "png", "jpeg"):
            raise ValueError(f"--image-format is png or jpeg, got {image_format!r}")
        if resume_dir is not None:
            config = read_config(resume_dir)
            total, label = config.get("n_samples"), config.get("model", label)
            progress.update(task, total=total, description=label)
            with progress:
                result = resume(resume_dir, on_result=on_result, on_stats=on_stats)
        else:
            shards = parse_shard(shard)
            dataset = load_dataset(data, data_format)  # read once: a 100k-line manifest is not parsed twice
            total = len(dataset)
            progress.update(task, total=min(total, limit) if limit else total)
            with progress:
                result = evaluate(
                    dataset,
                    model if model or base_url else FORENSIC,
                    prompt,
                    with_boxes,
                    out_dir,
                    limit,
                    concurrency,
                    on_result=on_result,
                    base_urls=base_url,
                    api_key_env=api_key_env,
                    convention=convention,
                    image_format=image_format,  # type: ignore[arg-type]
                    timeout=timeout,
                    max_retries=max_retries,
                    rpm=rpm,
                    tpm=tpm,
                    cache=not no_cache,
                    cache_dir=cache_dir,
                    shard=shards,
                    on_stats=on_stats,
                    group_by=group_by,
                    bootstrap=bootstrap,
                    iou_threshold=iou_threshold,
                    data_format=data_format,
                    side_by_side=side_by_side,
                    params=GenerationParams(max_tokens=max_new_tokens, temperature=temperature, seed=seed),
                    local=_local_options(model, device, dtype, batch_size),
                )
    except KeyboardInterrupt:
        done = int(progress.tasks[0].completed) if progress.tasks else 0
        where = f" in {escape(str(resume_dir or out_dir))}" if (resume_dir or out_dir) else ""
        err.print(
            f"[yellow]interrupted[/]: {done} answers are saved{where}; continue with "
            f"[bold]grounddefake eval --resume RUN_DIR[/] (finished samples are not asked again)"
        )
        raise typer.Exit(code=130) from None
    except (*USER_ERRORS, KeyError, ValueError) as exc:
        raise _fail(exc if not isinstance(exc, KeyError) else ValueError(exc.args[0])) from None
    _summary(result)


def _summary(result: Any) -> None:
    out.print(metrics_table(result.metrics))
    seconds = result.metrics["seconds"]
    reused = f", {result.reused} reused from an earlier run" if result.reused else ""
    run_dir = escape(str(result.run_dir))
    out.print(f"{len(result.evaluation.samples)} samples in {seconds:.1f} s{reused} → [bold]{run_dir}[/]")
    requests = result.metrics.get("requests") or {}
    if requests.get("sent") or requests.get("cached"):
        cost = f", ${requests['cost_usd']:.4f}" if requests.get("cost_usd") else ""
        out.print(
            f"requests: {requests['sent']} sent, {requests['cached']} from cache, {requests['retries']} retries, "
            f"{requests['failed']} failed; {requests['prompt_tokens'] + requests['completion_tokens']:,} tokens{cost}",
            highlight=False,
        )
    for fallback in requests.get("fallbacks", []):
        err.print(f"[yellow]fallback[/] {escape(fallback)}", highlight=False)
    for problem in result.problems:
        err.print(f"[yellow]skipped[/] {escape(problem.id)}: {escape(problem.reason)}", highlight=False)


@app.command("score")
def score_command(
    predictions: Path = typer.Option(..., "--predictions", help="A predictions.jsonl (each line: id, label, ...)."),
    data: str = typer.Option(..., "--data", help="The dataset the predictions answer."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write metrics.json here."),
    group_by: str | None = typer.Option(None, "--group-by", help="meta.FIELD: the same metrics per value."),
    bootstrap: int = typer.Option(0, "--bootstrap", min=0, help="N resamples: 95% intervals on the headline numbers."),
    iou_threshold: float = typer.Option(0.5, "--iou-threshold", min=0.0, max=1.0, help="Extra box IoU threshold."),
    overlays: bool = typer.Option(False, "--overlays", help="Also draw overlays/<id>.png into --out."),
    data_format: str | None = typer.Option(None, "--format", help="Dataset format (default: detected)."),
) -> None:
    """Score predictions against a dataset offline (the same code as eval); prints the table, writes metrics.json."""
    from grounddefake.api import score

    try:
        metrics = score(
            predictions,
            data,
            out_dir,
            group_by=group_by,
            bootstrap=bootstrap,
            iou_threshold=iou_threshold,
            overlays=overlays,
            data_format=data_format,
        )
    except USER_ERRORS as exc:
        raise _fail(exc) from None
    metrics.setdefault("n_errors", 0)
    out.print(metrics_table(metrics))
    if out_dir is not None:
        out.print(f"→ [bold]{escape(str(out_dir / 'metrics.json'))}[/]")


data_app = typer.Typer(help="Inspect and convert datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("formats")
def data_formats_command() -> None:
    """List the dataset formats grounddefake reads (detected, or named with --format)."""
    from grounddefake.datasets import FORMATS

    table = Table(show_header=True, header_style="bold")
    table.add_column("format", no_wrap=True)
    table.add_column("what")
    for name, (what, _) in FORMATS.items():
        table.add_row(name, what)
    out.print(table, markup=False, highlight=False)


@data_app.command("inspect")
def data_inspect_command(
    data: str = typer.Argument(..., help="A dataset folder or annotation file."),
    data_format: str | None = typer.Option(None, "--format", help="Dataset format (default: detected)."),
    as_json: bool = typer.Option(False, "--json", help="Print the inspection as JSON."),
    no_hash: bool = typer.Option(False, "--no-hash", help="Skip hashing images (no duplicate-bytes check)."),
) -> None:
    """Counts by label, subtype and generator; ground-truth coverage; image sizes; problems."""
    from grounddefake.datasets import load_dataset
    from grounddefake.datasets.inspection import inspect_dataset

    try:
        report = inspect_dataset(load_dataset(data, data_format), hash_images=not no_hash)
    except USER_ERRORS as exc:
        raise _fail(exc) from None
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
        return
    table = Table(title=f"{data} ({report.format})", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("samples", str(report.n))
    table.add_row("labels", ", ".join(f"{k} {v}" for k, v in sorted(report.labels.items())))
    if report.subtypes:
        table.add_row("subtypes", ", ".join(f"{k} {v}" for k, v in sorted(report.subtypes.items())))
    if report.generators:
        table.add_row("generators", ", ".join(f"{k} {v}" for k, v in sorted(report.generators.items())))
    table.add_row("ground truth", ", ".join(f"{k} {v}" for k, v in report.coverage.items()))
    w, h = report.sizes["width"], report.sizes["height"]
    sizes = (
        f"width {w['min']}–{w['max']} (median {w['median']:g}), height {h['min']}–{h['max']} (median {h['median']:g})"
    )
    table.add_row("image sizes", f"{sizes}; {report.sizes['readable']} readable")
    table.add_row("problems", str(len(report.problems)))
    out.print(table, markup=False, highlight=False)
    for problem in report.problems[:200]:
        out.print(f"  {problem}", markup=False, highlight=False)
    if len(report.problems) > 200:
        out.print(f"  … and {len(report.problems) - 200} more (--json lists them all)", highlight=False)


@data_app.command("convert")
def data_convert_command(
    data: str = typer.Argument(..., help="A dataset folder or annotation file."),
    target: Path = typer.Argument(..., help="The file to write (inside the dataset folder: paths stay relative)."),
    to: str = typer.Option(..., "--to", help="manifest or coco."),
    data_format: str | None = typer.Option(None, "--format", help="Dataset format (default: detected)."),
) -> None:
    """Write a dataset as a grounddefake manifest (JSONL) or a COCO JSON file."""
    from grounddefake.datasets import load_dataset
    from grounddefake.datasets.convert import to_coco, to_manifest

    if to not in ("manifest", "coco"):
        raise _fail(ValueError(f"--to is manifest or coco, got {to!r}"))
    try:
        dataset = load_dataset(data, data_format)
        count = (to_manifest if to == "manifest" else to_coco)(dataset, target)
    except USER_ERRORS as exc:
        raise _fail(exc) from None
    out.print(f"{count} samples ({dataset.format}) → {escape(str(target))}", highlight=False)


@app.command("report")
def report_command(run_dir: Path = typer.Argument(..., help="A run directory.")) -> None:
    """Rebuild report.md and the self-contained report.html of a run."""
    from grounddefake.api import build_report

    try:
        markdown, html = build_report(run_dir)
    except USER_ERRORS as exc:
        raise _fail(exc) from None
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
        raise _fail(exc) from None
    table = Table(show_header=True, header_style="bold")
    table.add_column("metric")
    for model in comparison.models:
        table.add_column(model, justify="right")
    for name, cells in comparison.rows:
        table.add_row(
            name,
            *(("—" if v is None else f"{v:.3f}" + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")) for v, ci in cells),
        )
    out.print(table, markup=False, highlight=False)
    for warning in comparison.warnings:
        err.print(f"[yellow]warning[/] {escape(warning)}")
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
    from grounddefake.api import merge

    try:
        result = merge(runs, out_dir)
    except USER_ERRORS as exc:
        raise _fail(exc) from None
    _summary(result)


@app.command("detect")
def detect_command(
    images: list[Path] = typer.Argument(..., help="Image files."),
    model: str = typer.Option("forensic", "--model", help="Model name (see `grounddefake models`)."),
    prompt: str | None = typer.Option(None, "--prompt", help="Prompt pack (default: grounded)."),
    overlay: Path | None = typer.Option(
        None, "--overlay", help="Write the annotated image here (a .png file; a folder when several images)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per image."),
    base_url: list[str] = typer.Option([], "--base-url", help="OpenAI-compatible endpoint (repeatable)."),
    api_key_env: str | None = typer.Option(None, "--api-key-env", help="Environment variable holding the key."),
    convention: str | None = typer.Option(None, "--convention", help="Box convention of a model not in the presets."),
    max_new_tokens: int = _max_tokens_option(),
    device: str = _device_option(),
    dtype: str = _dtype_option(),
) -> None:
    """Judge images: verdict, P(fake), rationale and regions in original pixels."""
    from grounddefake.api import Detector
    from grounddefake.backends import GenerationParams
    from grounddefake.overlay import save_png

    try:
        chosen = model if model != FORENSIC or not base_url else None
        detector = Detector(
            model=chosen,
            prompt=prompt,
            params=GenerationParams(max_tokens=max_new_tokens),
            base_urls=base_url,
            api_key_env=api_key_env,
            convention=convention,
            local=_local_options(chosen, device, dtype),
        )
    except (*USER_ERRORS, KeyError) as exc:
        raise _fail(exc if not isinstance(exc, KeyError) else ValueError(exc.args[0])) from None
    if overlay is not None:
        if len(images) > 1:
            overlay.mkdir(parents=True, exist_ok=True)
        elif overlay.suffix.lower() != ".png":
            raise _fail(ValueError(f"--overlay {overlay}: give a .png file name (or a folder with several images)"))
        else:
            overlay.parent.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in images:
        try:
            answer = detector.ask(path)
        except ImageError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            failed += 1
            continue
        verdict = answer.verdict
        if overlay is not None:
            target = overlay / f"{path.stem}.png" if len(images) > 1 else overlay
            try:
                save_png(str(target), verdict.overlay(path))
            except OSError as exc:
                raise _fail(exc) from None
        if as_json:
            record = {"image": str(path), **verdict.to_json()}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            continue
        score = "" if verdict.score is None else f"  P(fake)={verdict.score:.3f}"
        colour = {"fake": "red", "real": "green"}.get(verdict.label, "yellow")
        out.print(f"[bold]{escape(str(path))}[/]: [{colour}]{verdict.label}[/]{score}", highlight=False)
        if verdict.error:
            out.print(f"  error: {verdict.error}", markup=False, highlight=False)
        if verdict.rationale:
            out.print(f"  {verdict.rationale}", markup=False, highlight=False)
        for region in verdict.regions:
            box = ", ".join(f"{v:.0f}" for v in region.box)
            extra = "" if region.score is None else f" score {region.score:.2f}"
            out.print(f"  region ({box}){extra}: {region.label or ''}", markup=False, highlight=False)
    if failed:
        raise typer.Exit(code=2)


@app.command("prompts")
def prompts_command() -> None:
    """List the shipped prompt packs."""
    table = Table(show_header=True, header_style="bold")
    for column in ("name", "task", "convention", "id", "description"):
        table.add_column(column, no_wrap=column != "description")
    for path in list_packs():
        pack = load_pack(path)
        table.add_row(pack.name, pack.task, pack.convention or "—", pack.id, pack.description)
    out.print(table)


@app.command("suites")
def suites_command() -> None:
    """List the public-benchmark suites (eval/suites/) with the published numbers they compare with."""
    from grounddefake.suites import list_suites

    table = Table(show_header=True, header_style="bold", show_lines=True)
    for column in ("suite", "format", "prompt", "layout", "published"):
        table.add_column(column, overflow="fold", no_wrap=column == "suite")
    for s in list_suites():
        published = "; ".join(f"{p.get('system')}: {p.get('metric')} {p.get('value')}" for p in s.published) or "—"
        table.add_row(s.name, s.format, s.prompt + (" + boxes" if s.with_boxes else ""), s.layout, published)
    out.print(table, markup=False, highlight=False)


@app.command("models")
def models_command() -> None:
    """List the models this installation knows: the built-in one and the presets of served models."""
    from grounddefake.presets import presets

    table = Table(show_header=True, header_style="bold", show_lines=False)
    table.add_column("model", no_wrap=True)
    for column in ("model id", "endpoint", "convention", "images", "schema", "logprobs", "$/M in · out"):
        table.add_column(column, overflow="fold")
    table.add_row(FORENSIC, "—", "built in (CPU, offline)", "—", "original", "—", "yes", "free")
    for preset in presets().values():
        policy = preset.image_policy
        if policy.resize == "smart-resize":
            images = f"grid {policy.factor}, ≤ {policy.max_pixels:,} px"
        else:
            limits = [
                f"side ≤ {policy.max_side}" if policy.max_side else "",
                f"short ≤ {policy.max_short_side}" if policy.max_short_side else "",
            ]
            images = ", ".join(x for x in limits if x) or "original"
        price = "self-hosted" if preset.price is None else f"{preset.price.input:g} · {preset.price.output:g}"
        table.add_row(
            preset.name,
            preset.model,
            preset.base_url or "api.openai.com",
            preset.convention or "prompt-defined",
            images,
            "yes" if preset.json_schema else "no",
            "yes" if preset.logprobs else "no",
            price,
        )
    out.print(table, markup=False, highlight=False)
    out.print("Any other model: --model NAME --convention CONVENTION [--base-url URL].", highlight=False)
    from grounddefake.local.inputs import FAMILIES

    local = ", ".join(f"{f.name} ({f.convention or 'prompt-defined'})" for f in FAMILIES.values())
    out.print(
        f"Local models with transformers (pip install 'grounddefake[local]'): --model local:/path or hf:ORG/NAME; "
        f"families: {local}.",
        markup=False,
        highlight=False,
    )


@app.command("conventions")
def conventions_command() -> None:
    """List the box conventions the parser knows, with the model families that use them and an example answer."""
    from grounddefake.conventions import EXAMPLE_REGION, EXAMPLE_SIZE, conventions

    box = ", ".join(f"{v:g}" for v in EXAMPLE_REGION.box)
    table = Table(
        show_header=True,
        header_style="bold",
        show_lines=True,
        caption=f"examples: the region ({box}) labelled '{EXAMPLE_REGION.label}' in a "
        f"{EXAMPLE_SIZE[0]}x{EXAMPLE_SIZE[1]} image",
    )
    reference = {"input": "image sent", "square-pad": "padded square", "smart-resize": "smart-resized grid"}
    for column in ("convention", "model families", "numbers", "reference image", "example answer"):
        table.add_column(column, overflow="fold")
    for c in conventions():
        table.add_row(c.name, ", ".join(c.families), c.description, reference[c.reference], c.example())
    out.print(table, markup=False, highlight=False)


def _size(text: str, option: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}", param_hint=option) from None
    if width < 1 or height < 1:
        raise typer.BadParameter(f"sizes are positive, got {text!r}", param_hint=option)
    return width, height


@app.command("parse")
def parse_command(
    answer: str = typer.Argument("-", help="file holding the model's answer, or - to read it from stdin"),
    convention: str = typer.Option(..., "--convention", "-c", help="the box convention (grounddefake conventions)"),
    image_size: str = typer.Option(..., "--image-size", help="WxH of the original image"),
    input_size: str | None = typer.Option(
        None, "--input-size", help="wxh of the image the model saw, when it was resized (default: the original)"
    ),
) -> None:
    """Parse one model answer into a verdict with regions in pixels of the original image, printed as JSON."""
    from grounddefake.conventions import get_convention
    from grounddefake.parsing import parse

    size = _size(image_size, "--image-size")
    seen = None if input_size is None else _size(input_size, "--input-size")
    try:
        conv = get_convention(convention)
        text = sys.stdin.read() if answer == "-" else Path(answer).read_text(encoding="utf-8", errors="replace")
    except (KeyError, OSError) as exc:
        raise _fail(ValueError(exc.args[0]) if isinstance(exc, KeyError) else exc) from None
    verdict = parse(text, conv, size, input_size=seen)
    sys.stdout.write(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
