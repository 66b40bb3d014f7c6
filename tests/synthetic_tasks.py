"""Synthetic training tasks a tiny random model can learn on a CPU in minutes.

``bright_square``: grey noise photos; a fake one carries a bright square (its box is the region). A model that
learns the task must look at the image: the prompt is the same for every sample.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def bright_square(folder: Path, n: int, seed: int = 0, size: int = 64) -> Path:
    """A manifest of ``n`` images, alternately real and fake, in ``folder``; returns its path."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        pixels = rng.normal(110, 18, (size, size, 3)).clip(0, 255).astype(np.uint8)
        record: dict = {"id": f"sq{seed}_{i:04d}", "image": f"images/{i:04d}.png", "label": "real"}
        if i % 2:
            side = int(rng.integers(size // 4, size // 2))
            x, y = (int(v) for v in rng.integers(0, size - side, 2))
            pixels[y : y + side, x : x + side] = 250
            record.update(label="fake", regions=[{"box": [x, y, x + side, y + side], "label": "bright square"}])
        Image.fromarray(pixels).save(folder / record["image"])
        lines.append(json.dumps(record))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"
