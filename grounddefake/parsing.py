"""Turn a model's completion into a :class:`Verdict` in pixels of the original image.

Order of evidence: structured JSON anywhere in the text (fenced or bare), then explicit tags or keys
(``<verdict>fake</verdict>``, ``Answer: real``), then free-text cues with simple negation. A hedged or
contradictory answer is ``unknown`` with a reason, never a guess. Boxes go model space → input pixels
(the convention) → original pixels (the Transform) → ordered, clipped, non-empty, each fix recorded.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from grounddefake.conventions import Convention, get_convention
from grounddefake.types import Completion, Region, Size, TokenLogprob, Transform, Verdict, VerdictLabel

MAX_TEXT = 200_000
"""Model output is untrusted: only this many characters are parsed and kept."""
MAX_LABEL = 200
"""Region labels are cut to this many characters."""

_VERDICT_KEYS = ("verdict", "label", "answer", "prediction", "classification", "result", "is_fake")
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation", "analysis", "evidence")
_REGION_KEYS = ("regions", "boxes", "bboxes", "artifacts", "objects", "detections", "areas")
_BOX_KEYS = ("box", "bbox", "bbox_2d", "box_2d", "coordinates")
_REGION_LABEL_KEYS = ("label", "description", "reason", "artifact", "name", "class_name")
_SCORE_KEYS = ("score", "confidence", "probability")

_FAKE_WORDS = (
    r"ai[- ]generated|computer[- ]generated|generated|synthetic|synthesi[sz]ed|manipulated|tampered|"
    r"edited|forged|doctored|fake|photoshopped|inpainted|spliced"
)
_REAL_WORDS = r"real|authentic|genuine|natural photograph|natural photo|unedited|unaltered|unmanipulated|pristine"
_CUE = re.compile(rf"\b({_FAKE_WORDS}|{_REAL_WORDS})\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(not|no|isn't|is not|wasn't|never|neither|nor|aren't|doesn't)\s+([\w-]+\s+){0,3}$", re.I)
_HEDGE = re.compile(
    r"\b(cannot|can't|can not|unable to|impossible to|hard to|difficult to)\s+(determine|tell|say|judge|decide)|"
    r"\b(uncertain|unclear|inconclusive|not sure|undetermined)\b",
    re.IGNORECASE,
)
_TAG = re.compile(
    r"<(verdict|answer|label)>\s*(.*?)\s*</\1>|\b(?:final answer|answer|verdict|label|prediction|conclusion)\s*[:=]\s*"
    r"\**\s*([A-Za-z][A-Za-z \-]{0,40})",
    re.IGNORECASE,
)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


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
    if _HEDGE.search(text):
        return None, "hedged answer: the model says it cannot decide"
    labels: set[str] = set()
    for match in _CUE.finditer(text):
        word = match.group(1).lower()
        label = "real" if re.fullmatch(_REAL_WORDS, word) else "fake"
        if _NEGATION.search(text[max(0, match.start() - 40) : match.start()]):
            label = "fake" if label == "real" else "real"
        labels.add(label)
    if len(labels) == 1:
        return labels.pop(), None  # type: ignore[return-value]
    if labels:
        return None, "contradictory answer: cues for both real and fake"
    return None, "no verdict found in the answer"


def iter_json(text: str) -> Iterable[tuple[Any, int, int]]:
    """Yield (value, start, end) for every JSON object or array in ``text``, outermost first, fenced ones first."""
    decoder = json.JSONDecoder()
    spans: list[tuple[int, int]] = []
    for fence in _FENCE.finditer(text):
        body = fence.group(1).strip()
        value = _loads_tolerant(body)
        if value is not None:
            spans.append((fence.start(), fence.end()))
            yield value, fence.start(), fence.end()
    i = 0
    while i < len(text):
        if text[i] in "{[" and not any(s <= i < e for s, e in spans):
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                value, end = None, i + 1
            if isinstance(value, (dict, list)):
                yield value, i, end
                i = end
                continue
        i += 1


def _loads_tolerant(body: str) -> Any:
    """json.loads, then with trailing commas removed and single quotes turned double."""
    for candidate in (body, re.sub(r",\s*([}\]])", r"\1", body)):
        for text in (candidate, candidate.replace("'", '"')):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                continue
    return None


def _first_key(data: Mapping[str, Any], keys: Sequence[str]) -> Any:
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        if key in lowered:
            return lowered[key]
    return None


def _region_items(value: Any) -> list[Any] | None:
    """The region items a JSON value holds (possibly none: ``[]``), or None when it says nothing about regions.

    A regions key holding one object counts as one region; an object with a box key is itself a region; a bare list
    of 4 numbers is one box (LLaVA style).
    """
    if isinstance(value, Mapping):
        found = _first_key(value, _REGION_KEYS)
        if found is not None:
            return found if isinstance(found, list) else [found]
        if _first_key(value, _BOX_KEYS) is not None:
            return [value]
        for nested in value.values():
            if isinstance(nested, Mapping):
                inner = _region_items(nested)
                if inner is not None:
                    return inner
        return None
    if isinstance(value, list):
        if len(value) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [value]
        if all(isinstance(v, (Mapping, list)) for v in value):
            return value
    return None


def _raw_box(item: Any) -> tuple[list[Any] | None, str | None, float | None]:
    """(4 values, label, score) from a region item (a mapping with a box key, or a bare list of 4 numbers)."""
    if isinstance(item, Mapping):
        box = _first_key(item, _BOX_KEYS)
        label = _first_key(item, _REGION_LABEL_KEYS)
        score = _first_key(item, _SCORE_KEYS)
        if isinstance(box, list) and len(box) == 1 and isinstance(box[0], list):
            box = box[0]
        return (
            box if isinstance(box, list) else None,
            str(label) if label is not None else None,
            float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
        )
    if isinstance(item, list):
        return item, None, None
    return None, None, None


MIN_EXTENT = 0.01
"""Boxes narrower or lower than this many pixels are dropped as empty (records keep 3 decimals)."""


def sanitize_box(box: Sequence[float], size: Size) -> tuple[tuple[float, float, float, float] | None, list[str]]:
    """Reorder corners, clip to the image, drop empty boxes. Returns (box or None, reasons for each fix)."""
    notes = []
    x1, y1, x2, y2 = box
    if x1 > x2 or y1 > y2:
        notes.append(f"box {_fmt(box)}: corners reordered")
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
    w, h = size
    clipped = (min(max(x1, 0.0), w), min(max(y1, 0.0), h), min(max(x2, 0.0), w), min(max(y2, 0.0), h))
    if clipped != (x1, y1, x2, y2):
        notes.append(f"box {_fmt((x1, y1, x2, y2))}: clipped to the image {w}x{h}")
    if not (clipped[2] - clipped[0] >= MIN_EXTENT and clipped[3] - clipped[1] >= MIN_EXTENT):
        notes.append(f"box {_fmt((x1, y1, x2, y2))}: dropped, no area inside the image")
        return None, notes
    return clipped, notes


def _fmt(box: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in box) + ")"


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
    """
    size = (int(image_size[0]), int(image_size[1]))
    transform = Transform.identity(size) if input_size is None else Transform.resize(size, input_size)
    return parse_with_transform(text, convention, transform, logprobs)


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
    label: VerdictLabel | None = None
    rationale = ""
    region_items: list[Any] | None = None
    verdict_regions: list[Any] | None = None
    spans: list[tuple[int, int]] = []
    for value, start, end in iter_json(raw):
        spans.append((start, end))
        items = _region_items(value)
        if isinstance(value, Mapping):
            verdict = normalize_label(_first_key(value, _VERDICT_KEYS))
            if label is None and verdict is not None:
                label = verdict
                verdict_regions = items  # regions from the object that carries the verdict win
            found = _first_key(value, _RATIONALE_KEYS)
            if not rationale and isinstance(found, str):
                rationale = found.strip()
        if region_items is None:
            region_items = items
    if verdict_regions is not None:
        region_items = verdict_regions
    prose = _strip_spans(raw, spans)
    if label is None:
        for match in _TAG.finditer(prose):
            label = normalize_label(match.group(2) if match.group(2) is not None else match.group(3))
            if label is not None:
                break
    if label is None:
        label, reason = free_text_label(prose)
        if reason:
            errors.append(reason)
    if not rationale:
        rationale = re.sub(r"</?\w+>", "", prose).strip()
    regions = _ground(region_items or [], convention, transform, errors)
    return Verdict(
        label=label or "unknown",
        score=score_from_logprobs(logprobs),
        rationale=rationale[:10_000],
        regions=tuple(regions),
        raw=raw,
        parse_errors=tuple(errors),
        image_size=transform.original_size,
    )


