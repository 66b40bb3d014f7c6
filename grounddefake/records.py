"""The prediction record (one ``predictions.jsonl`` line) and the score row (one ``samples.jsonl`` line), both ways.

One schema, versioned: every line written carries ``"schema": SCHEMA``. Readers accept every earlier version
(a line without ``schema`` is version 1) and :func:`upgrade_record` brings it to the current one. A change to either
line bumps :data:`SCHEMA` and adds a step to :func:`upgrade_record` and a migration note to the README.

Version history:
    1: the original line (no ``schema`` field).
    2: ``schema`` added; the line is written from ``Verdict.to_json`` (same fields, same meaning).
    3: ``rules`` (per-rule decisions of a rule pack, ``[]`` otherwise) and ``requests`` (requests the sample cost,
       text-only baselines not counted; null when not counted) added.
    4: ``requests_by_purpose`` (``{"answer": 1, "probe": 16}``; ``{}`` when not counted), ``scalar`` (the model's raw
       scalar ``{value, scale, direction}`` when the pack asks for one, else null), and for a dense ``--heatmap``
       mode ``heatmap`` (its PNG, relative to the run directory) and ``heatmap_mode``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from grounddefake.conventions import POINT_BOX_FRACTION
from grounddefake.label_space import UNKNOWN
from grounddefake.rules import RuleDecision
from grounddefake.scalar import Scalar, ScalarError
from grounddefake.types import Region, Size, Transform, Usage
from grounddefake.verdict import Verdict

SCHEMA = 4
"""Version of the prediction record, the score row and ``config.json``."""
MAX_ERROR = 2000
"""Error messages are bounded: they can carry a server's whole response body."""
UNREADABLE = "unreadable image: "
MISSING_INPUT = "missing input: "


