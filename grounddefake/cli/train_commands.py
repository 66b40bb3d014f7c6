"""``grounddefake train``: LoRA fine-tuning of a local model on a dataset, answered as a prompt pack asks."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from grounddefake.cli.app import USER_ERRORS, app, device_option, dtype_option, err, fail, label_map_option, out


@app.command("train")
def train_command(
    model: str = typer.Option(..., "--model", help="The base model: local:PATH or hf:ORG/NAME."),
    data: str = typer.Option(..., "--data", help="A dataset folder or annotation file (any `data formats` one)."),
    prompt: str = typer.Option(..., "--prompt", help="The prompt pack eval will ask with (name or YAML path)."),
    out_dir: Path = typer.Option(..., "--out", help="The adapter folder (pass it to eval with --adapter)."),
    rank: int = typer.Option(8, "--rank", min=1, help="LoRA rank r."),
    alpha: int = typer.Option(16, "--alpha", min=1, help="LoRA alpha (the update is scaled by alpha / r)."),
    dropout: float = typer.Option(0.05, "--dropout", help="LoRA dropout."),
    lr: float = typer.Option(2e-4, "--lr", help="Peak learning rate (3% linear warm-up, then linear decay)."),
    epochs: int = typer.Option(1, "--epochs", min=1, help="Passes over the train split."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Rows per forward pass."),
    grad_accum: int = typer.Option(1, "--grad-accum", min=1, help="Forward passes per optimizer step."),
    targets: str | None = typer.Option(
        None, "--targets", help="Regex of module names to adapt (default: the language model's projections)."
    ),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of ids (by hash) held out."),
    seed: int = typer.Option(0, "--seed", help="Seeds LoRA's initialisation, the data order and dropout."),
    quantize: str = typer.Option(
        "auto", "--quantize", help="auto (QLoRA 4-bit on CUDA with bitsandbytes), 4bit or none."
    ),
    save_every: int = typer.Option(0, "--save-every", min=0, help="A checkpoint every N steps (0: each epoch)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint under --out."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N samples."),
    data_format: str | None = typer.Option(None, "--format", help="Dataset format (default: detected)."),
    label_map: str | None = label_map_option(),
    device: str = device_option(),
    dtype: str = dtype_option(),
) -> None:
    """Fine-tune a local model with LoRA so that it answers PROMPT right on DATA; writes a peft adapter."""
    from grounddefake.datasets import load_dataset
    from grounddefake.datasets.label_map import parse_label_map
    from grounddefake.prompts import load_pack
    from grounddefake.training.config import DEFAULT_TARGETS, TrainConfig, TrainingError
    from grounddefake.training.lora import train

    try:
        dataset = load_dataset(data, data_format, label_map=parse_label_map(label_map))
        pack = load_pack(prompt)
        config = TrainConfig(
            model=model,
            prompt=pack.id,
            rank=rank,
            alpha=alpha,
            dropout=dropout,
            lr=lr,
            epochs=epochs,
            batch_size=batch_size,
            grad_accum=grad_accum,
            targets=targets or DEFAULT_TARGETS,
            seed=seed,
            val_fraction=val_fraction,
            quantize=quantize,
            device=device,
            dtype=dtype,
        )
        samples = dataset.samples[:limit] if limit else dataset.samples
        with Progress(
            TextColumn("[bold]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f} · {task.fields[speed]:.1f} samples/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("train", total=None, loss=float("nan"), speed=0.0)

            def step(done: int, total: int, loss: float, speed: float) -> None:
                progress.update(task, completed=done, total=total, loss=loss, speed=speed)

            result = train(samples, pack, config, out_dir, resume=resume, save_every=save_every, on_step=step)
    except (*USER_ERRORS, TrainingError) as exc:
        raise fail(exc) from None
    resumed = f", resumed at step {result.resumed_from}" if result.resumed_from is not None else ""
    out.print(
        f"{result.steps} steps on {result.n_train} samples ({result.n_val} held out){resumed}; "
        f"{result.loss_split} loss {result.loss_before:.4f} → {result.loss_after:.4f}; "
        f"{result.samples_per_s:.1f} samples/s, {result.seconds:.1f} s, peak RSS {result.peak_rss_mb:.0f} MB"
        + ("; QLoRA 4-bit" if result.quantized else ""),
        highlight=False,
    )
    out.print(f"adapter → {escape(str(out_dir))} (eval --model {escape(model)} --adapter {escape(str(out_dir))})")
    if result.skipped:
        n = len(result.skipped)
        err.print(f"[yellow]{n} sample{'s' * (n > 1)} left out[/] (training.json lists them)", highlight=False)
