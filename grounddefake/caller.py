"""One request, made reliably: the response cache, rate limits, and retries with backoff — and the counts of it all.

Retries follow exponential backoff with full jitter (a random wait in [0, min(cap, base · 2^attempt)]), or exactly
the server's ``Retry-After`` when it gives one. Only retryable failures are retried: 408, 409, 429, 5xx, timeouts,
dropped connections and garbled bodies; any other 4xx fails at once. Rate limits are token buckets in requests per
minute and tokens per minute; a request reserves an estimate of its tokens and settles with the real count.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from grounddefake.backends.base import Backend, BackendError, Request
from grounddefake.cache import ResponseCache, request_key
from grounddefake.prompts import ImagePart
from grounddefake.types import Completion

MAX_RETRY_AFTER = 300.0
"""A Retry-After longer than this is capped (a misconfigured server must not stall a run for hours)."""
RETRY_AFTER_SPREAD = 0.1
"""Requests told to wait the same Retry-After come back spread over 10 % more, not all at the same instant."""
FACTS_MAX_AGE = 7 * 24 * 3600.0
"""A remembered server rejection is trusted for a week, then asked about again (servers get upgraded)."""

_sleep = asyncio.sleep
_monotonic = time.monotonic


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before asking again.

    Attributes:
        max_retries: attempts after the first.
        base: seconds; the backoff window of attempt k is base · 2^k.
        cap: seconds; the largest backoff window.
    """

    max_retries: int = 6
    base: float = 1.0
    cap: float = 60.0

    def wait(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            wait = min(retry_after, MAX_RETRY_AFTER)
            return wait + rng.uniform(0.0, RETRY_AFTER_SPREAD * wait)
        return rng.uniform(0.0, min(self.cap, self.base * 2**attempt))


class TokenBucket:
    """``rate`` units per minute, at most one minute's worth stored; debt is allowed and paid back by waiting."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.level = float(per_minute)
        self.updated = _monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = _monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, amount: float) -> None:
        """Wait until ``amount`` units are available, then take them (more than the capacity: wait for a full one)."""
        async with self._lock:
            amount = min(amount, self.capacity)
            self._refill()
            while self.level < amount:
                await _sleep((amount - self.level) / self.rate)
                self._refill()
            self.level -= amount

    def settle(self, delta: float) -> None:
        """Give back (negative) or take more (positive) units once the real amount is known."""
        self._refill()
        self.level = min(self.capacity, self.level - delta)


@dataclass
class RequestStats:
    """Counts for the progress bar and the run summary (updated as requests complete)."""

    requests: int = 0
    cached: int = 0
    retries: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    fallbacks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What went wrong beside the answers, once each (the response cache turned off by a full disk)."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        """The ``requests`` block of ``metrics.json``."""
        return {
            "sent": self.requests,
            "cached": self.cached,
            "retries": self.retries,
            "failed": self.errors,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost, 6),
            "fallbacks": list(self.fallbacks),
            "warnings": list(self.warnings),
        }

    def add_json(self, counts: dict[str, Any]) -> None:
        """Add the counts of another run's ``requests`` block (shards being merged)."""
        self.requests += int(counts.get("sent", 0))
        self.cached += int(counts.get("cached", 0))
        self.retries += int(counts.get("retries", 0))
        self.errors += int(counts.get("failed", 0))
        self.prompt_tokens += int(counts.get("prompt_tokens", 0))
        self.completion_tokens += int(counts.get("completion_tokens", 0))
        self.cost += float(counts.get("cost_usd", 0.0))
        self.fallbacks += [f for f in counts.get("fallbacks", []) if f not in self.fallbacks]
        self.warnings += [w for w in counts.get("warnings", []) if w not in self.warnings]


def estimate_tokens(request: Request) -> int:
    """A rough token count for rate limiting: text / 4, an image ~ one token per 750 pixels, plus the answer budget."""
    text = sum(len(m.text) for m in request.messages) // 4
    images = sum(math.ceil(i.transform.input_size[0] * i.transform.input_size[1] / 750) for i in request.images)
    return text + images + request.params.max_tokens


class Caller:
    """Sends requests to ``backend`` through the cache, the rate limits and the retry policy, counting all of it."""

    def __init__(
        self,
        backend: Backend,
        *,
        cache: ResponseCache | None = None,
        retry: RetryPolicy | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        prompt_hash: str = "",
        seed: int = 0,
    ) -> None:
        self.backend = backend
        self.cache = cache if backend.cacheable else None
        self.retry = retry or RetryPolicy()
        self.requests_bucket = TokenBucket(rpm) if rpm else None
        self.tokens_bucket = TokenBucket(tpm) if tpm else None
        self.prompt_hash = prompt_hash
        self.stats = RequestStats()
        self._rng = random.Random(seed)
        self._facts_key = request_key({"facts": backend.cache_identity()})
        self._disabled: list[str] = []
        if self.cache is not None and hasattr(backend, "disable"):
            # A server that rejected the schema or log-probabilities before is not asked again: the answers cached
            # after that rejection are found under the same keys, and nothing is paid twice.
            fact = self.cache.get_fact(self._facts_key) or {}
            if time.time() - float(fact.get("time", 0)) < FACTS_MAX_AGE:
                for feature in fact.get("disabled", []):
                    backend.disable(feature, remembered=True)
            self._disabled = list(getattr(backend, "disabled", []))
            self.stats.fallbacks = list(getattr(backend, "fallbacks", []))
        self._note_cache()

    def key(self, request: Request) -> str:
        return request_key(
            {
                "backend": self.backend.cache_identity(),
                "prompt": self.prompt_hash,
                "messages": [[m.role, m.text, [isinstance(p, ImagePart) for p in m.parts]] for m in request.messages],
                "images": [image.sha256 for image in request.images],
                "params": request.params.to_json(),
                "options": self.backend.request_options(request),
            }
        )

    async def complete(self, request: Request) -> tuple[Completion, bool]:
        """(completion, whether it came from the cache). Raises the last BackendError when every attempt fails."""
        key = self.key(request) if self.cache is not None else ""
        if self.cache is not None:
            hit = self.cache.get(key)
            self._note_cache()
            if hit is not None:
                self.stats.cached += 1
                return hit, True
        attempt = 0
        while True:
            try:
                completion = await self._attempt(request)
            except BackendError as exc:
                if not exc.retryable or attempt >= self.retry.max_retries:
                    self.stats.errors += 1
                    raise
                self.stats.retries += 1
                await _sleep(self.retry.wait(attempt, exc.retry_after, self._rng))
                attempt += 1
                continue
            self._count(completion)
            self._remember_fallbacks()  # only a request that then succeeded proves the rejection was the feature
            if self.cache is not None and completion.text:
                key = self.key(request)  # the options may have changed (a schema fallback)
                self.cache.put(key, completion)
                self._note_cache()
            return completion, False

    async def _attempt(self, request: Request) -> Completion:
        estimate = estimate_tokens(request) if self.tokens_bucket else 0
        if self.requests_bucket:
            await self.requests_bucket.take(1)
        if self.tokens_bucket:
            await self.tokens_bucket.take(estimate)
        self.stats.requests += 1
        try:
            completion = await self.backend.complete(request)
        except BackendError:
            raise
        except Exception as exc:  # a backend bug or an unexpected transport fault: data, not a crash
            raise BackendError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._note_fallbacks()
        if self.tokens_bucket:
            self.tokens_bucket.settle(completion.usage.prompt_tokens + completion.usage.completion_tokens - estimate)
        return completion

    def _note_cache(self) -> None:
        """A cache that turned itself off is a warning of the run, once: the answers go on without it."""
        problem = None if self.cache is None else self.cache.problem
        if problem is not None and problem not in self.stats.warnings:
            self.stats.warnings.append(problem)

    def _note_fallbacks(self) -> None:
        fallbacks = getattr(self.backend, "fallbacks", None)
        if fallbacks is not None:
            self.stats.fallbacks = list(fallbacks)

    def _remember_fallbacks(self) -> None:
        disabled = list(getattr(self.backend, "disabled", []))
        if self.cache is not None and disabled != self._disabled:
            self._disabled = disabled
            self.cache.put_fact(self._facts_key, {"disabled": disabled, "time": time.time()})
            self._note_cache()

    def _count(self, completion: Completion) -> None:
        self.stats.prompt_tokens += completion.usage.prompt_tokens
        self.stats.completion_tokens += completion.usage.completion_tokens
        price: Any = self.backend.price
        if price is not None:
            self.stats.cost += price.cost(completion.usage.prompt_tokens, completion.usage.completion_tokens)
