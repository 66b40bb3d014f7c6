"""A training run's files: checkpoints written whole before they are named, and ``training.json``."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grounddefake.local.loading import checkpoint_fingerprint
from grounddefake.prompt_pack import PromptPack
from grounddefake.training.config import StepLog, TrainConfig, TrainResult

STATE = "training.json"
CHECKPOINTS = "checkpoints"


def latest_checkpoint(out: Path) -> Path | None:
    folders = sorted((out / CHECKPOINTS).glob("step-*"), key=lambda p: int(p.name.partition("-")[2] or 0))
    done = [f for f in folders if (f / "state.json").is_file()]
    return done[-1] if done else None


def save_checkpoint(
    model: Any,
    optimizer: Any,
    scheduler: Any,
    torch: Any,
    out: Path,
    step: int,
    fingerprint: dict[str, Any],
    before: float,
    history: Sequence[StepLog],
) -> None:
    """Write ``checkpoints/step-N`` whole, then name it done (``state.json`` last): a kill leaves the last one."""
    folder = out / CHECKPOINTS / f"step-{step:06d}"
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()},
        partial / "optimizer.pt",
    )
    state = {"step": step, "fingerprint": fingerprint, "loss_before": before, "history": [asdict(h) for h in history]}
    (partial / "state.json").write_text(json.dumps(state) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def history_of(saved: dict[str, Any]) -> list[StepLog]:
    return [StepLog(**h) for h in saved.get("history", [])]


def write_state(
    out: Path,
    config: TrainConfig,
    pack: PromptPack,
    fingerprint: dict[str, Any],
    path: str,
    result: TrainResult,
    n_items: int,
) -> None:
    import peft
    import torch
    import transformers

    state = {
        "config": config.to_json(),
        "prompt": pack.id,
        "data_sha256": fingerprint["data"],
        "base_model": {"ref": config.model, "weights": checkpoint_fingerprint(path)},
        "samples": {"train": result.n_train, "val": result.n_val, "rows": n_items, "skipped": len(result.skipped)},
        "steps": result.steps,
        "resumed_from": result.resumed_from,
        "loss": {"split": result.loss_split, "before": result.loss_before, "after": result.loss_after},
        "history": [asdict(h) for h in result.history],
        "samples_per_s": result.samples_per_s,
        "seconds": result.seconds,
        "peak_rss_mb": result.peak_rss_mb,
        "quantized_4bit": result.quantized,
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
        },
        "skipped": [{"id": s.sample_id, "reason": s.reason} for s in result.skipped],
    }
    (out / STATE).write_text(json.dumps(state, indent=2) + "\n")
