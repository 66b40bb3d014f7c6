"""``report.html``: one self-contained page per run (inline CSS, JS and SVG; overlays as relative files).

Model text is untrusted: the server-side parts are rendered with Jinja2 autoescaping, and the gallery's per-sample
data travels as JSON inside ``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped, then is put on
the page with ``textContent`` only — a rationale of ``<script>…</script>`` shows as text and never runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from grounddefake.evaluation import SampleScore
from grounddefake.resources import asset_dir

SAMPLES = "samples.jsonl"
MAX_TEXT = 4000
"""Rationale and raw output are cut to this many characters in the page."""


def write_samples(run_dir: Path, samples: Sequence[SampleScore]) -> Path:
    """The per-sample scores of a run (``samples.jsonl``): what the report's gallery and histograms are built from."""
    path = run_dir / SAMPLES
    with open(path, "w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps(s.__dict__, ensure_ascii=False) + "\n")
    return path


def read_samples(run_dir: Path) -> list[SampleScore]:
    path = run_dir / SAMPLES
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; rebuild it with `grounddefake score` or re-run eval")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            values = {k: data.get(k) for k in SampleScore.__dataclass_fields__}
            for key in ("score", "iou"):  # an edited or foreign file: a non-number is no number
                value = values[key]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                    values[key] = None
            out.append(SampleScore(**values))
    return out


def reliability(samples: Sequence[SampleScore], bins: int = 10) -> list[dict[str, float]]:
    """Per bin of P(fake): mean score, share of fakes, count (the reliability diagram's points)."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [
            s
            for s in samples
            if s.score is not None
            and s.truth in ("real", "fake")
            and (lo <= s.score < hi or (b == bins - 1 and s.score == 1.0))
        ]
        if members:
            out.append(
                {
                    "lo": lo,
                    "hi": hi,
                    "n": len(members),
                    "mean": sum(s.score for s in members) / len(members),  # type: ignore[misc]
                    "share": sum(s.truth == "fake" for s in members) / len(members),
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


def gallery(samples: Sequence[SampleScore], records: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One small dict per sample for the page's gallery (text bounded; regions as box, label, score)."""
    items = []
    for s in samples:
        record = records.get(s.id, {})
        regions = []
        for r in (record.get("regions") or [])[:50]:
            if isinstance(r, Mapping):
                regions.append({"box": r.get("box"), "label": str(r.get("label") or "")[:200], "score": r.get("score")})
        kind = "ok"
        if s.error:
            kind = "error"
        elif s.predicted == "unknown":
            kind = "unknown"
        elif s.truth == "real" and s.predicted == "fake":
            kind = "fp"
        elif s.truth == "fake" and s.predicted == "real":
            kind = "fn"
        items.append(
            {
                "id": s.id,
                "truth": s.truth,
                "predicted": s.predicted,
                "score": s.score,
                "iou": s.iou,
                "kind": kind,
                "error": (s.error or "")[:MAX_TEXT],
                "overlay": s.overlay and f"overlays/{s.overlay}",
                "rationale": str(record.get("rationale") or "")[:MAX_TEXT],
                "raw": str(record.get("raw") or "")[:MAX_TEXT],
                "regions": regions,
            }
        )
    return items


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
    env.filters["script_json"] = script_json
    return env


def render_html(
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    samples: Sequence[SampleScore],
    records: Mapping[str, Mapping[str, Any]],
) -> str:
    ious = [s.iou for s in samples if s.iou is not None]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            config=config,
            metrics=metrics,
            reliability=reliability(samples),
            iou_histogram=histogram(ious),
            gallery=gallery(samples, records),
        )
    )


def write_html(
    run_dir: Path,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    samples: Sequence[SampleScore],
    records: Mapping[str, Mapping[str, Any]],
) -> Path:
    path = run_dir / "report.html"
    path.write_text(render_html(config, metrics, samples, records), encoding="utf-8")
    return path
