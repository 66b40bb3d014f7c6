"""What the run commands show: the metrics table and the progress bar's columns."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from grounddefake.cli.app import err


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def metrics_table(metrics: dict[str, Any]) -> Table:
    """The headline numbers of a run as a rich table (95% intervals when bootstrapped)."""
    table = Table(title="metrics", show_header=True, header_style="bold")
    intervals = "bootstrap" in metrics
    table.add_column("metric")
    table.add_column("value", justify="right")
    if intervals:
        table.add_column("95% CI", justify="right")
    table.add_column("over", justify="right")

    def row(group: dict[str, Any], key: str, name: str, over: str) -> None:
        value = group.get(key) if isinstance(group.get(key), (int, float)) else None
        ci = (group.get("ci95") or {}).get(key)
        cells = [name, _num(value) if key in group else str(group.get(key, ""))]
        if intervals:
            cells.append("" if not ci else f"{ci[0]:.3f}–{ci[1]:.3f}")
        table.add_row(*cells, over)

    c = metrics["classification"]
    positive = c.get("positive", "fake")
    labels = list(c.get("confusion") or ("real", "fake"))
    row(c, "accuracy", "accuracy (unknown = wrong)", f"{c['n']} labelled")
    row(c, "balanced_accuracy", "balanced accuracy", f"{c['n']} labelled")
    for label in labels:
        row(c, f"accuracy_{label}", f"accuracy ({label})", f"{c.get(f'n_{label}', 0)} {label}")
    row(c, "f1", f"F1 ({positive}, answered)", f"{c['n'] - c['n_unknown']} answered")
    if c.get("auc") is not None:
        row(c, "auc", f"ROC AUC of P({positive})", f"{c['n_scored']} scored")
        row(c, "ece", "ECE (10 bins)", f"{c['n_scored']} scored")
    row(c, "n_unknown", "unknown answers", f"{c['n']} labelled")
    loc = metrics.get("localization")
    if loc:
        over = f"{loc['n']} {positive} with GT"
        row(loc, "iou_mean", "mask IoU (per-image mean)", over)
        row(loc, "iou_pooled", "mask IoU (pooled)", over)
        row(loc, "f1_mean", "pixel F1 (per-image mean)", over)
        row(loc, "pixel_auc_mean", "pixel AUC (per-image mean)", over)
        row(loc, "pointing_game", "pointing game (15 px)", over)
        if loc.get("n_box"):
            row(loc, "box_f1", "box F1 @ IoU 0.5", f"{loc['n_box']} with GT boxes")
            if loc.get("ap") is not None:
                row(loc, "ap", "COCO AP@[.5:.95]", f"{loc['n_box']} with GT boxes")
        if loc.get("n_real"):
            negative = "real" if positive == "fake" else "negative"
            row(loc, "real_fp_rate", f"{negative} images with a region", f"{loc['n_real']} {negative}")
    moderation = metrics.get("moderation") or {}
    if moderation.get("mqa"):
        q = moderation["mqa"]
        row(q, "accuracy", "MQA accuracy (first letter)", f"{q['n']} questions, {q['n_unanswered']} unanswered")
    if moderation.get("meq"):
        e = moderation["meq"]
        row(e, "meq", "MEQ (judge, mean / 100)", f"{e['n_scored']} of {e['n']} explanations scored")
    row({"n": metrics.get("n_errors", 0)}, "n", "failed requests", "")
    if metrics.get("skipped"):
        row({"n": len(metrics["skipped"])}, "n", "skipped (unreadable)", "")
    return table


class RateColumn(ProgressColumn):
    """Answers per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("—/s" if speed is None else f"{speed:.1f}/s", style="progress.data.speed")


class StatsColumn(ProgressColumn):
    """Errors, retries, cached answers, tokens and the estimated cost so far."""

    def render(self, task: Task) -> Text:
        stats = task.fields.get("stats")
        if stats is None:
            return Text("")
        parts = [f"{stats.requests} requests", f"{stats.errors} errors", f"{stats.retries} retries"]
        if stats.cached:
            parts.append(f"{stats.cached} cached")
        if stats.tokens:
            parts.append(f"{stats.tokens:,} tok")
        if stats.cost:
            parts.append(f"${stats.cost:.2f}")
        return Text(" · ".join(parts), style="dim")


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        StatsColumn(),
        console=err,
        transient=True,
    )


def published_table(published: dict[str, Any]) -> Table:
    """The suite's published numbers with ours beside each (``metrics.json → published``), in the paper's scale."""
    table = Table(title=f"beside the papers ({published['suite']})", show_header=True, header_style="bold")
    for column in ("system", "metric", "published", "ours", "our key", "comparable"):
        table.add_column(column, justify="right" if column in ("published", "ours") else "left")
    for row in published["rows"]:
        digits = 2 if row["scale"] == "percent" else 3
        ours = "—" if row["ours"] is None else f"{row['ours']:.{digits}f}"
        comparable = "yes" if row["comparable"] else "no"
        table.add_row(row["system"], row["metric"], f"{row['published']:g}", ours, row["ours_key"] or "—", comparable)
    return table
