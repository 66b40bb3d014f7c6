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
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from grounddefake.backends.base import Backend, BackendError, GenerationParams, Request
from grounddefake.caller import Caller, RequestStats, RetryPolicy
from grounddefake.images import ImageError, ImageInput, PreparedImage, prepare_image
from grounddefake.judges.baselines import BaselineMemo
from grounddefake.judges.clue import judge_image, new_baselines
from grounddefake.label_space import REAL_FAKE
from grounddefake.parsing import parse_completion, short_answer_label
from grounddefake.prompts import NATIVE, Message, PromptPack, PromptPackError, SampleInputError, TextPart
from grounddefake.records import MAX_ERROR, MISSING_INPUT, prediction_record, skipped_record
from grounddefake.rundir import RunDir
from grounddefake.types import Completion, Sample, Usage, VerdictLabel
from grounddefake.verdict import Verdict
from grounddefake.verdict_words import score_from_logprobs

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """A verdict with how it was obtained."""

    verdict: Verdict
    prepared: PreparedImage
    completions: tuple[Completion, ...]
    cached: bool = False
    """Every completion came from the response cache (nothing was sent)."""

    @property
    def usage(self) -> Usage:
        return Usage(
            sum(c.usage.prompt_tokens for c in self.completions),
            sum(c.usage.completion_tokens for c in self.completions),
        )

    @property
    def latency_s(self) -> float:
        return sum(c.latency_s for c in self.completions)

    def record(self, sample_id: str, *, model: str, prompt: str, run_key: str = "") -> dict[str, Any]:
        """This answer as a ``predictions.jsonl`` line."""
        return prediction_record(
            sample_id,
            self.verdict,
            model=model,
            prompt=prompt,
            run_key=run_key,
            usage=self.usage,
            latency_s=self.latency_s,
            cached=self.cached,
            image_sha256=self.prepared.source_sha256,
            transform=self.prepared.transform,
        )


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


def slot_answers(pack: PromptPack) -> Mapping[str, str] | None:
    """The pack's verdict words for a backend that scores them (a local model): each answer word, and for a label
    space other than real/fake each label word, mapped to the ``fake`` slot when it states the positive class and to
    ``real`` otherwise, so that ``Completion.score`` is P(positive class) in every space.

    >>> from grounddefake.prompts import load_pack
    >>> slot_answers(load_pack("verdict")) is None
    True
    """
    space = pack.label_space
    if space == REAL_FAKE:
        return pack.answers
    words = {label: label for label in space.labels} | dict(pack.answers or {})
    return {word: "fake" if label == space.positive else "real" for word, label in words.items()}


def resolve_convention(pack: PromptPack, backend: Backend) -> str | None:
    """The convention answers are parsed in: the pack's, or the model's own for a ``native`` pack.

    Raises:
        PromptPackError: a ``native`` pack with a model that has no box format of its own.
    """
    if pack.convention != NATIVE:
        return pack.convention
    if backend.convention is None:
        raise PromptPackError(
            f"prompt pack '{pack.name}' asks for the model's own box format, but {backend.model} has none: use a "
            "pack that defines one (such as 'grounded'), or name the model's convention with --convention"
        )
    return backend.convention


async def ask(
    backend: Backend | Caller,
    pack: PromptPack,
    image: ImageInput,
    params: GenerationParams | None = None,
    inputs: Mapping[str, Any] | None = None,
    baselines: BaselineMemo[Any] | None = None,
) -> Answer:
    """Ask the model about one image with every turn of ``pack``; parse the last reply.

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
    convention = resolve_convention(pack, caller.backend)
    prepared = await asyncio.to_thread(prepare_image, image, caller.backend.image_policy)
    params = params or GenerationParams()
    if pack.method == "clue":
        judged = await judge_image(caller, pack, prepared, convention, params, baselines, inputs)
        return Answer(judged.verdict, prepared, judged.completions, judged.cached)
    size = prepared.transform.input_size
    messages: list[Message] = []
    system = pack.render_system(size, convention, inputs)
    if system:
        messages.append(Message("system", (TextPart(system),)))
    replies: list[str] = []
    completions: list[Completion] = []
    cached = True
    for turn in range(len(pack.turns)):
        messages.append(pack.render_turn(turn, size, replies, convention, inputs))
        schema = pack.schema if turn == len(pack.turns) - 1 else None  # the answer schema is the last turn's
        request = Request(tuple(messages), (prepared,), convention, schema, params, slot_answers(pack))
        try:
            completion, hit = await caller.complete(request)
        except Exception as exc:  # a failed request is data (principle 2), whatever raised it
            reason = str(exc) if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
            error = (reason or type(exc).__name__)[:MAX_ERROR]
            verdict = Verdict("unknown", error=error, image_size=prepared.transform.original_size)
            return Answer(verdict, prepared, tuple(completions))
        cached = cached and hit
        completions.append(completion)
        replies.append(completion.text)
        messages.append(Message("assistant", (TextPart(completion.text),)))
    verdict = parse_completion(
        completions[-1], convention, prepared.transform, pack.answers, pack.label_space, pack.scalar
    )
    if pack.answers is not None and len(completions) > 1:
        verdict = _verdict_of_short_answer(verdict, completions, pack.answers)
    return Answer(verdict, prepared, tuple(completions), cached)


def _verdict_of_short_answer(
    last: Verdict, completions: Sequence[Completion], answers: Mapping[str, VerdictLabel]
) -> Verdict:
    """The verdict of a pack that asks it as a short question and the regions in another turn (PaliGemma: "Is this
    image made by AI?", then "detect ..."): the latest reply that is one of the pack's short answers states it; the
    regions are the last reply's. The text of the other turns never does (a detection label such as "manipulated
    region" echoes the prompt, not a judgement)."""
    notes = tuple(n for n in last.parse_errors if not n.startswith(("no verdict", "hedged", "contradictory")))
    for completion in reversed(completions):
        label = short_answer_label(completion.text, answers)
        if label is not None:
            score = completion.score if completion.score is not None else score_from_logprobs(completion.logprobs)
            return replace(last, label=label, score=score, parse_errors=notes)
    expected = " / ".join(answers)
    return replace(last, label="unknown", score=None, parse_errors=(*notes, f"no reply is a short answer ({expected})"))


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
) -> PredictionOutcome:
    """Answer every sample, appending each record to the run's ``predictions.jsonl`` and flushing it as it arrives.

    Samples already answered without error in this configuration (same ``run_key``; lines without one: same model
    and prompt pack) are reused, not asked again; failed ones are asked again. A SIGKILL loses only the requests in
    flight: every finished answer is on disk, and a torn last line is cut before appending.
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
                answer = await ask(caller, pack, sample.image, params, inputs, baselines)
            except ImageError as exc:
                problems.append(Problem(sample.id, str(exc)))
                return skipped_record(sample.id, str(exc), model=model, prompt=pack.id, run_key=run_key)
            return answer.record(sample.id, model=model, prompt=pack.id, run_key=run_key)

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
