"""Move values along the pipeline: image → prepared image → prompt → backend → parser → prediction record.

The runner holds no model-, prompt- or metric-specific logic. Results are appended to ``predictions.jsonl`` and
flushed as they arrive; a re-run in the same directory skips samples that already have an answer from the same model
and prompt pack (failed requests are asked again). An unreadable image is a data problem: its line is marked
``"skipped": true``, it is left out of the metrics and counted, never a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grounddefake.backends.base import Backend, BackendError, GenerationParams, Request
from grounddefake.calls import Caller, RetryPolicy, RunStats
from grounddefake.images import ImageError, ImageInput, prepare_image
from grounddefake.parsing import parse_completion, short_answer_label
from grounddefake.prompts import NATIVE, Message, PromptPack, PromptPackError, TextPart
from grounddefake.types import Completion, PreparedImage, Sample, Usage, Verdict, VerdictLabel
from grounddefake.verdicts import score_from_logprobs

PREDICTIONS = "predictions.jsonl"
MAX_ERROR = 2000
"""Error messages are bounded: they can carry a server's whole response body."""


class RunDirectoryError(ValueError):
    """A run directory cannot be used for this run (it holds another configuration's answers)."""


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
) -> Answer:
    """Ask the model about one image with every turn of ``pack``; parse the last reply.

    ``backend`` may be a :class:`Caller` (cache, rate limits, retries) or a bare Backend (one attempt, no cache).

    Raises:
        ImageError: the image cannot be read (a data problem, not a model answer).
    """
    caller = backend if isinstance(backend, Caller) else Caller(backend, retry=RetryPolicy(max_retries=0))
    convention = resolve_convention(pack, caller.backend)
    prepared = await asyncio.to_thread(prepare_image, image, caller.backend.image_policy)
    params = params or GenerationParams()
    size = prepared.transform.input_size
    messages: list[Message] = []
    system = pack.render_system(size, convention)
    if system:
        messages.append(Message("system", (TextPart(system),)))
    replies: list[str] = []
    completions: list[Completion] = []
    cached = True
    for turn in range(len(pack.turns)):
        messages.append(pack.render_turn(turn, size, replies, convention))
        request = Request(tuple(messages), (prepared,), convention, pack.schema, params, pack.answers)
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
    verdict = parse_completion(completions[-1], convention, prepared.transform, pack.answers)
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


def prediction_record(
    sample_id: str, answer: Answer, model: str, pack: PromptPack, run_key: str = ""
) -> dict[str, Any]:
    """One ``predictions.jsonl`` line (DESIGN.md → Formats)."""
    line = _record(sample_id, answer.verdict, model, pack, answer.usage, answer.latency_s, run_key)
    return {
        **line,
        "cached": answer.cached,
        "image_sha256": answer.prepared.source_sha256,
        "transform": answer.prepared.transform.to_json(),
    }


def skipped_record(sample_id: str, reason: str, model: str, pack: PromptPack, run_key: str = "") -> dict[str, Any]:
    """The line of a sample whose image could not be read: a data problem, excluded from the metrics."""
    verdict = Verdict("unknown", error=f"unreadable image: {reason}"[:MAX_ERROR])
    return {**_record(sample_id, verdict, model, pack, run_key=run_key), "skipped": True}


def _record(
    sample_id: str,
    verdict: Verdict,
    model: str,
    pack: PromptPack,
    usage: Usage = Usage(),
    latency_s: float = 0.0,
    run_key: str = "",
) -> dict[str, Any]:
    """The fields every line has, in the documented order."""
    return {
        "id": sample_id,
        "label": verdict.label,
        "score": None if verdict.score is None else round(verdict.score, 6),
        "rationale": verdict.rationale,
        "regions": [r.to_json() for r in verdict.regions],
        "image_size": None if verdict.image_size is None else list(verdict.image_size),
        "model": model,
        "prompt": pack.id,
        "run_key": run_key,
        "raw": verdict.raw,
        "error": verdict.error,
        "parse_errors": list(verdict.parse_errors),
        "usage": usage.to_json(),
        "latency_s": round(latency_s, 4),
    }


def repair_torn_tail(path: Path) -> None:
    """Cut a last line that a killed run left without its newline, so appending starts on a fresh line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        end = f.seek(0, 2)
        f.seek(end - 1)
        if f.read(1) == b"\n":
            return
        # Walk back from the end in blocks: the file can hold a whole benchmark's answers.
        position = end
        while position > 0:
            start = max(0, position - 65536)
            f.seek(start)
            newline = f.read(position - start).rfind(b"\n")
            if newline >= 0:
                f.truncate(start + newline + 1)
                return
            position = start
        f.truncate(0)


def read_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """Records by id; a later line for the same id wins; a torn last line (killed run) is ignored."""
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "id" in record:
                records[str(record["id"])] = record
    return records


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
class RunOutcome:
    records: dict[str, dict[str, Any]]
    problems: tuple[Problem, ...]
    reused: int
    seconds: float
    stats: RunStats


async def run_predictions(
    samples: Iterable[Sample],
    backend: Backend | Caller,
    pack: PromptPack,
    out_dir: Path,
    concurrency: int = 4,
    params: GenerationParams | None = None,
    on_result: Callable[[Sample, dict[str, Any]], None] | None = None,
    run_key: str = "",
) -> RunOutcome:
    """Answer every sample, appending each record to ``out_dir/predictions.jsonl`` and flushing it as it arrives.

    Samples already answered without error in this configuration (same ``run_key``; lines without one: same model
    and prompt pack) are reused, not asked again; failed ones are asked again. A SIGKILL loses only the requests in
    flight: every finished answer is on disk, and a torn last line is cut before appending.
    """
    start = time.perf_counter()
    caller = backend if isinstance(backend, Caller) else Caller(backend)
    model = caller.backend.model
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PREDICTIONS
    repair_torn_tail(path)

    def same_run(record: dict[str, Any]) -> bool:
        if record.get("run_key"):
            return record["run_key"] == run_key
        return record.get("model") == model and record.get("prompt") == pack.id

    done = {k: r for k, r in read_predictions(path).items() if not r.get("error") and same_run(r)}
    samples = list(samples)
    # An answer is reused only for the very image it was given: a file replaced under the same id is asked again.
    current = await asyncio.to_thread(_file_hashes, [s for s in samples if done.get(s.id, {}).get("image_sha256")])
    done = {k: r for k, r in done.items() if not r.get("image_sha256") or current.get(k) == r["image_sha256"]}
    records = {s.id: done[s.id] for s in samples if s.id in done}
    reused = len(records)
    problems: list[Problem] = []
    semaphore = asyncio.Semaphore(max(1, concurrency))

    with open(path, "a", encoding="utf-8") as sink:

        async def one(sample: Sample) -> None:
            async with semaphore:
                try:
                    answer = await ask(caller, pack, sample.image, params)
                except ImageError as exc:
                    problems.append(Problem(sample.id, str(exc)))
                    record = skipped_record(sample.id, str(exc), model, pack, run_key)
                else:
                    record = prediction_record(sample.id, answer, model, pack, run_key)
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
    return RunOutcome(ordered, tuple(problems), reused, time.perf_counter() - start, caller.stats)
