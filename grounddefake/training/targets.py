"""The ground-truth answer to each turn of a prompt pack, written exactly as the pack asks the model to answer.

A training target must parse back, through the same pack and convention ``eval`` uses, to the sample's truth:

- a pack with short ``answers`` (PaliGemma's "Is this image made by AI?" → ``yes`` / ``no``) answers its verdict
  turns with the word that states the label; when it has more than one turn, the last one is its regions turn,
  answered with the boxes alone in the convention's syntax (PaliGemma's ``<loc…>`` tokens and label);
- a pack with a JSON ``schema`` answers one JSON object: its verdict key holds the label, its rationale key the
  rationale, its regions key the boxes as the convention writes them (numbers, axis order, quantisation);
- any other pack answers ``Verdict:``, ``Rationale:`` and, for a grounded pack, ``Regions:`` lines, the boxes in the
  convention's own syntax (``grounded-native``: the family's native markup).

The rationale is the sample's own explanation (``meta.explanation``, as FakeXplained and Expl-AIGI-Eval carry it)
when it has one, else one sentence made from its region labels (:func:`rationale_of`). Regions are the sample's
boxes, or the connected parts of its mask when it has only a mask (:func:`truth_regions`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grounddefake.box_convention import Convention
from grounddefake.grounding import load_mask
from grounddefake.prompt_pack import PromptPack
from grounddefake.types import Region, Sample, Size

MAX_REGIONS = 8
"""Regions written per answer: a mask's largest connected parts."""
MIN_PART = 0.001
"""Mask parts smaller than this fraction of the image are noise, not regions."""
DEFAULT_REGION_LABEL = "manipulated region"
REAL_RATIONALE = "No sign of generation or manipulation: lighting, textures, edges and noise are consistent."
_VERDICT_KEYS = ("verdict", "label", "answer")
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation")
_REGION_KEYS = ("regions", "boxes", "artifacts")


class TargetError(ValueError):
    """A pack or sample whose ground-truth answer cannot be written (a rule pack, a scalar, an unlabelled sample)."""


@dataclass(frozen=True)
class Target:
    """The ground-truth replies to a pack's turns, in order, and where the rationale came from."""

    replies: tuple[str, ...]
    rationale_from: str
    """``data`` (the sample's explanation), ``regions`` (made from region labels) or ``none`` (not written)."""


def check_trainable(pack: PromptPack) -> None:
    """Refuse, in one line, a pack whose answers do not follow from a sample's label and regions.

    Raises:
        TargetError: a rule pack, a judge, a scalar pack, or turns before the last with no short answers.
    """
    if pack.method == "clue" or pack.rules or pack.task in ("rules", "judge"):
        raise TargetError(f"prompt pack '{pack.name}' judges rules: its answers do not follow from a label")
    if pack.scalar is not None:
        raise TargetError(f"prompt pack '{pack.name}' asks for a score ({pack.scalar.key}) that the data does not hold")
    if len(pack.turns) > 1 and pack.answers is None:
        raise TargetError(
            f"prompt pack '{pack.name}' has {len(pack.turns)} turns and only the last one's answer follows from the "
            "ground truth; use a one-turn pack, or one with short answers (paligemma-detect)"
        )


def target_of(
    pack: PromptPack, sample: Sample, convention: Convention | None, image_size: Size, input_size: Size | None = None
) -> Target:
    """The ground-truth replies of ``sample`` (its image of ``image_size``) to every turn of ``pack``, for a model
    that sees it resized to ``input_size`` (default: as it is).

    Raises:
        TargetError: an untrainable pack (:func:`check_trainable`), a sample with no label or with a label outside
            the pack's labels, or a grounded pack with no convention.
    """
    check_trainable(pack)
    label = sample.label
    if label is None or label not in pack.label_space.labels:
        raise TargetError(
            f"sample '{sample.id}': label {label!r} is not one of the pack's labels "
            f"({', '.join(pack.label_space.labels)})"
        )
    grounded = pack.task == "grounded"
    if grounded and convention is None:
        raise TargetError(f"prompt pack '{pack.name}' asks for boxes but names no convention (give --family)")
    regions = truth_regions(sample, image_size) if grounded and label == pack.label_space.positive else ()
    if pack.answers is not None:
        word = short_answer(pack.answers, label)
        if len(pack.turns) == 1 and not grounded:
            return Target((word,), "none")
        last = convention.format(regions, image_size, input_size) if grounded and convention is not None else word
        return Target((*([word] * (len(pack.turns) - 1)), last), "none")
    rationale, source = rationale_of(sample, regions, pack.label_space.positive)
    if pack.schema is not None:
        answer = _schema_answer(pack, label, rationale, regions, convention, image_size, input_size)
        return Target((json.dumps(answer, ensure_ascii=False),), source)
    lines = [f"Verdict: {label}", f"Rationale: {rationale}"]
    if grounded and convention is not None:
        boxes = convention.format(regions, image_size, input_size) if regions else "none"
        lines.append(f"Regions: {boxes}")
    return Target(("\n".join(lines),), source)


