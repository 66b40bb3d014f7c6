"""A model's raw quality scalar (HEIE's plausibility score) apart from ``score``, which is always P(positive class).

A pack that asks for a scalar declares it (``scalar: {scale: 1, direction: plausibility, key: score}``): the JSON key
the answer puts it under, its scale (values lie in [0, scale]) and its direction — ``plausibility`` (higher = more
plausible, fewer defects) or ``implausibility`` (higher = more defective). The answer's value becomes a
:class:`Scalar`, and P(implausible) follows from it when the answer has no better score (:meth:`Scalar.implausibility`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

Direction = Literal["plausibility", "implausibility"]
DIRECTIONS: tuple[Direction, ...] = ("plausibility", "implausibility")


class ScalarError(ValueError):
    """A scalar declaration or record value that cannot be used."""


def direction_of(value: object, where: str = "direction") -> Direction:
    """``value`` as a direction.

    >>> direction_of("plausibility")
    'plausibility'

    Raises:
        ScalarError: not one of :data:`DIRECTIONS`.
    """
    if value not in DIRECTIONS:
        raise ScalarError(f"{where} must be one of {', '.join(DIRECTIONS)}, got {value!r:.40}")
    return cast(Direction, value)


def _number(value: object) -> float | None:
    """A finite number (not a boolean), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Scalar:
    """The model's raw scalar: ``value`` in [0, ``scale``], read in ``direction``.

    >>> Scalar(0.8, 1.0, "plausibility").implausibility
    0.2
    >>> Scalar(3.0, 10.0, "implausibility").implausibility
    0.3
    """

    value: float
    scale: float
    direction: Direction

    def __post_init__(self) -> None:
        if not self.scale > 0 or not math.isfinite(self.scale):
            raise ScalarError(f"scale must be a positive number, got {self.scale!r}")
        if not 0 <= self.value <= self.scale:
            raise ScalarError(f"value {self.value!r} is outside [0, {self.scale:g}]")
        direction_of(self.direction)

    @property
    def fraction(self) -> float:
        """``value / scale``, in the scalar's own direction."""
        return self.value / self.scale

    @property
    def implausibility(self) -> float:
        """P(implausible) read off the scalar: ``1 − value/scale`` for a plausibility scalar, ``value/scale`` else."""
        fraction = self.fraction
        return round(1.0 - fraction if self.direction == "plausibility" else fraction, 12)

    def to_json(self) -> dict[str, Any]:
        return {"value": round(self.value, 6), "scale": self.scale, "direction": self.direction}

    @classmethod
    def from_json(cls, data: object) -> Scalar:
        """A record's ``scalar``.

        Raises:
            ScalarError: not an object of a finite value, a positive scale and a direction.
        """
        if not isinstance(data, Mapping):
            raise ScalarError(f"scalar {data!r:.60} is not an object")
        value, scale = _number(data.get("value")), _number(data.get("scale"))
        if value is None or scale is None:
            raise ScalarError(f"scalar {dict(data)!r:.80} needs a numeric value and scale")
        return cls(value, scale, direction_of(data.get("direction"), "scalar direction"))


@dataclass(frozen=True)
class ScalarSpec:
    """A pack's declaration of the scalar it asks for: the answer key, the scale and the direction.

    >>> spec = ScalarSpec(scale=10.0, direction="plausibility")
    >>> spec.read({"score": 8, "regions": []})
    (Scalar(value=8.0, scale=10.0, direction='plausibility'), None)
    >>> spec.read({"score": 12})
    (None, 'score 12 is outside [0, 10]; the scalar is ignored')
    """

    scale: float = 1.0
    direction: Direction = "plausibility"
    key: str = "score"

    def read(self, data: Mapping[Any, Any]) -> tuple[Scalar | None, str | None]:
        """The scalar a JSON answer object holds under ``key`` (case-insensitive), and a note when it is unusable.

        A number, or text that is one ("0.8"); out of range or not a number: None with a note. No key: (None, None).
        """
        lowered = {str(k).lower(): v for k, v in data.items()}
        if self.key.lower() not in lowered:
            return None, None
        raw = lowered[self.key.lower()]
        value = _number(raw)
        if value is None and isinstance(raw, str):
            try:
                value = _number(float(raw.strip().rstrip("%")))
            except ValueError:
                value = None
        if value is None:
            return None, f"{self.key} {raw!r:.40} is not a number; the scalar is ignored"
        if not 0 <= value <= self.scale:
            return None, f"{self.key} {value:g} is outside [0, {self.scale:g}]; the scalar is ignored"
        return Scalar(value, self.scale, self.direction), None

    def to_json(self) -> dict[str, Any]:
        return {"scale": self.scale, "direction": self.direction, "key": self.key}

    @classmethod
    def from_json(cls, data: object) -> ScalarSpec:
        """A pack's ``scalar`` field.

        Raises:
            ScalarError: not a mapping of ``scale`` (positive), ``direction`` and optional ``key``.
        """
        if not isinstance(data, Mapping):
            raise ScalarError("must be a mapping {scale, direction, key}")
        unknown = sorted(set(map(str, data)) - {"scale", "direction", "key"})
        if unknown:
            raise ScalarError(f"unknown key '{unknown[0]}' (allowed: direction, key, scale)")
        scale = _number(data.get("scale", 1))
        if scale is None or scale <= 0:
            raise ScalarError(f"scale must be a positive number, got {data.get('scale')!r:.40}")
        key = data.get("key", "score")
        if not isinstance(key, str) or not key.strip():
            raise ScalarError("key must be the answer's JSON key, e.g. score")
        return cls(scale, direction_of(data.get("direction")), key.strip())
