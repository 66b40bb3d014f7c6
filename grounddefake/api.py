"""The Python API: ``detect`` one image, or ``evaluate`` a model on a dataset into a run directory."""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import os
import platform
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from grounddefake import __version__
from grounddefake.backends import FORENSIC, Backend, GenerationParams, create_backend
from grounddefake.cache import ResponseCache
from grounddefake.calls import Caller, RetryPolicy, RunStats
from grounddefake.datasets import Dataset, fingerprint, load_dataset
from grounddefake.evaluation import Evaluation, image_size_of, score_run
from grounddefake.evaluation import _size as _valid_size
from grounddefake.images import ImageInput
from grounddefake.local.loading import LocalOptions
from grounddefake.prompts import PromptPack, PromptPackError, load_pack
from grounddefake.report import write_markdown
from grounddefake.report_html import read_samples, write_html, write_samples
from grounddefake.runner import (
    PREDICTIONS,
    Answer,
    Problem,
    RunDirectoryError,
    RunOutcome,
    ask,
    read_predictions,
    resolve_convention,
    run_predictions,
)
from grounddefake.types import Sample, Verdict

T = TypeVar("T")
DEFAULT_PROMPT = "grounded"


def _run_sync(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion, also from code that already runs an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro_factory())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _pack(prompt: str | Path | PromptPack | None, default: str = DEFAULT_PROMPT) -> PromptPack:
    """The pack ``prompt`` names, else ``default``."""
    if isinstance(prompt, PromptPack):
        return prompt
    return load_pack(prompt or default)


class Detector:
    """A model and a prompt pack, ready to judge images.

    Example:
        >>> detector = Detector(model="forensic")
        >>> verdict = detector.detect("photo.jpg")
        >>> verdict.label, verdict.score, verdict.regions
    """

    def __init__(
        self,
        model: str | Backend | None = FORENSIC,
        prompt: str | Path | PromptPack | None = None,
        params: GenerationParams | None = None,
        *,
        base_urls: Sequence[str] = (),
        api_key_env: str | None = None,
        convention: str | None = None,
        cache: bool = True,
        cache_dir: str | Path | None = None,
        max_retries: int = 6,
        local: LocalOptions | None = None,
    ) -> None:
        if isinstance(model, Backend):
            self.backend = model
        else:
            self.backend = create_backend(
                model, base_urls=base_urls, api_key_env=api_key_env, convention=convention, local=local
            )
        self.pack = _pack(prompt, self.backend.prompt_defaults.get("grounded", DEFAULT_PROMPT))
        self.params = params or GenerationParams()
        response_cache = ResponseCache(cache_dir) if cache and self.backend.cacheable else None
        self.caller = Caller(
            self.backend,
            cache=response_cache,
            retry=RetryPolicy(max_retries=max_retries),
            prompt_hash=self.pack.hash,
        )

    def detect(self, image: ImageInput) -> Verdict:
        """Judge one image (path, PIL image or RGB array); regions come back in its original pixels."""
        return self.ask(image).verdict

    def ask(self, image: ImageInput) -> Answer:
        """Like :meth:`detect`, with the prepared image and raw completions."""
        return _run_sync(lambda: ask(self.caller, self.pack, image, self.params))

    async def adetect(self, image: ImageInput) -> Verdict:
        return (await ask(self.caller, self.pack, image, self.params)).verdict


def detect(image: ImageInput, model: str = FORENSIC, prompt: str | Path | PromptPack | None = None) -> Verdict:
    """Judge one image with ``model`` and ``prompt`` (default: the ``grounded`` pack)."""
    return Detector(model=model, prompt=prompt).detect(image)


@dataclass(frozen=True)
class RunResult:
    """What ``evaluate`` wrote and measured."""

    run_dir: Path
    metrics: dict[str, Any]
    evaluation: Evaluation
    problems: tuple[Problem, ...]
    reused: int
    seconds: float
    stats: RunStats


def data_name(data: str | Path | Dataset) -> str:
    """How a run names its data in config.json: the path given, or a loaded Dataset's source ("demo" for the demo)."""
    if isinstance(data, Dataset):
        return "demo" if data.name == "demo" else str(data.source)
    return str(data)


