"""The verdict a model's words state: from JSON keys, explicit tags, or free text with negation — never a guess.

Order of evidence: a verdict key of the answer's JSON, then a verdict tag or line (``<verdict>fake</verdict>``,
``Answer: real``, ``**Classification:** Fake``), then free-text cues. Free text counts the synonyms of each label,
flips a cue after a negation ("not AI-generated" → real), ignores a restated question ("real or AI-generated?") and
returns ``None`` with a reason when the answer hedges or cues disagree.

Every pattern here is linear in the text: no lazy group between unbounded runs, bounded runs where a match could
be retried, and the cue patterns run on lower-cased text (case-insensitive matching costs Python's
``re`` three times as much).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from grounddefake.label_space import LabelSpace
from grounddefake.types import TokenLogprob, VerdictLabel

VERDICT_KEYS = ("verdict", "label", "answer", "prediction", "classification", "result", "judgement", "judgment")
"""JSON keys whose value is the verdict ("fake", "AI-generated", true, ...)."""
FAKE_FLAG_KEYS = ("is_fake", "is_ai_generated", "is_generated", "is_synthetic", "is_manipulated", "fake")
"""JSON keys whose truth means fake (true / "yes")."""
REAL_FLAG_KEYS = ("is_real", "is_authentic", "is_genuine", "real")
"""JSON keys whose truth means real."""

_FAKE_WORDS = (
    r"ai[- ]generated|computer[- ]generated|generated|synthetic|synthesi[sz]ed|manipulated|tampered|"
    r"edited|forged|doctored|fake|photoshopped|inpainted|spliced"
)
_REAL_WORDS = r"real|authentic|genuine|natural photograph|natural photo|unedited|unaltered|unmanipulated|pristine"
_REAL = re.compile(_REAL_WORDS)
_FAKE_LABEL = re.compile(rf"(?:{_FAKE_WORDS})(?: image| photo| photograph)?")
_REAL_LABEL = re.compile(rf"(?:{_REAL_WORDS})(?: image| photo| photograph)?")
_CUE = re.compile(rf"\b({_FAKE_WORDS}|{_REAL_WORDS})\b")
_NEGATION = re.compile(
    r"\b(?:not|no(?! doubt)|never|neither|nor|without|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|do not|"
    r"does not|did not|hardly)\s+(?:[\w'-]+\s+){0,5}$"
)
_QUESTION = re.compile(
    rf"\b(?:{_FAKE_WORDS}|{_REAL_WORDS})\s*(?:,\s*|\s+)(?:or|vs\.?|versus)\s+(?:an?\s+)?"
    rf"(?:{_FAKE_WORDS}|{_REAL_WORDS})\b"
)
_HEDGE = re.compile(
    r"\b(?:cannot|can't|can not|unable to|impossible to|hard to|difficult to)\s+(?:determine|tell|say|judge|decide)|"
    r"\b(?:uncertain|unclear|inconclusive|not sure|undetermined)\b"
)
_TAG = re.compile(r"<(verdict|answer|label|classification)>([^<]{0,100})</\1>")
_LINE = re.compile(
    r"\b(?:final answer|answer|verdict|label|prediction|conclusion|classification|result|judge?ment)"
    r"(?: is)?[*\s]{0,6}[:=][*\s]{0,6}([a-z][a-z \-]{0,40})"
)
VERDICT_TAG = re.compile(r"<(verdict|answer|label|classification)>[^<]{0,100}</\1>", re.IGNORECASE)
"""A verdict tag and its content: not part of the rationale."""
_YES = {"yes", "true", "y", "1"}
_NO = {"no", "false", "n", "0"}


def normalize_label(value: Any) -> VerdictLabel | None:
    """Map a verdict value ("Fake", "AI-generated", "authentic", True, ...) to "real"/"fake", else None."""
    if isinstance(value, bool):
        return "fake" if value else "real"
    if not isinstance(value, str):
        return None
    text = value.strip().lower().strip(".!\"'*` ")
    if not text:
        return None
    if _FAKE_LABEL.fullmatch(text):
        return "fake"
    if _REAL_LABEL.fullmatch(text):
        return "real"
    return free_text_label(text[:500])[0]


def json_label(data: Mapping[Any, Any], *, keys: Sequence[str] = VERDICT_KEYS) -> VerdictLabel | None:
    """The verdict a JSON object states: a verdict key (one nested object deep), or a fake / real flag."""
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        if key not in lowered:
            continue
        value = lowered[key]
        if isinstance(value, Mapping):
            value = next((value[k] for k in value if str(k).lower() in keys), None)
        label = normalize_label(value)
        if label is not None:
            return label
    for flags, when_true in ((FAKE_FLAG_KEYS, "fake"), (REAL_FLAG_KEYS, "real")):
        for key in flags:
            truth = _truth(lowered.get(key))
            if truth is not None:
                other = "real" if when_true == "fake" else "fake"
                return when_true if truth else other  # type: ignore[return-value]
    return None


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _YES else False if text in _NO else None
    return None


def tagged_label(text: str) -> VerdictLabel | None:
    """The verdict of the first verdict tag or verdict line (``Answer: real``) that names a label."""
    lowered = text.lower()
    for pattern in (_TAG, _LINE):
        for match in pattern.finditer(lowered):
            label = normalize_label(match.group(match.lastindex or 0))
            if label is not None:
                return label
    return None


def free_text_label(text: str) -> tuple[VerdictLabel | None, str | None]:
    """Label from free-text cues with negation ("not AI-generated" → real). Returns (label, reason if none)."""
    text = _QUESTION.sub(" ", text.lower())
    if _HEDGE.search(text):
        return None, "hedged answer: the model says it cannot decide"
    labels: set[str] = set()
    for match in _CUE.finditer(text):
        label = "real" if _REAL.fullmatch(match.group(1)) else "fake"
        if _NEGATION.search(text, max(0, match.start() - 60), match.start()):
            label = "fake" if label == "real" else "real"
        labels.add(label)
        if len(labels) == 2:
            return None, "contradictory answer: cues for both real and fake"
    if labels:
        return labels.pop(), None  # type: ignore[return-value]
    return None, "no verdict found in the answer"


def score_from_logprobs(logprobs: Sequence[TokenLogprob] | None) -> float | None:
    """P(fake) from the first verdict token, renormalised over the verdict vocabulary among its alternatives."""
    if not logprobs:
        return None
    for token in logprobs:
        if normalize_label(token.token) is None:
            continue
        mass = {"real": 0.0, "fake": 0.0}
        alternatives = dict(token.top)
        alternatives.setdefault(token.token, token.logprob)
        for text, logprob in alternatives.items():
            label = normalize_label(text)
            if label in mass:
                mass[label] += math.exp(logprob)
        total = mass["real"] + mass["fake"]
        return mass["fake"] / total if total > 0 else None
    return None


def space_label(value: Any, space: LabelSpace) -> VerdictLabel | None:
    """A JSON value or a verdict-tag text that is one of ``space``'s labels, for a task other than real/fake.

    >>> from grounddefake.label_space import REAL_FAKE
    >>> space_label("Unsafe.", LabelSpace(("safe", "unsafe"), "unsafe")), space_label("maybe", REAL_FAKE)
    ('unsafe', None)
    """
    if space.is_default:
        return normalize_label(value)
    return space.label_of(value.strip(".!\"'*` ")) if isinstance(value, str) else None


def json_space_label(data: Mapping[Any, Any], space: LabelSpace, keys: Sequence[str] = VERDICT_KEYS) -> str | None:
    """The label a JSON object's verdict key (one nested object deep) names, in ``space``."""
    if space.is_default:
        return json_label(data, keys=keys)
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        value = lowered.get(key)
        if isinstance(value, Mapping):
            value = next((value[k] for k in value if str(k).lower() in keys), None)
        label = space_label(value, space)
        if label is not None:
            return label
    return None


