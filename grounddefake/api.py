"""The Python API: ``detect`` one image, ``evaluate`` a model on a dataset, ``score`` predictions made elsewhere.

This module is the face of the package: :class:`Detector` and :func:`detect` live here; the run operations live in
:mod:`grounddefake.runs` and :mod:`grounddefake.offline` and are re-exported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grounddefake.backends import FORENSIC, Backend, GenerationParams, create_backend
from grounddefake.cache import ResponseCache
from grounddefake.caller import Caller, RetryPolicy
from grounddefake.heatmaps.modes import HeatmapMode
from grounddefake.images import ImageInput
from grounddefake.local.loading import LocalModelError, LocalOptions
from grounddefake.offline import build_report, score
from grounddefake.pipeline import Answer, ask, run_blocking
from grounddefake.prompts import PromptPack, load_pack
from grounddefake.run_config import RunConfig
from grounddefake.runs import RunResult, evaluate, merge, resume
from grounddefake.verdict import Verdict

__all__ = [
    "DEFAULT_PROMPT",
    "Detector",
    "RunConfig",
    "RunResult",
    "build_report",
    "detect",
    "evaluate",
    "merge",
    "resume",
    "score",
]

DEFAULT_PROMPT = "grounded"


def _pack(prompt: str | Path | PromptPack | None, default: str = DEFAULT_PROMPT) -> PromptPack:
    """The pack ``prompt`` names, else ``default``."""
    if isinstance(prompt, PromptPack):
        return prompt
    return load_pack(prompt or default)


class Detector:
    """A model and a prompt pack, ready to judge images.

    Example (a path, a PIL image or an RGB array; regions come back in its pixels):
        >>> import numpy as np
        >>> detector = Detector(model="forensic", cache=False)
        >>> flat = np.full((96, 128, 3), 120, np.uint8)
        >>> verdict = detector.detect(flat)
        >>> verdict.label, verdict.regions, verdict.image_size
        ('real', (), (128, 96))
    """

    def __init__(
        self,
        model: str | Backend | None = FORENSIC,
        prompt: str | Path | PromptPack | None = None,
        params: GenerationParams | None = None,
        *,
        base_urls: Sequence[str] = (),
        api_key_env: str | None = None,
        convention: str | None = None,
        cache: bool = True,
        cache_dir: str | Path | None = None,
        max_retries: int = 6,
        local: LocalOptions | None = None,
        heatmap: str | HeatmapMode | None = None,
        adapter: str | Path | None = None,
    ) -> None:
        """``heatmap``: a dense mode (``consensus:N``, ``probe:K``) whose map :meth:`ask` returns as
        ``Answer.heatmap`` ((H, W) in [0, 1], original pixels); ``consensus`` needs ``params`` with a temperature.
        ``adapter``: a peft LoRA adapter folder loaded on a local ``model`` (``local:/path``, ``hf:ORG/NAME``).

        Raises:
            HeatmapModeError: an unknown mode, or ``consensus`` at temperature 0.
            LocalModelError: an adapter with a model that is not local (or a Backend), or one that does not load.
        """
        chosen = None if prompt is None else _pack(prompt)
        if isinstance(model, Backend):
            if adapter is not None:
                raise LocalModelError("adapter: give it with a model name (model='local:/path'), not a Backend")
            self.backend = model
        else:
            self.backend = create_backend(
                model,
                base_urls=base_urls,
                api_key_env=api_key_env,
                convention=convention,
                local=local,
                prompt_convention=None if chosen is None else chosen.defined_convention,
                adapter=adapter,
            )
        self.pack = chosen or _pack(None, self.backend.prompt_defaults.get("grounded", DEFAULT_PROMPT))
        self.params = params or GenerationParams()
        self.heatmap = heatmap if isinstance(heatmap, HeatmapMode) else HeatmapMode.parse(heatmap)
        self.heatmap.check(self.params.temperature)
        response_cache = ResponseCache(cache_dir) if cache and self.backend.cacheable else None
        self.caller = Caller(
            self.backend,
            cache=response_cache,
            retry=RetryPolicy(max_retries=max_retries),
            prompt_hash=self.pack.hash,
        )

    def detect(self, image: ImageInput, inputs: Mapping[str, Any] | None = None) -> Verdict:
        """Judge one image (path, PIL image or RGB array); regions come back in its original pixels."""
        return self.ask(image, inputs).verdict

    def ask(self, image: ImageInput, inputs: Mapping[str, Any] | None = None) -> Answer:
        """Like :meth:`detect`, with the prepared image and raw completions."""
        return run_blocking(
            lambda: ask(self.caller, self.pack, image, self.params, self._inputs(inputs), heatmap=self.heatmap)
        )

    async def adetect(self, image: ImageInput, inputs: Mapping[str, Any] | None = None) -> Verdict:
        return (
            await ask(self.caller, self.pack, image, self.params, self._inputs(inputs), heatmap=self.heatmap)
        ).verdict

    def _inputs(self, inputs: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The fields the pack declares (``question`` …), checked; None for a pack that declares none.

        Raises:
            SampleInputError: a declared field is missing or not text, a number or a list of them.
        """
        return self.pack.inputs_of(inputs) if self.pack.inputs else None


def detect(image: ImageInput, model: str = FORENSIC, prompt: str | Path | PromptPack | None = None) -> Verdict:
    """Judge one image with ``model`` and ``prompt`` (default: the ``grounded`` pack)."""
    return Detector(model=model, prompt=prompt).detect(image)
