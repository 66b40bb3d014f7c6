"""Rule-level metrics of a rule pack's run: per rule, micro and macro over rules, rule-named accuracy, the judge's
ablation re-decided from the recorded scores, and what the decisions cost.

A rule's truth for a sample is its manifest ``rules`` entry; a sample whose label is negative (``safe``) violates no
rule, so every rule is false there unless the manifest says otherwise; a positive sample without an entry for a rule
leaves that rule unknown (not counted for it). A rule decided ``unknown`` counts as wrong in accuracy and is left out
of precision, recall and F1, as ``unknown`` answers are in classification.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from grounddefake.label_space import UNKNOWN, LabelSpace
from grounddefake.metrics.classification import ClassificationRow, binary_auc, classification_metrics
from grounddefake.rules import PATHS, PreconditionScore, RuleDecision

Variant = Literal["raw", "debiased", "judge"]
VARIANTS: tuple[Variant, ...] = ("raw", "debiased", "judge")
RAW_TAU = 0.5
"""The threshold of the raw and debiased-only re-decisions (CLUE's, and the judge's default)."""
ABLATION_KEYS = ("n", "n_unknown", "accuracy", "precision", "recall", "f1")


def definition(space: LabelSpace) -> dict[str, str]:
    """What each rule number means (written into ``metrics.json → rules → definition``)."""
    pos, neg = space.positive, " / ".join(space.negatives)
    return {
        "truth": f"a rule's truth is the manifest's rules entry; a {neg} sample violates no rule unless it says "
        f"otherwise; a {pos} sample without an entry for a rule is not counted for that rule",
        "per_rule": "over samples with the rule's truth (n): support = truly violated; tp/fp/fn/tn of 'violated'; "
        "an unknown decision (n_unknown) is wrong in accuracy and left out of precision, recall and f1; "
        "f1 = 2TP / (2TP + FP + FN); auc: ROC AUC of the rule's score over samples with a score and a truth",
        "micro": "tp/fp/fn/tn/unknown summed over rules, then the same formulas",
        "macro": "the unweighted mean over rules of each per-rule number that is not null",
        "rule_named_accuracy": f"over labelled samples: a {neg} sample is right iff answered {neg}; a {pos} sample "
        f"is right only if answered {pos} and a rule decided violated is truly violated; {pos} samples without "
        "any truly violated rule in their truth cannot be checked (n_unverifiable) and are not counted",
        "ablation": "image-level classification and micro rule f1 of three decisions from the recorded scores: "
        f"raw = a precondition is met iff M(x, c) >= {RAW_TAU}; debiased = the judge's recorded threshold decision "
        f"(debiased, or fast when debiasing is off) without region ablation or the cascade, what it leaves "
        f"undecided met iff M >= {RAW_TAU}; judge = the decisions recorded. A rule is violated iff each OR-group has "
        "a met precondition, not violated iff a group asked in full has none; what the judge did not ask (the groups "
        "after one it found unmet, the rest of a group after its first met precondition) leaves a re-decision "
        "unknown when it matters. A rule whose request failed is unknown in every column; rules skipped by relevance "
        "stay not violated",
        "cost": "requests per image as recorded (text-only baselines, shared by the run, are not counted; see "
        "metrics.requests for the run's total); tokens = prompt + completion tokens per image; decisions and mean "
        "preconditions asked per decision, by the path that decided the rule",
    }


@dataclass(frozen=True)
class RuleRow:
    """One sample's rule-level contribution: its truth, the judge's decisions, and what they cost."""

    label: str | None
    predicted: str
    truth: Mapping[str, bool] = field(default_factory=dict)
    decisions: tuple[RuleDecision, ...] = ()
    requests: int | None = None
    tokens: int | None = None

    def truth_of(self, rule: str, space: LabelSpace) -> bool | None:
        """True / False when the rule's truth is known for this sample, else None."""
        if rule in self.truth:
            return self.truth[rule]
        return False if self.label in space.negatives else None


