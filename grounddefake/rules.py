"""Rules as data: a rule with its precondition chain, the parameters of the CLUE judge, and per-rule decisions.

A :class:`Rule` is judged through its ``preconditions``, an AND of OR-groups of short visual facts: the rule is
violated iff every group has a met precondition. :class:`RuleDecision` is what a judge decided about one rule of one
image, with the scores and the path that decided it; it travels in the prediction record (``"rules"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from grounddefake.types import Region

Decision = Literal["violated", "not_violated", "unknown"]
Path = Literal["relevance", "fast", "debiased", "ablation", "cascade"]
PreconditionDecision = Literal["met", "unmet", "undecided"]
DECISIONS: tuple[str, ...] = ("violated", "not_violated", "unknown")
PATHS: tuple[str, ...] = ("relevance", "fast", "debiased", "ablation", "cascade")
PRECONDITION_DECISIONS: tuple[str, ...] = ("met", "unmet", "undecided")
ABLATE = ("own-box",)
"""Region ablation modes: the model's own box of the precondition's object (None: off)."""
RELEVANCE = ("clip",)
"""Relevance scanners: CLIP image–rule similarity (None: off)."""
_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

FAST_QUESTION = "Is the following content visible in this image? Answer Yes or No. Content: {{ content }}"
"""CLUE's single-token question (``content``: the precondition)."""
BOX_QUESTION = (
    'Where is {{ object }} in this image? Answer only with JSON: {"regions": [{"box": [x1, y1, x2, y2], '
    '"label": "{{ object }}"}]}{% if box_example %}, each box written like this example: {{ box_example }}{% endif %}'
    ". If it is not visible, answer with an empty list of regions."
)
"""The question for the box of a precondition's object (region ablation); ``object``: the object word."""


@dataclass(frozen=True)
class Rule:
    """One objectified rule.

    Attributes:
        id: short identifier (``R1``, ``weapons``), letters, digits, ``_ . -``.
        text: the rule as the policy owner wrote it.
        objective: the objectified, visual wording that is judged.
        preconditions: an AND of OR-groups of short visual facts.
        objects: central object words (the box asked for in region ablation).
        ground: ask for the regions when the rule is violated.

    >>> rule = Rule("R1", "No guns", "A firearm is visible.", (("a gun", "a rifle"), ("a person holding it",)))
    >>> rule.preconditions[0]
    ('a gun', 'a rifle')
    >>> Rule("R1", "x", "y", ())
    Traceback (most recent call last):
    ...
    ValueError: rule R1: preconditions must be a non-empty list of non-empty lists of text
    """

    id: str
    text: str
    objective: str
    preconditions: tuple[tuple[str, ...], ...]
    objects: tuple[str, ...] = ()
    ground: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise ValueError(f"rule id {self.id!r:.40} must be 1-64 letters, digits, '_', '.' or '-'")
        for name in ("text", "objective"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"rule {self.id}: {name} must be non-empty text")
        groups = self.preconditions
        if (
            not isinstance(groups, tuple)
            or not groups
            or any(not isinstance(g, tuple) or not g or any(not _text(c) for c in g) for g in groups)
        ):
            raise ValueError(f"rule {self.id}: preconditions must be a non-empty list of non-empty lists of text")
        if not isinstance(self.objects, tuple) or any(not _text(o) for o in self.objects):
            raise ValueError(f"rule {self.id}: objects must be a list of text")
        if not isinstance(self.ground, bool):
            raise ValueError(f"rule {self.id}: ground must be true or false")

    def object_of(self, precondition: str) -> str:
        """The object whose box region ablation blanks: the first of ``objects`` named in the precondition, else
        the precondition itself.

        >>> Rule("R", "t", "o", (("a knife in a hand",),), objects=("knife",)).object_of("a knife in a hand")
        'knife'
        >>> Rule("R", "t", "o", (("blood",),)).object_of("blood")
        'blood'
        """
        lowered = precondition.lower()
        return next((o for o in self.objects if o.lower() in lowered), precondition)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


