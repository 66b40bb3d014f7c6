"""The built-in ``forensic`` model: a signal-level baseline behind the same interface as the MLLMs.

It ignores the prompt's wording but honours its contract: it analyses the prepared image it receives
(:mod:`grounddefake.forensic`) and answers with the JSON the pack asks for, boxes in the pack's convention, and a
verdict-token log-probability, so parsing, grounding and scoring run exactly as for an MLLM.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import math
import os
import time
from pathlib import Path

from grounddefake.backends.base import Backend, BackendError, Request
from grounddefake.conventions import get_convention
from grounddefake.images import ImagePolicy
from grounddefake.types import Completion, Region, TokenLogprob


@functools.cache
def _code_hash() -> str:
    import grounddefake.forensic

    digest = hashlib.sha256()
    for path in sorted([*Path(grounddefake.forensic.__file__).parent.glob("*.py"), Path(__file__)]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class ForensicBackend(Backend):
    """Noise, resampling, blur and copy-move cues; CPU only, no network, deterministic."""

    def __init__(self) -> None:
        self.model = "forensic"
        # Full resolution, original bytes: resizing would erase the very traces the cues measure.
        self.image_policy = ImagePolicy()
        # CPU-bound: one analysis per core (NumPy and OpenCV release the GIL).
        self.default_concurrency = os.cpu_count() or 1

    def describe(self) -> dict:
        """Also the hash of the analysis code: a run directory never mixes answers of two versions of it."""
        return {**super().describe(), "code_sha256": _code_hash()}

    async def complete(self, request: Request) -> Completion:
        if len(request.images) != 1:
            raise BackendError(f"the forensic model analyses exactly one image per request, got {len(request.images)}")
        start = time.perf_counter()
        text, logprobs = await asyncio.to_thread(self.answer, request)
        return Completion(text, logprobs, latency_s=time.perf_counter() - start, finish_reason="stop")

    def answer(self, request: Request) -> tuple[str, tuple[TokenLogprob, ...]]:
        """The JSON answer and the verdict-token log-probabilities for ``request``'s image."""
        from grounddefake.forensic import analyze

        image = request.images[0]
        analysis = analyze(image.pixels)
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
        return text, (TokenLogprob(chosen[0], chosen[1], top),)
