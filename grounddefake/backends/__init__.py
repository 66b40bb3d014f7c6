"""Backends: the built-in ``forensic`` model and, through the same interface, MLLMs."""

from __future__ import annotations

from grounddefake.backends.base import Backend, BackendError, GenerationParams, Request

__all__ = ["MODELS", "Backend", "BackendError", "GenerationParams", "Request", "UnknownModelError", "create_backend"]

MODELS = {"forensic": "built-in signal-level baseline: noise, resampling, blur and copy-move cues (CPU, offline)"}


class UnknownModelError(ValueError):
    """No backend serves this model name."""


def create_backend(model: str) -> Backend:
    """The backend serving ``model``.

    Raises:
        UnknownModelError: the message lists the available models.
    """
    if model == "forensic":
        from grounddefake.backends.forensic import ForensicBackend

        return ForensicBackend()
    known = ", ".join(f"{name} ({what})" for name, what in MODELS.items())
    raise UnknownModelError(f"unknown model '{model}'. Available: {known}")
