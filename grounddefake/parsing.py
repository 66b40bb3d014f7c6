"""Turn a model's completion into a :class:`Verdict` in pixels of the original image.

Order of evidence: structured JSON anywhere in the text (fenced or bare), then explicit tags or keys
(``<verdict>fake</verdict>``, ``Answer: real``), then free-text cues with simple negation. A hedged or
contradictory answer is ``unknown`` with a reason, never a guess. Boxes go model space → input pixels
(the convention) → original pixels (the Transform) → ordered, clipped, non-empty, each fix recorded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from grounddefake.box_syntax import MAX_ITEMS, Markup, first_key, is_region, iter_json, json_region, region_items
from grounddefake.conventions import Convention, get_convention
from grounddefake.types import Completion, Region, Size, TokenLogprob, Transform, Verdict, VerdictLabel

MAX_TEXT = 200_000
"""Model output is untrusted: only this many characters are parsed and kept."""
MAX_RATIONALE = 10_000
"""The rationale keeps at most this many characters."""

_VERDICT_KEYS = ("verdict", "label", "answer", "prediction", "classification", "result", "is_fake")
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation", "analysis", "evidence")

_FAKE_WORDS = (
    r"ai[- ]generated|computer[- ]generated|generated|synthetic|synthesi[sz]ed|manipulated|tampered|"
    r"edited|forged|doctored|fake|photoshopped|inpainted|spliced"
)
_REAL_WORDS = r"real|authentic|genuine|natural photograph|natural photo|unedited|unaltered|unmanipulated|pristine"
# The cue patterns run on lower-cased text: case-insensitive matching costs Python's re three times as much.
_REAL = re.compile(_REAL_WORDS)
_CUE = re.compile(rf"\b({_FAKE_WORDS}|{_REAL_WORDS})\b")
_NEGATION = re.compile(r"\b(not|no|isn't|is not|wasn't|never|neither|nor|aren't|doesn't)\s+([\w-]+\s+){0,3}$")
_HEDGE = re.compile(
    r"\b(cannot|can't|can not|unable to|impossible to|hard to|difficult to)\s+(determine|tell|say|judge|decide)|"
    r"\b(uncertain|unclear|inconclusive|not sure|undetermined)\b"
)
_TAG = re.compile(
    r"<(verdict|answer|label)>\s*(.*?)\s*</\1>|\b(?:final answer|answer|verdict|label|prediction|conclusion)\s*[:=]\s*"
    r"\**\s*([a-z][a-z \-]{0,40})"
)
_THINK = re.compile(r"<think>(.*?)(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_RATIONALE_TAG = re.compile(r"<(rationale|reason|reasoning|explanation|analysis)>(.*?)</\1>", re.DOTALL | re.I)
_VERDICT_TAG = re.compile(r"<(verdict|answer|label)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_MARKUP_NOISE = re.compile(
    r"<\|im_start\|>(?:assistant|user|system)?|<\|[^<>|]{0,40}\|>|</?[A-Za-z_][\w-]{0,30}/?>|</?s>"
)


def normalize_label(value: Any) -> VerdictLabel | None:
    """Map a verdict value ("Fake", "AI-generated", "authentic", True, ...) to "real"/"fake", else None."""
    if isinstance(value, bool):
        return "fake" if value else "real"
    if not isinstance(value, str):
        return None
    text = value.strip().lower().strip(".!\"'*` ")
    if not text:
        return None
    if re.fullmatch(rf"(?:{_FAKE_WORDS})(?: image| photo| photograph)?", text):
        return "fake"
    if re.fullmatch(rf"(?:{_REAL_WORDS})(?: image| photo| photograph)?", text):
        return "real"
    return free_text_label(text)[0]


def free_text_label(text: str) -> tuple[VerdictLabel | None, str | None]:
    """Label from free-text cues with negation ("not AI-generated" → real). Returns (label, reason if none)."""
    text = text.lower()
    if _HEDGE.search(text):
        return None, "hedged answer: the model says it cannot decide"
    labels: set[str] = set()
    for match in _CUE.finditer(text):
        label = "real" if _REAL.fullmatch(match.group(1)) else "fake"
        if _NEGATION.search(text[max(0, match.start() - 40) : match.start()]):
            label = "fake" if label == "real" else "real"
        labels.add(label)
    if len(labels) == 1:
        return labels.pop(), None  # type: ignore[return-value]
    if labels:
        return None, "contradictory answer: cues for both real and fake"
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


def parse(
    text: str,
    convention: str | Convention | None,
    image_size: Size,
    input_size: Size | None = None,
    logprobs: Sequence[TokenLogprob] | None = None,
) -> Verdict:
    """Parse model ``text`` into a Verdict with regions in pixels of the original image.

    Args:
        text: the model's answer.
        convention: the box convention the model was asked to use (None: regions are not parsed).
        image_size: (W, H) of the original image.
        input_size: (w, h) of the image the model saw, when it was resized (default: the original).
        logprobs: verdict-token log-probabilities, when the backend returned them.

    Raises:
        ValueError: a size that is not two positive integers.
        KeyError: an unknown convention name (the message lists the known ones).
    """
    size = _size(image_size, "image_size")
    transform = (
        Transform.identity(size) if input_size is None else Transform.resize(size, _size(input_size, "input_size"))
    )
    return parse_with_transform(text, convention, transform, logprobs)


def _size(value: Sequence[int], name: str) -> Size:
    try:
        width, height = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (width, height), got {value!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return (width, height)


def parse_completion(completion: Completion, convention: str | Convention | None, transform: Transform) -> Verdict:
    """Parse a backend Completion whose image was prepared with ``transform``."""
    return parse_with_transform(completion.text, convention, transform, completion.logprobs)


def parse_with_transform(
    text: str,
    convention: str | Convention | None,
    transform: Transform,
    logprobs: Sequence[TokenLogprob] | None = None,
) -> Verdict:
    """:func:`parse` with an explicit image Transform (resize and padding)."""
    raw = text if len(text) <= MAX_TEXT else text[:MAX_TEXT]
    errors: list[str] = []
    if len(text) > MAX_TEXT:
        errors.append(f"answer truncated to {MAX_TEXT} characters")
    conv = None if convention is None else get_convention(convention)
    label: VerdictLabel | None = None
    rationale = ""
    items: list[Any] | None = None
    verdict_items: list[Any] | None = None
    json_spans: list[Markup] = []
    for found in iter_json(raw):
        if not _numbers_only(found.value):  # bare number lists may be a family's native markup: read below
            json_spans.append(Markup(found.start, found.end))
        if found.repaired:
            errors.append("truncated JSON repaired: kept its complete members")
        here = region_items(found.value)
        if isinstance(found.value, Mapping) and not is_region(found.value):
            verdict = normalize_label(first_key(found.value, _VERDICT_KEYS))
            if label is None and verdict is not None:
                label, verdict_items = verdict, here  # regions from the object that carries the verdict win
            said = first_key(found.value, _RATIONALE_KEYS)
            if not rationale and isinstance(said, str):
                rationale = said.strip()
        if items is None:
            items = here
    if verdict_items is not None:
        items = verdict_items
    prose = _replace(raw, json_spans)
    model_regions = None
    if items is not None:
        model_regions = [json_region(item, conv.axis_order if conv else "xy") for item in items[:MAX_ITEMS]]
    elif conv is not None:
        native = conv.read_native(prose)
        if native.regions:
            model_regions = list(native.regions)
            prose = _replace(prose, native.markup)
    answer = _THINK.sub(" ", prose)
    if label is None:
        label = _tagged_label(answer)
    if label is None:
        label, reason = free_text_label(_VERDICT_TAG.sub(" ", answer))
        if reason:
            errors.append(reason)
    if not rationale:
        rationale = _rationale(answer, prose)
    regions: list[Region] = []
    if model_regions:
        if conv is None:
            errors.append(f"{len(model_regions)} region(s) ignored: no box convention was given")
        else:
            regions, notes = conv.ground(model_regions, transform)
            errors.extend(notes)
    return Verdict(
        label=label or "unknown",
        score=score_from_logprobs(logprobs),
        rationale=rationale[:MAX_RATIONALE],
        regions=tuple(regions),
        raw=raw,
        parse_errors=tuple(errors),
        image_size=transform.original_size,
    )


def _numbers_only(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, (int, float)) or (isinstance(v, list) and _numbers_only(v)) for v in value
    )


def _tagged_label(text: str) -> VerdictLabel | None:
    for match in _TAG.finditer(text.lower()):
        label = normalize_label(match.group(2) if match.group(2) is not None else match.group(3))
        if label is not None:
            return label
    return None


def _rationale(answer: str, prose: str) -> str:
    """The model's explanation: a rationale tag's content, else the prose without verdict tags and markup.

    A reasoning model's ``<think>`` block is the rationale only when nothing else was said.
    """
    tagged = _RATIONALE_TAG.search(answer)
    if tagged:
        return _tidy(tagged.group(2))
    said = _tidy(_VERDICT_TAG.sub(" ", answer))
    if said:
        return said
    thought = _THINK.search(prose)
    return _tidy(thought.group(1)) if thought else ""


_SPACES = re.compile(r"[ \t]+")
_LINE_BREAK = re.compile(r"[ \t]*\n[ \t]*")
_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """Model text without markup noise, runs of spaces or more than one blank line."""
    text = _LINE_BREAK.sub("\n", _SPACES.sub(" ", _MARKUP_NOISE.sub("", text)))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _replace(text: str, markup: Sequence[Markup]) -> str:
    """``text`` with each markup span replaced by what it keeps (a region's label), spans in reading order."""
    if not markup:
        return text
    out, last = [], 0
    for span in sorted(markup, key=lambda m: m.start):
        if span.start >= last:
            out.append(text[last : span.start])
            out.append(span.keep)
            last = span.end
    out.append(text[last:])
    return "".join(out)
