"""Signal-level, training-free forensics for local manipulations (noise, blur, resampling, copy-move)."""

from __future__ import annotations

from .detector import Analysis, Finding, analyze

__all__ = ["Analysis", "Finding", "analyze"]