def short_answer(answers: Mapping[str, str], label: str) -> str:
    """The pack's short answer that states ``label`` (the first one listed).

    >>> short_answer({"yes": "fake", "no": "real"}, "real")
    'no'
    """
    for word, meaning in answers.items():
        if meaning == label:
            return word
    raise TargetError(f"no short answer states '{label}' (answers: {', '.join(answers)})")


def truth_regions(sample: Sample, image_size: Size) -> tuple[Region, ...]:
    """The sample's regions in pixels of an image of ``image_size``: its boxes, else its mask's largest connected
    parts (at most MAX_REGIONS, each at least MIN_PART of the image), as boxes."""
    if sample.regions:
        return tuple(r if r.label else replace(r, label=DEFAULT_REGION_LABEL) for r in sample.regions)
    if sample.mask is None:
        return ()
    import cv2

    mask = (load_mask(sample.mask, image_size) > 0).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    floor = MIN_PART * image_size[0] * image_size[1]
    parts = sorted((stats[k] for k in range(1, count) if stats[k][4] >= floor), key=lambda s: -int(s[4]))
    return tuple(
        Region((float(x), float(y), float(x + w), float(y + h)), label=DEFAULT_REGION_LABEL)
        for x, y, w, h, _ in parts[:MAX_REGIONS]
    )


def rationale_of(sample: Sample, regions: Sequence[Region], positive: str) -> tuple[str, str]:
    """The rationale a target states and where it came from: the sample's ``meta.explanation``, else one sentence
    naming the region labels (or the label alone).

    >>> rationale_of(Sample("a", "a.png", "fake"), [Region((0, 0, 4, 4), label="fused fingers")], "fake")
    ('Manipulated: fused fingers.', 'regions')
    """
    explanation = sample.meta.get("explanation")
    if isinstance(explanation, str) and explanation.strip():
        return " ".join(explanation.split()), "data"
    if sample.label != positive:
        return (REAL_RATIONALE if positive == "fake" else f"The image is {sample.label}."), "regions"
    names = list(dict.fromkeys(r.label or DEFAULT_REGION_LABEL for r in regions))
    if not names:
        return ("Signs of AI generation across the image." if positive == "fake" else f"The image is {positive}."), (
            "regions"
        )
    return f"Manipulated: {'; '.join(names)}.", "regions"


def _schema_answer(
    pack: PromptPack,
    label: str,
    rationale: str,
    regions: Sequence[Region],
    convention: Convention | None,
    image_size: Size,
    input_size: Size | None,
) -> dict[str, Any]:
    """The JSON object a schema pack asks for, its keys in the schema's order."""
    schema = pack.schema or {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    answer: dict[str, Any] = {}
    for key in properties:
        if key in _VERDICT_KEYS:
            answer[key] = label
        elif key in _RATIONALE_KEYS:
            answer[key] = rationale
        elif key in _REGION_KEYS:
            answer[key] = _json_regions(regions, convention, image_size, input_size) if convention is not None else []
        elif key in required:
            raise TargetError(f"prompt pack '{pack.name}': the ground truth holds nothing for its required '{key}'")
    if not any(k in answer for k in _VERDICT_KEYS):
        raise TargetError(f"prompt pack '{pack.name}': its schema has no verdict key ({', '.join(_VERDICT_KEYS)})")
    return answer


def _json_regions(
    regions: Sequence[Region], convention: Convention, image_size: Size, input_size: Size | None
) -> list[Any]:
    """Regions as the convention's JSON syntax writes them (its box key, numbers and quantisation)."""
    if not regions:
        return []
    if not convention.syntax.json:
        raise TargetError(
            f"convention '{convention.name}' writes {type(convention.syntax).__name__} markup, not JSON boxes: "
            "use a pack without a schema (grounded-native) for it"
        )
    return json.loads(convention.format(regions, image_size, input_size))
