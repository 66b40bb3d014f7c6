"""The text-only baselines M(None, c) of a run: asked once per question, shared by every sample and worker.

M(None, c) depends only on the model and the question, so a run asks it once, however many images and workers ask
for it at the same time: the first asker starts the request and every other awaits the same future.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class BaselineMemo(Generic[T]):
    """One future per key, within one event loop (one run).

    >>> async def demo():
    ...     memo, calls = BaselineMemo(), []
    ...     async def ask():
    ...         calls.append(1)
    ...         await asyncio.sleep(0)
    ...         return 0.25
    ...     values = await asyncio.gather(*(memo.get("a gun", ask) for _ in range(4)))
    ...     return values, len(calls), len(memo)
    >>> asyncio.run(demo())
    ([0.25, 0.25, 0.25, 0.25], 1, 1)
    """

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._futures)

    async def get(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """The value of ``key``, computed by the first caller (``compute`` should not raise: a failure is a
        value too, memoised like any other)."""
        future = self._futures.get(key)
        if future is None:
            future = asyncio.ensure_future(compute())
            self._futures[key] = future
        return await asyncio.shield(future)
