"""Shared fixtures: tiny datasets written to tmp folders and a scripted backend that answers like an MLLM."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grounddefake.backends.base import Backend, BackendError, Request
from grounddefake.images import ImagePolicy
from grounddefake.types import Completion, Usage

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write into the user's cache folder (response cache, extracted masks and images)."""
    if "GROUNDDEFAKE_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


class ScriptedBackend(Backend):
    """Answers with ``script(request)``; records every request it saw. ``fail_ids`` raise BackendError."""

    def __init__(self, script: Callable[[Request], str], policy: ImagePolicy | None = None) -> None:
        self.model = "scripted"
        self.image_policy = policy or ImagePolicy()
        self.default_concurrency = 2
        self.script = script
        self.requests: list[Request] = []

    async def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        text = self.script(request)
        if text.startswith("RAISE:"):
            raise BackendError(text[6:])
        return Completion(text, usage=Usage(10, 5), latency_s=0.001, finish_reason="stop")


def marker_box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """(x1, y1, x2, y2) of the pure-red pixels of an (H, W, 3) image."""
    red = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] < 60) & (pixels[:, :, 2] < 60)
    ys, xs = np.nonzero(red)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def point_at_marker(request: Request) -> str:
    """A norm1000 answer boxing the red marker of the image the model saw."""
    pixels = request.images[0].pixels
    h, w = pixels.shape[:2]
    x1, y1, x2, y2 = marker_box(pixels)
    box = [round(x1 * 1000 / w), round(y1 * 1000 / h), round(x2 * 1000 / w), round(y2 * 1000 / h)]
    return json.dumps({"verdict": "fake", "rationale": "red patch", "regions": [{"box": box, "label": "marker"}]})


@pytest.fixture
def marker_image() -> np.ndarray:
    """A 200×120 grey noise image with a red marker at x 130–170, y 20–50."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(90, 140, (120, 200, 3), dtype=np.uint8)
    pixels[20:50, 130:170] = (255, 0, 0)
    return pixels


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """A manifest with 2 real and 2 fake images (fakes carry a red marker and its exact mask)."""
    rng = np.random.default_rng(1)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    lines = []
    for i in range(4):
        pixels = rng.integers(60, 200, (64, 96, 3), dtype=np.uint8)
        record: dict = {"id": f"s{i}", "image": f"images/s{i}.png", "label": "real"}
        if i % 2:
            pixels[10:30, 40:70] = (255, 0, 0)
            mask = np.zeros((64, 96), np.uint8)
            mask[10:30, 40:70] = 255
            Image.fromarray(mask).save(tmp_path / "masks" / f"s{i}.png")
            record.update(label="fake", mask=f"masks/s{i}.png", regions=[{"box": [40, 10, 70, 30]}])
        Image.fromarray(pixels).save(tmp_path / "images" / f"s{i}.png")
        lines.append(json.dumps(record))
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "manifest.jsonl"


def write_dataset(folder: Path, n: int, seed: int = 2) -> Path:
    """A manifest of ``n`` small images, alternately real and fake (fakes carry a red marker and its mask)."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    lines = []
    for i in range(n):
        pixels = rng.integers(60, 200, (48, 64, 3), dtype=np.uint8)
        record: dict = {"id": f"img{i:04d}", "image": f"images/img{i:04d}.png", "label": "real"}
        if i % 2:
            pixels[8:24, 16:40] = (255, 0, 0)
            mask = np.zeros((48, 64), np.uint8)
            mask[8:24, 16:40] = 255
            Image.fromarray(mask).save(folder / "masks" / f"img{i:04d}.png")
            record.update(label="fake", mask=f"masks/img{i:04d}.png")
        Image.fromarray(pixels).save(folder / "images" / f"img{i:04d}.png")
        lines.append(json.dumps(record))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"
