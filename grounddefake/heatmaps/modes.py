"""``--heatmap MODE``: how a run turns a model's answers into a dense map, and what each mode costs.

- ``boxes``: the answer's region confidences painted per pixel (the highest covering region; no extra request).
- ``consensus:N``: N answers sampled at the run's temperature (seeds 0..N-1); the map is the mean over answers of
  each answer's ``boxes`` map, the verdict the majority (N − 1 extra answers).
- ``probe:K``: the image cut into a K×K grid of tiles with 25 % overlap; each tile is asked a single-token Yes/No
  question with log-probabilities and the map is the per-pixel mean of the tiles' P(Yes) (K² extra requests);
  ``probe:K:debiased`` first takes out the language prior: the same question without an image, asked once per run,
  gives b, and a tile's value is max(0, P(Yes) − b) / (1 − b).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MODEL_MAP = "model"
"""The ``heatmap_mode`` of a map the model made itself (the built-in model's localizer), with no dense mode asked."""
MAX_CONSENSUS = 64
MAX_PROBE = 16
_MODE = re.compile(r"(boxes)|(consensus):(\d+)|(probe):(\d+)(:debiased)?")


class HeatmapModeError(ValueError):
    """A ``--heatmap`` value that names no mode, or a mode that cannot run with the run's options."""


@dataclass(frozen=True)
class HeatmapMode:
    """A heatmap mode and its size (answers for ``consensus``, tiles per side for ``probe``).

    >>> HeatmapMode.parse("probe:4"), str(HeatmapMode.parse("consensus:5"))
    (HeatmapMode(kind='probe', n=4, debiased=False), 'consensus:5')
    """

    kind: Literal["boxes", "consensus", "probe"] = "boxes"
    n: int = 1
    debiased: bool = False
    """``probe`` only: tiles' P(Yes) taken relative to the text-only baseline."""

    @classmethod
    def parse(cls, text: str | None) -> HeatmapMode:
        """``boxes``, ``consensus:N`` (2 ≤ N ≤ 64) or ``probe:K[:debiased]`` (1 ≤ K ≤ 16); None is ``boxes``.

        Raises:
            HeatmapModeError: anything else, with the modes it knows.
        """
        if text is None:
            return cls()
        match = _MODE.fullmatch(text.strip())
        if match is None:
            raise HeatmapModeError(f"--heatmap {text!r}: one of boxes, consensus:N, probe:K, probe:K:debiased")
        if match.group(1):
            return cls()
        if match.group(2):
            n = int(match.group(3))
            if not 2 <= n <= MAX_CONSENSUS:
                raise HeatmapModeError(f"--heatmap consensus:N needs 2 <= N <= {MAX_CONSENSUS}, got {n}")
            return cls("consensus", n)
        k = int(match.group(5))
        if not 1 <= k <= MAX_PROBE:
            raise HeatmapModeError(f"--heatmap probe:K needs 1 <= K <= {MAX_PROBE}, got {k}")
        return cls("probe", k, debiased=bool(match.group(6)))

    def __str__(self) -> str:
        if self.kind == "boxes":
            return "boxes"
        return f"{self.kind}:{self.n}" + (":debiased" if self.debiased else "")

    @property
    def dense(self) -> bool:
        """Whether the mode makes a map of its own (stored in the run directory), beyond painting the boxes."""
        return self.kind != "boxes"

    def check(self, temperature: float) -> None:
        """Refuse a mode the run's decoding cannot serve.

        Raises:
            HeatmapModeError: ``consensus`` at temperature 0, where every sampled answer is the same.
        """
        if self.kind == "consensus" and temperature <= 0:
            raise HeatmapModeError(
                f"--heatmap {self} samples {self.n} answers: at temperature 0 they are all the same "
                "(give --temperature, e.g. 0.7)"
            )
