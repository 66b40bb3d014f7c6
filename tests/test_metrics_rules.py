"""Rule-level metrics: per rule, micro/macro, rule-named accuracy, the ablation re-decisions and the cost table,
each checked against numbers computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from grounddefake.label_space import SAFE_UNSAFE
from grounddefake.metrics.rules import VARIANTS, RuleRow, cost, redecide, rule_metrics, rule_named_accuracy
from grounddefake.records import prediction_record
from grounddefake.rules import PreconditionScore, RuleDecision
from grounddefake.scoring import score_records
from grounddefake.types import Sample, Usage
from grounddefake.verdict import Verdict


def pre(score: float | None, baseline: float | None, decision: str, group: int, ablated: float | None = None):
    return PreconditionScore("c", score, baseline, decision, ablated=ablated, group=group)  # type: ignore[arg-type]


def rule(
    decision: str, path: str, *items: PreconditionScore, groups: tuple[int, ...] = (1,), rid: str = "R", note: str = ""
) -> RuleDecision:
    score = max((p.score for p in items if p.score is not None), default=None)
    return RuleDecision(rid, decision, score, path, items, note=note, groups=groups)  # type: ignore[arg-type]


# (recorded rule decision) → (raw M >= 0.5, debiased only, judge). Thresholds: low 0.3, high 0.8 at baseline 0.5 →
# met iff M > 0.9, unmet iff M < 0.35.
REDECISIONS = [
    # debiased met with M 0.95: every column violated
    (rule("violated", "debiased", pre(0.95, 0.5, "met", 0)), ("violated", "violated", "violated")),
    # a strong language prior: M 0.6 < 0.7·0.9 is unmet when debiased, met raw
    (rule("not_violated", "debiased", pre(0.6, 0.9, "unmet", 0)), ("violated", "not_violated", "not_violated")),
    # low M, low prior: 0.4 met by debiasing (d 0.38 > 0.8·0.02), unmet raw
    (rule("violated", "debiased", pre(0.4, 0.02, "met", 0)), ("not_violated", "violated", "violated")),
    # undecided, the cascade said No: raw and debiased-only fall back to M ≥ 0.5
    (rule("not_violated", "cascade", pre(0.6, 0.5, "undecided", 0)), ("violated", "violated", "not_violated")),
    (rule("violated", "cascade", pre(0.4, 0.5, "undecided", 0)), ("not_violated", "not_violated", "violated")),
    # region ablation made it met: debiased alone did not (undecided → M 0.7 ≥ 0.5 here)
    (rule("violated", "ablation", pre(0.7, 0.5, "met", 0, ablated=0.05)), ("violated", "violated", "violated")),
    (rule("violated", "ablation", pre(0.45, 0.2, "met", 0, ablated=0.0)), ("not_violated", "not_violated", "violated")),
    # no score (no log-probabilities): unknown unless the judge's cascade decided
    (rule("violated", "cascade", pre(None, None, "undecided", 0)), ("unknown", "unknown", "violated")),
    # the second group was never asked (the first was unmet): raw finds group 0 met, group 1 unknown
    (
        rule("not_violated", "debiased", pre(0.6, 0.9, "unmet", 0), groups=(1, 1)),
        ("unknown", "not_violated", "not_violated"),
    ),
    # an OR-group stopped at its first met precondition: raw unmet there, yet the rest of the group was not asked
    (
        rule("violated", "debiased", pre(0.45, 0.01, "met", 0), pre(0.95, 0.5, "met", 1), groups=(2, 1)),
        ("unknown", "violated", "violated"),
    ),
    # both members of a group asked and unmet raw: the group is unmet raw, so not violated whatever follows
    (
        rule("violated", "cascade", pre(0.3, 0.5, "unmet", 0), pre(0.45, 0.5, "undecided", 0), groups=(2, 1)),
        ("not_violated", "not_violated", "violated"),
    ),
    # a failed request, a relevance skip, an old record without group indexes
    (rule("unknown", "debiased", pre(0.95, 0.5, "met", 0), note="request failed: 500"), ("unknown",) * 3),
    (RuleDecision("R", "not_violated", None, "relevance", groups=(1,)), ("not_violated",) * 3),
    (
        RuleDecision("R", "violated", 0.9, "fast", (PreconditionScore("c", 0.9, None, "met"),)),
        ("unknown", "unknown", "violated"),
    ),
]


@pytest.mark.parametrize(("decision", "expected"), REDECISIONS)
def test_rules_are_redecided_from_the_recorded_scores(decision: RuleDecision, expected: tuple[str, ...]) -> None:
    assert tuple(redecide(decision, v) for v in VARIANTS) == expected


def _gun(decision: str, score: float | None) -> RuleDecision:
    return RuleDecision("gun", decision, score, "debiased")  # type: ignore[arg-type]


def _blood(decision: str, score: float | None) -> RuleDecision:
    return RuleDecision("blood", decision, score, "cascade")  # type: ignore[arg-type]


# Six images, two rules. Truth: a safe image violates nothing; image 4 has gun truth only (blood unknown).
ROWS = [
    RuleRow("unsafe", "unsafe", {"gun": True, "blood": False}, (_gun("violated", 0.9), _blood("not_violated", 0.2))),
    RuleRow("unsafe", "unsafe", {"gun": False, "blood": True}, (_gun("violated", 0.8), _blood("not_violated", 0.4))),
    RuleRow("safe", "unsafe", {}, (_gun("not_violated", 0.3), _blood("violated", 0.7))),
    RuleRow("safe", "safe", {}, (_gun("not_violated", 0.1), _blood("not_violated", 0.1))),
    RuleRow("unsafe", "unknown", {"gun": True}, (_gun("unknown", None), _blood("not_violated", 0.3))),
    RuleRow("unsafe", "unsafe", {}, (_gun("violated", 0.95), _blood("not_violated", 0.1))),  # no rule truth
]
# gun over rows 0-4 (row 5 has no truth): truth T F F F T, decided V V N N U → tp 1, fp 1, tn 2, unknown 1
# blood over rows 0-3 (rows 4, 5: unknown truth): truth F T F F, decided N N V N → fn 1, fp 1, tn 2
PER_RULE = [
    ("gun", {"n": 5, "support": 2, "tp": 1, "fp": 1, "fn": 0, "tn": 2, "n_unknown": 1}, (0.5, 1.0, 2 / 3, 3 / 5)),
    ("blood", {"n": 4, "support": 1, "tp": 0, "fp": 1, "fn": 1, "tn": 2, "n_unknown": 0}, (0.0, 0.0, 0.0, 2 / 4)),
]


@pytest.mark.parametrize(("rid", "counts", "rates"), PER_RULE)
def test_per_rule_counts_and_rates(rid: str, counts: dict[str, int], rates: tuple[float, ...]) -> None:
    numbers = rule_metrics(ROWS, SAFE_UNSAFE)["per_rule"][rid]
    assert {k: numbers[k] for k in counts} == counts
    assert (numbers["precision"], numbers["recall"], numbers["f1"], numbers["accuracy"]) == pytest.approx(rates)


def test_rule_auc_micro_and_macro() -> None:
    m = rule_metrics(ROWS, SAFE_UNSAFE)
    # gun scores with truth: T 0.9, F 0.8, F 0.3, F 0.1 (row 4 has no score): every positive above every negative
    assert m["per_rule"]["gun"]["auc"] == 1.0 and m["per_rule"]["gun"]["n_scored"] == 4
    # blood: T 0.4 against F 0.2, 0.7, 0.1 → 2 of 3 pairs
    assert m["per_rule"]["blood"]["auc"] == pytest.approx(2 / 3)
    micro = m["micro"]
    assert (micro["tp"], micro["fp"], micro["fn"], micro["tn"], micro["n_unknown"]) == (1, 2, 1, 4, 1)
    assert micro["precision"] == pytest.approx(1 / 3) and micro["f1"] == pytest.approx(2 / 5)
    assert micro["accuracy"] == pytest.approx(5 / 9)
    assert m["macro"]["f1"] == pytest.approx((2 / 3 + 0.0) / 2) and m["macro"]["n_rules"] == 2
    assert m["rules"] == ["gun", "blood"]


def test_rule_named_accuracy_needs_a_truly_violated_rule_named() -> None:
    named = rule_named_accuracy(ROWS, SAFE_UNSAFE)
    # row 0 right (gun named, truly violated); row 1 wrong (names gun, the truth is blood); row 2 wrong (safe called
    # unsafe); row 3 right; row 4 wrong (unknown); row 5 unverifiable (no rule truth)
    assert named == {"value": 2 / 5, "n": 5, "correct": 2, "n_unverifiable": 1}


def test_ablation_columns_side_by_side() -> None:
    prior = RuleDecision("R", "not_violated", 0.6, "debiased", (pre(0.6, 0.9, "unmet", 0),), groups=(1,))
    found = RuleDecision("R", "violated", 0.95, "debiased", (pre(0.95, 0.5, "met", 0),), groups=(1,))
    cascade = RuleDecision("R", "violated", 0.85, "cascade", (pre(0.4, 0.5, "undecided", 0),), groups=(1,))
    rows = [
        RuleRow("safe", "safe", {}, (prior,)),  # raw: unsafe (wrong); debiased and judge: safe
        RuleRow("unsafe", "unsafe", {"R": True}, (found,)),  # right everywhere
        RuleRow("unsafe", "unsafe", {"R": True}, (cascade,)),  # raw and debiased: 0.4 < 0.5 → safe (wrong); judge right
    ]
    ablation = rule_metrics(rows, SAFE_UNSAFE)["ablation"]
    assert [ablation[v]["accuracy"] for v in VARIANTS] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert [ablation[v]["f1"] for v in VARIANTS] == pytest.approx([0.5, 2 / 3, 1.0])
    assert ablation["raw"]["rule_f1_micro"] == pytest.approx(0.5)


def test_cost_counts_requests_tokens_and_paths() -> None:
    unmet = RuleDecision("A", "not_violated", 0.1, "debiased", (pre(0.1, 0.5, "unmet", 0),))
    two = (pre(0.6, 0.5, "undecided", 0), pre(0.7, 0.5, "undecided", 0))
    rows = [
        RuleRow("safe", "safe", {}, (unmet,), 1, 40),
        RuleRow("unsafe", "unsafe", {}, (RuleDecision("A", "violated", 0.8, "cascade", two),), 4, 200),
        RuleRow("safe", "unknown", {}, (RuleDecision("A", "unknown", None, "debiased"),), None, None),
    ]
    table = cost(rows)
    assert (table["requests"], table["requests_per_image"], table["requests_max"]) == (5, 2.5, 4)
    assert table["tokens_per_image"] == 120.0 and table["decisions"] == 3
    assert table["by_path"] == {
        "debiased": {"decisions": 2, "share": 2 / 3, "preconditions_per_decision": 0.5},
        "cascade": {"decisions": 1, "share": 1 / 3, "preconditions_per_decision": 2.0},
    }


def test_scoring_a_rule_run_writes_the_rules_group(tmp_path: Path) -> None:
    samples = [
        Sample("a", tmp_path / "a.png", "unsafe", rules={"gun": True}),
        Sample("b", tmp_path / "b.png", "safe"),
        Sample("c", tmp_path / "c.png", "unsafe"),
    ]
    decisions = {
        "a": (_gun("violated", 0.9),),
        "b": (_gun("not_violated", 0.2),),
        "c": (_gun("not_violated", 0.3),),
    }
    records = {}
    for s in samples:
        label = "unsafe" if decisions[s.id][0].decision == "violated" else "safe"
        verdict = Verdict(label, decisions[s.id][0].score, rules=decisions[s.id], requests=2)  # type: ignore[arg-type]
        records[s.id] = prediction_record(s.id, verdict, model="m", prompt="p", usage=Usage(100, 2))
    metrics = score_records(samples, records, localization=False, space=SAFE_UNSAFE).metrics
    rules = metrics["rules"]
    assert rules["per_rule"]["gun"]["n"] == 2  # c is unsafe without gun truth: not counted for gun
    assert rules["per_rule"]["gun"]["accuracy"] == 1.0
    assert rules["cost"]["requests_per_image"] == 2.0 and rules["cost"]["tokens_per_image"] == 102.0
    assert metrics["classification"]["accuracy"] == pytest.approx(2 / 3)
    assert "rules" not in score_records(samples, {}, localization=False, space=SAFE_UNSAFE).metrics
