"""A local checkpoint opened for use, the same way for evaluation (``backends.local``) and for training
(``training.lora``): resolved, its family found, its inputs built, then its weights loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grounddefake.local.inputs import FAMILIES
from grounddefake.local.loading import LocalModelError, pick_device, pick_dtype, resolve


@dataclass(frozen=True)
class Checkpoint:
    """A local checkpoint opened for use: where it is, its family and input builder, and where it will run.

    Attributes:
        ref: what the user named (``local:/path``, ``hf:ORG/NAME``).
        path: the resolved folder.
        model_type: the config's ``model_type``.
        family: its entry of ``local.inputs.FAMILIES``.
        inputs: the family's input builder for this checkpoint (its processor and tokenizer).
        device, dtype: chosen by :func:`pick_device` and :func:`pick_dtype`.
    """

    ref: str
    path: str
    model_type: str
    family: Any
    inputs: Any
    device: str
    dtype: str


def open_checkpoint(ref: str, device: str = "auto", dtype: str = "auto") -> Checkpoint:
    """Resolve ``ref``, read its config, find its family and build its inputs: everything but the weights.

    Raises:
        LocalModelError: the folder or hub model cannot be found, its config, tokenizer or processor cannot be read,
            or its family is not supported.
    """
    from transformers import AutoConfig

    path = resolve(ref)
    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise LocalModelError(f"{ref}: cannot read its config ({exc})") from None
    family = FAMILIES.get(config.model_type)
    if family is None:
        raise LocalModelError(
            f"{ref}: model type {config.model_type!r} is not supported locally (supported: {', '.join(FAMILIES)}); "
            "to evaluate it, serve it with vLLM or SGLang and use --base-url"
        )
    chosen = pick_device(device)
    try:
        inputs = family.inputs(path, family)
    except LocalModelError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise LocalModelError(f"{ref}: cannot load its tokenizer or processor ({exc})") from None
    return Checkpoint(ref, path, config.model_type, family, inputs, chosen, pick_dtype(dtype, chosen))


def load_network(checkpoint: Checkpoint, torch: Any, **kwargs: Any) -> Any:
    """The checkpoint's weights as an image-text-to-text model in its dtype (``kwargs`` go to ``from_pretrained``:
    a quantisation config, a device map).

    Raises:
        LocalModelError: the weights cannot be loaded.
    """
    from transformers import AutoModelForImageTextToText

    try:
        return AutoModelForImageTextToText.from_pretrained(
            checkpoint.path, dtype=getattr(torch, checkpoint.dtype), **kwargs
        )
    except (OSError, ValueError) as exc:
        raise LocalModelError(f"{checkpoint.ref}: cannot load the model ({exc})") from None
