"""Metrics: streaming scorers (one row of scalars per sample, computed at the end) and the same definitions as
plain functions, each group carrying its definition block."""

from __future__ import annotations

from grounddefake.metrics.classification import ClassificationScorer, classification_metrics
from grounddefake.metrics.heatmap import HeatmapScorer, heatmap_metrics
from grounddefake.metrics.localization import LocalizationScorer, localization_metrics, pixel_scores
from grounddefake.metrics.run import RunMetrics, SampleRows
from grounddefake.metrics.scores import ScoreScorer, score_metrics

__all__ = [
    "ClassificationScorer",
    "HeatmapScorer",
    "LocalizationScorer",
    "RunMetrics",
    "SampleRows",
    "ScoreScorer",
    "classification_metrics",
    "heatmap_metrics",
    "localization_metrics",
    "pixel_scores",
    "score_metrics",
]
