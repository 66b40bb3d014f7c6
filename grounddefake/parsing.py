"""Turn a model's completion into a :class:`Verdict` in pixels of the original image.

Order of evidence: structured JSON anywhere in the text (fenced or bare), then explicit tags or keys
(``<verdict>fake</verdict>``, ``Answer: real``), then free-text cues with simple negation. A hedged or
contradictory answer is ``unknown`` with a reason, never a guess. Boxes go model space → input pixels
(the convention) → original pixels (the Transform) → ordered, clipped, non-empty, each fix recorded.

One bad item never costs the others: numbers past a box of 4 keep every complete box and are noted. A JSON box of 5
numbers ``[x1, y1, x2, y2, s]`` is the box with ``s`` as its score when ``s`` lies in [0, 1] and the item has no
score key (else ``s`` is ignored); 8 numbers are two boxes (:func:`grounddefake.json_regions.item_regions`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from grounddefake.conventions import Convention, get_convention
from grounddefake.json_recovery import iter_json
from grounddefake.json_regions import first_key, is_region, read_items, region_items
from grounddefake.label_space import REAL_FAKE, LabelSpace
from grounddefake.model_regions import Markup, dropped_note
from grounddefake.scalar import Scalar, ScalarSpec
from grounddefake.types import Completion, Region, Size, TokenLogprob, Transform, VerdictLabel
from grounddefake.verdict import Verdict
from grounddefake.verdict_words import (
    VERDICT_KEYS,
    VERDICT_TAG,
    free_text_label,
    json_space_label,
    score_from_logprobs,
    tagged_label,
    text_space_label,
)

MAX_TEXT = 1 << 20
"""Model output is untrusted: only this many characters (1 MiB) are parsed and kept. An answer of 20,000 boxes
(about 1 MB) is read whole, so the regions past :data:`MAX_ITEMS` can be counted and a rationale after them kept."""
MAX_RATIONALE = 10_000
"""The rationale keeps at most this many characters."""

_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation", "analysis", "evidence")
_RATIONALE_OPEN = re.compile(r"<(rationale|reason|reasoning|explanation|analysis)>", re.IGNORECASE)
_KNOWN_TAGS = (
    "verdict|answer|label|classification|rationale|reason|reasoning|explanation|analysis|think|ref|box|det|phrase|"
    "object|point|points|p|b|i|em|strong|br|s|pad|ul|ol|li|h[1-6]|code"
)
_MARKUP_NOISE = re.compile(
    rf"<\|im_start\|>(?:assistant|user|system)?|<\|[^<>|]{{0,40}}\|>|</?(?:{_KNOWN_TAGS})\s*/?>|<loc_?\d{{1,4}}>|"
    r"<seg\d{3}>|<patch_index_\d{4}>|</delimiter_of_multi_objects/>",
    re.IGNORECASE,
)


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
        input_size: (w, h) of the image that was sent, when it was resized (default: the original). It is not the
            model's coordinate space: Qwen2.5-VL's smart resize is applied to it, and ``parse_errors`` notes the snap.
        logprobs: verdict-token log-probabilities, when the backend returned them.

    JSON anywhere in the answer, boxes in the ``norm1000`` convention the prompt asked for:

    >>> answer = (
    ...     'Sure. {"verdict": "fake", "rationale": "The fingers are fused.", '
    ...     '"regions": [{"box": [100, 250, 500, 750], "label": "fused fingers"}]}'
    ... )
    >>> verdict = parse(answer, "norm1000", image_size=(640, 480))
    >>> verdict.label, verdict.rationale
    ('fake', 'The fingers are fused.')
    >>> verdict.regions[0].box, verdict.regions[0].label
    ((64.0, 120.0, 320.0, 360.0), 'fused fingers')

    Qwen2.5-VL answers in pixels of its smart-resized input (644×476 for a 640×480 image); the box comes back in
    pixels of the original:

    >>> verdict = parse('[{"bbox_2d": [64, 119, 322, 357], "label": "hand"}] The image is fake.', "qwen2.5-vl",
    ...                 image_size=(640, 480))
    >>> verdict.label, [round(v, 1) for v in verdict.regions[0].box]
    ('fake', [63.6, 120.0, 320.0, 360.0])

    Tags and free text, without boxes:

    >>> parse("<answer>real</answer> Nothing looks off.", None, image_size=(640, 480)).label
    'real'

    Raises:
        ValueError: a size that is not two positive integers.
        KeyError: an unknown convention name (the message lists the known ones).
    """
    size = _size(image_size, "image_size")
    transform = (
        Transform.identity(size) if input_size is None else Transform.resize(size, _size(input_size, "input_size"))
    )
    verdict = parse_with_transform(text, convention, transform, logprobs)
    # Sizes given by hand may be the model's coordinate space rather than the image sent: say when they were snapped.
    note = (
        None
        if convention is None or not verdict.regions
        else get_convention(convention).snap_note(transform.input_size)
    )
    return verdict if note is None else replace(verdict, parse_errors=(*verdict.parse_errors, note))