def _strip_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start >= last:
            out.append(text[last:start])
            last = end
    out.append(text[last:])
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip()


def _ground(
    items: Sequence[Any], convention: str | Convention | None, transform: Transform, errors: list[str]
) -> list[Region]:
    if not items:
        return []
    if convention is None:
        errors.append(f"{len(items)} region(s) ignored: no box convention was given")
        return []
    conv = get_convention(convention)
    regions = []
    for i, item in enumerate(items[:1000]):
        values, label, score = _raw_box(item)
        if values is None or len(values) != 4:
            errors.append(f"region {i}: no box of 4 numbers in {json.dumps(item)[:80]}")
            continue
        try:
            numbers = [float(v) for v in values]
        except (TypeError, ValueError):
            errors.append(f"region {i}: box values are not numbers: {json.dumps(values)[:80]}")
            continue
        if not all(math.isfinite(v) for v in numbers):
            errors.append(f"region {i}: box values are not finite")
            continue
        box = transform.box_to_original(conv.to_input_pixels(numbers, transform.input_size))
        clean, notes = sanitize_box(box, transform.original_size)
        errors.extend(f"region {i}: {note}" for note in notes)
        if clean is None:
            continue
        if score is not None and not math.isfinite(score):
            errors.append(f"region {i}: score {score} is not a finite number; dropped the score")
            score = None
        if score is not None:
            score = min(max(score, 0.0), 1.0)
        regions.append(Region(clean, label=None if label is None else label[:MAX_LABEL], score=score))
    return regions
