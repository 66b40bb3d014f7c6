"""Metrics: streaming scorers (``update`` per sample, ``compute`` at the end), each with its definition."""

from __future__ import annotations

from grounddefake.metrics.classification import ClassificationScorer
from grounddefake.metrics.localization import LocalizationScorer, mask_iou

__all__ = ["ClassificationScorer", "LocalizationScorer", "mask_iou"]
