"""What a training run is (:class:`TrainConfig`), what each step measured and what a run wrote."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grounddefake.training.examples import Skipped

DEFAULT_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
"""The modules LoRA adapts by default: the language model's attention and MLP projections (not the vision tower)."""
QUANTIZE = ("auto", "4bit", "none")


class TrainingError(ValueError):
    """Training cannot start or resume: a bad option, no usable sample, a checkpoint of another configuration."""


@dataclass(frozen=True)
class TrainConfig:
    """What a training run is: everything that changes the adapter it writes.

    Attributes:
        model: ``local:PATH`` or ``hf:ORG/NAME``.
        prompt: the pack's id (name@hash) the conversations were rendered with.
        rank, alpha, dropout: LoRA's rank r, scaling alpha and dropout.
        lr: peak learning rate (linear warm-up over ``warmup`` of the steps, then linear decay to 0).
        epochs: passes over the training split.
        batch_size: rows per forward pass; ``grad_accum`` passes per optimizer step.
        targets: the regex of module names LoRA adapts.
        seed: seeds the LoRA initialisation, the data order and dropout.
        val_fraction: the share of ids (by hash) held out for the validation loss.
        quantize: ``auto`` (4-bit where CUDA and bitsandbytes are present), ``4bit`` or ``none``.
        device, dtype: as for local models (``auto``: cuda > mps > cpu; bf16 on GPUs, float32 on cpu).
    """

    model: str
    prompt: str
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    lr: float = 2e-4
    epochs: int = 1
    batch_size: int = 4
    grad_accum: int = 1
    warmup: float = 0.03
    weight_decay: float = 0.0
    targets: str = DEFAULT_TARGETS
    seed: int = 0
    val_fraction: float = 0.1
    quantize: str = "auto"
    device: str = "auto"
    dtype: str = "auto"

    def __post_init__(self) -> None:
        problems = [
            f"--{name} must be {rule}"
            for name, bad, rule in (
                ("rank", self.rank < 1, "at least 1"),
                ("alpha", self.alpha < 1, "at least 1"),
                ("lr", not self.lr > 0, "positive"),
                ("epochs", self.epochs < 1, "at least 1"),
                ("batch-size", self.batch_size < 1, "at least 1"),
                ("grad-accum", self.grad_accum < 1, "at least 1"),
                ("dropout", not 0 <= self.dropout < 1, "in [0, 1)"),
                ("val-fraction", not 0 <= self.val_fraction < 1, "in [0, 1)"),
                ("quantize", self.quantize not in QUANTIZE, f"one of {', '.join(QUANTIZE)}"),
            )
            if bad
        ]
        if problems:
            raise TrainingError("; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StepLog:
    """One optimizer step: its loss (mean over its answer tokens), learning rate and speed."""

    step: int
    epoch: int
    loss: float
    lr: float
    samples_per_s: float


@dataclass(frozen=True)
class TrainResult:
    """What a run wrote and measured."""

    out: Path
    steps: int
    history: tuple[StepLog, ...]
    loss_before: float | None
    loss_after: float | None
    loss_split: str
    samples_per_s: float
    seconds: float
    peak_rss_mb: float
    quantized: bool
    n_train: int
    n_val: int
    skipped: tuple[Skipped, ...] = field(default=())
    resumed_from: int | None = None
