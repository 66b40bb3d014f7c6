"""``LabelSpace``: the labels a task answers in and which of them is the positive class.

Real/fake (positive ``fake``) is the default; a safety pack declares ``labels: [safe, unsafe]`` with
``positive: unsafe``. Every classification metric, every false positive and false negative, and the meaning of a
verdict's ``score`` (P(positive class)) read it. ``unknown`` is the one non-answer and is never a label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UNKNOWN = "unknown"
"""The one non-answer: unparseable, hedged, or the request failed."""
_LABEL = re.compile(r"[a-z0-9][a-z0-9_\- ]{0,39}")


def is_label(text: object) -> bool:
    """Whether ``text`` can be a label: lower-case letters, digits, ``-``, ``_`` and spaces, at most 40, and not
    ``unknown``.

    >>> is_label("unsafe"), is_label("[fake]"), is_label("unknown")
    (True, False, False)
    """
    return isinstance(text, str) and bool(_LABEL.fullmatch(text)) and text != UNKNOWN


class LabelSpaceError(ValueError):
    """A label space that cannot be used: fewer than two labels, a duplicate, or a positive class outside it."""


@dataclass(frozen=True)
class LabelSpace:
    """The labels of a task, in the pack's order, and its positive class.

    >>> space = LabelSpace(("safe", "unsafe"), "unsafe")
    >>> space.negatives, space.is_default
    (('safe',), False)
    >>> REAL_FAKE.positive, REAL_FAKE.negatives
    ('fake', ('real',))
    >>> LabelSpace(("safe", "unsafe"), "harmful")
    Traceback (most recent call last):
    grounddefake.label_space.LabelSpaceError: positive class 'harmful' is not one of the labels (safe, unsafe)
    """

    labels: tuple[str, ...]
    positive: str

    def __post_init__(self) -> None:
        labels = tuple(self.labels)
        object.__setattr__(self, "labels", labels)
        if len(labels) < 2:
            raise LabelSpaceError(f"a label space needs at least two labels, got {list(labels)}")
        if len(set(labels)) != len(labels):
            raise LabelSpaceError(f"a label is listed twice in {list(labels)}")
        for label in labels:
            if not is_label(label):
                raise LabelSpaceError(
                    f"label {label!r} must be lower-case text (letters, digits, '-', '_', spaces; at most 40) "
                    f"and not '{UNKNOWN}'"
                )
        if self.positive not in labels:
            raise LabelSpaceError(f"positive class {self.positive!r} is not one of the labels ({', '.join(labels)})")

    @property
    def negatives(self) -> tuple[str, ...]:
        """Every label but the positive one, in order."""
        return tuple(label for label in self.labels if label != self.positive)

    @property
    def is_default(self) -> bool:
        """Whether this is real/fake with ``fake`` positive."""
        return self == REAL_FAKE

    def with_positive(self, positive: str | None) -> LabelSpace:
        """The same labels with another positive class (None keeps this one)."""
        return self if positive is None else LabelSpace(self.labels, positive)

    def label_of(self, value: object) -> str | None:
        """``value`` as one of the labels (case and surrounding space ignored), or None.

        >>> LabelSpace(("safe", "unsafe"), "unsafe").label_of(" Unsafe "), REAL_FAKE.label_of("maybe")
        ('unsafe', None)
        """
        if not isinstance(value, str):
            return None
        text = value.strip().lower()
        return text if text in self.labels else None

    def to_json(self) -> dict[str, object]:
        return {"labels": list(self.labels), "positive": self.positive}


REAL_FAKE = LabelSpace(("real", "fake"), "fake")
"""The default task: is the image real or AI-generated / manipulated."""
SAFE_UNSAFE = LabelSpace(("safe", "unsafe"), "unsafe")
"""A rule pack's space: ``unsafe`` iff a rule is violated."""


def space_of(labels: Sequence[str] | None, positive: str | None) -> LabelSpace:
    """The space a run's ``config.json`` (or a pack) declares; real/fake when it declares none.

    >>> space_of(None, None) == REAL_FAKE, space_of(["safe", "unsafe"], "unsafe").positive
    (True, 'unsafe')
    """
    if not labels:
        return REAL_FAKE.with_positive(positive)
    return LabelSpace(tuple(labels), positive or labels[-1])


def space_from_truth(truths: Iterable[str | None], positive: str | None) -> LabelSpace:
    """The space of a dataset scored without a pack: real/fake unless ``positive`` names another class, then the
    labels the ground truth uses plus ``positive``, sorted.

    >>> space_from_truth(["safe", "unsafe", None], "unsafe").labels
    ('safe', 'unsafe')
    """
    if positive is None or positive in REAL_FAKE.labels:
        return REAL_FAKE.with_positive(positive)
    labels = sorted({t for t in truths if t is not None and t != UNKNOWN} | {positive})
    return LabelSpace(tuple(labels), positive)