def text_space_label(text: str, space: LabelSpace) -> tuple[VerdictLabel | None, str | None]:
    """The label a free-text answer states, in ``space``: a verdict tag or line first, then the labels named as whole
    words, a negated one ("not unsafe") standing for the other label of a two-label space. Returns (label, reason
    when none).

    >>> safety = LabelSpace(("safe", "unsafe"), "unsafe")
    >>> text_space_label("Verdict: unsafe. A knife is raised.", safety), text_space_label("It is not unsafe.", safety)
    (('unsafe', None), ('safe', None))
    """
    if space.is_default:
        tagged = tagged_label(text)
        return (tagged, None) if tagged is not None else free_text_label(text)
    lowered = text.lower()
    for pattern in (_TAG, _LINE):
        for match in pattern.finditer(lowered):
            words = match.group(match.lastindex or 0).split()
            label = space_label(words[0], space) if words else None
            if label is not None:
                return label, None
    if _HEDGE.search(lowered):
        return None, "hedged answer: the model says it cannot decide"
    found: set[str] = set()
    names = "|".join(re.escape(label) for label in sorted(space.labels, key=len, reverse=True))
    for match in re.finditer(rf"(?<![\w-])({names})(?![\w-])", lowered):
        label = match.group(1)
        if _NEGATION.search(lowered, max(0, match.start() - 60), match.start()):
            if len(space.labels) != 2:
                continue
            label = next(other for other in space.labels if other != label)
        found.add(label)
    if len(found) > 1:
        return None, f"contradictory answer: cues for {' and '.join(sorted(found))}"
    if found:
        return found.pop(), None
    return None, "no verdict found in the answer"