def prediction_record(
    sample_id: str,
    verdict: Verdict,
    *,
    model: str,
    prompt: str,
    run_key: str = "",
    usage: Usage = Usage(),
    latency_s: float = 0.0,
    cached: bool = False,
    image_sha256: str | None = None,
    transform: Transform | None = None,
    requests_by_purpose: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """One ``predictions.jsonl`` line: the verdict's own fields, then how it was obtained.

    >>> line = prediction_record("0001", Verdict("fake", 0.9), model="gpt-4o", prompt="grounded@1a2b")
    >>> line["schema"], line["id"], line["label"], line["score"]
    (4, '0001', 'fake', 0.9)
    >>> verdict_from_record(line).label
    'fake'
    """
    line: dict[str, Any] = {"schema": SCHEMA, "id": sample_id, **verdict.to_json()}
    line.update(
        model=model,
        prompt=prompt,
        run_key=run_key,
        usage=usage.to_json(),
        latency_s=round(latency_s, 4),
        cached=cached,
        image_sha256=image_sha256,
        transform=None if transform is None else transform.to_json(),
        requests_by_purpose=dict(requests_by_purpose or {}),
    )
    return line


def skipped_record(
    sample_id: str, reason: str, *, model: str, prompt: str, run_key: str = "", problem: str = UNREADABLE
) -> dict[str, Any]:
    """The line of a sample that could not be asked (its image is unreadable, or it lacks an input the pack
    declares): a data problem, excluded from the metrics and counted."""
    verdict = Verdict("unknown", error=f"{problem}{reason}"[:MAX_ERROR])
    return {**prediction_record(sample_id, verdict, model=model, prompt=prompt, run_key=run_key), "skipped": True}


def skip_reason(record: Mapping[str, Any]) -> str:
    """Why a skipped line could not be asked (the unreadable-image prefix left out)."""
    return str(record.get("error") or "").removeprefix(UNREADABLE)


def upgrade_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A line of any earlier schema as a line of the current one (1 → 2 adds only the field; 2 → 3 adds
    ``rules: []`` and ``requests: null``; 3 → 4 adds ``requests_by_purpose: {}`` and ``scalar: null``).

    >>> upgrade_record({"id": "1", "label": "fake"})
    {'id': '1', 'label': 'fake', 'schema': 4, 'rules': [], 'requests': None, 'requests_by_purpose': {}, 'scalar': None}
    """
    out = dict(record)
    if not isinstance(out.get("schema"), int):
        out["schema"] = 1
    if out["schema"] < 2:
        out["schema"] = 2
    if out["schema"] < 3:
        out.setdefault("rules", [])
        out.setdefault("requests", None)
        out["schema"] = 3
    if out["schema"] < 4:
        out["schema"] = 4
    out.setdefault("requests_by_purpose", {})  # optional in a line of schema 4 too: a writer may leave them out
    out.setdefault("scalar", None)
    return out


def record_size(value: Any) -> Size | None:
    """A record's ``image_size`` as (W, H), or None when it is not two positive integers.

    >>> record_size([640, 480]), record_size("640x480"), record_size([0, 10])
    ((640, 480), None, None)
    """
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    try:
        width, height = (int(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def record_rules(record: Mapping[str, Any]) -> tuple[tuple[RuleDecision, ...], list[str]]:
    """A record's valid rule decisions, and a parse error for each unusable one.

    >>> rules, errors = record_rules({"rules": [{"id": "R1", "decision": "violated", "path": "fast"}, 7]})
    >>> [r.id for r in rules], errors
    (['R1'], ['rule decision 1 of the record unusable: rule decision 7 is not an object'])
    """
    items = record.get("rules") or []
    if not isinstance(items, list):
        return (), [f"rules {items!r:.60} is not a list; ignored"]
    rules, errors = [], []
    for i, item in enumerate(items):
        try:
            rules.append(RuleDecision.from_json(item))
        except (TypeError, ValueError, OverflowError, IndexError, KeyError) as exc:
            errors.append(f"rule decision {i} of the record unusable: {exc}")
    return tuple(rules), errors


def verdict_from_record(record: Mapping[str, Any]) -> Verdict:
    """Rebuild a Verdict from a prediction record (any schema), validating every field.

    A malformed field never raises: a bad ``image_size`` or ``score`` is dropped, a bad region is skipped, and each
    becomes a parse error. Only ``id`` and ``label`` are needed.

    >>> verdict = verdict_from_record({"id": "1", "label": "fake", "score": 7, "regions": [{"box": [0, 0, 5, 5]}]})
    >>> verdict.score, len(verdict.regions), verdict.parse_errors
    (None, 1, ('score 7 is not a number in [0, 1]; ignored',))
    """
    errors = [str(e) for e in record.get("parse_errors") or () if isinstance(e, str)]
    size = record_size(record.get("image_size"))
    if record.get("image_size") is not None and size is None:
        errors.append(f"image_size {record.get('image_size')!r:.60} is not [width, height]; ignored")
    score = record.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1):
        errors.append(f"score {score!r:.40} is not a number in [0, 1]; ignored")
        score = None
    items = record.get("regions") or []
    if not isinstance(items, list):
        errors.append(f"regions {items!r:.60} is not a list; ignored")
        items = []
    extent = None if size is None else POINT_BOX_FRACTION * min(size)
    regions = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, Mapping):
                raise ValueError(f"not an object: {item!r:.60}")
            regions.append(Region.from_json(item, point_extent=extent))
        except (TypeError, ValueError, OverflowError, IndexError, KeyError) as exc:
            errors.append(f"region {i} of the record unusable: {exc}")
    rules, rule_errors = record_rules(record)
    errors += rule_errors
    requests = record.get("requests")
    if requests is not None and (isinstance(requests, bool) or not isinstance(requests, int) or requests < 0):
        errors.append(f"requests {requests!r:.40} is not a count; ignored")
        requests = None
    scalar = None
    if record.get("scalar") is not None:
        try:
            scalar = Scalar.from_json(record["scalar"])
        except ScalarError as exc:
            errors.append(f"{exc}; ignored")
    label = record.get("label")
    return Verdict(
        label=label if isinstance(label, str) and label.strip() and label != UNKNOWN else UNKNOWN,
        score=None if score is None else float(score),
        rationale=str(record.get("rationale") or ""),
        regions=tuple(regions),
        raw=str(record.get("raw") or ""),
        error=None if record.get("error") is None else str(record.get("error")),
        parse_errors=tuple(errors),
        image_size=size,
        rules=tuple(rules),
        requests=requests,
        scalar=scalar,
    )


@dataclass(frozen=True)
class SampleScore:
    """One ``samples.jsonl`` row: what one sample contributed, as the report shows it.

    Attributes:
        id: the sample's id.
        truth: its ground-truth label (None when unlabelled).
        predicted: the verdict's label.
        score: P(positive class) when the model gave one.
        iou: mask IoU of a fake with localization ground truth, when scored.
        error: why the request failed, if it did.
        positive: the task's positive class ("fake", "unsafe").
    """

    id: str
    truth: str | None
    predicted: str
    score: float | None
    iou: float | None
    error: str | None
    positive: str = "fake"

    @property
    def kind(self) -> str:
        """``error``, ``unknown``, ``fp`` (a negative called positive: a real called fake), ``fn`` (a positive
        called something else: a fake called real), ``wrong`` (another mistake between negative labels) or ``ok``.

        >>> SampleScore("1", "safe", "unsafe", 0.8, None, None, "unsafe").kind
        'fp'
        """
        if self.error:
            return "error"
        if self.predicted == "unknown":
            return "unknown"
        if self.truth is None or self.truth == self.predicted:
            return "ok"
        if self.predicted == self.positive:
            return "fp"
        if self.truth == self.positive:
            return "fn"
        return "wrong"

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SampleScore:
        """A row of any schema; a score or IoU that is not a finite number (an edited file) becomes None."""

        def number(key: str) -> float | None:
            value = data.get(key)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            return float(value) if ok else None

        truth, error = data.get("truth"), data.get("error")
        return cls(
            id=str(data.get("id")),
            truth=None if truth is None else str(truth),
            predicted=str(data.get("predicted") or "unknown"),
            score=number("score"),
            iou=number("iou"),
            error=None if error is None else str(error),
            positive=str(data.get("positive") or "fake"),
        )
