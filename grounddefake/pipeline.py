"""Move values along the pipeline: image → prepared image → prompt → backend → parser → prediction record.

The pipeline holds no model-, prompt- or metric-specific logic. Results are appended to ``predictions.jsonl`` and
flushed as they arrive; a re-run in the same directory skips samples that already have an answer from the same model
and prompt pack (failed requests are asked again). An unreadable image is a data problem: its line is marked
``"skipped": true``, it is left out of the metrics and counted, never a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from grounddefake.asking import Answer, ask_prepared, resolve_convention, slot_answers  # noqa: F401  (re-exported)
from grounddefake.backends.base import Backend, GenerationParams
from grounddefake.caller import Caller, RequestStats, RetryPolicy
from grounddefake.faithfulness import PURPOSE as FAITHFULNESS
from grounddefake.faithfulness import check_faithfulness
from grounddefake.heatmaps.dense import ask_dense
from grounddefake.heatmaps.modes import MODEL_MAP, HeatmapMode
from grounddefake.heatmaps.store import save_heatmap
from grounddefake.images import ImageError, ImageInput, prepare_image
from grounddefake.judges.baselines import BaselineMemo
from grounddefake.judges.clue import new_baselines
from grounddefake.label_space import UNKNOWN
from grounddefake.prompts import PromptPack, SampleInputError
from grounddefake.records import MISSING_INPUT, skipped_record
from grounddefake.rundir import RunDir
from grounddefake.types import Sample

T = TypeVar("T")


def run_blocking(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
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


async def ask(
    backend: Backend | Caller,
    pack: PromptPack,
    image: ImageInput,
    params: GenerationParams | None = None,
    inputs: Mapping[str, Any] | None = None,
    baselines: BaselineMemo[Any] | None = None,
    heatmap: HeatmapMode | None = None,
    faithfulness: bool = False,
) -> Answer:
    """Ask the model about one image with every turn of ``pack``; parse the last reply.

    ``heatmap``: a dense mode (``consensus:N``, ``probe:K``) asks more and returns its map
    (:mod:`grounddefake.heatmaps.dense`); None or ``boxes`` asks once. ``faithfulness``: an answer with regions is
    asked again with them blanked and with a control blanked (:mod:`grounddefake.faithfulness`).

    A ``method: clue`` pack (a rule pack) is asked by the CLUE judge instead (:mod:`grounddefake.judges.clue`):
    its Yes/No questions per precondition, then the turns as its cascade; ``baselines`` is the run's memo of
    text-only baselines, shared by its samples (a fresh one when None).

    ``backend`` may be a :class:`Caller` (cache, rate limits, retries) or a bare Backend (one attempt, no cache).
    ``inputs`` holds the sample fields the pack declares (:meth:`PromptPack.inputs_of`); nothing else of the sample
    reaches the prompt.

    Raises:
        ImageError: the image cannot be read (a data problem, not a model answer).
    """
    caller = backend if isinstance(backend, Caller) else Caller(backend, retry=RetryPolicy(max_retries=0))
    prepared = await asyncio.to_thread(prepare_image, image, caller.backend.image_policy)
    params = params or GenerationParams()
    if heatmap is not None and heatmap.dense and pack.method != "clue":
        answer = await ask_dense(caller, pack, prepared, params, inputs, heatmap, baselines)
    else:
        answer = await ask_prepared(caller, pack, prepared, params, inputs, baselines)
    if not faithfulness or pack.method == "clue" or answer.verdict.label == UNKNOWN:
        return answer
    check = await check_faithfulness(
        caller, pack, prepared, answer.verdict, params, inputs, params.seed or 0, ask=ask_prepared
    )
    if check is None:
        return answer
    purposes = dict(answer.purposes) or {"answer": len(answer.completions)}
    purposes[FAITHFULNESS] = check.requests
    return replace(answer, faithfulness=check, purposes=tuple(purposes.items()))


def _file_hashes(samples: Iterable[Sample]) -> dict[str, str | None]:
    """sha256 of each sample's image file (None when it cannot be read)."""
    hashes: dict[str, str | None] = {}
    for sample in samples:
        try:
            hashes[sample.id] = hashlib.sha256(Path(sample.image).read_bytes()).hexdigest()
        except OSError:
            hashes[sample.id] = None
    return hashes