def default_run_dir(model: str, data: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{model}-{Path(data).stem}")
    return Path("runs") / f"{stamp}-{safe}"


def _run_key(
    backend: Backend, pack: PromptPack, params: GenerationParams, convention: str | None, dataset_sha256: str
) -> str:
    """What makes two runs' answers interchangeable: the data, the model (and its code), image policy, prompt,
    parameters."""
    key = {
        "data": dataset_sha256,
        "backend": backend.run_identity(),
        "image_policy": backend.describe().get("image_policy"),
        "convention": convention,
        "prompt": pack.id,
        "params": params.to_json(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _check_run_dir(run_dir: Path, run_key: str) -> None:
    """Refuse to mix answers of different configurations in one run directory."""
    predictions, config = run_dir / PREDICTIONS, run_dir / "config.json"
    if not predictions.exists() or predictions.stat().st_size == 0 or not config.exists():
        return
    try:
        previous = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        previous = {}
    if previous.get("run_key") != run_key:
        raise RunDirectoryError(
            f"{run_dir} holds predictions of another configuration (model {previous.get('model')!r}, prompt "
            f"{previous.get('prompt')!r}); choose another --out, or delete that folder to start over"
        )


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"K/N"`` → (K, N) with 1 ≤ K ≤ N.

    Raises:
        ValueError: any other text.
    """
    if text is None:
        return None
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes K/N such as 2/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return (k, n)


def in_shard(sample_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``sample_id`` belongs to shard K of N (a hash of the id: stable across machines and orderings)."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(sample_id.encode("utf-8")).hexdigest(), 16) % n == k - 1


def evaluate(
    data: str | Path | Dataset = "demo",
    model: str | Backend | None = FORENSIC,
    prompt: str | Path | PromptPack | None = None,
    with_boxes: bool = False,
    out: str | Path | None = None,
    limit: int | None = None,
    concurrency: int | None = None,
    params: GenerationParams | None = None,
    on_result: Callable[[Sample, dict[str, Any]], None] | None = None,
    *,
    base_urls: Sequence[str] = (),
    api_key_env: str | None = None,
    convention: str | None = None,
    image_format: Literal["png", "jpeg"] | None = None,
    timeout: float = 120.0,
    max_retries: int = 6,
    rpm: float | None = None,
    tpm: float | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    shard: tuple[int, int] | None = None,
    on_stats: Callable[[RunStats], None] | None = None,
    group_by: str | None = None,
    bootstrap: int = 0,
    iou_threshold: float = 0.5,
    data_format: str | None = None,
    side_by_side: bool = False,
    local: LocalOptions | None = None,
) -> RunResult:
    """Run ``model`` on ``data`` and write the run directory.

    Writes ``config.json``, ``predictions.jsonl`` (appended and flushed as answers arrive; a re-run in the same
    directory, or :func:`resume`, skips finished samples and retries failed ones), ``metrics.json``, ``report.md``
    and ``overlays/<id>.png``.

    Args:
        data: ``demo``, a manifest ``.jsonl`` or a folder with ``manifest.jsonl``.
        model: ``forensic``, a preset or model id (``gpt-4o``), any model name with ``convention``, a Backend, or
            None with ``base_urls`` (the server's only model).
        prompt: a pack name or YAML path; default ``grounded`` with ``with_boxes``, else ``verdict``.
        with_boxes: ask for regions and score localization.
        out: run directory (default ``runs/<time>-<model>-<data>``).
        limit: only the first ``limit`` samples.
        concurrency: requests in flight (default: the backend's own default).
        base_urls: OpenAI-compatible endpoints sharing the load (default ``OPENAI_BASE_URL`` or the preset's).
        api_key_env: the environment variable holding the key (default the preset's, else ``OPENAI_API_KEY``).
        convention: the model's box convention, for a model that is not a preset.
        image_format: how resized images are encoded (default lossless PNG).
        timeout: seconds per request.
        max_retries: retries of a retryable failure (429, 5xx, timeouts, dropped connections).
        rpm, tpm: request and token limits per minute.
        cache: use the response cache (``cache_dir``, else ``GROUNDDEFAKE_CACHE_DIR``, else the user cache folder).
        shard: (K, N): only the samples of shard K of N (by a hash of the id); merge shards with :func:`merge`.
        on_stats: called with the running counts after every answer.
        group_by: ``meta.FIELD``: the same metrics per value of that field (e.g. per generator).
        bootstrap: N > 0 adds seeded 95% confidence intervals to the headline numbers.
        iou_threshold: a box-matching threshold reported besides 0.5.
        data_format: the dataset's format (default: detected; ``grounddefake data formats`` lists them).
        local: device, dtype and batch size of a local model (``local:/path``, ``hf:ORG/NAME``).
    """
    if isinstance(model, Backend):
        backend = model
    else:
        backend = create_backend(
            model,
            base_urls=base_urls,
            api_key_env=api_key_env,
            convention=convention,
            image_format=image_format,
            timeout=timeout,
            local=local,
        )
    task = "grounded" if with_boxes else "verdict"
    pack = _pack(prompt, default=backend.prompt_defaults.get(task, task))
    if with_boxes and pack.task != "grounded":
        raise PromptPackError(f"--with-boxes needs a grounding prompt pack; '{pack.name}' has task '{pack.task}'")
    resolved = resolve_convention(pack, backend)
    dataset = load_dataset(data, data_format)
    samples = list(dataset.samples)[: limit if limit is not None else None]
    samples = [s for s in samples if in_shard(s.id, shard)]
    run_dir = Path(out) if out is not None else default_run_dir(backend.model, data_name(data))
    run_dir.mkdir(parents=True, exist_ok=True)
    params = params or GenerationParams()
    concurrency = concurrency or getattr(backend, "default_concurrency", 4)
    localization = with_boxes or pack.task == "grounded"
    dataset_sha256 = fingerprint(dataset)
    run_key = _run_key(backend, pack, params, resolved, dataset_sha256)
    _check_run_dir(run_dir, run_key)
    config = {
        "run_key": run_key,
        "grounddefake": __version__,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data": data_name(data),
        "data_format": dataset.format,
        "dataset_source": str(dataset.source),
        "dataset_sha256": dataset_sha256,
        "n_samples": len(samples),
        "limit": limit,
        "shard": None if shard is None else f"{shard[0]}/{shard[1]}",
        "model": backend.model,
        "model_requested": model if isinstance(model, str) else None,
        "backend": backend.describe(),
        "api_key_env": api_key_env,
        "prompt": pack.id,
        "prompt_source": pack.source,
        "convention": resolved,
        "convention_requested": convention,
        "with_boxes": with_boxes,
        "localization": localization,
        "concurrency": concurrency,
        "params": params.to_json(),
        "local": None if local is None else local.to_json(),
        "image_format": image_format,
        "timeout": timeout,
        "max_retries": max_retries,
        "rpm": rpm,
        "tpm": tpm,
        "cache": cache,
        "cache_dir": None if cache_dir is None else str(Path(cache_dir).resolve()),
        "scoring": {
            "group_by": group_by,
            "bootstrap": bootstrap,
            "iou_threshold": iou_threshold,
            "side_by_side": side_by_side,
        },
    }
    write_json(run_dir / "config.json", config)
    response_cache = ResponseCache(cache_dir) if cache and backend.cacheable else None
    caller = Caller(
        backend,
        cache=response_cache,
        retry=RetryPolicy(max_retries=max_retries),
        rpm=rpm,
        tpm=tpm,
        prompt_hash=pack.hash,
    )

    def report(sample: Sample, record: dict[str, Any]) -> None:
        if on_result:
            on_result(sample, record)
        if on_stats:
            on_stats(caller.stats)

    async def predict() -> Any:
        try:
            return await run_predictions(samples, caller, pack, run_dir, concurrency, params, report, run_key)
        finally:
            await backend.aclose()
            if response_cache is not None:
                response_cache.close()

    outcome = _run_sync(predict)
    return _finish(run_dir, config, samples, outcome)


def _finish(run_dir: Path, config: dict[str, Any], samples: Sequence[Sample], outcome: RunOutcome) -> RunResult:
    """Score the records, write metrics.json, report.md and the overlays."""
    scoring = config.get("scoring") or {}
    evaluation = score_run(
        samples,
        outcome.records,
        bool(config.get("localization")),
        run_dir / "overlays",
        group_by=scoring.get("group_by"),
        bootstrap=int(scoring.get("bootstrap") or 0),
        iou_threshold=float(scoring.get("iou_threshold") or 0.5),
        side_by_side=bool(scoring.get("side_by_side")),
    )
    metrics = dict(evaluation.metrics)
    metrics["skipped"] = [{"id": p.id, "reason": p.reason} for p in outcome.problems]
    metrics["seconds"] = round(outcome.seconds, 3)
    stats = outcome.stats
    metrics["requests"] = {
        "sent": stats.requests,
        "cached": stats.cached,
        "retries": stats.retries,
        "failed": stats.errors,
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "cost_usd": round(stats.cost, 6),
        "fallbacks": stats.fallbacks,
    }
    write_json(run_dir / "metrics.json", metrics)
    write_markdown(run_dir, config, metrics, evaluation.samples)
    write_samples(run_dir, evaluation.samples)
    write_html(run_dir, config, metrics, evaluation.samples, outcome.records)
    return RunResult(run_dir, metrics, evaluation, outcome.problems, outcome.reused, outcome.seconds, stats)


def resume(
    run_dir: str | Path,
    on_result: Callable[[Sample, dict[str, Any]], None] | None = None,
    on_stats: Callable[[RunStats], None] | None = None,
) -> RunResult:
    """Continue a run from its ``config.json``: finished samples are kept, failed and missing ones are asked.

    Raises:
        RunDirectoryError: no readable ``config.json`` in ``run_dir``.
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    backend = config.get("backend") or {}
    model = config.get("model_requested") or config.get("model")
    base_urls = backend.get("base_urls") if backend.get("backend") == "openai" else []
    shard = parse_shard(config.get("shard"))
    return evaluate(
        config["data"],
        model,
        config.get("prompt_source") or config["prompt"].split("@")[0],
        bool(config.get("with_boxes")),
        run_dir,
        config.get("limit"),
        config.get("concurrency"),
        GenerationParams(**config.get("params", {})),
        on_result,
        base_urls=[u for u in base_urls or [] if u != "https://api.openai.com/v1"],
        api_key_env=config.get("api_key_env"),
        convention=config.get("convention_requested"),
        image_format=config.get("image_format"),
        timeout=config.get("timeout", 120.0),
        max_retries=config.get("max_retries", 6),
        rpm=config.get("rpm"),
        tpm=config.get("tpm"),
        cache=config.get("cache", True),
        cache_dir=config.get("cache_dir"),
        shard=shard,
        on_stats=on_stats,
        data_format=config.get("data_format"),
        group_by=(config.get("scoring") or {}).get("group_by"),
        bootstrap=int((config.get("scoring") or {}).get("bootstrap") or 0),
        iou_threshold=float((config.get("scoring") or {}).get("iou_threshold") or 0.5),
        local=LocalOptions(**config["local"]) if config.get("local") else None,
    )


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a temporary file renamed over the target): a kill never leaves half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_config(run_dir: Path) -> dict[str, Any]:
    """A run directory's ``config.json``.

    Raises:
        RunDirectoryError: missing or unreadable.
    """
    try:
        config = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RunDirectoryError(f"{run_dir} is not a run directory (no readable config.json: {exc})") from None
    if not isinstance(config, dict) or "run_key" not in config:
        raise RunDirectoryError(f"{run_dir}/config.json is not a grounddefake run configuration")
    return config


def merge(run_dirs: Sequence[str | Path], out: str | Path) -> RunResult:
    """Combine shard runs of one configuration into one run; its metrics equal those of the unsharded run.

    Raises:
        RunDirectoryError: the runs differ in configuration or dataset, or a sample is answered in two of them.
    """
    configs = [read_config(Path(d)) for d in run_dirs]
    first = configs[0]
    for d, config in zip(run_dirs, configs, strict=True):
        for field in ("run_key", "dataset_sha256", "limit", "localization"):
            if config.get(field) != first.get(field):
                raise RunDirectoryError(f"{d}: {field} differs from {run_dirs[0]}; only shards of one run merge")
    dataset = load_dataset(first["data"], first.get("data_format"))
    samples = list(dataset.samples)[: first.get("limit")]
    records: dict[str, dict[str, Any]] = {}
    for d in run_dirs:
        for sample_id, record in read_predictions(Path(d) / PREDICTIONS).items():
            if sample_id in records:
                raise RunDirectoryError(f"sample {sample_id!r} is answered in more than one of the runs")
            records[sample_id] = record
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / PREDICTIONS, "w", encoding="utf-8") as sink:
        for sample in samples:
            if sample.id in records:
                sink.write(json.dumps(records[sample.id], ensure_ascii=False) + "\n")
    config = {**first, "shard": None, "n_samples": len(samples), "merged_from": [str(d) for d in run_dirs]}
    write_json(out_dir / "config.json", config)
    missing = [s.id for s in samples if s.id not in records]
    unreadable = [
        Problem(s.id, str(records[s.id].get("error") or "").removeprefix("unreadable image: "))
        for s in samples
        if s.id in records and records[s.id].get("skipped")
    ]
    problems = (*unreadable, *(Problem(i, "missing from every shard") for i in missing))
    stats, seconds = _summed_requests(run_dirs)
    outcome = RunOutcome({s.id: records[s.id] for s in samples if s.id in records}, problems, 0, seconds, stats)
    return _finish(out_dir, config, samples, outcome)


def _summed_requests(run_dirs: Sequence[str | Path]) -> tuple[RunStats, float]:
    """The request counts of the shard runs, added up (and the longest shard's time)."""
    stats, seconds = RunStats(), 0.0
    for d in run_dirs:
        try:
            metrics = json.loads((Path(d) / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # a shard that was never finished: its answers still count, its counts are unknown
        requests = metrics.get("requests") or {}
        stats.requests += int(requests.get("sent", 0))
        stats.cached += int(requests.get("cached", 0))
        stats.retries += int(requests.get("retries", 0))
        stats.errors += int(requests.get("failed", 0))
        stats.prompt_tokens += int(requests.get("prompt_tokens", 0))
        stats.completion_tokens += int(requests.get("completion_tokens", 0))
        stats.cost += float(requests.get("cost_usd", 0.0))
        stats.fallbacks += [f for f in requests.get("fallbacks", []) if f not in stats.fallbacks]
        seconds = max(seconds, float(metrics.get("seconds", 0.0)))
    return stats, seconds


def score(
    predictions: str | Path,
    data: str | Path,
    out: str | Path | None = None,
    *,
    group_by: str | None = None,
    bootstrap: int = 0,
    iou_threshold: float = 0.5,
    localization: bool | None = None,
    overlays: bool = False,
    data_format: str | None = None,
) -> dict[str, Any]:
    """Score a predictions file against a dataset offline; writes ``out/metrics.json`` when ``out`` is given.

    A predictions line needs only ``id`` and ``label``; ``score``, ``regions``, ``image_size`` and the rest are
    optional (a missing ``image_size`` is read from the image). ``eval`` uses the same scoring code.

    Args:
        localization: score localization (default: when any line has regions).
    """
    if not Path(predictions).is_file():
        raise FileNotFoundError(f"{predictions}: no such predictions file")
    dataset = load_dataset(data, data_format)
    samples = list(dataset.samples)
    unmatched_rows = 0
    if Path(predictions).suffix.lower() == ".csv":  # an mllm-defake result CSV (1 real, 0 fake, -1 unknown)
        from grounddefake.interop import read_mllm_defake_csv

        records, unmatched_rows = read_mllm_defake_csv(Path(predictions), samples)
    else:
        records = read_predictions(Path(predictions))
    for sample in samples:
        record = records.get(sample.id)
        if record is not None and _valid_size(record.get("image_size")) is None and not record.get("skipped"):
            size = image_size_of(Path(sample.image))
            records[sample.id] = {**record, "image_size": None if size is None else list(size)}
    if localization is None:
        localization = any(r.get("regions") for r in records.values())
    out_dir = None if out is None else Path(out)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    evaluation = score_run(
        samples,
        records,
        localization,
        None if out_dir is None or not overlays else out_dir / "overlays",
        group_by=group_by,
        bootstrap=bootstrap,
        iou_threshold=iou_threshold,
    )
    metrics = dict(evaluation.metrics)
    metrics["n_unmatched_predictions"] = len(set(records) - {s.id for s in samples}) + unmatched_rows
    if out_dir is not None:
        write_json(out_dir / "metrics.json", metrics)
    return metrics


def build_report(run_dir: str | Path) -> tuple[Path, Path]:
    """Rebuild ``report.md`` and ``report.html`` of a run from its files (config, metrics, samples, predictions).

    Raises:
        RunDirectoryError: not a run directory.
        FileNotFoundError: a file of the run is missing.
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FileNotFoundError(f"{run_dir}/metrics.json: missing or unreadable ({exc})") from None
    samples = read_samples(run_dir)
    records = read_predictions(run_dir / PREDICTIONS)
    return write_markdown(run_dir, config, metrics, samples), write_html(run_dir, config, metrics, samples, records)
