"""Where a local model comes from and what it runs on: references, offline-first resolution, device and dtype."""

from __future__ import annotations

import hashlib
import os
import socket
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCAL_PREFIXES = ("local:", "hf:")
DTYPES = ("auto", "float32", "bfloat16", "float16")
HUB_PROBE_TIMEOUT = 3.0
"""Seconds to wait for the hub before saying it is unreachable (transformers alone retries for minutes)."""


class LocalModelError(ValueError):
    """A local model cannot be loaded: a missing folder, an unreachable hub, an unsupported family, no torch."""


@dataclass(frozen=True)
class LocalOptions:
    """How to run a local model.

    Attributes:
        device: ``auto`` (cuda, else mps, else cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        dtype: ``auto`` (bfloat16 on GPUs that support it, float16 on other GPUs and mps, float32 on cpu),
            ``float32``, ``bfloat16`` or ``float16``.
        batch_size: requests generated together (left-padded, sorted by image size).
        top_logprobs: alternatives recorded per generated token.
    """

    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 8
    top_logprobs: int = 5

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise LocalModelError(f"--dtype is one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if not (self.device in ("auto", "cpu", "mps") or self.device.split(":")[0] == "cuda"):
            raise LocalModelError(f"--device is auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        if self.batch_size < 1 or self.top_logprobs < 0:
            raise LocalModelError("--batch-size must be at least 1 and top_logprobs at least 0")

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "dtype": self.dtype,
            "batch_size": self.batch_size,
            "top_logprobs": self.top_logprobs,
        }


def is_local_ref(model: str | None) -> bool:
    """Whether ``model`` names a local checkpoint (``local:/path``) or a hub model run locally (``hf:ORG/NAME``)."""
    return bool(model) and model.startswith(LOCAL_PREFIXES)  # type: ignore[union-attr]


def resolve(ref: str) -> str:
    """The checkpoint folder to load ``ref`` from.

    ``local:/path`` must hold a ``config.json``. ``hf:ORG/NAME`` loads from the local hub cache when a complete
    snapshot is there (config, weights, tokenizer), so a cached model runs with no network; otherwise it is
    downloaded into the cache first (weights as safetensors, configs, tokenizer and template files; never code),
    which needs the hub to answer within a few seconds. Either way the model loads from a folder, so a run keys its
    answers the same before and after the download.

    Raises:
        LocalModelError: a missing folder, or a hub model that is neither cached nor reachable.
    """
    if ref.startswith("local:"):
        path = Path(ref[len("local:") :]).expanduser()
        if not (path / "config.json").is_file():
            raise LocalModelError(f"{ref}: no config.json in {path} (a transformers checkpoint folder)")
        return str(path)
    if not ref.startswith("hf:") or ref.count("/") > 1 or not ref[3:].strip("/"):
        raise LocalModelError(f"{ref}: a local model is local:/path/to/checkpoint or hf:ORG/NAME")
    name = ref[len("hf:") :]
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        cached = snapshot_download(name, local_files_only=True, allow_patterns=DOWNLOADED)
    except (LocalEntryNotFoundError, OSError, ValueError):
        cached = None
    missing = "not in the local hub cache" if cached is None else checkpoint_gap(cached)
    if missing is None:
        return cached  # type: ignore[return-value]
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise LocalModelError(
            f"{ref}: HF_HUB_OFFLINE is set and {name} is {missing}; download it on a machine with network access "
            "and run it with --model local:/path/to/folder"
        )
    endpoint = constants.ENDPOINT  # HF_ENDPOINT, as huggingface_hub read it
    problem = hub_problem(endpoint)
    if problem:
        raise LocalModelError(
            f"{ref}: the hub ({endpoint}) cannot be reached ({problem}) and {name} is {missing}; download it "
            "elsewhere and run it with --model local:/path/to/folder"
        )
    try:
        folder = snapshot_download(name, allow_patterns=DOWNLOADED)
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise LocalModelError(f"{ref}: cannot download {name} ({exc})") from None
    gap = checkpoint_gap(folder)
    if gap is not None:
        raise LocalModelError(f"{ref}: the downloaded {name} is {gap}")
    return folder


DOWNLOADED = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken"]
"""What a hub download fetches: configs, safetensors weights, tokenizer and template files (never code)."""


def checkpoint_gap(folder: str | Path) -> str | None:
    """What a checkpoint folder lacks to load (config, weights, tokenizer), else None."""
    root = Path(folder)
    names = {p.name for p in root.iterdir()} if root.is_dir() else set()
    if "config.json" not in names:
        return "missing config.json"
    if not any(n.endswith((".safetensors", ".bin")) for n in names):
        return "missing its weights"
    if not names & {"tokenizer.json", "tokenizer_config.json", "tokenizer.model"}:
        return "missing its tokenizer"
    return None


def hub_problem(endpoint: str, timeout: float = HUB_PROBE_TIMEOUT) -> str | None:
    """Why a TCP connection to ``endpoint`` (through the proxy the environment names for it) fails within
    ``timeout`` seconds, else None."""
    url = urllib.parse.urlsplit(endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        via = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = via.hostname or "", via.port or 80
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return str(exc) or type(exc).__name__


def pick_device(requested: str = "auto") -> str:
    """``auto`` → cuda when available, else mps, else cpu; a named device only when this machine has it.

    Raises:
        LocalModelError: a CUDA or MPS device this machine does not have.
    """
    import torch

    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if requested.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = requested.partition(":")[2]
        if count == 0:
            raise LocalModelError(f"--device {requested}: no CUDA device is available here (torch {torch.__version__})")
        if index and (not index.isdigit() or int(index) >= count):
            raise LocalModelError(
                f"--device {requested}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
            )
    if requested == "mps" and not has_mps:
        raise LocalModelError("--device mps: Apple's MPS is not available here")
    return requested


def pick_dtype(requested: str, device: str) -> str:
    """``auto`` → bfloat16 on a GPU that supports it, float16 on other GPUs and mps, float32 on cpu."""
    import torch

    if requested != "auto":
        return requested
    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float16" if device == "mps" else "float32"


def checkpoint_fingerprint(path: str) -> dict[str, Any]:
    """What identifies a checkpoint, wherever it lives and whenever it was copied: each file's name, size and a
    sha256 of its content (:func:`file_digest`)."""
    folder = Path(path)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return {"files": [[file.name, file.stat().st_size, file_digest(file)] for file in files]}


def file_digest(file: Path) -> str:
    """The first 16 hex digits of a sha256 of ``file``'s content. Files over ``WHOLE_FILE`` bytes are hashed through
    ``SAMPLES`` evenly spaced chunks of ``CHUNK`` bytes: a fine-tune changes its weights everywhere, and a 15 GB
    checkpoint costs milliseconds."""
    size = file.stat().st_size
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        if size <= WHOLE_FILE:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        else:
            for k in range(SAMPLES):
                stream.seek(k * (size - CHUNK) // (SAMPLES - 1))
                digest.update(stream.read(CHUNK))
    return digest.hexdigest()[:16]


WHOLE_FILE = 32 << 20
SAMPLES = 17
CHUNK = 64 << 10
