"""Metrics: rows of scalars per sample (computed at the end by the accumulator) and the same definitions as
plain functions, each group carrying its definition block."""

from __future__ import annotations

from grounddefake.metrics.accumulator import MetricsAccumulator, SampleRows
from grounddefake.metrics.classification import classification_metrics
from grounddefake.metrics.heatmap import heatmap_metrics
from grounddefake.metrics.localization import LocalizationScorer, localization_metrics, pixel_scores
from grounddefake.metrics.scores import score_metrics

__all__ = [
    "LocalizationScorer",
    "MetricsAccumulator",
    "SampleRows",
    "classification_metrics",
    "heatmap_metrics",
    "localization_metrics",
    "pixel_scores",
    "score_metrics",
]
