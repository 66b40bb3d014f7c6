"""``grounddefake data``: list the dataset formats, inspect a dataset, convert it, export training data."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from grounddefake.cli.app import USER_ERRORS, app, err, fail, label_map_option, out
from grounddefake.datasets.manifest import bounded
from grounddefake.untrusted import json_line, visible

data_app = typer.Typer(help="Inspect and convert datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("formats")
def data_formats_command() -> None:
    """List the dataset formats grounddefake reads (detected, or named with --format)."""
    from grounddefake.datasets import FORMATS

    table = Table(show_header=True, header_style="bold")
    table.add_column("format", no_wrap=True)
    table.add_column("what")
    for name, (what, _) in FORMATS.items():
        table.add_row(name, what)
    out.print(table, markup=False, highlight=False)


@data_app.command("inspect")
def data_inspect_command(
    data: str = typer.Argument(..., help="A dataset folder or annotation file."),
    data_format: str | None = typer.Option(None, "--format", help="Dataset format (default: detected)."),
    as_json: bool = typer.Option(False, "--json", help="Print the inspection as JSON."),
    no_hash: bool = typer.Option(False, "--no-hash", help="Skip hashing images (no duplicate-bytes check)."),
    label_map: str | None = label_map_option(),
) -> None:
    """Counts by label, subtype and generator; ground-truth coverage; image sizes; problems."""
    from grounddefake.datasets import load_dataset
    from grounddefake.datasets.inspection import inspect_dataset
    from grounddefake.datasets.label_map import parse_label_map

    try:
        mapping = parse_label_map(label_map)
        report = inspect_dataset(load_dataset(data, data_format, False, mapping), hash_images=not no_hash)
    except USER_ERRORS as exc:
        raise fail(exc) from None
    if as_json:
        sys.stdout.write(json_line(report.to_json(), indent=2) + "\n")
        return
    table = Table(title=visible(f"{data} ({report.format})"), show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("samples", str(report.n))
    table.add_row("labels", visible(", ".join(f"{k} {v}" for k, v in sorted(report.labels.items(), key=str))))
    if report.label_mapping:
        table.add_row("numeric labels", visible(report.label_mapping))
    if report.subtypes:
        table.add_row("subtypes", visible(", ".join(f"{k} {v}" for k, v in sorted(report.subtypes.items()))))
    if report.generators:
        table.add_row("generators", visible(", ".join(f"{k} {v}" for k, v in sorted(report.generators.items()))))
    table.add_row("ground truth", ", ".join(f"{k} {v}" for k, v in report.coverage.items()))
    w, h = report.sizes["width"], report.sizes["height"]
    sizes = (
        f"width {w['min']}–{w['max']} (median {w['median']:g}), height {h['min']}–{h['max']} (median {h['median']:g})"
    )
    table.add_row("image sizes", f"{sizes}; {report.sizes['readable']} readable")
    table.add_row("problems", str(len(report.problems)))
    out.print(table, markup=False, highlight=False)
    for problem in bounded(report.problems, 200, "--json lists them all"):
        out.print(f"  {visible(problem)}", markup=False, highlight=False)


@data_app.command("convert")
def data_convert_command(
    data: str = typer.Argument(..., help="A dataset folder or annotation file."),
    target: Path = typer.Argument(
        ..., help="The file to write (paths relative to it for files under its folder, else absolute)."
    ),
    to: str = typer.Option(..., "--to", help="manifest or coco."),
    data_format: str | None = typer.Option(None, "--format", help="Dataset format (default: detected)."),
    label_map: str | None = label_map_option(),
) -> None:
    """Write a dataset as a grounddefake manifest (JSONL) or a COCO JSON file."""
    from grounddefake.datasets import load_dataset
    from grounddefake.datasets.convert import to_coco, to_manifest
    from grounddefake.datasets.label_map import parse_label_map

    if to not in ("manifest", "coco"):
        raise fail(ValueError(f"--to is manifest or coco, got {to!r}"))
    try:
        dataset = load_dataset(data, data_format, label_map=parse_label_map(label_map))
        written = (to_manifest if to == "manifest" else to_coco)(dataset, target)
    except (*USER_ERRORS, OSError) as exc:
        raise fail(exc) from None
    out.print(f"{written.count} samples ({dataset.format}) → {escape(str(target))}; {written.how}", highlight=False)
    if dataset.problems:
        n = len(dataset.problems)
        err.print(f"[yellow]{n} unusable entr{'ies' if n > 1 else 'y'} of the dataset left out[/]:", highlight=False)
        _listed(dataset.problems)
    if written.skipped:
        n = len(written.skipped)
        err.print(f"[yellow]{n} image{'s' * (n > 1)} skipped[/] (unreadable, so no size to write):", highlight=False)
        _listed(written.skipped)


@data_app.command("export")
def data_export_command(
    data: str = typer.Argument(..., help="A dataset folder or annotation file."),
    target: Path = typer.Argument(..., help="The folder to write (train and val files, export.json)."),
    to: str = typer.Option("sft", "--to", help="sft: supervised fine-tuning conversations."),
    family: str = typer.Option(
        ..., "--family", help="paligemma, qwen2-vl, qwen2.5-vl, qwen3-vl, llava, internvl, florence-2 or gemini."
    ),
    prompt: str = typer.Option("grounded", "--prompt", help="The prompt pack the model will be evaluated with."),
    convention: str | None = typer.Option(
        None, "--convention", help="A variant of the family's convention (qwen2.5-vl@MAX_PIXELS)."
    ),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of ids (by hash) in the val split."),
    image_prefix: str | None = typer.Option(
        None, "--image-prefix", help="Name images PREFIX + path under the dataset (default: absolute paths)."
    ),
    data_format: str | None = typer.Option(None, "--format", help="Dataset format (default: detected)."),
    label_map: str | None = label_map_option(),
) -> None:
    """Write training conversations: the pack's turns and the ground-truth answers, in the family's box syntax."""
    from grounddefake.datasets import load_dataset
    from grounddefake.datasets.label_map import parse_label_map
    from grounddefake.prompts import load_pack
    from grounddefake.training.layouts import ExportError, export_sft

    if to != "sft":
        raise fail(ValueError(f"--to is sft, got {to!r}"))
    try:
        dataset = load_dataset(data, data_format, label_map=parse_label_map(label_map))
        pack = load_pack(prompt)
        written = export_sft(dataset, pack, family, target, convention, val_fraction, image_prefix)
    except (*USER_ERRORS, ExportError) as exc:
        raise fail(exc) from None
    boxes = f", boxes in {written.convention}" if written.convention else ""
    counts = ", ".join(f"{split} {n}" for split, n in written.conversations.items())
    out.print(
        f"{sum(written.conversations.values())} conversations ({counts}) for {written.family.name} "
        f"({written.family.layout}{boxes}) → {escape(str(target))}",
        highlight=False,
    )
    if written.rationale_from.get("regions"):
        n = written.rationale_from["regions"]
        out.print(f"{n} rationale{'s' * (n > 1)} made from region labels (no explanation in the data)", highlight=False)
    if written.skipped:
        n = len(written.skipped)
        err.print(f"[yellow]{n} sample{'s' * (n > 1)} left out[/] (export.json lists them):", highlight=False)
        _listed([f"{s.sample_id}: {s.reason}" for s in written.skipped])


def _listed(problems: Sequence[str]) -> None:
    for line in bounded(problems, where="`grounddefake data inspect` lists every problem"):
        err.print(f"  {escape(visible(line))}", highlight=False)
