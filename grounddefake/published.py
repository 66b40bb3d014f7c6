"""Published numbers beside ours: a suite's ``published`` entries, checked, and our metric in the paper's scale.

Each entry names one published number (a value, and whether it is a fraction or a percent), the ``metrics.json``
key that reproduces it (``ours``, a dotted path such as ``localization.miou_2class``) and whether the two are
comparable (``comparable: yes|no``) with the reason — so a number is never set beside a different quantity without
saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grounddefake.compare import metric_at

SCALES = ("fraction", "percent")
_REQUIRED = ("system", "metric", "value", "scale", "source", "comparable", "reason")
_FIELDS = {*_REQUIRED, "ours", "setting"}


class PublishedError(ValueError):
    """A malformed ``published`` entry (names the entry and field)."""


@dataclass(frozen=True)
class PublishedNumber:
    """One number a paper published, and the key of ours that sits beside it.

    Attributes:
        system: the model or method the paper reports.
        metric: the paper's name of the number.
        value: the number as printed.
        scale: ``fraction`` (0.360) or ``percent`` (54.62).
        source: where it is printed (paper and table, repository file).
        ours: the dotted ``metrics.json`` key computing the same quantity; None when nothing here does.
        comparable: whether ours measures the same thing the same way.
        reason: why it is (or is not) comparable: what matches, what differs.
        setting: the paper's subset or protocol (a split, a training set), when it is not the whole benchmark.
    """

    system: str
    metric: str
    value: float
    scale: Literal["fraction", "percent"]
    source: str
    ours: str | None
    comparable: bool
    reason: str
    setting: str = ""

    @classmethod
    def from_json(cls, entry: object, where: str = "published") -> PublishedNumber:
        """One entry of a suite's ``published`` list.

        Raises:
            PublishedError: not a mapping, an unknown or missing field, a value that is not a number, a scale or
                ``comparable`` outside their choices, or ``comparable: no`` without a reason.

        >>> PublishedNumber.from_json({"system": "LEGION", "metric": "mIoU", "value": 54.62, "scale": "percent",
        ...     "source": "arXiv 2503.15264", "ours": "localization.miou_2class", "comparable": "yes",
        ...     "reason": "2-class mIoU"}).comparable
        True
        """
        if not isinstance(entry, Mapping):
            raise PublishedError(f"{where}: an entry is a mapping")
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            raise PublishedError(f"{where}: unknown field '{unknown[0]}' (allowed: {', '.join(sorted(_FIELDS))})")
        missing = [k for k in _REQUIRED if k not in entry]
        if missing:
            raise PublishedError(f"{where}: field '{missing[0]}' is required")
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PublishedError(f"{where}: field 'value' is one number, got {value!r}")
        if entry["scale"] not in SCALES:
            raise PublishedError(f"{where}: field 'scale' is one of {', '.join(SCALES)}, got {entry['scale']!r}")
        comparable = entry["comparable"]
        if comparable not in (True, False, "yes", "no"):
            raise PublishedError(f"{where}: field 'comparable' is yes or no, got {comparable!r}")
        ours = entry.get("ours")
        if ours is not None and (not isinstance(ours, str) or not ours.strip()):
            raise PublishedError(f"{where}: field 'ours' is a dotted metrics.json key, got {ours!r}")
        reason = str(entry["reason"] or "").strip()
        if not reason:
            raise PublishedError(f"{where}: field 'reason' says what matches or differs")
        return cls(
            system=str(entry["system"]),
            metric=str(entry["metric"]),
            value=float(value),
            scale=entry["scale"],
            source=str(entry["source"]),
            ours=ours,
            comparable=comparable in (True, "yes"),
            reason=reason,
            setting=str(entry.get("setting") or ""),
        )

    def ours_in_scale(self, metrics: Mapping[str, Any]) -> float | None:
        """Our value of :attr:`ours` in this number's scale (None when the run has no such number).

        >>> n = PublishedNumber("LEGION", "F1", 29.9, "percent", "paper", "localization.f1_mean", True, "same")
        >>> n.ours_in_scale({"localization": {"f1_mean": 0.25}})
        25.0
        """
        if self.ours is None:
            return None
        value = metric_at(dict(metrics), self.ours)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) * (100.0 if self.scale == "percent" else 1.0)


def beside_published(published: Sequence[PublishedNumber], metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per published number with ours beside it, for ``metrics.json → published`` and the reports."""
    return [
        {
            "system": p.system,
            "metric": p.metric,
            "setting": p.setting,
            "published": p.value,
            "scale": p.scale,
            "ours_key": p.ours,
            "ours": p.ours_in_scale(metrics),
            "comparable": p.comparable,
            "reason": p.reason,
            "source": p.source,
        }
        for p in published
    ]


def published_json(suite: str, published: Sequence[PublishedNumber], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics.json → published``: the suite's numbers with ours beside each, and what the columns mean."""
    return {"suite": suite, "rows": beside_published(published, metrics), "definition": DEFINITION}


DEFINITION = (
    "each published number of the suite beside ours: 'ours' is the run's value of 'ours_key' in the paper's scale "
    "(percent = ×100); 'comparable' says whether the two measure the same thing the same way, 'reason' what matches "
    "or differs; null: this run has no such number"
)
