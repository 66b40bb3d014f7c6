"""JSON found anywhere in a model's answer: fenced or bare, tolerant of Python literals, trailing commas and a
truncated final value.

This module only finds JSON values in text; :mod:`grounddefake.json_regions` says which of them hold regions.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_OPEN = re.compile(r"[\[{]")
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)|[\[\]{},]', re.DOTALL)
_CLOSER = {"[": "]", "{": "}"}
MAX_FAILED_STARTS = 100
"""A text with more unreadable brackets than this stops being searched for JSON (bounds the work per answer)."""
TOLERANT_BUDGET = 400_000
"""At most this many characters per text go through the tolerant (slower) reader."""
MAX_LITERAL = 20_000
"""Python-literal answers (single quotes, True/None) longer than this are not evaluated."""
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


@dataclass(frozen=True)
class JsonValue:
    """A JSON object or array found in a text, where it was, and whether it had to be repaired."""

    value: Any
    start: int
    end: int
    repaired: bool = False


def iter_json(text: str) -> Iterator[JsonValue]:
    """Every JSON object or array in ``text`` in reading order; fenced blocks first, then bare values.

    Tolerates single quotes, trailing commas, Python literals and a truncated final value (cut to its last complete
    member and closed). Values nested in a yielded value are not yielded again.
    """
    fenced: list[tuple[int, int]] = []
    if "```" in text:
        for fence in _FENCE.finditer(text):
            for found in _iter_bare(text, fence.start(1), fence.end(1)):
                fenced.append((fence.start(), fence.end()))
                yield JsonValue(found.value, fence.start(), fence.end(), found.repaired)
                break
    pos = 0
    for start, end in [*fenced, (len(text), len(text))]:
        if pos < start:
            yield from _iter_bare(text, pos, start)
        pos = max(pos, end)


def _iter_bare(text: str, begin: int, stop: int) -> Iterator[JsonValue]:
    decoder = json.JSONDecoder()
    segment = text[begin:stop]
    pos, failed, repaired_once = 0, 0, False
    budget = TOLERANT_BUDGET
    while failed < MAX_FAILED_STARTS:
        match = _OPEN.search(segment, pos)
        if match is None:
            return
        i = match.start()
        try:
            value, end = decoder.raw_decode(segment, i)
        except (ValueError, RecursionError):  # JSONDecodeError, and integers past Python's digit limit
            value, end = None, i
        if isinstance(value, (dict, list)):
            yield JsonValue(value, begin + i, begin + end)
            pos = end
            continue
        end, ran_out = _balanced_end(segment, i)
        if end is not None and end - i <= budget:
            budget -= end - i
            value = loads_tolerant(segment[i:end])
            if isinstance(value, (dict, list)):
                yield JsonValue(value, begin + i, begin + end)
                pos = end
                continue
        elif ran_out and not repaired_once:
            repaired_once = True
            value = _repair_truncated(segment[i:])
            if isinstance(value, (dict, list)):
                yield JsonValue(value, begin + i, begin + len(segment), repaired=True)
                return
        failed += 1
        pos = i + 1


def loads_tolerant(body: str) -> Any:
    """``json.loads``, then without trailing commas, then as a Python literal (single quotes, True/None)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        pass
    no_commas = _TRAILING_COMMA.sub(r"\1", body)
    try:
        return json.loads(no_commas)
    except (ValueError, RecursionError):
        pass
    if len(no_commas) > MAX_LITERAL:
        return None
    try:
        value = ast.literal_eval(no_commas)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


def _balanced_end(text: str, start: int) -> tuple[int | None, bool]:
    """(end index of the bracket group opening at ``start``, whether the text ran out first).

    Double- and single-quoted strings are skipped. The scan gives up (None, False) past MAX_SCAN characters or
    MAX_DEPTH levels of nesting, so a flood of brackets costs little.
    """
    depth = 0
    for token in _BALANCE_TOKENS.finditer(text, start, min(len(text), start + MAX_SCAN)):
        kind = token.group()
        if kind in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return None, False
        elif kind in "]}":
            depth -= 1
            if depth == 0:
                return token.end(), False
    return None, start + MAX_SCAN >= len(text)


MAX_SCAN = 50_000
MAX_DEPTH = 64
_BALANCE_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)|\'(?:[^\'\\\n]|\\.)*\'|[\[\]{}]', re.DOTALL)


def _repair_truncated(text: str) -> Any:
    """Close a truncated JSON value at its last complete member; None when nothing complete is left."""
    stack: list[str] = []
    cuts: list[tuple[int, str]] = []
    for token in _TOKENS.finditer(text):
        kind = token.group()
        if kind in "[{":
            stack.append(_CLOSER[kind])
        elif kind in "]}":
            if not stack:
                return None
            stack.pop()
            if stack:
                cuts.append((token.end(), "".join(reversed(stack))))
        elif kind == "," and stack and stack[-1] == "}":
            cuts.append((token.start(), "".join(reversed(stack))))
    for cut, closers in reversed(cuts[-8:]):
        value = loads_tolerant(text[:cut].rstrip().rstrip(",") + closers)
        if isinstance(value, (dict, list)):
            return value
    return None
