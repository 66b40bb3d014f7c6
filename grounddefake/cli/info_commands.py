"""Commands that judge single images or describe what is installed: detect, parse, prompts, suites, models,
conventions."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from grounddefake.backends import FORENSIC
from grounddefake.cli.app import (
    USER_ERRORS,
    app,
    device_option,
    dtype_option,
    err,
    fail,
    heatmap_option,
    local_options,
    max_tokens_option,
    out,
)
from grounddefake.images import ImageError
from grounddefake.prompts import list_packs, load_pack
from grounddefake.untrusted import json_line, visible


@app.command("detect")
def detect_command(
    images: list[Path] = typer.Argument(
        ..., help="Image files, or folders: every image in them and their subfolders, sorted by path."
    ),
    model: str = typer.Option("forensic", "--model", help="Model name (see `grounddefake models`)."),
    prompt: str | None = typer.Option(None, "--prompt", help="Prompt pack (default: grounded)."),
    overlay: Path | None = typer.Option(
        None, "--overlay", help="Write the annotated image here (a .png file; a folder when several images)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per image."),
    base_url: list[str] = typer.Option([], "--base-url", help="OpenAI-compatible endpoint (repeatable)."),
    api_key_env: str | None = typer.Option(None, "--api-key-env", help="Environment variable holding the key."),
    convention: str | None = typer.Option(None, "--convention", help="Box convention of a model not in the presets."),
    max_new_tokens: int = max_tokens_option(),
    device: str = device_option(),
    dtype: str = dtype_option(),
    heatmap: str | None = heatmap_option(),
    heatmap_out: Path | None = typer.Option(
        None,
        "--heatmap-out",
        help="Write a dense mode's map, or the model's own, here (8-bit PNG; a folder for several images).",
    ),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="0: greedy (default); consensus needs >0."),
    adapter: Path | None = typer.Option(
        None,
        "--adapter",
        help="Local models: a LoRA adapter folder (peft's adapter_config.json + weights) loaded on --model; its "
        "content is part of the cache and run keys.",
    ),
) -> None:
    """Judge images (or every image in a folder, subfolders included): verdict, P(positive class), rationale, regions in
    original pixels, and a rule pack's per-rule decisions."""
    from grounddefake.api import Detector
    from grounddefake.backends import GenerationParams
    from grounddefake.heatmaps.store import write_heatmap_png
    from grounddefake.overlay import IMAGE_SUFFIXES, save_image

    try:
        chosen = model if model != FORENSIC or not base_url else None
        detector = Detector(
            model=chosen,
            prompt=prompt,
            params=GenerationParams(max_tokens=max_new_tokens, temperature=temperature),
            base_urls=base_url,
            api_key_env=api_key_env,
            convention=convention,
            local=local_options(chosen, device, dtype),
            heatmap=heatmap,
            adapter=adapter,
        )
    except (*USER_ERRORS, KeyError) as exc:
        raise fail(exc if not isinstance(exc, KeyError) else ValueError(exc.args[0])) from None
    try:
        named = _image_files(images)
    except USER_ERRORS as exc:
        raise fail(exc) from None
    if overlay is not None:
        if len(named) > 1:
            overlay.mkdir(parents=True, exist_ok=True)
        elif overlay.suffix.lower() not in IMAGE_SUFFIXES:
            raise fail(ValueError(f"--overlay {overlay}: give a .png or .jpg file name (or a folder for several)"))
        else:
            overlay.parent.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path, name in named:
        try:
            answer = detector.ask(path)
        except ImageError as exc:
            err.print(f"[bold red]error:[/] {escape(visible(exc))}", highlight=False)
            failed += 1
            continue
        verdict = answer.verdict
        if heatmap_out is not None and answer.heatmap is not None:
            write_heatmap_png(heatmap_out / f"{name}.png" if len(named) > 1 else heatmap_out, answer.heatmap)
        if overlay is not None:
            target = overlay / f"{name}.png" if len(named) > 1 else overlay
            try:
                save_image(str(target), verdict.overlay(path))
            except OSError as exc:
                raise fail(exc) from None
        if as_json:
            record = {"image": str(path), **verdict.to_json()}
            sys.stdout.write(json_line(record) + "\n")
            continue
        space = detector.pack.label_space
        score = "" if verdict.score is None else f"  P({space.positive})={verdict.score:.3f}"
        colour = "red" if verdict.label == space.positive else ("yellow" if verdict.label == "unknown" else "green")
        out.print(f"[bold]{escape(visible(path))}[/]: [{colour}]{verdict.label}[/]{score}", highlight=False)
        if verdict.error:
            out.print(f"  error: {visible(verdict.error)}", markup=False, highlight=False)
        if verdict.rationale:
            out.print(f"  {visible(verdict.rationale, multiline=True)}", markup=False, highlight=False)
        for region in verdict.regions:
            box = ", ".join(f"{v:.0f}" for v in region.box)
            extra = "" if region.score is None else f" score {region.score:.2f}"
            out.print(f"  region ({box}){extra}: {visible(region.label or '')}", markup=False, highlight=False)
        for rule in verdict.rules:
            rule_score = "" if rule.score is None else f" {rule.score:.2f}"
            why = f" ({visible(rule.note)})" if rule.note else ""
            line = f"  rule {rule.id}: {rule.decision}{rule_score} by {rule.path}{why}"
            out.print(line, markup=False, highlight=False)
    for warning in detector.caller.stats.warnings:
        err.print(f"[yellow]warning[/] {escape(visible(warning))}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(code=2)


def _image_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """Each image file with the name of its overlay: a file as given (its stem), a folder as the images in it and its
    subfolders (the ``images`` dataset format: sorted, hidden files and links leaving it skipped), named by their
    path in it."""
    from grounddefake.datasets.folders import read_image_folder

    named: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            named += [(s.image, s.id.replace("/", "__")) for s in read_image_folder(path)]
        else:
            named.append((path, path.stem))
    return named


@app.command("prompts")
def prompts_command() -> None:
    """List the shipped prompt packs."""
    table = Table(show_header=True, header_style="bold")
    for column in ("name", "task", "convention", "id", "description"):
        table.add_column(column, no_wrap=column != "description")
    for path in list_packs():
        pack = load_pack(path)
        table.add_row(pack.name, pack.task, pack.convention or "—", pack.id, pack.description)
    out.print(table)


@app.command("suites")
def suites_command() -> None:
    """List the public-benchmark suites (eval/suites/) with the published numbers they compare with."""
    from grounddefake.suites import list_suites

    table = Table(show_header=True, header_style="bold", show_lines=True)
    for column in ("suite", "format", "prompt", "layout", "published"):
        table.add_column(column, overflow="fold", no_wrap=column == "suite")
    for s in list_suites():
        published = (
            "; ".join(f"{p.system}: {p.metric} {p.value:g}{' %' if p.scale == 'percent' else ''}" for p in s.published)
            or "—"
        )
        table.add_row(s.name, s.format, s.prompt + (" + boxes" if s.with_boxes else ""), s.layout, published)
    out.print(table, markup=False, highlight=False)


@app.command("models")
def models_command() -> None:
    """List the models this installation knows: the built-in one and the presets of served models."""
    from grounddefake.presets import presets

    table = Table(show_header=True, header_style="bold", show_lines=False)
    table.add_column("model", no_wrap=True)
    for column in ("model id", "endpoint", "convention", "images", "schema", "logprobs", "$/M in · out"):
        table.add_column(column, overflow="fold")
    table.add_row(FORENSIC, "—", "built in (CPU, offline)", "—", "original", "—", "yes", "free")
    for preset in presets().values():
        policy = preset.image_policy
        if policy.resize == "smart-resize":
            images = f"grid {policy.factor}, ≤ {policy.max_pixels:,} px"
        else:
            limits = [
                f"side ≤ {policy.max_side}" if policy.max_side else "",
                f"short ≤ {policy.max_short_side}" if policy.max_short_side else "",
            ]
            images = ", ".join(x for x in limits if x) or "original"
        price = "self-hosted" if preset.price is None else f"{preset.price.input:g} · {preset.price.output:g}"
        table.add_row(
            preset.name,
            preset.model,
            preset.base_url or "api.openai.com",
            preset.convention or "prompt-defined",
            images,
            "yes" if preset.json_schema else "no",
            "yes" if preset.logprobs else "no",
            price,
        )
    out.print(table, markup=False, highlight=False)
    out.print("Any other model: --model NAME --convention CONVENTION [--base-url URL].", highlight=False)
    from grounddefake.local.inputs import FAMILIES

    local = ", ".join(f"{f.name} ({f.convention or 'prompt-defined'})" for f in FAMILIES.values())
    out.print(
        f"Local models with transformers (pip install 'grounddefake[local]'): --model local:/path or hf:ORG/NAME; "
        f"families: {local}.",
        markup=False,
        highlight=False,
    )


WIDE_TABLE = 120
"""Terminal columns below which ``conventions`` prints a block per convention instead of a table."""


@app.command("conventions")
def conventions_command() -> None:
    """List the box conventions the parser knows, with the model families that use them and an example answer."""
    from grounddefake.conventions import EXAMPLE_REGION, EXAMPLE_SIZE, conventions

    box = ", ".join(f"{v:g}" for v in EXAMPLE_REGION.box)
    table = Table(
        show_header=True,
        header_style="bold",
        show_lines=True,
        caption=f"examples: the region ({box}) labelled '{EXAMPLE_REGION.label}' in a "
        f"{EXAMPLE_SIZE[0]}x{EXAMPLE_SIZE[1]} image",
    )
    reference = {"input": "image sent", "square-pad": "padded square", "smart-resize": "smart-resized grid"}
    if out.width < WIDE_TABLE:  # five columns in 80 are unreadable: one block per convention instead
        for c in conventions():
            out.print(c.name, style="bold", markup=False, highlight=False)
            for what, value in (
                ("families", ", ".join(c.families)),
                ("numbers", c.description),
                ("reference image", reference[c.reference]),
                ("example answer", c.example()),
            ):
                out.print(f"  {what}: {value}", markup=False, highlight=False)
        out.print(table.caption, markup=False, highlight=False)
        return
    for column in ("convention", "model families", "numbers", "reference image", "example answer"):
        table.add_column(column, overflow="fold")
    for c in conventions():
        table.add_row(c.name, ", ".join(c.families), c.description, reference[c.reference], c.example())
    out.print(table, markup=False, highlight=False)


def _size(text: str, option: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}", param_hint=option) from None
    if width < 1 or height < 1:
        raise typer.BadParameter(f"sizes are positive, got {text!r}", param_hint=option)
    return width, height


@app.command("parse")
def parse_command(
    answer: str = typer.Argument("-", help="file holding the model's answer, or - to read it from stdin"),
    convention: str = typer.Option(..., "--convention", "-c", help="the box convention (grounddefake conventions)"),
    image_size: str = typer.Option(..., "--image-size", help="WxH of the original image"),
    input_size: str | None = typer.Option(
        None,
        "--input-size",
        help=(
            "WxH of the image that was sent to the model, when it was resized (default: the original). It is not the "
            "model's coordinate space: for qwen2.5-vl the parser smart-resizes it to Qwen's 28-px grid itself (640x480 "
            "→ 644x476, noted in parse_errors); to read boxes in a given pixel space, use -c pixel with that size"
        ),
    ),
) -> None:
    """Parse one model answer into a verdict with regions in pixels of the original image, printed as JSON."""
    from grounddefake.conventions import get_convention
    from grounddefake.parsing import parse

    size = _size(image_size, "--image-size")
    seen = None if input_size is None else _size(input_size, "--input-size")
    try:
        conv = get_convention(convention)
        text = sys.stdin.read() if answer == "-" else Path(answer).read_text(encoding="utf-8", errors="replace")
    except (KeyError, OSError) as exc:
        raise fail(ValueError(exc.args[0]) if isinstance(exc, KeyError) else exc) from None
    verdict = parse(text, conv, size, input_size=seen)
    sys.stdout.write(json_line(verdict.to_json(), indent=2) + "\n")
