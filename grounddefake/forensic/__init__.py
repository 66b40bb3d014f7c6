"""Forensics for local manipulations: a small learned localizer (ONNX, run by OpenCV) and copy-move matching."""

from __future__ import annotations

from .detector import Analysis, Finding, analyze

__all__ = ["Analysis", "Finding", "analyze"]
