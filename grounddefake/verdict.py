"""``Verdict``: a model's answer about one image, in pixels of the original image.

A value like those of :mod:`grounddefake.types`; its masks, heatmaps and overlays are functions of other modules
(``grounding``, ``overlay``) that take it, and :meth:`Verdict.mask`, :meth:`Verdict.heatmap` and
:meth:`Verdict.overlay` are thin wrappers over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grounddefake.grounding import regions_to_heatmap, regions_to_mask
from grounddefake.images import load_image
from grounddefake.overlay import draw_overlay
from grounddefake.rules import RuleDecision
from grounddefake.scalar import Scalar
from grounddefake.types import Region, Size, VerdictLabel


@dataclass(frozen=True)
class Verdict:
    """The model's answer about one image, in pixels of the original image.

    Attributes:
        label: "real", "fake" or "unknown" (unparseable, hedged, or the request failed).
        score: P(fake) when the backend gave verdict-token probabilities, else None.
        rationale: the model's explanation without JSON or tag noise.
        regions: suspicious regions in original pixels.
        raw: the model's raw text.
        error: why there is no answer (request failure), else None.
        parse_errors: one reason per item that could not be used (dropped box, hedged verdict, ...).
        image_size: (W, H) of the original image the regions refer to.
        rules: per-rule decisions of a rule pack (:mod:`grounddefake.rules`), in the pack's order.
        requests: the requests this answer cost (a rule pack's judge counts them; text-only baselines, shared by a
            run, are not), None when not counted.
        scalar: the model's raw scalar (a plausibility score, with its scale and direction) when the pack asks for
            one (:mod:`grounddefake.scalar`); ``score`` stays P(positive class).
    """

    label: VerdictLabel
    score: float | None = None
    rationale: str = ""
    regions: tuple[Region, ...] = ()
    raw: str = ""
    error: str | None = None
    parse_errors: tuple[str, ...] = ()
    image_size: Size | None = None
    rules: tuple[RuleDecision, ...] = ()
    requests: int | None = None
    scalar: Scalar | None = None

    def mask(self, size: Size | None = None) -> np.ndarray:
        """Union of the regions as an (H, W) bool mask; ``size`` defaults to ``image_size``
        (:func:`grounddefake.grounding.regions_to_mask`)."""
        return regions_to_mask(self.regions, self._size(size))

    def heatmap(self, size: Size | None = None) -> np.ndarray:
        """(H, W) float32 map in [0, 1]: each pixel holds the highest score of the regions covering it
        (:func:`grounddefake.grounding.regions_to_heatmap`)."""
        return regions_to_heatmap(self.regions, self._size(size))

    def overlay(self, image: Any, truth: Sequence[Region] = ()) -> np.ndarray:
        """The image (path, PIL image or RGB array) annotated with this verdict, as an (H, W, 3) uint8 array
        (:func:`grounddefake.overlay.draw_overlay`)."""
        return draw_overlay(load_image(image).pixels, self, truth=truth)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": None if self.score is None else round(float(self.score), 6),
            "rationale": self.rationale,
            "regions": [r.to_json() for r in self.regions],
            "image_size": None if self.image_size is None else list(self.image_size),
            "raw": self.raw,
            "error": self.error,
            "parse_errors": list(self.parse_errors),
            "rules": [r.to_json() for r in self.rules],
            "requests": self.requests,
            "scalar": None if self.scalar is None else self.scalar.to_json(),
        }

    def _size(self, size: Size | None) -> Size:
        if size is not None:
            return size
        if self.image_size is None:
            raise ValueError("this verdict has no image_size; pass size=(W, H)")
        return self.image_size
