"""ICM-Assistant's question metrics: MQA accuracy (the first answer letter) and MEQ (a judge's four criteria).

MQA: a multiple-choice answer is its first letter A-D, a Yes/No answer its Y or N, read after leading white space,
quotes, asterisks and brackets; the letter must stand alone ("B", "B.", "(B)"; not the B of "Based"). An answer
without one, or a failed request, is unanswered and counts as wrong, as in ICM's script (which also counts any
other first character as wrong). MEQ: each explanation's four 0-100 scores from the judge; a sample the judge did
not score (its answer did not parse, its request failed, the model gave no explanation) is unscored with its
reason and left out of the means, never counted as 0 (ICM's script counts it as 0).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MQA_KINDS = ("mc", "yes_no")
CRITERIA = ("accuracy", "preciseness", "comprehensiveness", "fluency")
_LEAD = r"^[\s\"'*`(\[]*"
_MC = re.compile(_LEAD + r"([A-D])(?![A-Za-z])")
_MC_LOWER = re.compile(_LEAD + r"([a-d])[.)]")
_YES_NO = re.compile(_LEAD + r"(yes|no|y|n)(?![A-Za-z])", re.IGNORECASE)

MQA_DEFINITION = {
    "counted": "multiple-choice (A-D) and Yes/No items with a reference answer and an answer record (n); "
    "items that could not be asked (skipped) are not counted",
    "answer": "the first letter of the answer after leading white space, quotes, asterisks and brackets: A-D "
    "standing alone (or a-d followed by '.' or ')') for multiple choice, Yes / No (Y / N) for Yes/No items",
    "accuracy": "correct / n, where the answer's letter equals the reference's first letter; an answer without "
    "such a letter or a failed request is unanswered (n_unanswered) and wrong",
    "accuracy_answered": "correct / (n - n_unanswered)",
}
MEQ_DEFINITION = {
    "counted": "explanation items with a reference explanation and an answer record (n)",
    "criteria": "the judge's 0-100 scores of the candidate against the reference: accuracy (agrees with it), "
    "preciseness (adds nothing it does not say or imply), comprehensiveness (covers all it says), fluency",
    "mean": "per criterion, the mean over scored samples (n_scored); unscored samples (the judge's answer did not "
    "parse, its request failed, no candidate explanation) are left out, never counted as 0",
    "meq": "the mean of the four criterion means / 100 (the paper reports MEQ on 0-1; how it maps the criteria is "
    "not stated)",
}


def answer_letter(text: str | None, kind: str) -> str | None:
    """The answer's letter: ``A``-``D`` (``mc``) or ``Y`` / ``N`` (``yes_no``); None when it has none.

    >>> [answer_letter(t, "mc") for t in ("B.", " (C) a coat", "**D**", "Based on it, A", "b) eyes")]
    ['B', 'C', 'D', None, 'B']
    >>> [answer_letter(t, "yes_no") for t in ("Yes, it is.", "no", "N.", "Yesterday", "")]
    ['Y', 'N', 'N', None, None]
    """
    if not text:
        return None
    if kind == "mc":
        found = _MC.match(text) or _MC_LOWER.match(text)
        return found.group(1).upper() if found else None
    found = _YES_NO.match(text)
    return found.group(1)[0].upper() if found else None


@dataclass(frozen=True)
class MqaRow:
    """One question: its type, the reference's letter and the answer's (None: unanswered, with why)."""

    id: str
    kind: str
    truth: str
    answer: str | None
    reason: str = ""

    @property
    def correct(self) -> bool:
        return self.answer is not None and self.answer == self.truth


def _accuracy(rows: Sequence[MqaRow]) -> dict[str, Any]:
    n, correct = len(rows), sum(r.correct for r in rows)
    unanswered = sum(1 for r in rows if r.answer is None)
    answered = n - unanswered
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n if n else None,
        "n_unanswered": unanswered,
        "accuracy_answered": correct / answered if answered else None,
    }


def mqa_metrics(rows: Sequence[MqaRow]) -> dict[str, Any]:
    """MQA accuracy over ``rows``, overall and per question type.

    >>> rows = [MqaRow("1", "mc", "B", "B"), MqaRow("2", "mc", "A", None, "no letter"), MqaRow("3", "yes_no", "Y", "N")]
    >>> m = mqa_metrics(rows)
    >>> m["n"], m["correct"], round(m["accuracy"], 3), m["n_unanswered"], m["by_kind"]["yes_no"]["accuracy"]
    (3, 1, 0.333, 1, 0.0)
    """
    return {
        **_accuracy(rows),
        "by_kind": {kind: _accuracy([r for r in rows if r.kind == kind]) for kind in MQA_KINDS},
        "unanswered": [{"id": r.id, "reason": r.reason} for r in rows if r.answer is None],
        "definition": MQA_DEFINITION,
    }


@dataclass(frozen=True)
class MeqRow:
    """One explanation: the judge's four scores, or why it has none."""

    id: str
    scores: Mapping[str, float] | None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.scores is not None and (
            set(self.scores) != set(CRITERIA) or any(not 0 <= v <= 100 for v in self.scores.values())
        ):
            raise ValueError(f"MEQ scores must give each of {', '.join(CRITERIA)} a number in 0-100")

    def to_json(self) -> dict[str, Any]:
        if self.scores is None:
            return {"id": self.id, "unscored": self.reason}
        return {"id": self.id, **{c: self.scores[c] for c in CRITERIA}}


def meq_metrics(rows: Sequence[MeqRow]) -> dict[str, Any]:
    """MEQ over ``rows``: each criterion's mean over the scored ones, and the mean of the four / 100.

    >>> rows = [MeqRow("1", dict(zip(CRITERIA, (90, 70, 80, 85)))), MeqRow("2", dict(zip(CRITERIA, (50, 50, 60, 95)))),
    ...         MeqRow("3", None, "no JSON with the four scores")]
    >>> m = meq_metrics(rows)
    >>> m["accuracy"], m["fluency"], m["mean"], m["meq"], m["n_scored"], m["n_unscored"]
    (70.0, 90.0, 72.5, 0.725, 2, 1)
    """
    scored = [r.scores for r in rows if r.scores is not None]
    means = {c: sum(s[c] for s in scored) / len(scored) if scored else None for c in CRITERIA}
    mean = sum(means.values()) / len(CRITERIA) if scored else None  # type: ignore[arg-type]
    return {
        "n": len(rows),
        "n_scored": len(scored),
        "n_unscored": len(rows) - len(scored),
        **means,
        "mean": mean,
        "meq": None if mean is None else mean / 100,
        "unscored": [{"id": r.id, "reason": r.reason} for r in rows if r.scores is None],
        "samples": [r.to_json() for r in rows],
        "definition": MEQ_DEFINITION,
    }
