"""Faithfulness of grounding: does the verdict rest on the regions the model drew?

An answer with regions is asked again twice, with the same pack and parameters: once with its predicted regions
blanked (every box, in the image's mean colour: :func:`grounddefake.judges.ablation.blank_rects`, the routine of
CLUE's own-box ablation) and once with a control of the same area blanked elsewhere (the rule of
:mod:`grounddefake.control_regions`, seeded by the run's seed and the sha256 of the prepared image). A model whose
boxes explain its verdict loses P(positive) under deletion and not under the control. Failed re-asks are recorded
(``error``), never raised.

The re-asks go through the ``ask`` it is given (the pipeline's ``ask_prepared``): this module imports nothing of the
pipeline, which may call it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grounddefake.control_regions import ControlPlacement, control_rects, seed_of
from grounddefake.judges.ablation import Rect, blank_rects, input_rect
from grounddefake.types import Box

if TYPE_CHECKING:  # annotations only: the pipeline, the records and the caller may import this module
    from grounddefake.backend_interface import GenerationParams
    from grounddefake.caller import Caller
    from grounddefake.images import PreparedImage
    from grounddefake.pipeline import Answer
    from grounddefake.prompts import PromptPack
    from grounddefake.verdict import Verdict

Asker = Callable[
    ["Caller", "PromptPack", "PreparedImage", "GenerationParams", "Mapping[str, Any] | None"], Awaitable["Answer"]
]
"""How a pack is asked about an already prepared image: :func:`grounddefake.pipeline.ask_prepared`."""

PURPOSE = "faithfulness"
"""The purpose its requests count under in a record's ``requests_by_purpose``."""
MAX_ERROR = 2000
"""Characters of a failed re-ask's error kept (as a record's ``error``)."""


@dataclass(frozen=True)
class Reading:
    """What one answer said: its label and P(positive class) (None without verdict-token probabilities)."""

    label: str
    score: float | None = None
    error: str | None = None

    @classmethod
    def of(cls, verdict: Verdict) -> Reading:
        return cls(verdict.label, verdict.score, verdict.error)

    def to_json(self) -> dict[str, Any]:
        score = None if self.score is None else round(float(self.score), 6)
        return {"label": self.label, "score": score, "error": self.error}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reading:
        score = data.get("score")
        return cls(str(data.get("label") or "unknown"), None if score is None else float(score), data.get("error"))


@dataclass(frozen=True)
class Faithfulness:
    """The deletion test of one answer.

    Attributes:
        before: the answer itself.
        deleted: the answer with its predicted regions blanked.
        control: the answer with the control regions blanked.
        area: prepared-image pixels the predicted regions cover (what deletion blanked).
        control_area: prepared-image pixels the control covers (``area`` unless the image had no room).
        control_overlap: control pixels inside the predicted regions (0 unless the image had no room).
        control_boxes: the control rects in original pixels.
        requests: requests the two re-asks cost (one per turn each, the failed one included; 2 for a one-turn pack).
        seed: the run's seed the control was drawn with.
    """

    before: Reading
    deleted: Reading
    control: Reading
    area: int
    control_area: int
    control_overlap: int
    control_boxes: tuple[Box, ...]
    requests: int
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before.to_json(),
            "deleted": self.deleted.to_json(),
            "control": self.control.to_json(),
            "area": self.area,
            "control_area": self.control_area,
            "control_overlap": self.control_overlap,
            "control_boxes": [[round(float(v), 3) for v in box] for box in self.control_boxes],
            "requests": self.requests,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Faithfulness:
        return cls(
            Reading.from_json(data["before"]),
            Reading.from_json(data["deleted"]),
            Reading.from_json(data["control"]),
            int(data["area"]),
            int(data["control_area"]),
            int(data["control_overlap"]),
            tuple(tuple(float(v) for v in box) for box in data.get("control_boxes", ())),  # type: ignore[misc]
            int(data["requests"]),
            int(data.get("seed", 0)),
        )


def image_bounds(prepared: PreparedImage) -> Rect:
    """The prepared-image pixels that show the original image (padding, if any, left out)."""
    w, h = prepared.transform.original_size
    rect = input_rect(prepared, (0, 0, w, h))
    assert rect is not None
    return rect


def control_of(prepared: PreparedImage, rects: tuple[Rect, ...], seed: int = 0) -> ControlPlacement:
    """The control placement of one answer's predicted ``rects`` (reproducible: seeded by ``seed`` and the image)."""
    return control_rects(rects, image_bounds(prepared), seed_of(seed, prepared.sha256))


async def check_faithfulness(
    caller: Caller,
    pack: PromptPack,
    prepared: PreparedImage,
    verdict: Verdict,
    params: GenerationParams,
    inputs: Mapping[str, Any] | None = None,
    seed: int = 0,
    *,
    ask: Asker,
) -> Faithfulness | None:
    """The deletion test of ``verdict`` (the answer of ``pack`` about ``prepared``, asked with ``params`` and
    ``inputs``); None — not asked, no request — when the answer has no region that covers a pixel of the image.
    ``ask`` asks the pack about a blanked image (the pipeline's ``ask_prepared``)."""
    rects = tuple(rect for region in verdict.regions if (rect := input_rect(prepared, region.box)) is not None)
    if not rects:
        return None
    policy = caller.backend.image_policy
    placement = await asyncio.to_thread(control_of, prepared, rects, seed)
    deleted_image, control_image = await asyncio.gather(
        asyncio.to_thread(blank_rects, prepared, rects, policy),
        asyncio.to_thread(blank_rects, prepared, placement.rects, policy),
    )

    async def reask(image: PreparedImage) -> tuple[Reading, int]:
        try:
            answer = await ask(caller, pack, image, params, inputs)
        except Exception as exc:  # a failed re-ask is data, whatever raised it
            return Reading("unknown", error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR]), 1
        cost = answer.verdict.requests
        if cost is None:
            cost = len(answer.completions) + (1 if answer.verdict.error else 0)
        return Reading.of(answer.verdict), cost

    (deleted, cost_deleted), (control, cost_control) = await asyncio.gather(reask(deleted_image), reask(control_image))
    to_original = prepared.transform.box_to_original
    return Faithfulness(
        Reading.of(verdict),
        deleted,
        control,
        placement.area,
        placement.control_area,
        placement.overlap,
        tuple(to_original(rect) for rect in placement.rects),
        cost_deleted + cost_control,
        seed,
    )
