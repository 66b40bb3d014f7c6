"""The Python API: ``detect`` one image, or ``evaluate`` a model on a dataset into a run directory."""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import platform
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from grounddefake import __version__
from grounddefake.backends import Backend, GenerationParams, create_backend
from grounddefake.datasets import load_dataset
from grounddefake.evaluation import Evaluation, score_run
from grounddefake.images import ImageInput
from grounddefake.prompts import PromptPack, PromptPackError, load_pack
from grounddefake.report import write_markdown
from grounddefake.runner import PREDICTIONS, Answer, Problem, RunDirectoryError, ask, run_predictions
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
        model: str | Backend = "forensic",
        prompt: str | Path | PromptPack | None = None,
        params: GenerationParams | None = None,
    ) -> None:
        self.backend = create_backend(model) if isinstance(model, str) else model
        self.pack = _pack(prompt)
        self.params = params or GenerationParams()

    def detect(self, image: ImageInput) -> Verdict:
        """Judge one image (path, PIL image or RGB array); regions come back in its original pixels."""
        return self.ask(image).verdict

    def ask(self, image: ImageInput) -> Answer:
        """Like :meth:`detect`, with the prepared image and raw completions."""
        return _run_sync(lambda: ask(self.backend, self.pack, image, self.params))

    async def adetect(self, image: ImageInput) -> Verdict:
        return (await ask(self.backend, self.pack, image, self.params)).verdict


def detect(image: ImageInput, model: str = "forensic", prompt: str | Path | PromptPack | None = None) -> Verdict:
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


def default_run_dir(model: str, data: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{model}-{Path(data).stem}")
    return Path("runs") / f"{stamp}-{safe}"


def _run_key(backend: Backend, pack: PromptPack, params: GenerationParams) -> str:
    """What makes two runs' answers interchangeable: backend (with its code and image policy), pack, parameters."""
    key = {"backend": backend.describe(), "prompt": pack.id, "params": params.to_json()}
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


def evaluate(
    data: str | Path = "demo",
    model: str | Backend = "forensic",
    prompt: str | Path | PromptPack | None = None,
    with_boxes: bool = False,
    out: str | Path | None = None,
    limit: int | None = None,
    concurrency: int | None = None,
    params: GenerationParams | None = None,
    on_result: Callable[[Sample, dict[str, Any]], None] | None = None,
) -> RunResult:
    """Run ``model`` on ``data`` and write the run directory.

    Writes ``config.json``, ``predictions.jsonl`` (appended as answers arrive; a re-run resumes), ``metrics.json``,
    ``report.md`` and ``overlays/<id>.png``.

    Args:
        data: ``demo``, a manifest ``.jsonl`` or a folder with ``manifest.jsonl``.
        model: a model name (``forensic``) or a Backend.
        prompt: a pack name or YAML path; default ``grounded`` with ``with_boxes``, else ``verdict``.
        with_boxes: ask for regions and score localization.
        out: run directory (default ``runs/<time>-<model>-<data>``).
        limit: only the first ``limit`` samples.
        concurrency: requests in flight (default: the backend's own default).
    """
    backend = create_backend(model) if isinstance(model, str) else model
    pack = _pack(prompt, default="grounded" if with_boxes else "verdict")
    if with_boxes and pack.task != "grounded":
        raise PromptPackError(f"--with-boxes needs a grounding prompt pack; '{pack.name}' has task '{pack.task}'")
    dataset = load_dataset(data)
    samples = list(dataset.samples)[: limit if limit is not None else None]
    run_dir = Path(out) if out is not None else default_run_dir(backend.model, str(data))
    run_dir.mkdir(parents=True, exist_ok=True)
    params = params or GenerationParams()
    concurrency = concurrency or getattr(backend, "default_concurrency", 4)
    localization = with_boxes or pack.task == "grounded"
    run_key = _run_key(backend, pack, params)
    _check_run_dir(run_dir, run_key)
    config = {
        "run_key": run_key,
        "grounddefake": __version__,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data": str(data),
        "dataset_source": str(dataset.source),
        "dataset_sha256": hashlib.sha256(dataset.source.read_bytes()).hexdigest(),
        "n_samples": len(samples),
        "limit": limit,
        "model": backend.model,
        "backend": backend.describe(),
        "prompt": pack.id,
        "prompt_source": pack.source,
        "convention": pack.convention,
        "with_boxes": with_boxes,
        "localization": localization,
        "concurrency": concurrency,
        "params": params.to_json(),
    }
    (run_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    async def predict() -> Any:
        try:
            return await run_predictions(samples, backend, pack, run_dir, concurrency, params, on_result)
        finally:
            await backend.aclose()

    outcome = _run_sync(predict)
    evaluation = score_run(samples, outcome.records, localization, run_dir / "overlays")
    metrics = dict(evaluation.metrics)
    metrics["skipped"] = [{"id": p.id, "reason": p.reason} for p in outcome.problems]
    metrics["seconds"] = round(outcome.seconds, 3)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_markdown(run_dir, config, metrics, evaluation.samples)
    return RunResult(run_dir, metrics, evaluation, outcome.problems, outcome.reused, outcome.seconds)
