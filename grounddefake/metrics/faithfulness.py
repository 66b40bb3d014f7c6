"""Faithfulness of grounding (``metrics["faithfulness"]``): how much the verdict loses when the model's own regions
are blanked, against a control of the same area blanked elsewhere (:mod:`grounddefake.faithfulness`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grounddefake.faithfulness import Faithfulness
from grounddefake.label_space import REAL_FAKE, LabelSpace

DEFINITION = {
    "counted": "answers with at least one predicted region, asked again with those regions blanked in the image's "
    "mean colour and, separately, with a control of the same area blanked elsewhere (n_checked)",
    "control": "each group of overlapping predicted boxes moved rigidly to a random position inside the image that "
    "overlaps no predicted region (seeded by the run's seed and the prepared image's sha256; the least overlapping "
    "of 100 draws when there is no room)",
    "mean_drop": "mean of P(positive) before − P(positive) after deletion, over answers with all three scores "
    "(P(positive) from the verdict token's probabilities; n_no_score answers lack one and are left out)",
    "mean_drop_control": "the same with the control blanked, over the same answers",
    "drop_gap": "mean_drop − mean_drop_control: what the predicted regions matter beyond blanking any region of "
    "their size (near 0: the boxes do not explain the verdict)",
    "flip_rate": "fraction of positive verdicts whose answer after deletion is a negative label, over the positive "
    "verdicts both of whose re-asks gave a label (n_positive)",
    "flip_rate_control": "the same after the control",
    "n_failed": "answers with a re-ask that failed (counted in n_checked, in no mean)",
}


@dataclass(frozen=True)
class FaithfulnessRow:
    """One checked answer: its three P(positive) and whether its positive verdict flipped (None: not counted)."""

    before: float | None
    deleted: float | None
    control: float | None
    flipped: bool | None
    flipped_control: bool | None
    failed: bool = False


def faithfulness_row(check: Faithfulness | Mapping[str, Any], space: LabelSpace = REAL_FAKE) -> FaithfulnessRow:
    """The row of one answer's deletion test (the object or its ``to_json()``), in the task's label ``space``.

    >>> from grounddefake.faithfulness import Reading
    >>> check = Faithfulness(Reading("fake", 0.9), Reading("real", 0.2), Reading("fake", 0.8), 400, 400, 0, (), 2)
    >>> faithfulness_row(check)
    FaithfulnessRow(before=0.9, deleted=0.2, control=0.8, flipped=True, flipped_control=False, failed=False)
    """
    if not isinstance(check, Faithfulness):
        check = Faithfulness.from_json(check)
    after = (check.deleted.label, check.control.label)
    counted = check.before.label == space.positive and all(label in space.labels for label in after)
    return FaithfulnessRow(
        check.before.score,
        check.deleted.score,
        check.control.score,
        check.deleted.label in space.negatives if counted else None,
        check.control.label in space.negatives if counted else None,
        check.deleted.error is not None or check.control.error is not None,
    )


def faithfulness_metrics(rows: Sequence[FaithfulnessRow], space: LabelSpace = REAL_FAKE) -> dict[str, Any]:
    """``metrics["faithfulness"]`` of the checked answers' rows (definitions in :data:`DEFINITION`)."""
    scored = [r for r in rows if r.before is not None and r.deleted is not None and r.control is not None]
    drops = [r.before - r.deleted for r in scored]  # type: ignore[operator]
    controls = [r.before - r.control for r in scored]  # type: ignore[operator]
    mean_drop, mean_control = _mean(drops), _mean(controls)
    flips = [r for r in rows if r.flipped is not None]
    return {
        "n_checked": len(rows),
        "n_no_score": len(rows) - len(scored),
        "n_failed": sum(1 for r in rows if r.failed),
        "mean_drop": mean_drop,
        "mean_drop_control": mean_control,
        "drop_gap": None if mean_drop is None or mean_control is None else mean_drop - mean_control,
        "positive": space.positive,
        "n_positive": len(flips),
        "flip_rate": _mean([float(bool(r.flipped)) for r in flips]),
        "flip_rate_control": _mean([float(bool(r.flipped_control)) for r in flips]),
        "definition": DEFINITION,
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
