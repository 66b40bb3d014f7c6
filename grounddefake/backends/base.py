"""The backend interface, where the backends import it from: see :mod:`grounddefake.backend_interface`."""

from __future__ import annotations

from grounddefake.backend_interface import Backend, BackendError, GenerationParams, Request

__all__ = ["Backend", "BackendError", "GenerationParams", "Request"]
