"""``grounddefake compare``: several runs on the same data side by side — the table a paper needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grounddefake.rundir import RunDir

ROWS = (
    ("classification", "accuracy"),
    ("classification", "balanced_accuracy"),
    ("classification", "f1"),
    ("classification", "auc"),
    ("classification", "ece"),
    ("classification", "coverage"),
    ("localization", "iou_mean"),
    ("localization", "iou_pooled"),
    ("localization", "f1_mean"),
    ("localization", "box_f1"),
    ("localization", "ap"),
    ("localization", "pointing_game"),
    ("localization", "real_fp_rate"),
    ("rules", "micro.f1"),
    ("rules", "macro.f1"),
    ("rules", "rule_named_accuracy.value"),
    ("rules", "ablation.raw.accuracy"),
    ("rules", "ablation.debiased.accuracy"),
    ("rules", "ablation.judge.accuracy"),
    ("rules", "cost.requests_per_image"),
    ("rules", "cost.tokens_per_image"),
    ("moderation", "mqa.accuracy"),
    ("moderation", "meq.meq"),
    ("heatmap", "cc"),
    ("heatmap", "kld"),
    ("heatmap", "sim"),
    ("heatmap", "auc_judd"),
    ("score", "plcc"),
    ("score", "srcc"),
    ("requests", "per_image"),
)
"""(group, key) of the headline rows; a key may be a dotted path into the group. A rule pack's runs add each
rule's F1 (``rules.per_rule.ID.f1``)."""


def metric_at(metrics: Any, path: str) -> Any:
    """The value at a dotted ``path`` of nested mappings, None when any step is missing.

    >>> metric_at({"rules": {"micro": {"f1": 0.5}}}, "rules.micro.f1"), metric_at({}, "rules.micro.f1")
    (0.5, None)
    """
    for part in path.split("."):
        if not isinstance(metrics, dict):
            return None
        metrics = metrics.get(part)
    return metrics


@dataclass(frozen=True)
class Comparison:
    runs: tuple[str, ...]
    models: tuple[str, ...]
    rows: tuple[tuple[str, tuple[tuple[float | None, list[float] | None], ...]], ...]
    groups: tuple[tuple[str, tuple[tuple[float | None, list[float] | None], ...]], ...]
    group_by: str | None
    warnings: tuple[str, ...]


def compare_runs(run_dirs: Sequence[str | Path]) -> Comparison:
    """Headline metrics (with their 95% intervals when bootstrapped) of each run, and accuracy per group.

    Raises:
        FileNotFoundError: a run without metrics.json.
    """
    configs, metrics = [], []
    for d in run_dirs:
        run = RunDir.at(d)
        configs.append(run.read_config())
        metrics.append(run.read_metrics())
    warnings = []
    if len({c.get("dataset_sha256") for c in configs}) > 1:
        warnings.append("the runs were made on different data: their numbers are not comparable")
    if len({m.get("n_samples") for m in metrics}) > 1:
        warnings.append("the runs cover different numbers of samples")
    packs = list(dict.fromkeys(str(c.get("prompt")) for c in configs))
    if len(packs) > 1:
        warnings.append(f"the runs used different prompt packs ({', '.join(packs)}): a difference may be the prompt's")
    positives = {metric_at(m, "classification.positive") for m in metrics} - {None}
    if len(positives) > 1:
        warnings.append(f"the runs score different positive classes ({', '.join(sorted(positives))})")
    rule_ids = dict.fromkeys(r for m in metrics for r in (metric_at(m, "rules.rules") or []) if isinstance(r, str))
    rows = []
    for group, key in (*ROWS, *(("rules", f"per_rule.{rule}.f1") for rule in rule_ids)):
        cells = []
        for m in metrics:
            value = (
                _requests_per_image(m) if (group, key) == ("requests", "per_image") else metric_at(m, f"{group}.{key}")
            )
            ci = metric_at(m, f"{group}.ci95")
            number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            cells.append((number, ci.get(key) if isinstance(ci, dict) else None))
        if any(v is not None for v, _ in cells):
            rows.append((f"{group}.{key}", tuple(cells)))
    group_by = None
    groups: list[tuple[str, tuple[tuple[float | None, list[float] | None], ...]]] = []
    bys = {(m.get("groups") or {}).get("by") for m in metrics}
    if len(bys) == 1 and None not in bys:
        group_by = bys.pop()
        values = sorted({v for m in metrics for v in (m["groups"].get("values") or {})})
        for value in values:
            cells = []
            for m in metrics:
                c = (m["groups"]["values"].get(value) or {}).get("classification") or {}
                cells.append((c.get("accuracy"), (c.get("ci95") or {}).get("accuracy")))
            groups.append((value, tuple(cells)))
    models = [_model_label(c) for c in configs]
    labels = [f"{m} ({Path(d).name})" if models.count(m) > 1 else m for m, d in zip(models, run_dirs, strict=True)]
    return Comparison(
        tuple(str(d) for d in run_dirs),
        tuple(labels),
        tuple(rows),
        tuple(groups),
        group_by,
        tuple(warnings),
    )


def _model_label(config: dict[str, Any]) -> str:
    """The model of a run, with its dense heatmap mode when it used one (``gpt-4o [probe:4]``)."""
    mode = (config.get("options") or {}).get("heatmap")
    return str(config.get("model")) + ("" if mode in (None, "boxes") else f" [{mode}]")


def _requests_per_image(metrics: dict[str, Any]) -> float | None:
    """Requests sent or answered from the cache, per sample answered (what a mode costs)."""
    requests, n = metrics.get("requests") or {}, (metrics.get("n_samples") or 0) - (metrics.get("n_skipped") or 0)
    total = (requests.get("sent") or 0) + (requests.get("cached") or 0)
    return total / n if n > 0 and total else None


def render_markdown(comparison: Comparison) -> str:
    def cell(value: float | None, ci: list[float] | None) -> str:
        if value is None:
            return "—"
        return f"{value:.3f}" + (f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else "")

    def esc(text: str) -> str:
        from grounddefake.report import md_escape

        return md_escape(text, 120)

    lines = [
        "| metric | " + " | ".join(esc(m) for m in comparison.models) + " |",
        "|---|" + "---|" * len(comparison.models),
    ]
    for name, cells in comparison.rows:
        lines.append(f"| {name} | " + " | ".join(cell(v, ci) for v, ci in cells) + " |")
    if comparison.groups:
        lines += [
            "",
            f"Accuracy by {esc(comparison.group_by or '')}:",
            "",
            "| value | " + " | ".join(esc(m) for m in comparison.models) + " |",
            "|---|" + "---|" * len(comparison.models),
        ]
        for value, cells in comparison.groups:
            lines.append(f"| {esc(value)} | " + " | ".join(cell(a, ci) for a, ci in cells) + " |")
    lines += [f"\n> {w}" for w in comparison.warnings]
    return "\n".join(lines) + "\n"


def render_html(comparison: Comparison) -> str:
    """The comparison as a self-contained page (``visualize/compare.html.j2``, autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from grounddefake.resources import asset_dir

    env = Environment(
        loader=FileSystemLoader(str(asset_dir("visualize"))),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )
    return env.get_template("compare.html.j2").render(c=comparison)
