"""The MEQ judge: an LLM on any OpenAI-compatible endpoint scores explanations against their references.

It is part of scoring, not of the model under test: ``score`` and ``eval`` run it with ``--judge-model``,
``--judge-base-url`` and ``--judge-api-key-env``, through a :class:`~grounddefake.caller.Caller` (response cache,
retries), with a judge pack (``meq-judge``). Its answer is JSON with the four 0-100 criteria (ICM's markdown table
``| Accuracy | 90 |`` is read too); anything else leaves the sample unscored with the reason, never scored 0.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grounddefake.backends.base import Backend, BackendError, GenerationParams, Request
from grounddefake.caller import Caller
from grounddefake.json_recovery import iter_json
from grounddefake.judge_packs import judge_messages
from grounddefake.metrics.moderation import CRITERIA, MeqRow
from grounddefake.prompt_pack import PromptPack
from grounddefake.redaction import is_redacted, redact_url

DEFAULT_PACK = "meq-judge"
PARAMS = GenerationParams(max_tokens=400, temperature=0.0, seed=0)
"""The judge answers greedily and briefly: four numbers."""
MAX_REASON = 300
_TABLE_ROW = re.compile(r"^\s*\|\s*\**\s*([A-Za-z]+)\s*\**\s*\|\s*\**\s*(-?\d+(?:\.\d+)?)\s*\**\s*\|", re.MULTILINE)


@dataclass(frozen=True)
class JudgeEndpoint:
    """Where the judge runs: its model (None: the server's only model), endpoint and key variable, and its pack."""

    model: str | None
    base_url: str | None = None
    api_key_env: str | None = None
    prompt: str = DEFAULT_PACK

    def to_json(self) -> dict[str, Any]:
        """As written into ``config.json`` and ``metrics.json``: the URL's credentials redacted, the key's variable
        named, never its value.

        >>> JudgeEndpoint("gpt-4o", "http://user:pw@host/v1?key=s", "JUDGE_KEY").to_json()["base_url"]
        'http://***@host/v1?key=***'
        """
        url = None if self.base_url is None else redact_url(self.base_url)
        return {"model": self.model, "base_url": url, "api_key_env": self.api_key_env, "prompt": self.prompt}


class JudgeUnavailableError(ValueError):
    """The judge's endpoint cannot be used (an unknown model, a missing key, credentials lost in a record)."""


def judge_backend(endpoint: JudgeEndpoint, timeout: float = 120.0) -> Backend:
    """The judge's backend.

    Raises:
        JudgeUnavailableError: the endpoint was recorded without its credentials, or the backend refuses it.
    """
    from grounddefake.backends import UnknownModelError, create_backend

    if endpoint.base_url is not None and is_redacted(endpoint.base_url):
        raise JudgeUnavailableError(
            f"--judge-base-url {endpoint.base_url} was recorded without its credentials: give the full URL again "
            "(`grounddefake eval` with the same options and --out, or `grounddefake score --judge-base-url URL`)"
        )
    try:
        return create_backend(
            endpoint.model,
            base_urls=() if endpoint.base_url is None else (endpoint.base_url,),
            api_key_env=endpoint.api_key_env,
            prompt_convention="norm1000",  # the judge reads text: no box convention of its own is needed
            timeout=timeout,
        )
    except (UnknownModelError, KeyError, ValueError) as exc:
        raise JudgeUnavailableError(f"the judge: {exc}") from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().rstrip("%"))
        except ValueError:
            return None
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _check(found: Mapping[str, Any]) -> tuple[dict[str, float] | None, str]:
    scores: dict[str, float] = {}
    for criterion in CRITERIA:
        if criterion not in found:
            return None, f"the judge's answer gives no {criterion} score"
        value = _number(found[criterion])
        if value is None or not 0 <= value <= 100:
            return None, f"the judge's {criterion} score {found[criterion]!r:.40} is not a number in 0-100"
        scores[criterion] = value
    return scores, ""


def parse_scores(text: str) -> tuple[dict[str, float] | None, str]:
    """(the four scores, "") from the judge's answer, or (None, why not).

    >>> scores, _ = parse_scores('{"accuracy": 90, "preciseness": 70, "comprehensiveness": "80", "fluency": 85}')
    >>> scores["comprehensiveness"]
    80.0
    >>> parse_scores("| Criteria | Score |\\n|---|---|\\n| Accuracy | 90 |\\n| Preciseness | 70 |\\n"
    ...              "| Comprehensiveness | 80 |\\n| Fluency | 85 |")[0]["fluency"]
    85.0
    >>> parse_scores('{"accuracy": 90, "preciseness": 70, "comprehensiveness": 80}')
    (None, "the judge's answer gives no fluency score")
    >>> parse_scores("I cannot grade this.")
    (None, "the judge's answer has no JSON object or table with the four scores")
    """
    objects = [f.value for f in iter_json(text) if isinstance(f.value, Mapping)]
    for found in objects:
        lowered = {str(k).strip().lower(): v for k, v in found.items()}
        if any(c in lowered for c in CRITERIA):
            return _check(lowered)
    rows = {name.lower(): value for name, value in _TABLE_ROW.findall(text)}
    if any(c in rows for c in CRITERIA):
        return _check(rows)
    return None, "the judge's answer has no JSON object or table with the four scores"


@dataclass(frozen=True)
class Explanation:
    """One explanation to judge: what was asked, the model's answer and the dataset's reference."""

    id: str
    question: str
    candidate: str
    reference: str


async def judge_one(caller: Caller, pack: PromptPack, item: Explanation) -> MeqRow:
    """One judge request; a failed request or an unparseable answer is an unscored row with its reason."""
    messages = judge_messages(pack, item.question, item.candidate, item.reference)
    request = Request(messages, (), None, pack.schema, PARAMS)
    try:
        completion, _ = await caller.complete(request)
    except Exception as exc:  # a failed request is data (principle 2), whatever raised it
        reason = str(exc) if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
        return MeqRow(item.id, None, f"judge request failed: {reason}"[:MAX_REASON])
    scores, why = parse_scores(completion.text)
    return MeqRow(item.id, scores, why[:MAX_REASON])


async def judge_all(
    caller: Caller, pack: PromptPack, items: Sequence[Explanation], concurrency: int = 4
) -> list[MeqRow]:
    """Judge every item, ``concurrency`` requests in flight; rows in the items' order."""
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(item: Explanation) -> MeqRow:
        async with semaphore:
            return await judge_one(caller, pack, item)

    return list(await asyncio.gather(*(one(item) for item in items)))
