"""LoRA fine-tuning on this CPU: does ``grounddefake train`` make a model answer a task its base cannot?

    python eval/bench/finetune.py [--train 96] [--held-out 40] [--epochs 20]

The task (``tests/synthetic_tasks.py``): grey noise photos, a fake one carrying a bright square. Tiny random
checkpoints (``tests/tiny_models.py``, output embeddings of a trained model's scale) of PaliGemma and Qwen2.5-VL are
trained on one set and evaluated on another, drawn with another seed, once without and once with the adapter:
PaliGemma with its shipped ``paligemma-verdict`` pack on 64-px images, Qwen2.5-VL with a one-word yes/no pack on
112-px images (its 28-px grid gives 64-px images only four image tokens). Every command is a whole process (start to
exit). Printed per model: the held-out loss before and after (``training.json``), training samples/s, the
``train`` command's seconds and peak RSS, and the held-out accuracy of the base model and of the adapter.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_measured

from tests.synthetic_tasks import bright_square
from tests.tiny_models import build_paligemma, build_qwen

YES_NO = """name: yes-no
version: 1
description: Is this image made by AI? One word, yes (fake) or no (real).
task: verdict
answers: {yes: fake, no: real}
turns:
  - Is this image made by AI? Answer yes or no.
"""
OUTPUT_STD = 0.3
CLI = [sys.executable, "-m", "grounddefake.cli"]
ENV = {"HF_HUB_OFFLINE": "1", "GROUNDDEFAKE_CACHE_DIR": ""}


def accuracy(model: str, data: Path, prompt: str, out: Path, adapter: Path | None) -> tuple[float, float | None]:
    """Held-out accuracy (unknown answers count as wrong) and ROC AUC of P(fake) (the yes / no token's
    probability, which a base model that never answers in one word still has) of one ``eval`` process."""
    extra = ["--adapter", str(adapter)] if adapter else []
    command = [*CLI, "eval", "--model", model, *extra, "--data", str(data), "--prompt", prompt, "--out", str(out)]
    run_measured([*command, "--no-cache", "--max-new-tokens", "8"], ENV)
    classification = json.loads((out / "metrics.json").read_text())["classification"]
    return classification["accuracy"], classification.get("auc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=96, help="training images (some held out for the val loss)")
    parser.add_argument("--held-out", type=int, default=40, help="evaluation images (another seed)")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "yes-no.yaml").write_text(YES_NO)
        setups = [
            ("PaliGemma", build_paligemma(root / "paligemma", output_std=OUTPUT_STD), "paligemma-verdict", 64),
            ("Qwen2.5-VL", build_qwen(root / "qwen", output_std=OUTPUT_STD), str(root / "yes-no.yaml"), 112),
        ]
        rows = []
        for name, checkpoint, prompt, side in setups:
            train_data = bright_square(root / f"train{side}", args.train, seed=0, size=side)
            held = bright_square(root / f"held{side}", args.held_out, seed=9, size=side)
            model, adapter = f"local:{checkpoint}", root / f"adapter-{name}"
            command = [*CLI, "train", "--model", model, "--data", str(train_data), "--prompt", prompt]
            command += ["--out", str(adapter), "--epochs", str(args.epochs), "--lr", "3e-3", "--batch-size", "8"]
            measured = run_measured(command, ENV)
            state = json.loads((adapter / "training.json").read_text())
            base = accuracy(model, held, prompt, root / f"base-{name}", None)
            tuned = accuracy(model, held, prompt, root / f"tuned-{name}", adapter)
            rows.append((name, state, measured, base, tuned))
    print(
        f"bright-square task: {args.train} training images, {args.held_out} held out (another seed), "
        f"{args.epochs} epochs, LoRA r 8, lr 3e-3, batch 8, CPU"
    )
    header = (
        "model",
        "val loss before",
        "after",
        "train samples/s",
        "train s",
        "peak RSS MB",
        "base acc (AUC of P(fake))",
        "adapter acc (AUC)",
    )
    print(" | ".join(header))
    for name, state, measured, base, tuned in rows:
        loss = state["loss"]
        print(
            f"{name} | {loss['before']:.3f} | {loss['after']:.4f} | {state['samples_per_s']:.1f} | "
            f"{measured.seconds:.1f} | {measured.peak_rss_mb:.0f} | {_pair(base)} | {_pair(tuned)}"
        )
    for name, _, _, (base, _), (tuned, _) in rows:
        verdict = "beats" if tuned >= 0.9 and base <= 0.6 else "does NOT clearly beat"
        print(f"{name}: the adapter ({tuned:.3f}) {verdict} the base ({base:.3f}) on held-out images")


def _pair(result: tuple[float, float | None]) -> str:
    accuracy, auc = result
    return f"{accuracy:.3f} ({'—' if auc is None else f'{auc:.3f}'})"


if __name__ == "__main__":
    main()
