"""CLIP relevance scanning, step 0 of the CLUE judge (``judge: {relevance: clip, relevance_model: PATH}``).

Before any MLLM request, the cosine similarity between the image's CLIP embedding and each rule's ``objective``
decides which rules can apply: a rule below ``relevance_threshold`` (0.22, CLUE's value for ViT-B/16) is recorded
``not_violated`` with path ``relevance`` and is never asked. CLIP is a local transformers checkpoint (CLIPModel, its
tokenizer and the PIL CLIPImageProcessor; no torchvision), loaded once per process and path, and run off the event
loop. Text embeddings are computed once per rule text.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ENV_MODEL = "GROUNDDEFAKE_CLIP_MODEL"
"""The CLIP checkpoint folder when a pack with ``relevance: clip`` names no ``relevance_model``."""


def resolve_model(value: str | None, source: str) -> str | None:
    """The absolute checkpoint folder of a pack's ``relevance_model`` (``~`` expanded; a relative path is relative
    to the pack file's folder), or of ``$GROUNDDEFAKE_CLIP_MODEL`` when the pack names none."""
    if value is None:
        env = os.environ.get(ENV_MODEL, "").strip()
        return str(Path(env).expanduser().resolve()) if env else None
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(source).parent / path
    return str(path.resolve())


def checkpoint_problem(folder: str) -> str | None:
    """Why ``folder`` cannot be loaded as a CLIP checkpoint (read without torch), else None.

    >>> checkpoint_problem("/no/such/clip")
    '/no/such/clip is not a folder'
    """
    from grounddefake.local.loading import checkpoint_gap

    root = Path(folder)
    if not root.is_dir():
        return f"{folder} is not a folder"
    gap = checkpoint_gap(root)
    if gap is not None:
        return f"{folder} is {gap}"
    try:
        model_type = json.loads((root / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        return f"{folder}/config.json cannot be read ({exc})"
    if model_type != "clip":
        return f"{folder} holds a {model_type!r} model, not CLIP"
    if not (root / "preprocessor_config.json").is_file():
        return f"{folder} has no preprocessor_config.json (CLIP's image processor)"
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        return f"CLIP needs {' and '.join(missing)}: pip install 'grounddefake[local]'"
    return None


class ClipScanner:
    """A CLIP checkpoint on the CPU: cosine similarities of one image with rule texts (thread-safe, serial)."""

    def __init__(self, folder: str) -> None:
        import torch
        import transformers
        from transformers import AutoTokenizer, CLIPModel
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

        transformers.utils.logging.disable_progress_bar()  # the run's progress bar is the one that counts
        self.torch = torch
        self.folder = folder
        self.model = CLIPModel.from_pretrained(folder, dtype=self.torch.float32).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.images = CLIPImageProcessorPil.from_pretrained(folder)
        self.max_length = int(self.model.config.text_config.max_position_embeddings)
        self._texts: dict[str, Any] = {}
        self._lock = threading.Lock()

    def similarities(self, pixels: np.ndarray, texts: Sequence[str]) -> tuple[float, ...]:
        """cos(image embedding, text embedding) for each of ``texts`` (each in [-1, 1])."""
        from PIL import Image

        torch = self.torch
        with self._lock, torch.inference_mode():
            new = [t for t in dict.fromkeys(texts) if t not in self._texts]
            if new:
                tokens = self.tokenizer(
                    new, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
                )
                embedded = _projected(self.model.get_text_features(**tokens))
                self._texts.update(zip(new, torch.nn.functional.normalize(embedded, dim=-1), strict=True))
            values = self.images(images=[Image.fromarray(pixels)], return_tensors="pt")["pixel_values"]
            image = torch.nn.functional.normalize(
                _projected(self.model.get_image_features(pixel_values=values)), dim=-1
            )
            text = torch.stack([self._texts[t] for t in texts])
            return tuple(float(v) for v in (text @ image[0]).clamp(-1.0, 1.0))


def _projected(output: Any) -> Any:
    """The projected embedding: a tensor, or the ``pooler_output`` of transformers 5's model output."""
    return getattr(output, "pooler_output", output)


_SCANNERS: dict[str, ClipScanner] = {}
_LOADING = threading.Lock()


def scanner(folder: str) -> ClipScanner:
    """The scanner of ``folder``, loaded on first use and kept for the process (every run and image shares it)."""
    with _LOADING:
        found = _SCANNERS.get(folder)
        if found is None:
            found = _SCANNERS[folder] = ClipScanner(folder)
        return found


async def scan(folder: str, pixels: np.ndarray, texts: Sequence[str]) -> tuple[float, ...]:
    """The similarities of ``pixels`` with ``texts``, loaded and computed in a worker thread."""
    found = await asyncio.to_thread(scanner, folder)
    return await asyncio.to_thread(found.similarities, pixels, texts)
