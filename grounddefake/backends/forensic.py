"""The built-in ``forensic`` model: a small learned localizer and copy-move matching behind the MLLMs' interface.

It ignores the prompt's wording but honours its contract: it analyses the prepared image it receives
(:mod:`grounddefake.forensic`) and answers with the JSON the pack asks for, boxes in the pack's convention, and a
verdict-token log-probability, so parsing, grounding and scoring run exactly as for an MLLM; its own dense map goes
back in ``Completion.heatmap``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from grounddefake.backends.base import Backend, BackendError, Request
from grounddefake.conventions import get_convention
from grounddefake.images import ImagePolicy, release_free_memory
from grounddefake.types import Completion, Region, TokenLogprob

WORKING_PIXELS = 2048 * 1024
"""The analysis runs on at most this many pixels (about 1670×1250 for a 4:3 photo), which bounds its memory: the
copy-move cue's SIFT keypoints need about 200 bytes per pixel (a scale-space pyramid of the image at twice its size)."""
TRIM_PIXELS = 1 << 20
"""After analysing an image this large, its freed buffers are handed back to the system."""
PIXEL_BUDGET = 3 * WORKING_PIXELS // 2
"""Analyses running at once hold at most this many pixels together: many small images share it, but two
working-size ones never run side by side, whatever the concurrency."""


class _PixelBudget:
    """A weighted semaphore over pixels for the analysis threads; an image above the budget runs alone."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._used = 0
        self._condition = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        pixels = min(pixels, self.budget)
        with self._condition:
            self._condition.wait_for(lambda: self._used + pixels <= self.budget)
            self._used += pixels
        try:
            yield
        finally:
            with self._condition:
                self._used -= pixels
                self._condition.notify_all()


@functools.cache
def _code_hash() -> str:
    import grounddefake.forensic

    digest = hashlib.sha256()
    folder = Path(grounddefake.forensic.__file__).parent
    # by file name, not path: the same files hash alike wherever the package is installed
    for path in [*sorted([*folder.glob("*.py"), *folder.glob("localizer.*")], key=lambda p: p.name), Path(__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class ForensicBackend(Backend):
    """The learned localizer and copy-move matching; CPU only, no network, deterministic."""

    def __init__(self) -> None:
        self.model = "forensic"
        # Original bytes up to WORKING_PIXELS (resizing erases the very traces the cues measure); larger images are
        # analysed at that size, decoded reduced, and the Transform maps the regions back to original pixels.
        self.image_policy = ImagePolicy(max_pixels=WORKING_PIXELS, format="raw")
        # CPU-bound: one analysis per core (NumPy and OpenCV release the GIL).
        self.default_concurrency = os.cpu_count() or 1
        self._budget = _PixelBudget(PIXEL_BUDGET)

    def describe(self) -> dict:
        """Also the hash of the analysis code: a run directory never mixes answers of two versions of it."""
        return {**super().describe(), "code_sha256": _code_hash()}

    async def complete(self, request: Request) -> Completion:
        if len(request.images) != 1:
            raise BackendError(f"the forensic model analyses exactly one image per request, got {len(request.images)}")
        start = time.perf_counter()
        text, logprobs, heatmap = await asyncio.to_thread(self.answer, request)
        return Completion(text, logprobs, latency_s=time.perf_counter() - start, finish_reason="stop", heatmap=heatmap)

    def answer(self, request: Request) -> tuple[str, tuple[TokenLogprob, ...], np.ndarray | None]:
        """The JSON answer, the verdict-token log-probabilities and the localizer's heatmap for ``request``'s
        image."""
        from grounddefake.forensic import analyze

        image = request.images[0]
        w, h = image.transform.input_size
        with self._budget.hold(w * h):
            analysis = analyze(image.pixels)  # an untouched file is decoded here, inside the budget
        if w * h >= TRIM_PIXELS:
            release_free_memory()  # the analysis' buffers, held by this worker thread's malloc arena otherwise
        answer: dict = {"verdict": analysis.label, "rationale": analysis.rationale}
        text = json.dumps(answer)
        if request.convention is not None:
            convention = get_convention(request.convention)
            regions = [Region(f.box, label=f.cue, score=f.score) for f in analysis.findings]
            boxes = convention.format_input(regions, image.transform.input_size)
            if convention.syntax.json:
                answer["regions"] = json.loads(boxes)
                text = json.dumps(answer)
            elif regions:
                text = f"{text}\n{boxes}"  # the family's own markup after the verdict, as such a model would write
        p_fake = min(max(analysis.score, 1e-6), 1 - 1e-6)
        top = (("fake", math.log(p_fake)), ("real", math.log(1 - p_fake)))
        chosen = top[0] if analysis.label == "fake" else top[1]
        return text, (TokenLogprob(chosen[0], chosen[1], top),), analysis.heatmap
