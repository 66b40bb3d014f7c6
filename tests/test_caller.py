"""Retry policy, token buckets and the caller's bookkeeping (no network: a scripted backend)."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from grounddefake.backends.base import BackendError, GenerationParams, Request
from grounddefake.caller import MAX_RETRY_AFTER, Caller, RetryPolicy, TokenBucket, estimate_tokens
from grounddefake.prompts import Message, TextPart
from grounddefake.types import Completion, Usage

from .conftest import ScriptedBackend


@pytest.mark.parametrize("attempt", range(8))
def test_full_jitter_fills_a_window_that_doubles(attempt: int) -> None:
    policy, rng = RetryPolicy(base=1.0, cap=60.0), random.Random(attempt)
    waits = [policy.wait(attempt, None, rng) for _ in range(2000)]
    window = min(60.0, 2.0**attempt)
    assert all(0 <= w <= window for w in waits)
    assert sum(waits) / len(waits) == pytest.approx(window / 2, rel=0.1)  # uniform over [0, window]
    assert max(waits) > 0.95 * window and min(waits) < 0.05 * window


@pytest.mark.parametrize(("given", "waited"), [(0.0, 0.0), (12.5, 12.5), (1e9, MAX_RETRY_AFTER)])
def test_retry_after_is_honoured_spread_and_capped(given: float, waited: float) -> None:
    waits = [RetryPolicy().wait(3, given, random.Random(seed)) for seed in range(50)]
    assert all(waited <= w <= waited * 1.1 for w in waits)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "250"}, 0.25), ({"retry-after": "soon"}, None), ({}, None)],
)
def test_retry_after_header(headers, seconds) -> None:
    from grounddefake.backends.openai_compat import retry_after

    assert retry_after(headers) == seconds


def test_retry_after_http_date() -> None:
    import email.utils
    import time

    from grounddefake.backends.openai_compat import retry_after

    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after({"retry-after": when}) <= 31


class Clock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("grounddefake.caller._monotonic", fake.monotonic)
    monkeypatch.setattr("grounddefake.caller._sleep", fake.sleep)
    return fake


def test_requests_per_minute_are_spread(clock: Clock) -> None:
    bucket = TokenBucket(60)  # a full minute's worth stored, then one per second

    async def take(n: int) -> None:
        for _ in range(n):
            await bucket.take(1)

    asyncio.run(take(60))
    assert clock.now == 0.0
    asyncio.run(take(30))
    assert clock.now == pytest.approx(30.0)


def test_tokens_are_reserved_then_settled(clock: Clock) -> None:
    bucket = TokenBucket(6000)  # 100 tokens per second

    async def run() -> None:
        await bucket.take(6000)
        bucket.settle(-3000)  # the request used 3000 fewer tokens than reserved
        await bucket.take(3000)
        assert clock.now == 0.0
        await bucket.take(1000)

    asyncio.run(run())
    assert clock.now == pytest.approx(10.0)


def _request(text: str = "hello") -> Request:
    return Request((Message("user", (TextPart(text),)),), (), None, None, GenerationParams(max_tokens=100))


def test_estimate_counts_text_and_answer_budget() -> None:
    assert estimate_tokens(_request("x" * 400)) == 100 + 100


def test_caller_counts_and_gives_up_on_fatal_errors() -> None:
    answers = iter(["RAISE:boom", "ok"])
    backend = ScriptedBackend(lambda r: next(answers))
    caller = Caller(backend, retry=RetryPolicy(max_retries=3))
    with pytest.raises(BackendError, match="boom"):
        asyncio.run(caller.complete(_request()))
    completion, cached = asyncio.run(caller.complete(_request()))
    assert completion.text == "ok" and not cached
    assert (caller.stats.requests, caller.stats.errors, caller.stats.retries) == (2, 1, 0)
    assert caller.stats.tokens == 15


def test_unexpected_exceptions_become_errors() -> None:
    class Broken(ScriptedBackend):
        async def complete(self, request):
            raise ZeroDivisionError("bug")

    with pytest.raises(BackendError, match="ZeroDivisionError: bug"):
        asyncio.run(Caller(Broken(lambda r: "")).complete(_request()))


@pytest.mark.parametrize("score", [None, 0.0, 0.731])
def test_cached_completions_keep_every_field(score: float | None) -> None:
    from grounddefake.cache import completion_from_json, completion_to_json
    from grounddefake.types import TokenLogprob

    completion = Completion(
        "fake", (TokenLogprob("fake", -0.2, (("real", -1.7),)),), Usage(12, 1), 0.5, "stop", score=score
    )
    assert completion_from_json(json.loads(json.dumps(completion_to_json(completion)))) == completion


def _damaged(folder) -> None:
    folder.mkdir()
    (folder / "responses.sqlite3").write_bytes(b"not a database, " * 100)


@pytest.mark.parametrize(
    ("make", "reason"),
    [(lambda p: p.write_text("a file"), "exists"), (_damaged, "not a database")],
    ids=["a-file-as-folder", "damaged-database"],
)
def test_a_cache_that_cannot_be_used_is_off_and_the_answers_go_on(tmp_path, make, reason: str) -> None:
    from grounddefake.cache import ResponseCache

    make(tmp_path / "cache")
    cache = ResponseCache(tmp_path / "cache")
    assert cache.problem is not None and reason in cache.problem and "turned off" in cache.problem
    caller = Caller(CacheableBackend(lambda r: "ok"), cache=cache)
    for _ in range(2):
        completion, cached = asyncio.run(caller.complete(_request()))
        assert completion.text == "ok" and not cached
    assert caller.stats.requests == 2 and caller.stats.warnings == [cache.problem]
    assert len(cache) == 0 and cache.get_fact("k") is None


class CacheableBackend(ScriptedBackend):
    cacheable = True