def rule_metrics(rows: Sequence[RuleRow], space: LabelSpace) -> dict[str, Any]:
    """Every rule-level number of ``rows`` (see :func:`definition`).

    >>> from grounddefake.label_space import SAFE_UNSAFE
    >>> gun = lambda d, s: RuleDecision("gun", d, s, "debiased")
    >>> rows = [RuleRow("unsafe", "unsafe", {"gun": True}, (gun("violated", 0.9),)),
    ...         RuleRow("safe", "unsafe", {}, (gun("violated", 0.7),)),
    ...         RuleRow("safe", "safe", {}, (gun("not_violated", 0.1),))]
    >>> m = rule_metrics(rows, SAFE_UNSAFE)
    >>> r = m["per_rule"]["gun"]
    >>> r["support"], r["precision"], r["recall"], r["accuracy"], r["auc"]
    (1, 0.5, 1.0, 0.6666666666666666, 1.0)
    >>> m["rule_named_accuracy"]["value"]
    0.6666666666666666
    """
    rule_ids = _rule_ids(rows)
    per_rule = {rule: _rule_numbers(rows, rule, space, "judge") for rule in rule_ids}
    return {
        "n_samples": len(rows),
        "rules": list(rule_ids),
        "per_rule": per_rule,
        "micro": _micro(per_rule.values()),
        "macro": _macro(per_rule.values()),
        "rule_named_accuracy": rule_named_accuracy(rows, space),
        "ablation": {variant: _ablation(rows, rule_ids, space, variant) for variant in VARIANTS},
        "cost": cost(rows),
        "definition": definition(space),
    }


def _rule_ids(rows: Sequence[RuleRow]) -> tuple[str, ...]:
    """Every rule decided in ``rows``, in the order they first appear (the pack's order)."""
    return tuple(dict.fromkeys(d.id for row in rows for d in row.decisions))


def _counts(pairs: Sequence[tuple[bool, str]]) -> dict[str, int]:
    tally = Counter((truth, decision) for truth, decision in pairs)
    return {
        "n": len(pairs),
        "support": sum(1 for truth, _ in pairs if truth),
        "tp": tally[(True, "violated")],
        "fp": tally[(False, "violated")],
        "fn": tally[(True, "not_violated")],
        "tn": tally[(False, "not_violated")],
        "n_unknown": sum(1 for _, decision in pairs if decision not in ("violated", "not_violated")),
    }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "accuracy": _ratio(tp + tn, counts["n"]),
    }


def decision_of(row: RuleRow, rule: str, variant: Variant = "judge") -> tuple[str, float | None]:
    """The row's decision of ``rule`` (re-decided by ``variant``) and the rule's score; unknown when not decided."""
    found = next((d for d in row.decisions if d.id == rule), None)
    if found is None:
        return UNKNOWN, None
    return redecide(found, variant), found.score


def _rule_numbers(rows: Sequence[RuleRow], rule: str, space: LabelSpace, variant: Variant) -> dict[str, Any]:
    pairs, scored = [], []
    for row in rows:
        truth = row.truth_of(rule, space)
        if truth is None:
            continue
        decision, score = decision_of(row, rule, variant)
        pairs.append((truth, decision))
        if score is not None:
            scored.append((truth, score))
    counts = _counts(pairs)
    auc = binary_auc([t for t, _ in scored], [s for _, s in scored])
    return {**counts, **_rates(counts), "auc": auc, "n_scored": len(scored)}


