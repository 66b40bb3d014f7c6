"""Benchmark local-model batching: images per second at batch 1 and batch 8, tiny Qwen2.5-VL on the CPU.

Run from the repository root (``make test`` installs torch and transformers into .venv)::

    HF_HUB_OFFLINE=1 .venv/bin/python eval/bench/local.py [--n 48] [--tokens 32] [--rounds 3]

A tiny random Qwen2.5-VL (tests/tiny_models.py) is built offline, then the same N images (three sizes, so batches
need padding) go through ``grounddefake.evaluate`` with the ``verdict`` pack, no cache, and every answer exactly
``--tokens`` tokens long (end-of-answer tokens are banned, so both settings do the same work). The two settings
alternate for ``--rounds`` rounds in one process and the best round of each counts; images/s is N divided by the
request phase (``metrics.seconds``: prepare, render, generate, parse, write). Goal (issue #7): batch 8 ≥ 2× batch 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SIZES = [(320, 240), (240, 320), (280, 280)]


def write_dataset(folder: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        width, height = SIZES[i % len(SIZES)]
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(folder / "images" / f"{i}.png")
        lines.append(json.dumps({"id": str(i), "image": f"images/{i}.png", "label": "fake" if i % 2 else "real"}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=48, help="images per round")
    parser.add_argument("--tokens", type=int, default=32, help="tokens generated per answer")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each setting")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from grounddefake.api import evaluate
    from grounddefake.backends import GenerationParams
    from grounddefake.backends.local import LocalBackend
    from grounddefake.local import LocalOptions
    from tests.tiny_models import build_qwen

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_qwen(folder / "qwen25")
        manifest = write_dataset(folder / "data", args.n)
        backends = {size: LocalBackend(f"local:{model}", LocalOptions(batch_size=size)) for size in (1, 8)}
        for backend in backends.values():  # every answer runs to --tokens: the same work at both batch sizes
            backend.inputs.stop_ids = frozenset()
        params = GenerationParams(max_tokens=args.tokens)
        best: dict[int, float] = {}
        for round_ in range(args.rounds):
            for size, backend in backends.items():
                start = time.perf_counter()
                result = evaluate(
                    manifest, backend, "verdict", out=folder / f"run-{size}-{round_}", params=params, cache=False
                )
                seconds = result.metrics["seconds"]
                lines = (result.run_dir / "predictions.jsonl").read_text().splitlines()
                generated = [json.loads(line)["usage"]["completion_tokens"] for line in lines]
                if min(generated) != args.tokens:
                    raise SystemExit(f"answers of {min(generated)}–{max(generated)} tokens, not {args.tokens}")
                rate = args.n / seconds
                best[size] = max(best.get(size, 0.0), rate)
                print(
                    f"round {round_ + 1} batch {size}: {rate:.1f} images/s "
                    f"({seconds:.2f} s request phase, {time.perf_counter() - start:.2f} s end to end)"
                )
        ratio = best[8] / best[1]
        print(
            f"images_per_second_batch1: {best[1]:.1f} (best of {args.rounds} rounds, {args.n} images, "
            f"{args.tokens} tokens each)"
        )
        print(f"images_per_second_batch8: {best[8]:.1f}")
        print(f"batch8_over_batch1: {ratio:.2f} (goal >= 2)")


if __name__ == "__main__":
    main()
