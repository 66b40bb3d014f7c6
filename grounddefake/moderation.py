"""The moderation Q-A pass of scoring: MQA accuracy and, with a judge, MEQ (``metrics.json → moderation``).

It reads samples and records only. A sample takes part when its ``meta`` says what it is: ``kind`` ``mc`` or
``yes_no`` with the reference answer in ``meta.truth`` (MQA), or ``kind: explanation`` with the reference
explanation there (MEQ) — the ``icm-qa`` format writes them, and a manifest can carry them too. The MEQ judge
(:mod:`grounddefake.judges.meq`) is the one step of scoring that sends requests: through its own Caller (the run's
response cache and retry policy), to the endpoint of ``RunConfig.judge_model`` / ``judge_base_url`` /
``judge_api_key_env``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grounddefake.cache import ResponseCache
from grounddefake.caller import Caller, RetryPolicy
from grounddefake.json_recovery import iter_json
from grounddefake.judges.meq import Explanation, JudgeEndpoint, judge_all, judge_backend
from grounddefake.metrics.moderation import MQA_KINDS, MeqRow, MqaRow, answer_letter, meq_metrics, mqa_metrics
from grounddefake.prompts import PromptPack, PromptPackError, load_pack
from grounddefake.run_config import RunConfig
from grounddefake.types import Sample

MAX_CANDIDATE = 8000
"""A candidate explanation is cut to this many characters before the judge reads it."""
NO_JUDGE = "no judge: give --judge-model (and --judge-base-url, --judge-api-key-env) to score explanations"


def judge_endpoint(options: RunConfig) -> JudgeEndpoint | None:
    """The run's judge, or None when it names none."""
    if options.judge_model is None and options.judge_base_url is None:
        return None
    return JudgeEndpoint(options.judge_model, options.judge_base_url, options.judge_api_key_env, options.judge_prompt)


def judge_pack(endpoint: JudgeEndpoint) -> PromptPack:
    """The judge's pack (``meq-judge`` or the user's).

    Raises:
        PromptPackError: it cannot be read, or is not a judge pack.
    """
    pack = load_pack(endpoint.prompt)
    if pack.task != "judge":
        raise PromptPackError(f"--judge-prompt '{pack.name}' has task '{pack.task}': a judge pack has task 'judge'")
    return pack


def check_judge(options: RunConfig) -> None:
    """Fail before any work when the run names a judge that cannot be used.

    Raises:
        JudgeUnavailableError: the endpoint cannot be used.
        PromptPackError: the judge pack cannot be read.
    """
    from grounddefake.pipeline import run_blocking

    endpoint = judge_endpoint(options)
    if endpoint is None:
        return
    judge_pack(endpoint)
    backend = judge_backend(endpoint, options.timeout)
    run_blocking(backend.aclose)


def candidate_of(record: Mapping[str, Any]) -> str:
    """The explanation a record gives: its rationale when the answer was JSON (a ``rationale`` field), else the
    answer as written.

    >>> candidate_of({"raw": "It shows a kiss.", "rationale": "It shows a kiss"})
    'It shows a kiss.'
    >>> candidate_of({"raw": '{"verdict": "unsafe", "rationale": "A kiss."}', "rationale": "A kiss."})
    'A kiss.'
    """
    raw = str(record.get("raw") or "").strip()
    rationale = str(record.get("rationale") or "").strip()
    if rationale and any(isinstance(found.value, Mapping) for found in iter_json(raw)):
        return rationale[:MAX_CANDIDATE]
    return raw[:MAX_CANDIDATE]


def _reference(sample: Sample) -> tuple[str, str] | None:
    """(kind, truth) of a sample the moderation metrics score: an ICM Q-A item, or any sample with a reference
    explanation (``meta.explanation``: Expl-AIGI-Eval's chain of thought, FakeXplained's descriptions), whose
    rationale the judge scores."""
    explanation = sample.meta.get("explanation")
    if sample.meta.get("kind") is None and isinstance(explanation, str) and explanation.strip():
        return "explanation", explanation
    kind, truth = sample.meta.get("kind"), sample.meta.get("truth")
    if kind not in (*MQA_KINDS, "explanation") or not isinstance(truth, str) or not truth.strip():
        return None
    return str(kind), truth


def moderation_metrics(
    samples: Sequence[Sample], records: Mapping[str, Mapping[str, Any]], options: RunConfig
) -> dict[str, Any] | None:
    """``metrics.json → moderation``: ``mqa`` and ``meq`` over the samples that have them (None when none has).

    Records that are missing or skipped are not counted. Without a judge, every explanation is unscored
    (``NO_JUDGE``).

    Raises:
        JudgeUnavailableError: the run's judge cannot be used.
    """
    mqa: list[MqaRow] = []
    explanations: list[Explanation] = []
    unscored: dict[str, MeqRow] = {}
    order: list[str] = []
    problems: list[dict[str, str]] = []
    for sample in samples:
        reference = _reference(sample)
        record = records.get(sample.id)
        if reference is None or record is None or record.get("skipped"):
            continue
        kind, truth = reference
        error = record.get("error")
        if kind in MQA_KINDS:
            expected = answer_letter(truth, kind)
            if expected is None:
                problems.append({"id": sample.id, "reason": f"reference answer {truth[:60]!r} has no letter"})
                continue
            letter = None if error else answer_letter(str(record.get("raw") or ""), kind)
            what = "A-D" if kind == "mc" else "Yes/No"
            reason = f"request failed: {error}" if error else "" if letter else f"no {what} answer letter"
            mqa.append(MqaRow(sample.id, kind, expected, letter, str(reason)[:300]))
            continue
        order.append(sample.id)
        candidate = "" if error else candidate_of(record)
        if not candidate:
            why = f"no candidate explanation: the request failed ({error})" if error else "no candidate explanation"
            unscored[sample.id] = MeqRow(sample.id, None, why[:300])
            continue
        question = str(sample.meta.get("question") or "")
        explanations.append(Explanation(sample.id, question, candidate, truth))
    if not mqa and not explanations and not unscored:
        return None
    out: dict[str, Any] = {}
    if mqa:
        out["mqa"] = mqa_metrics(mqa)
    if explanations or unscored:
        out["meq"] = _meq(explanations, unscored, order, options)
    if problems:
        out["problems"] = problems
    return out


def _meq(
    explanations: Sequence[Explanation], unscored: Mapping[str, MeqRow], order: Sequence[str], options: RunConfig
) -> dict[str, Any]:
    from grounddefake.pipeline import run_blocking

    endpoint = judge_endpoint(options)
    if endpoint is None or not explanations:
        judged = {e.id: MeqRow(e.id, None, NO_JUDGE) for e in explanations}
        rows = [judged.get(i) or unscored[i] for i in order]
        return {**meq_metrics(rows), "judge": None if endpoint is None else endpoint.to_json()}
    pack = judge_pack(endpoint)
    backend = judge_backend(endpoint, options.timeout)
    cache = ResponseCache(options.cache_dir) if options.cache and backend.cacheable else None
    caller = Caller(backend, cache=cache, retry=RetryPolicy(max_retries=options.max_retries), prompt_hash=pack.hash)

    async def judge() -> list[MeqRow]:
        try:
            return await judge_all(caller, pack, explanations, options.concurrency or 4)
        finally:
            await backend.aclose()
            if cache is not None:
                cache.close()

    judged = {row.id: row for row in run_blocking(judge)}
    rows = [judged.get(i) or unscored[i] for i in order]
    described = {**endpoint.to_json(), "model": backend.model, "prompt": pack.id}
    return {**meq_metrics(rows), "judge": described, "requests": caller.stats.to_json()}
