"""All metric groups of a run, per group of samples (``--group-by meta.FIELD``), with bootstrap intervals.

Each sample leaves one :class:`SampleRows` of scalars; every number is computed from those rows, so a group's
metrics and each bootstrap draw are the same functions applied to a subset or a resample of the rows — no pixel is
looked at twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grounddefake.label_space import REAL_FAKE, LabelSpace
from grounddefake.metrics.classification import ClassificationRow, classification_metrics
from grounddefake.metrics.faithfulness import FaithfulnessRow, faithfulness_metrics
from grounddefake.metrics.heatmap import HeatmapRow, heatmap_metrics
from grounddefake.metrics.localization import FakeRow, RealRow, localization_metrics
from grounddefake.metrics.rules import RuleRow, rule_metrics
from grounddefake.metrics.scores import ScorePair, score_metrics
from grounddefake.metrics.sid_set import SidSetRow, sid_set_metrics

HEADLINE = {
    "classification": ("accuracy", "balanced_accuracy", "f1", "auc"),
    "localization": ("iou_mean", "iou_pooled", "f1_mean", "box_f1", "pointing_game"),
}
BOOTSTRAP_DEFINITION = (
    "percentile 95% interval over N resamples of the samples with replacement (seeded); headline numbers only "
    "(AP is not resampled)"
)


@dataclass(frozen=True)
class SampleRows:
    """What one sample contributes to each metric group."""

    group: str | None = None
    classification: ClassificationRow | None = None
    fake: FakeRow | None = None
    real: RealRow | None = None
    empty_truth: bool = False
    heatmap: HeatmapRow | None = None
    score: ScorePair | None = None
    rules: RuleRow | None = None
    sid_set: SidSetRow | None = None
    faithfulness: FaithfulnessRow | None = None


@dataclass
class MetricsAccumulator:
    """Collects SampleRows, then computes every group, per group of samples, with optional bootstrap intervals."""

    localization: bool = True
    thresholds: tuple[float, ...] = (0.5,)
    space: LabelSpace = REAL_FAKE
    gt_raster: str = "centre"
    rows: list[SampleRows] = field(default_factory=list)

    def add(self, rows: SampleRows) -> None:
        self.rows.append(rows)

    def compute(self, group_by: str | None = None, bootstrap: int = 0, seed: int = 0) -> dict[str, Any]:
        out = self._groups(self.rows)
        if bootstrap:
            out["bootstrap"] = {"n": bootstrap, "seed": seed, "definition": BOOTSTRAP_DEFINITION}
            self._intervals(out, self.rows, bootstrap, seed)
        if group_by is not None:
            groups: dict[str, Any] = {}
            for value in sorted({r.group for r in self.rows if r.group is not None}):
                subset = [r for r in self.rows if r.group == value]
                groups[value] = self._groups(subset)
                if bootstrap:
                    self._intervals(groups[value], subset, bootstrap, seed)
            missing = sum(1 for r in self.rows if r.group is None)
            out["groups"] = {"by": group_by, "n_without_field": missing, "values": groups}
        return out

    def _groups(self, rows: Sequence[SampleRows], with_ap: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "classification": classification_metrics(
                [r.classification for r in rows if r.classification is not None], self.space
            )
        }
        if self.localization:
            out["localization"] = localization_metrics(
                [r.fake for r in rows if r.fake is not None],
                [r.real for r in rows if r.real is not None],
                self.thresholds,
                sum(1 for r in rows if r.empty_truth),
                with_ap=with_ap,
                space=self.space,
                gt_raster=self.gt_raster,
            )
        heatmaps = [r.heatmap for r in rows if r.heatmap is not None]
        if heatmaps:
            out["heatmap"] = heatmap_metrics(heatmaps)
        scores = [r.score for r in rows if r.score is not None]
        if scores:
            out["score"] = score_metrics(scores)
        rules = [r.rules for r in rows if r.rules is not None]
        if rules and with_ap:  # not resampled: the rule numbers carry no intervals
            out["rules"] = rule_metrics(rules, self.space)
        sid_set = [r.sid_set for r in rows if r.sid_set is not None]
        if sid_set and with_ap:  # not resampled either
            out["sid_set"] = sid_set_metrics(sid_set)
        checks = [r.faithfulness for r in rows if r.faithfulness is not None]
        if checks and with_ap:
            out["faithfulness"] = faithfulness_metrics(checks, self.space)
        return out

    def _intervals(self, out: dict[str, Any], rows: Sequence[SampleRows], n: int, seed: int) -> None:
        """Add ``ci95`` to the classification and localization groups of ``out``."""
        if not rows:
            return
        rng = np.random.default_rng(seed)
        draws: dict[str, dict[str, list[float]]] = {g: {k: [] for k in keys} for g, keys in HEADLINE.items()}
        for _ in range(n):
            sample = [rows[i] for i in rng.integers(0, len(rows), len(rows))]
            metrics = self._groups(sample, with_ap=False)
            for group, keys in HEADLINE.items():
                if group in metrics:
                    for key in keys:
                        value = metrics[group].get(key)
                        if value is not None:
                            draws[group][key].append(value)
        for group, keys in HEADLINE.items():
            if group not in out:
                continue
            out[group]["ci95"] = {
                key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if (v := draws[group][key]) else None
                for key in keys
            }