def _size(value: Sequence[int], name: str) -> Size:
    try:
        width, height = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (width, height), got {value!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return (width, height)


def parse_completion(
    completion: Completion,
    convention: str | Convention | None,
    transform: Transform,
    answers: Mapping[str, VerdictLabel] | None = None,
    space: LabelSpace = REAL_FAKE,
    scalar: ScalarSpec | None = None,
) -> Verdict:
    """Parse a backend Completion whose image was prepared with ``transform``, in the task's label ``space``
    (``scalar``: the raw scalar the pack asks for, :func:`parse_with_transform`).

    The backend's own verdict score, when it computed one from the full verdict-token distribution, wins over the
    one derived from the top log-probabilities (and over one derived from the scalar).
    """
    verdict = parse_with_transform(completion.text, convention, transform, completion.logprobs, answers, space, scalar)
    if completion.score is not None:
        verdict = replace(verdict, score=completion.score)
    return verdict


def parse_with_transform(
    text: str,
    convention: str | Convention | None,
    transform: Transform,
    logprobs: Sequence[TokenLogprob] | None = None,
    answers: Mapping[str, VerdictLabel] | None = None,
    space: LabelSpace = REAL_FAKE,
    scalar: ScalarSpec | None = None,
) -> Verdict:
    """:func:`parse` with an explicit image Transform (resize and padding).

    ``answers`` maps short answers to labels (a prompt pack's ``answers``, e.g. ``{"yes": "fake"}`` for "Is this
    image made by AI?"): a reply that is just one of them states that verdict. ``space``: the labels a verdict may
    take (real/fake by default, read with synonyms and negation; another task's labels are read as written).

    ``scalar``: the raw scalar a pack asks for (HEIE's plausibility score). The first JSON object that is not a
    region and holds its key gives ``Verdict.scalar``; when the answer has no score of its own (verdict-token
    probabilities), ``score`` is the scalar's P(implausible) (:attr:`Scalar.implausibility`). Such an answer
    without a verdict key states the positive class (``implausible``) when it lists a region and the other label
    when its region list is empty; with no region list, P(implausible) ≥ 0.5 decides.
    """
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
    found_scalar: Scalar | None = None
    scalar_seen = False
    for found in iter_json(raw):
        if not _numbers_only(found.value):  # bare number lists may be a family's native markup: read below
            json_spans.append(Markup(found.start, found.end))
        if found.repaired:
            errors.append("truncated JSON repaired: kept its complete members")
        here = region_items(found.value)
        if isinstance(found.value, Mapping):
            # A region object's "label" names the region, not the image.
            keys = tuple(k for k in VERDICT_KEYS if k != "label") if is_region(found.value) else VERDICT_KEYS
            verdict = json_space_label(found.value, space, keys)
            if label is None and verdict is not None:
                label, verdict_items = verdict, here  # regions from the object that carries the verdict win
            if not rationale:
                rationale = _text_of(first_key(found.value, _RATIONALE_KEYS))
            if scalar is not None and not scalar_seen and not is_region(found.value):
                found_scalar, note = scalar.read(found.value)
                scalar_seen = found_scalar is not None or note is not None
                if note:
                    errors.append(note)
        if items is None:
            items = here
    if verdict_items is not None:
        items = verdict_items
    prose = _replace(raw, json_spans)
    model_regions = None
    if items is not None:
        found_items = read_items(items, conv.axis_order if conv else "xy")
        model_regions = list(found_items.regions)
        if found_items.dropped:
            errors.append(dropped_note(found_items.dropped))
    elif conv is not None:
        native = conv.read_native(prose)
        if native.regions:
            model_regions = list(native.regions)
            prose = _replace(prose, native.markup)
            if native.dropped:
                errors.append(dropped_note(native.dropped))
    answer, thought = split_reasoning(prose)
    if scalar is not None and not scalar_seen:
        errors.append(f"no {scalar.direction} score ('{scalar.key}') in the answer")
    if label is None and scalar is not None:
        label = _scalar_label(items, found_scalar, space)
    if label is None and answers:
        label = short_answer_label(answer, answers)
    if label is None and space.is_default:
        label = tagged_label(answer)
    if label is None:
        text = answer if not space.is_default else VERDICT_TAG.sub(" ", answer)
        label, reason = text_space_label(text, space) if not space.is_default else free_text_label(text)
        if reason:
            errors.append(reason)
    if not rationale:
        rationale = _rationale(answer) or _tidy(thought)
    regions: list[Region] = []
    if model_regions:
        if conv is None:
            errors.append(f"{len(model_regions)} region(s) ignored: no box convention was given")
        else:
            regions, notes = conv.ground(model_regions, transform)
            errors.extend(notes)
    score = score_from_logprobs(logprobs) if space.is_default else None
    if score is None and found_scalar is not None:
        score = found_scalar.implausibility
    return Verdict(
        label=label or "unknown",
        score=score,
        rationale=rationale[:MAX_RATIONALE],
        regions=tuple(regions),
        raw=raw,
        parse_errors=tuple(errors),
        image_size=transform.original_size,
        scalar=found_scalar,
    )


def _scalar_label(items: list[Any] | None, scalar: Scalar | None, space: LabelSpace) -> VerdictLabel | None:
    """The verdict of a scalar pack's answer that names none (two-label spaces only): the positive class when it
    lists a region, the other label when its region list is empty, else by P(implausible) at 0.5; None without
    either."""
    if len(space.labels) != 2:
        return None
    if items is not None:
        return space.positive if items else space.negatives[0]
    if scalar is not None:
        return space.positive if scalar.implausibility >= 0.5 else space.negatives[0]
    return None


def short_answer_label(answer: str, answers: Mapping[str, VerdictLabel]) -> VerdictLabel | None:
    """The label of a reply that is nothing but one of ``answers`` ("Yes." → fake for "Is this made by AI?").

    A longer reply ("No doubt, this is fake.") is not a short answer: the parser reads it as any other text.
    """
    match = _ONE_WORD.fullmatch(answer)
    return answers.get(match.group(1).lower()) if match else None


_ONE_WORD = re.compile(r"\W*(\w+)\W*")


def _numbers_only(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, (int, float)) or (isinstance(v, list) and _numbers_only(v)) for v in value
    )


