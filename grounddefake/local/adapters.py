"""LoRA adapters on local models: ``--adapter DIR``, a folder ``PeftModel.save_pretrained`` wrote.

The adapter is identified by the content of the two files peft reads (``adapter_config.json`` and the adapter's
weights), never by its path: the same adapter copied elsewhere shares cached answers, another adapter never does.
peft is imported only when an adapter is given (``pip install 'grounddefake[train]'``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grounddefake.local.loading import LocalModelError, file_digest, is_local_ref

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
"""The weight files peft reads from an adapter folder, in the order it looks for them."""
MISSING_KEYS = "Found missing adapter keys"
"""How peft's ``from_pretrained`` warns that some LoRA modules it made got no weights (peft tests this wording)."""


@dataclass(frozen=True)
class Adapter:
    """A LoRA adapter folder and the hash of what peft loads from it.

    Attributes:
        path: the folder, as given.
        sha256: 16 hex digits over the name, size and content digest of its config and weight files.
    """

    path: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "sha256": self.sha256}


def adapter_refusal(model: str | None, base_urls: Sequence[str] = ()) -> str | None:
    """Why ``--adapter`` cannot go with ``model`` (served by ``base_urls`` when given), else None."""
    if is_local_ref(model) and not base_urls:
        return None
    if base_urls:
        why = "a served model's weights are on its server (load the adapter there, e.g. vLLM's --lora-modules)"
    elif model == "forensic":
        why = "the built-in forensic model is not a transformers model a LoRA adapter can change"
    else:
        why = f"{model!r} is an API model whose weights are not here to change"
    return f"--adapter needs a local model (--model local:/path or hf:ORG/NAME): {why}"


def check_adapter_model(model: str | None, adapter: str | Path | None, base_urls: Sequence[str] = ()) -> None:
    """Refuse an adapter for a model it cannot go on.

    Raises:
        LocalModelError: an adapter with a model that is not run locally.
    """
    problem = None if adapter is None else adapter_refusal(model, base_urls)
    if problem is not None:
        raise LocalModelError(problem)


def adapter_files(folder: str | Path) -> list[Path]:
    """The config and weight files peft reads from ``folder``.

    Raises:
        LocalModelError: not a folder, no ``adapter_config.json``, or no adapter weights.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise LocalModelError(f"--adapter {folder}: no such folder")
    config = root / ADAPTER_CONFIG
    if not config.is_file():
        raise LocalModelError(f"--adapter {folder}: no {ADAPTER_CONFIG}, so not a peft adapter folder")
    weights = next((root / name for name in ADAPTER_WEIGHTS if (root / name).is_file()), None)
    if weights is None:
        raise LocalModelError(f"--adapter {folder}: no {' or '.join(ADAPTER_WEIGHTS)} beside its {ADAPTER_CONFIG}")
    return [config, weights]


def find_adapter(folder: str | Path) -> Adapter:
    """The adapter in ``folder``, hashed (its config and weights; not its path, copy time or other files).

    Raises:
        LocalModelError: ``folder`` is not a peft adapter folder.
    """
    entries = [[file.name, file.stat().st_size, file_digest(file)] for file in adapter_files(folder)]
    return Adapter(str(folder), hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16])


def load_peft() -> Any:
    """The peft module, or say how to install it.

    Raises:
        LocalModelError: peft is not installed.
    """
    try:
        import peft
    except ImportError:
        raise LocalModelError("--adapter needs peft: pip install 'grounddefake[train]'") from None
    return peft


def apply_adapter(network: Any, adapter: Adapter) -> Any:
    """``network`` with ``adapter`` loaded by ``PeftModel.from_pretrained``, then merged into its weights.

    Merged (``merge_and_unload``): each adapted layer runs one matrix product instead of three, so inference costs
    what the base model costs, and the result is the base model's own class (its ``generate``, its hidden states).
    Merged weights answer as the unmerged PeftModel does to float tolerance (tested in float32). An adapter trained
    with QLoRA loads the same way, on the plain-precision base this process runs. peft's warnings while loading are
    read, not shown: its missing-keys warning becomes the error below, the rest are deprecations of library internals.

    Raises:
        LocalModelError: peft is missing, or the adapter does not fit the model (peft refuses it, its target modules
            are not in the model, or its tensors and the model's LoRA modules do not match one to one).
    """
    peft = load_peft()
    where = f"--adapter {adapter.path}"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = peft.PeftModel.from_pretrained(network, adapter.path, is_trainable=False)
    except (ValueError, RuntimeError, KeyError, TypeError, OSError) as exc:
        raise LocalModelError(f"{where}: does not fit the model ({first_line(exc)})") from None
    missing = [str(w.message) for w in caught if str(w.message).startswith(MISSING_KEYS)]
    if missing:
        raise LocalModelError(f"{where}: does not fit the model ({first_line(missing[0])})")
    stored, made = len(stored_tensors(adapter.path)), len(peft.get_peft_model_state_dict(model))
    if stored != made:
        raise LocalModelError(
            f"{where}: does not fit the model: it holds {stored} tensors for the {made} LoRA weights the model has "
            "(trained on another base model?)"
        )
    return model.merge_and_unload()


def stored_tensors(folder: str) -> list[str]:
    """The names of the tensors in an adapter folder's weights."""
    weights = adapter_files(folder)[1]
    if weights.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as stream:
            return list(stream.keys())
    import torch

    return list(torch.load(weights, map_location="cpu", weights_only=True))


def first_line(error: object, limit: int = 300) -> str:
    """An error's first line (with the next one when it ends in a colon, as torch's "Error(s) in loading
    state_dict for …:" does), at most ``limit`` characters: peft's size mismatches run to pages."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    text = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"