def _micro(per_rule: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    numbers = list(per_rule)
    keys = ("n", "support", "tp", "fp", "fn", "tn", "n_unknown")
    counts = {key: sum(r[key] for r in numbers) for key in keys}
    return {**counts, **_rates(counts)}


def _macro(per_rule: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    numbers = list(per_rule)
    out: dict[str, Any] = {"n_rules": len(numbers)}
    for key in ("precision", "recall", "f1", "accuracy", "auc"):
        values = [r[key] for r in numbers if r[key] is not None]
        out[key] = sum(values) / len(values) if values else None
    return out


def rule_named_accuracy(rows: Sequence[RuleRow], space: LabelSpace) -> dict[str, Any]:
    """An unsafe image counts as right only if a truly violated rule is named (see :func:`definition`)."""
    right = counted = unverifiable = 0
    for row in rows:
        if row.label in space.negatives:
            counted += 1
            right += row.predicted == row.label
        elif row.label == space.positive:
            if not any(row.truth.values()):
                unverifiable += 1
                continue
            counted += 1
            named = any(d.decision == "violated" and row.truth.get(d.id) is True for d in row.decisions)
            right += row.predicted == space.positive and named
    return {"value": _ratio(right, counted), "n": counted, "correct": right, "n_unverifiable": unverifiable}


def redecide(decision: RuleDecision, variant: Variant) -> str:
    """``decision`` re-decided from its recorded preconditions by ``variant`` (see :func:`definition`).

    >>> p = lambda s, b, d, g: PreconditionScore("c", s, b, d, group=g)
    >>> rule = RuleDecision("R", "violated", 0.6, "cascade", (p(0.95, 0.5, "met", 0), p(0.6, 0.5, "undecided", 1)),
    ...                     groups=(1, 1))
    >>> [redecide(rule, v) for v in VARIANTS]
    ['violated', 'violated', 'violated']
    >>> prior = RuleDecision("R", "not_violated", 0.6, "debiased", (p(0.6, 0.9, "unmet", 0),), groups=(1, 1))
    >>> [redecide(prior, v) for v in VARIANTS]  # raw: group 0 met, but group 1 was never asked
    ['unknown', 'not_violated', 'not_violated']
    """
    if variant == "judge":
        return decision.decision
    if decision.path == "relevance":
        return "not_violated"
    items = decision.preconditions
    failed = decision.decision == UNKNOWN and decision.note.startswith("request failed")
    if failed or not items or decision.groups is None or any(p.group is None for p in items):
        return UNKNOWN
    states = []
    for group, size in enumerate(decision.groups):
        asked = [p for p in items if p.group == group]
        complete = len(asked) == size  # the judge stops a group at its first met precondition
        votes = [_met(p, variant) for p in asked]
        if any(v is True for v in votes):
            states.append("met")
        elif complete and all(v is False for v in votes):
            states.append("unmet")
        else:
            states.append(UNKNOWN)
    if "unmet" in states:
        return "not_violated"
    return "violated" if all(s == "met" for s in states) else UNKNOWN


def _met(item: PreconditionScore, variant: Variant) -> bool | None:
    if item.score is None:
        return None
    if variant == "debiased" and item.ablated is None and item.decision != "undecided":
        return item.decision == "met"
    return item.score >= RAW_TAU


def _image_label(decisions: Sequence[str], space: LabelSpace) -> str:
    if "violated" in decisions:
        return space.positive
    return UNKNOWN if UNKNOWN in decisions or not decisions else space.negatives[0]


def _ablation(rows: Sequence[RuleRow], rule_ids: Sequence[str], space: LabelSpace, variant: Variant) -> dict[str, Any]:
    labelled = [row for row in rows if row.label in space.labels]
    images = [
        ClassificationRow(str(row.label), _image_label([decision_of(row, r, variant)[0] for r in rule_ids], space))
        for row in labelled
    ]
    image = classification_metrics(images, space)
    micro = _micro(_rule_numbers(rows, rule, space, variant) for rule in rule_ids)
    out = {key: image[key] for key in ABLATION_KEYS}
    out["rule_f1_micro"], out["rule_accuracy_micro"] = micro["f1"], micro["accuracy"]
    return out


def cost(rows: Sequence[RuleRow]) -> dict[str, Any]:
    """Requests and tokens per image, and decisions (with the preconditions they asked) per path."""
    requests = [row.requests for row in rows if row.requests is not None]
    tokens = [row.tokens for row in rows if row.tokens is not None]
    by_path: dict[str, dict[str, Any]] = {}
    decisions = [d for row in rows for d in row.decisions]
    for path in PATHS:
        on_path = [d for d in decisions if d.path == path]
        if on_path:
            by_path[path] = {
                "decisions": len(on_path),
                "share": len(on_path) / len(decisions),
                "preconditions_per_decision": sum(len(d.preconditions) for d in on_path) / len(on_path),
            }
    return {
        "n_images": len(rows),
        "requests": sum(requests),
        "requests_per_image": _ratio(sum(requests), len(requests)),
        "requests_max": max(requests, default=None),
        "tokens_per_image": _ratio(sum(tokens), len(tokens)),
        "decisions": len(decisions),
        "by_path": by_path,
    }
