"""``report.html``: one self-contained page per run (inline CSS, JS and SVG; overlays as relative files).

Model text is untrusted: the server-side parts are rendered with Jinja2 autoescaping, and the gallery's per-sample
data travels as JSON inside ``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped, then is put on
the page with ``textContent`` only — a rationale of ``<script>…</script>`` shows as text and never runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence, Set
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from grounddefake.heatmaps.store import is_stored_heatmap
from grounddefake.records import SampleScore, record_rules
from grounddefake.report import per_class_keys, rule_summary
from grounddefake.resources import asset_dir
from grounddefake.rundir import OVERLAYS, find_overlay

MAX_TEXT = 4000
"""Rationale and raw output are cut to this many characters in the page."""


def reliability(samples: Sequence[SampleScore], bins: int = 10) -> list[dict[str, float]]:
    """Per bin of P(positive class): mean score, share of positives, count (the reliability diagram's points)."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [
            s
            for s in samples
            if s.score is not None
            and s.truth is not None
            and (lo <= s.score < hi or (b == bins - 1 and s.score == 1.0))
        ]
        if members:
            out.append(
                {
                    "lo": lo,
                    "hi": hi,
                    "n": len(members),
                    "mean": sum(s.score for s in members) / len(members),  # type: ignore[misc]
                    "share": sum(s.truth == s.positive for s in members) / len(members),
                }
            )
    return out


def histogram(values: Sequence[float], bins: int = 10) -> list[int]:
    """Counts of values in [0, 1] over equal bins (others skipped)."""
    counts = [0] * bins
    for v in values:
        if isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 1:
            counts[min(int(v * bins), bins - 1)] += 1
    return counts


def gallery(
    samples: Sequence[SampleScore], records: Mapping[str, Mapping[str, Any]], overlays: Set[str] = frozenset()
) -> list[dict[str, Any]]:
    """One small dict per sample for the page's gallery (text bounded; regions as box, label, score); ``overlays``
    holds the file names of the overlays drawn."""
    items = []
    for s in samples:
        record = records.get(s.id, {})
        regions = []
        for r in (record.get("regions") or [])[:50]:
            if isinstance(r, Mapping):
                regions.append({"box": r.get("box"), "label": str(r.get("label") or "")[:200], "score": r.get("score")})
        name = find_overlay(s.id, overlays)
        items.append(
            {
                "id": s.id,
                "truth": s.truth,
                "predicted": s.predicted,
                "score": s.score,
                "iou": s.iou,
                "kind": s.kind,
                "positive": s.positive,
                "error": (s.error or "")[:MAX_TEXT],
                "overlay": None if name is None else f"{OVERLAYS}/{name}",
                "heatmap": _heatmap_file(record),
                "heatmap_mode": str(record.get("heatmap_mode") or "")[:40],
                "rationale": str(record.get("rationale") or "")[:MAX_TEXT],
                "raw": str(record.get("raw") or "")[:MAX_TEXT],
                "regions": regions,
                "rules": rule_rows(record),
                "rule_summary": rule_summary(record)[:MAX_TEXT],
            }
        )
    return items


def _heatmap_file(record: Mapping[str, Any]) -> str | None:
    """A record's dense map as a link of the page (a file of the run's ``heatmaps/`` folder, nothing else)."""
    relative = record.get("heatmap")
    return relative if is_stored_heatmap(relative) else None


def rule_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A record's rule decisions for the page: id, decision, path, score, the preconditions asked, the note.

    >>> gun = {"text": "a gun", "score": 0.9, "baseline": 0.2, "decision": "met"}
    >>> rule_rows({"rules": [{"id": "R1", "decision": "violated", "path": "debiased", "preconditions": [gun]}]})[0][
    ...     "preconditions"]
    'a gun: met (M 0.90, M(None) 0.20)'
    """
    rows = []
    for rule in record_rules(record)[0][:200]:
        asked = []
        for p in rule.preconditions:
            numbers = ", ".join(
                f"{name} {value:.2f}"
                for name, value in (("M", p.score), ("M(None)", p.baseline), ("M(x∖box)", p.ablated))
                if value is not None
            )
            asked.append(f"{p.text[:200]}: {p.decision}" + (f" ({numbers})" if numbers else ""))
        rows.append(
            {
                "id": rule.id,
                "decision": rule.decision,
                "path": rule.path,
                "score": rule.score,
                "preconditions": "; ".join(asked)[:MAX_TEXT],
                "note": rule.note[:MAX_TEXT],
            }
        )
    return rows


def script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script>``, no HTML comment or entity tricks."""
    text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").replace("\u2028", "\\u2028")


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(asset_dir("visualize"))),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
    )
    env.filters["num"] = _num
    env.filters["per_class"] = per_class_keys
    env.filters["script_json"] = script_json
    return env


def render_html(
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    samples: Sequence[SampleScore],
    records: Mapping[str, Mapping[str, Any]],
    overlays: Set[str] = frozenset(),
) -> str:
    """The page of a run; ``overlays`` holds the file names of the overlays drawn (the others show no picture)."""
    ious = [s.iou for s in samples if s.iou is not None]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            config=config,
            metrics=metrics,
            reliability=reliability(samples),
            iou_histogram=histogram(ious),
            gallery=gallery(samples, records, overlays),
        )
    )