@dataclass(frozen=True)
class Problem:
    """A sample that could not be evaluated, and why."""

    id: str
    reason: str


@dataclass(frozen=True)
class PredictionOutcome:
    records: dict[str, dict[str, Any]]
    problems: tuple[Problem, ...]
    reused: int
    seconds: float
    stats: RequestStats


async def predict_samples(
    samples: Iterable[Sample],
    backend: Backend | Caller,
    pack: PromptPack,
    run_dir: RunDir,
    concurrency: int = 4,
    params: GenerationParams | None = None,
    on_result: Callable[[Sample, dict[str, Any]], None] | None = None,
    run_key: str = "",
    heatmap: HeatmapMode | None = None,
    faithfulness: bool = False,
) -> PredictionOutcome:
    """Answer every sample, appending each record to the run's ``predictions.jsonl`` and flushing it as it arrives.

    Samples already answered without error in this configuration (same ``run_key``; lines without one: same model
    and prompt pack) are reused, not asked again; failed ones are asked again. A SIGKILL loses only the requests in
    flight: every finished answer is on disk, and a torn last line is cut before appending. A dense ``heatmap``
    mode's map is written to ``heatmaps/<id>.png`` before its line, which names it (``heatmap``, ``heatmap_mode``).
    """
    start = time.perf_counter()
    caller = backend if isinstance(backend, Caller) else Caller(backend)
    model = caller.backend.model
    run_dir.create()

    def same_run(record: dict[str, Any]) -> bool:
        if record.get("run_key"):
            return record["run_key"] == run_key
        return record.get("model") == model and record.get("prompt") == pack.id

    done = {k: r for k, r in run_dir.read_predictions().items() if not r.get("error") and same_run(r)}
    samples = list(samples)
    # An answer is reused only for the very image it was given: a file replaced under the same id is asked again.
    current = await asyncio.to_thread(_file_hashes, [s for s in samples if done.get(s.id, {}).get("image_sha256")])
    done = {k: r for k, r in done.items() if not r.get("image_sha256") or current.get(k) == r["image_sha256"]}
    records = {s.id: done[s.id] for s in samples if s.id in done}
    reused = len(records)
    problems: list[Problem] = []
    semaphore = asyncio.Semaphore(max(1, concurrency))
    baselines = new_baselines()  # a rule pack's text-only baselines: once per question per run, for every worker

    with run_dir.appending_predictions() as sink:

        async def answer_record(sample: Sample, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
            try:
                answer = await ask(caller, pack, sample.image, params, inputs, baselines, heatmap, faithfulness)
            except ImageError as exc:
                problems.append(Problem(sample.id, str(exc)))
                return skipped_record(sample.id, str(exc), model=model, prompt=pack.id, run_key=run_key)
            record = answer.record(sample.id, model=model, prompt=pack.id, run_key=run_key)
            if answer.heatmap is not None:  # a dense mode's map, or the model's own
                record["heatmap"] = await asyncio.to_thread(save_heatmap, run_dir.path, sample.id, answer.heatmap)
                record["heatmap_mode"] = str(heatmap) if heatmap is not None and heatmap.dense else MODEL_MAP
            return record

        async def one(sample: Sample) -> None:
            async with semaphore:
                try:
                    inputs = pack.inputs_of(sample.meta, sample.id) if pack.inputs else None
                except SampleInputError as exc:
                    problems.append(Problem(sample.id, str(exc)))
                    record = skipped_record(
                        sample.id, str(exc), model=model, prompt=pack.id, run_key=run_key, problem=MISSING_INPUT
                    )
                else:
                    record = await answer_record(sample, inputs)
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()
            records[sample.id] = record
            if on_result:
                on_result(sample, record)

        for sample in samples:
            if sample.id in records and on_result:
                on_result(sample, records[sample.id])
        pending = iter([s for s in samples if s.id not in records])

        async def worker() -> None:
            # A fixed pool of workers pulls samples one by one: memory does not grow with the dataset.
            for sample in pending:
                await one(sample)

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    ordered = {s.id: records[s.id] for s in samples if s.id in records}
    return PredictionOutcome(ordered, tuple(problems), reused, time.perf_counter() - start, caller.stats)
