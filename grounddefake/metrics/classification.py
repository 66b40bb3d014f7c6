"""Image-level classification: positive class = fake; ``unknown`` answers count as wrong in ``accuracy``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFINITION = {
    "positive_class": "fake",
    "counted": "samples with a ground-truth label of real or fake",
    "unknown": "an unparseable, hedged or failed answer is 'unknown'; it counts as wrong in accuracy, "
    "accuracy_real and accuracy_fake, and is excluded from accuracy_answered",
}


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class ClassificationScorer:
    """Streaming accuracy counts; memory is a 2×3 table whatever the dataset size."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def update(self, truth: str | None, predicted: str) -> None:
        """Add one sample: ``truth`` in {real, fake, None}, ``predicted`` in {real, fake, unknown}."""
        if truth not in ("real", "fake"):
            return
        key = (truth, predicted if predicted in ("real", "fake") else "unknown")
        self.counts[key] = self.counts.get(key, 0) + 1

    def compute(self) -> dict[str, Any]:
        c = self.counts.get
        real = sum(c(("real", p), 0) for p in ("real", "fake", "unknown"))
        fake = sum(c(("fake", p), 0) for p in ("real", "fake", "unknown"))
        unknown = c(("real", "unknown"), 0) + c(("fake", "unknown"), 0)
        correct = c(("real", "real"), 0) + c(("fake", "fake"), 0)
        n = real + fake
        return {
            "n": n,
            "n_real": real,
            "n_fake": fake,
            "n_unknown": unknown,
            "coverage": _ratio(n - unknown, n),
            "accuracy": _ratio(correct, n),
            "accuracy_answered": _ratio(correct, n - unknown),
            "accuracy_real": _ratio(c(("real", "real"), 0), real),
            "accuracy_fake": _ratio(c(("fake", "fake"), 0), fake),
            "confusion": {t: {p: c((t, p), 0) for p in ("real", "fake", "unknown")} for t in ("real", "fake")},
            "definition": DEFINITION,
        }
