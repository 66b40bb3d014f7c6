"""Requests → model inputs, the way each model family expects them.

- **Qwen2-VL, Qwen2.5-VL, Qwen3-VL** (:class:`QwenInputs`): the tokenizer's chat template and the PIL image
  processor. Images are prepared on the processor's own smart-resize grid (patch × merge, its pixel limits), and
  each request checks that the processor's ``image_grid_thw`` is exactly that grid, so Qwen2.5-VL's pixel boxes map
  back through the grid the model saw, never a guess. Qwen's stock processors need torchvision for their video
  half; this path does not.
- **LLaVA-1.5, LLaVA-NeXT, LLaVA-OneVision** and other chat models with a stock processor
  (:class:`ChatProcessorInputs`): the processor's chat template and image handling. LLaVA-1.5 images are first
  padded to a square with the processor's mean colour, as the original LLaVA does, so its boxes (0–1 of the padded
  square) map back exactly.
- **PaliGemma** (:class:`PaliGemmaInputs`): no chat; the prompt is the last user turn (``detect …``,
  ``answer en …``), after the image tokens, as PaliGemma was trained.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from grounddefake.backend_interface import BackendError, Request
from grounddefake.images import QWEN_MIN_PIXELS, ImagePolicy
from grounddefake.local.loading import LocalModelError
from grounddefake.prompt_pack import ImagePart, Message, TextPart

PROCESSOR_MAX_PIXELS = 1280 * 28 * 28
"""The Qwen2-VL image processor's own pixel limit, for a checkpoint whose processor config names none."""
LOCAL_MAX_SIDE = 2048
"""Longest side sent to families whose processor resizes to a fixed size anyway."""
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Qwen's chat format, for a checkpoint that ships no chat template."""


@dataclass(frozen=True)
class Family:
    """A model family: its name, the box convention it answers in (None: prompt-defined) and its inputs."""

    name: str
    convention: str | None
    inputs: type[ModelInputs]
    pad_square: bool = False


class ModelInputs(ABC):
    """Builds a batch of model inputs from requests.

    Attributes:
        tokenizer: decodes the generated tokens.
        image_policy: how images are prepared before they reach the processor.
        stop_ids: token ids that end an answer.
    """

    tokenizer: Any
    image_policy: ImagePolicy
    stop_ids: frozenset[int]

    @abstractmethod
    def encode(self, requests: Sequence[Request]) -> dict[str, Any]:
        """A left-padded batch (``input_ids``, ``attention_mask``, pixel tensors) for ``requests``."""

    def _prepare_tokenizer(self) -> None:
        """Pad on the left (a batch generates from aligned ends) and know the tokens that end an answer."""
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.stop_ids = frozenset(
            i for i in (self.tokenizer.eos_token_id, self.tokenizer.pad_token_id) if isinstance(i, int)
        )


def hf_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Our messages in the transformers chat format (``{"type": "image"}`` / ``{"type": "text"}`` parts)."""
    return [
        {
            "role": m.role,
            "content": [
                {"type": "image"} if isinstance(p, ImagePart) else {"type": "text", "text": p.text} for p in m.parts
            ],
        }
        for m in messages
    ]


def request_images(request: Request) -> list[Image.Image]:
    """The request's images in the order its placeholders use them."""
    order = [p.index for m in request.messages for p in m.parts if isinstance(p, ImagePart)]
    return [Image.fromarray(request.images[min(i, len(request.images) - 1)].pixels) for i in order]


def _chat_template(folder: str, tokenizer: Any) -> str | None:
    """The checkpoint's chat template: ``chat_template.jinja`` / ``.json`` (processor level), else the tokenizer's."""
    root = Path(folder)
    if (root / "chat_template.jinja").is_file():
        return (root / "chat_template.jinja").read_text(encoding="utf-8")
    if (root / "chat_template.json").is_file():
        return json.loads((root / "chat_template.json").read_text(encoding="utf-8")).get("chat_template")
    return getattr(tokenizer, "chat_template", None)