@dataclass(frozen=True)
class JudgeParams:
    """The CLUE judge's parameters (a rule pack's ``judge:``), with the paper's defaults.

    Attributes:
        tau: with ``debias`` off, a precondition is met iff M(x, c) ≥ tau.
        debias: compare with the text-only baseline M(None, c).
        low: d = M(x,c) − M(None,c) < −low·M(None,c) → unmet.
        high: d > high·(1 − M(None,c)) → met.
        ablate: ``"own-box"`` (blank the model's own box of the object and re-score) or None (off).
        ablation_margin: M(x,c) − M(x∖box,c) > margin → met.
        cascade: undecided rules get the two reasoned turns (off: an undecided precondition is met iff M ≥ tau).
        relevance: ``"clip"`` (skip rules whose CLIP similarity with the image is below ``relevance_threshold``,
            :mod:`grounddefake.judges.relevance`) or None (off).
        relevance_model: the local CLIP checkpoint folder (absolute; resolved by the pack loader).
        relevance_threshold: a rule with cos(image, objective) below it is skipped (CLUE: 0.22).
        fast_question: template of the Yes/No question (``content``).
        box_question: template of the box question (``object``, ``box_example``, ``convention``).

    >>> JudgeParams().tau, JudgeParams().ablate
    (0.5, None)
    >>> JudgeParams(low=2)
    Traceback (most recent call last):
    ...
    ValueError: judge: low must be a number in [0, 1]
    """

    tau: float = 0.5
    debias: bool = True
    low: float = 0.3
    high: float = 0.8
    ablate: str | None = None
    ablation_margin: float = 0.6
    cascade: bool = True
    relevance: str | None = None
    relevance_model: str | None = None
    relevance_threshold: float = 0.22
    fast_question: str = FAST_QUESTION
    box_question: str = BOX_QUESTION

    def __post_init__(self) -> None:
        for name in ("tau", "low", "high", "ablation_margin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"judge: {name} must be a number in [0, 1]")
        for name in ("debias", "cascade"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"judge: {name} must be true or false")
        if self.ablate is not None and self.ablate not in ABLATE:
            raise ValueError(f"judge: ablate must be one of {', '.join(ABLATE)} or off, got {self.ablate!r:.40}")
        if self.relevance is not None and self.relevance not in RELEVANCE:
            raise ValueError(
                f"judge: relevance must be one of {', '.join(RELEVANCE)} or off, got {self.relevance!r:.40}"
            )
        if self.relevance is not None and not _text(self.relevance_model):
            raise ValueError("judge: relevance: clip needs relevance_model, a local CLIP checkpoint folder")
        if self.relevance_model is not None and not isinstance(self.relevance_model, str):
            raise ValueError("judge: relevance_model must be a folder path")
        value = self.relevance_threshold
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1 <= value <= 1:
            raise ValueError("judge: relevance_threshold must be a cosine similarity in [-1, 1]")
        for name in ("fast_question", "box_question"):
            if not _text(getattr(self, name)):
                raise ValueError(f"judge: {name} must be a non-empty template")

    def to_json(self) -> dict[str, Any]:
        """Every parameter, defaults included (part of the pack hash); the relevance scan's own parameters only when
        it is on (an off scan changes no answer).

        >>> JudgeParams().to_json()["high"], "relevance_threshold" in JudgeParams().to_json()
        (0.8, False)
        """
        off = () if self.relevance else ("relevance_model", "relevance_threshold")
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name not in off}


@dataclass(frozen=True)
class PreconditionScore:
    """One precondition of one image: M(x, c), the text-only baseline M(None, c), and what they decided.

    Attributes:
        text: the precondition.
        score: M(x, c) = p(Yes) / (p(Yes) + p(No)), None when the model gave no Yes/No probability.
        baseline: M(None, c), when debiasing asked for it.
        decision: ``met``, ``unmet`` or ``undecided``.
        ablated: M(x∖box, c) after region ablation, when it ran.
        note: why a score is missing or how it was decided, when that is not obvious.
        group: the index of its OR-group in the rule's chain (None in records written before it was kept).
    """

    text: str
    score: float | None
    baseline: float | None = None
    decision: PreconditionDecision = "undecided"
    ablated: float | None = None
    note: str = ""
    group: int | None = None

    def __post_init__(self) -> None:
        if not _text(self.text):
            raise ValueError("precondition text must be non-empty")
        for name in ("score", "baseline", "ablated"):
            if not _probability(getattr(self, name), none=True):
                raise ValueError(f"precondition {name} {getattr(self, name)!r:.40} is not a number in [0, 1]")
        if self.decision not in PRECONDITION_DECISIONS:
            raise ValueError(f"precondition decision {self.decision!r:.40} is not met, unmet or undecided")
        if self.group is not None and (
            isinstance(self.group, bool) or not isinstance(self.group, int) or self.group < 0
        ):
            raise ValueError(f"precondition group {self.group!r:.40} is not a group index")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "score": _round(self.score), "baseline": _round(self.baseline)}
        out["decision"] = self.decision
        if self.ablated is not None:
            out["ablated"] = _round(self.ablated)
        if self.note:
            out["note"] = self.note
        if self.group is not None:
            out["group"] = self.group
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PreconditionScore:
        """Raises ValueError for anything but a valid precondition object."""
        if not isinstance(data, Mapping):
            raise ValueError(f"precondition {data!r:.40} is not an object")
        return cls(
            text=data.get("text"),  # type: ignore[arg-type]
            score=data.get("score"),
            baseline=data.get("baseline"),
            decision=data.get("decision"),  # type: ignore[arg-type]
            ablated=data.get("ablated"),
            note=str(data.get("note") or ""),
            group=data.get("group"),
        )