def split_reasoning(text: str) -> tuple[str, str]:
    """(answer, reasoning): a reasoning model's ``<think>…</think>`` block apart from its answer.

    Chat templates that open ``<think>`` in the prompt leave only ``…</think>`` in the completion: everything
    before the last ``</think>`` is then reasoning. An unterminated ``<think>`` runs to the end of the text.
    """
    lowered = text.lower()
    close = lowered.rfind("</think>")
    opening = lowered.find("<think>")
    if close < 0:
        return (text, "") if opening < 0 else (text[:opening], text[opening + 7 :])
    if 0 <= opening < close:
        return text[:opening] + " " + text[close + 8 :], text[opening + 7 : close]
    return text[close + 8 :], text[:close]


def _text_of(value: Any) -> str:
    """A rationale value as text: a string, or the strings of a list or object joined (bounded)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list):
        return " ".join(_text_of(v) for v in value[:50] if isinstance(v, (str, list, Mapping)))[:MAX_RATIONALE]
    return ""


def _rationale(answer: str) -> str:
    """The model's explanation: a rationale tag's content, else the answer without verdict tags and markup."""
    for opening in _RATIONALE_OPEN.finditer(answer):
        close = answer.lower().find(f"</{opening.group(1).lower()}>", opening.end())
        if close >= 0:
            return _tidy(answer[opening.end() : close])
        break  # an unclosed rationale tag: fall back to the whole answer
    return _tidy(VERDICT_TAG.sub(" ", answer))


_SPACES = re.compile(r"[ \t]+")
_LINE_BREAK = re.compile(r"[ \t]*\n[ \t]*")
_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """Model text without markup noise, runs of spaces or more than one blank line."""
    text = _LINE_BREAK.sub("\n", _SPACES.sub(" ", _MARKUP_NOISE.sub("", text)))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _replace(text: str, markup: Sequence[Markup]) -> str:
    """``text`` with each markup span replaced by what it keeps (a region's label), spans in reading order.

    A run of spans with the same label (or none) and only separators between them (``hand<box>…</box> ;
    hand<box>…</box>``) keeps the label once: the rationale is the model's explanation, not a list of its boxes.
    """
    if not markup:
        return text
    out, last, previous = [], 0, None
    for span in sorted(markup, key=lambda m: m.start):
        if span.start >= last:
            gap = text[last : span.start]
            if previous is not None and span.keep in (previous, "") and _SEPARATORS.fullmatch(gap):
                last = span.end
                continue
            out.append(gap)
            out.append(span.keep)
            last, previous = span.end, span.keep
    out.append(text[last:])
    return "".join(out)


_SEPARATORS = re.compile(r"[\s;,]*")