class QwenInputs(ModelInputs):
    """Qwen2-VL / Qwen2.5-VL / Qwen3-VL: tokenizer + PIL image processor, ``<|image_pad|>`` repeated per grid."""

    def __init__(self, folder: str, family: Family) -> None:
        from transformers import AutoTokenizer
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self._prepare_tokenizer()
        self.processor = Qwen2VLImageProcessorPil.from_pretrained(folder)
        self.template = _chat_template(folder, self.tokenizer) or CHATML
        self.merge = int(getattr(self.processor, "merge_size", 2))
        self.patch = int(getattr(self.processor, "patch_size", 14))
        size = getattr(self.processor, "size", None) or {}
        self.min_pixels = int(
            size.get("shortest_edge") or getattr(self.processor, "min_pixels", None) or QWEN_MIN_PIXELS
        )
        self.max_pixels = int(
            size.get("longest_edge") or getattr(self.processor, "max_pixels", None) or PROCESSOR_MAX_PIXELS
        )
        self.image_policy = ImagePolicy(
            resize="smart-resize",
            factor=self.patch * self.merge,
            min_pixels=self.min_pixels,
            max_pixels=self.max_pixels,
            format="raw",
        )
        self.image_token_id = self.tokenizer.convert_tokens_to_ids("<|image_pad|>")
        pad = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(pad, int) and pad != self.tokenizer.unk_token_id:
            self.stop_ids = self.stop_ids | {pad}

    def encode(self, requests: Sequence[Request]) -> dict[str, Any]:
        images = [image for request in requests for image in request_images(request)]
        processed = self.processor(images=images, return_tensors="pt") if images else None
        grids = processed["image_grid_thw"] if processed is not None else []
        for image, grid in zip(images, grids, strict=True):
            seen = (int(grid[2]) * self.patch, int(grid[1]) * self.patch)
            if seen != image.size:  # the boxes would refer to another image than the one mapped back
                raise BackendError(
                    f"the image processor resized a {image.size[0]}x{image.size[1]} input to {seen[0]}x{seen[1]}; "
                    "its limits differ from the image policy"
                )
        texts, offset = [], 0
        for request in requests:
            text = self.tokenizer.apply_chat_template(
                hf_messages(request.messages), chat_template=self.template, add_generation_prompt=True, tokenize=False
            )
            pieces = text.split("<|image_pad|>")
            placed = sum(isinstance(p, ImagePart) for m in request.messages for p in m.parts)
            if len(pieces) - 1 != placed:
                raise BackendError(f"the chat template placed {len(pieces) - 1} images for {placed}")
            expanded = [pieces[0]]
            for k, piece in enumerate(pieces[1:]):
                expanded.append("<|image_pad|>" * (int(grids[offset + k].prod()) // self.merge**2) + piece)
            offset += len(pieces) - 1
            texts.append("".join(expanded))
        batch = dict(self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False))
        # which tokens are image patches: the model's multimodal rotary positions (M-RoPE) are built from it
        batch["mm_token_type_ids"] = (batch["input_ids"] == self.image_token_id).int()
        if processed is not None:
            batch.update(pixel_values=processed["pixel_values"], image_grid_thw=grids)
        return batch


class ChatProcessorInputs(ModelInputs):
    """A stock processor with a chat template (LLaVA family and similar)."""

    def __init__(self, folder: str, family: Family) -> None:
        from transformers import AutoProcessor

        self.processor = AutoProcessor.from_pretrained(folder)
        if not hasattr(self.processor, "image_processor"):
            raise LocalModelError(f"{folder}: AutoProcessor found no image processor for this {family.name} model")
        self.tokenizer = self.processor.tokenizer
        self._prepare_tokenizer()
        self.template = getattr(self.processor, "chat_template", None) or getattr(self.tokenizer, "chat_template", None)
        if not self.template:
            raise LocalModelError(f"{folder}: the {family.name} checkpoint has no chat template")
        self.pad_square = family.pad_square
        probe = self.tokenizer("x")["input_ids"]
        self.adds_bos = bool(probe) and probe[0] == self.tokenizer.bos_token_id
        mean = getattr(self.processor.image_processor, "image_mean", None) or (0.5, 0.5, 0.5)
        self.fill = tuple(round(float(v) * 255) for v in mean)
        self.image_policy = ImagePolicy(max_side=LOCAL_MAX_SIDE, format="raw")

    def _image(self, image: Image.Image) -> Image.Image:
        if not self.pad_square or image.width == image.height:
            return image
        side = max(image.size)
        square = Image.new("RGB", (side, side), self.fill)
        square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
        return square

    def encode(self, requests: Sequence[Request]) -> dict[str, Any]:
        texts = [
            self.processor.apply_chat_template(
                hf_messages(r.messages), chat_template=self.template, add_generation_prompt=True, tokenize=False
            )
            for r in requests
        ]
        bos = self.tokenizer.bos_token
        if bos and self.adds_bos:  # the tokenizer adds it again: never two
            texts = [t[len(bos) :] if t.startswith(bos) else t for t in texts]
        images = [self._image(image) for r in requests for image in request_images(r)]
        batch = self.processor(images=images or None, text=texts, return_tensors="pt", padding=True)
        return {k: v for k, v in batch.items() if k != "labels"}


def paligemma_prefix(parts: Sequence[TextPart | ImagePart]) -> str:
    """The text of one user turn as PaliGemma is asked it: its text parts, stripped, joined by spaces."""
    return " ".join(p.text.strip() for p in parts if isinstance(p, TextPart))


class PaliGemmaInputs(ModelInputs):
    """PaliGemma: the image tokens, then the last user turn as the prefix (no chat template, no system text)."""

    def __init__(self, folder: str, family: Family) -> None:
        from transformers import AutoProcessor

        self.processor = AutoProcessor.from_pretrained(folder)
        self.tokenizer = self.processor.tokenizer
        self._prepare_tokenizer()
        self.image_policy = ImagePolicy(max_side=LOCAL_MAX_SIDE, format="raw")

    def encode(self, requests: Sequence[Request]) -> dict[str, Any]:
        token = getattr(self.processor, "image_token", "<image>")
        texts, images = [], []
        for request in requests:
            users = [m for m in request.messages if m.role == "user"]
            last = users[-1].parts if users else ()
            own = [Image.fromarray(request.images[p.index].pixels) for p in last if isinstance(p, ImagePart)]
            own = own or request_images(request)[:1]  # PaliGemma always looks at the image
            if not own:
                raise BackendError(
                    "PaliGemma answers only about an image: it cannot be asked a question without one (such as the "
                    "CLUE judge's text-only baseline)"
                )
            prefix = paligemma_prefix(last)
            texts.append(token * len(own) + prefix)
            images.append(own)
        batch = self.processor(images=images, text=texts, return_tensors="pt", padding="longest")
        return {k: v for k, v in batch.items() if k != "labels"}


FAMILIES: dict[str, Family] = {
    "qwen2_vl": Family("Qwen2-VL", "qwen2-vl", QwenInputs),
    "qwen2_5_vl": Family("Qwen2.5-VL", "qwen2.5-vl", QwenInputs),
    "qwen3_vl": Family("Qwen3-VL", "qwen3-vl", QwenInputs),
    "llava": Family("LLaVA-1.5", "llava-1.5", ChatProcessorInputs, pad_square=True),
    "llava_next": Family("LLaVA-NeXT", None, ChatProcessorInputs),
    "llava_onevision": Family("LLaVA-OneVision", None, ChatProcessorInputs),
    "paligemma": Family("PaliGemma", "paligemma", PaliGemmaInputs),
}
"""Supported ``model_type`` values of transformers configs."""


def native_convention(family: Family, inputs: ModelInputs) -> str | None:
    """The box convention a family's checkpoint answers in, as its processor prepares images: Qwen2.5-VL's pixels
    are those of the smart-resize grid under this processor's pixel limit (``qwen2.5-vl@MAX_PIXELS``)."""
    if family.convention == "qwen2.5-vl":
        return f"qwen2.5-vl@{inputs.max_pixels}"  # type: ignore[attr-defined]
    return family.convention