@dataclass(frozen=True)
class RuleDecision:
    """What the judge decided about one rule of one image.

    Attributes:
        id: the rule's id.
        decision: ``violated``, ``not_violated`` or ``unknown`` (a failed request, an unparseable answer).
        score: P(violated): min over the OR-groups asked of max over each group's M(x, c), or the cascade's P(Yes).
        path: what decided it: ``relevance``, ``fast`` (M ≥ tau), ``debiased``, ``ablation`` or ``cascade``.
        preconditions: the preconditions scored, in order (a short-circuited rule lists only those asked).
        regions: where the violation is, in original pixels (``ground: true`` rules: the cascade's answer or the box
            question asked after a violation decided by the scores).
        note: why, when the decision needs a word (an error, an unparseable rating, a relevance skip).
        similarity: the CLIP cosine similarity of the image and the rule's objective, when relevance scanning ran.
        groups: the size of each OR-group of the rule's chain (None in records written before it was kept); with
            each precondition's ``group`` it lets scoring re-decide the rule from the recorded scores.

    >>> decision = RuleDecision("R1", "violated", 0.9, "debiased", (PreconditionScore("a gun", 0.9, 0.2, "met"),))
    >>> RuleDecision.from_json(decision.to_json()) == decision
    True
    """

    id: str
    decision: Decision
    score: float | None
    path: Path
    preconditions: tuple[PreconditionScore, ...] = ()
    regions: tuple[Region, ...] = ()
    note: str = ""
    groups: tuple[int, ...] | None = None
    similarity: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise ValueError(f"rule id {self.id!r:.40} is not a rule id")
        if self.groups is not None and (
            not isinstance(self.groups, tuple)
            or not self.groups
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in self.groups)
        ):
            raise ValueError(f"rule {self.id}: groups {self.groups!r:.40} are not the sizes of its OR-groups")
        similarity = self.similarity
        if similarity is not None and not (_number(similarity) and -1 <= similarity <= 1):
            raise ValueError(f"rule similarity {self.similarity!r:.40} is not a number in [-1, 1]")
        if self.decision not in DECISIONS:
            raise ValueError(f"rule decision {self.decision!r:.40} is not one of {', '.join(DECISIONS)}")
        if self.path not in PATHS:
            raise ValueError(f"rule path {self.path!r:.40} is not one of {', '.join(PATHS)}")
        if not _probability(self.score, none=True):
            raise ValueError(f"rule score {self.score!r:.40} is not a number in [0, 1]")

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "decision": self.decision,
            "score": _round(self.score),
            "path": self.path,
            "preconditions": [p.to_json() for p in self.preconditions],
            "regions": [r.to_json() for r in self.regions],
            "note": self.note,
            "groups": None if self.groups is None else list(self.groups),
        }
        if self.similarity is not None:  # written only by a relevance scan
            out["similarity"] = float(self.similarity)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleDecision:
        """Raises ValueError (or TypeError) for anything but a valid rule decision."""
        if not isinstance(data, Mapping):
            raise ValueError(f"rule decision {data!r:.40} is not an object")
        items, regions = data.get("preconditions") or [], data.get("regions") or []
        if not isinstance(items, list) or not isinstance(regions, list):
            raise ValueError("rule decision: preconditions and regions must be lists")
        return cls(
            id=data.get("id"),  # type: ignore[arg-type]
            decision=data.get("decision"),  # type: ignore[arg-type]
            score=data.get("score"),
            path=data.get("path"),  # type: ignore[arg-type]
            preconditions=tuple(PreconditionScore.from_json(p) for p in items),
            regions=tuple(Region.from_json(r) for r in regions),
            note=str(data.get("note") or ""),
            groups=_sizes(data.get("groups")),
            similarity=data.get("similarity"),
        )


def _sizes(value: Any) -> Any:
    """A record's group sizes as a tuple (validated by RuleDecision)."""
    return tuple(value) if isinstance(value, list) else value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _probability(value: Any, none: bool = False) -> bool:
    if value is None:
        return none
    return _number(value) and 0 <= value <= 1


def _round(value: float | None) -> float | None:
    """Scores are written as they are: a record read back decides exactly as it was written."""
    return None if value is None else float(value)
