"""Backends: the built-in ``forensic`` model and, through the same interface, any OpenAI-compatible server and open
models run locally with transformers (``local:/path``, ``hf:ORG/NAME``)."""

from __future__ import annotations

import difflib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

from grounddefake.backends.base import Backend, BackendError, GenerationParams, Request
from grounddefake.images import ImagePolicy
from grounddefake.local.adapters import check_adapter_model
from grounddefake.local.loading import LocalOptions, is_local_ref
from grounddefake.redaction import Scrubber, header_problem, is_redacted, redact_url

__all__ = [
    "FORENSIC",
    "Backend",
    "BackendError",
    "GenerationParams",
    "Request",
    "UnknownModelError",
    "create_backend",
    "image_policy_for",
]

FORENSIC = "forensic"
FORENSIC_WHAT = "built-in: a small learned localizer (ONNX via OpenCV) and copy-move matching (CPU, offline)"


class UnknownModelError(ValueError):
    """No backend serves this model name, or it cannot be reached as configured."""


def image_policy_for(convention: str | None) -> ImagePolicy:
    """The image policy of a model known only by its convention: Qwen2.5-VL's grid, else a 2048-px longest side."""
    from grounddefake.conventions import get_convention

    if convention is not None:
        conv = get_convention(convention)
        if conv.reference == "smart-resize":
            return ImagePolicy(resize="smart-resize", max_pixels=conv.max_pixels)
    return ImagePolicy(max_side=2048)


def create_backend(
    model: str | None = FORENSIC,
    *,
    base_urls: Sequence[str] = (),
    api_key_env: str | None = None,
    convention: str | None = None,
    image_format: Literal["png", "jpeg"] | None = None,
    timeout: float = 120.0,
    local: LocalOptions | None = None,
    prompt_convention: str | None = None,
    adapter: str | Path | None = None,
) -> Backend:
    """The backend serving ``model``.

    ``forensic`` is the built-in model. A preset name or model id (``gpt-4o``, ``Qwen/Qwen2.5-VL-7B-Instruct``)
    brings its endpoint, key variable, convention, image policy and capabilities; any other name needs
    ``convention``, or a prompt pack that defines the box format itself (``prompt_convention``, such as a rule
    pack's ``norm1000``), which then serves as its convention. ``base_urls`` (else ``OPENAI_BASE_URL``, else the
    preset's) overrides the endpoint; with ``base_urls`` and no model, the server's only model is used.
    ``local:/path`` and ``hf:ORG/NAME`` run the model in this process with transformers (``local`` says on what
    device, dtype and batch size); ``adapter`` is a peft LoRA folder loaded on such a model.

    Raises:
        UnknownModelError: an unknown name without a convention, a missing key, a key an HTTP header cannot carry
            (a ``\r`` from a CRLF ``.env`` file), an endpoint recorded without its credentials (a resumed run),
            an unreachable model list. No message shows the key or a URL's credentials.
        LocalModelError: an adapter with a model that is not local, or one that does not load (see LocalBackend).
        KeyError: an unknown convention.
    """
    from grounddefake.conventions import convention_for_model, get_convention
    from grounddefake.presets import find_preset, presets

    check_adapter_model(model, adapter, base_urls)
    if model == FORENSIC and not base_urls:
        from grounddefake.backends.forensic import ForensicBackend

        return ForensicBackend()
    if is_local_ref(model) and not base_urls:
        from grounddefake.backends.local import LocalBackend

        if convention is not None:
            get_convention(convention)
        return LocalBackend(model, local, convention, adapter)  # type: ignore[arg-type]
    preset = find_preset(model) if model else None
    urls: list[str | None] = list(base_urls)
    if not urls and os.environ.get("OPENAI_BASE_URL"):
        urls = [os.environ["OPENAI_BASE_URL"]]
    if not urls:
        urls = [preset.base_url if preset else None]
    key_env = api_key_env or (preset.api_key_env if preset else "OPENAI_API_KEY")
    key = os.environ.get(key_env) if key_env else None
    problem = header_problem(key or "")
    if problem is not None:  # httpx would quote the whole header, key included, in every sample's error
        raise UnknownModelError(f"the key in {key_env} holds {problem}: an HTTP header cannot carry it; fix {key_env}")
    for url in urls:
        if url is not None and is_redacted(url):
            raise UnknownModelError(
                f"--base-url {url} was recorded without its credentials: run `grounddefake eval` again with the "
                "full --base-url and the same options and --out (finished samples are kept)"
            )
    if not model:
        model = served_model(urls[0], key)
        preset = find_preset(model)
    if convention is not None:
        get_convention(convention)  # fail early on a typo
    if preset is None and convention is None and prompt_convention is not None:
        convention = prompt_convention  # the prompt tells the model how to write boxes
    if preset is None and convention is None:
        close = difflib.get_close_matches(str(model).lower(), [FORENSIC, *presets(), "local:", "hf:"], n=3, cutoff=0.7)
        if close and not base_urls:  # a typo of a known name: never suggest sending it to a server as it is
            raise UnknownModelError(
                f"no model '{model}': did you mean {' or '.join(repr(c) for c in close)}? (`grounddefake models`)"
            )
        hint = convention_for_model(model)
        suggestion = f" (its name suggests --convention {hint.name})" if hint else ""
        raise UnknownModelError(
            f"'{model}' is not the built-in '{FORENSIC}' nor a preset ({', '.join(presets())}; see "
            "`grounddefake models`). Say how it writes "
            f"boxes with --convention NAME{suggestion}: its family's convention (`grounddefake conventions`), or "
            "norm1000 when the prompt defines the format"
        )
    if urls == [None] and not key:
        raise UnknownModelError(f"the OpenAI API needs a key: set {key_env or 'OPENAI_API_KEY'} (or --api-key-env VAR)")
    from grounddefake.backends.openai_compat import OpenAIBackend

    for url in urls:
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise UnknownModelError(f"--base-url {redact_url(url)!r}: give a full URL such as http://localhost:8000/v1")
    if preset is not None:
        policy = preset.image_policy  # the server's resize, whatever convention the prompt asks for
        settings = {"json_schema": preset.json_schema, "logprobs": preset.logprobs, "top_logprobs": preset.top_logprobs}
        native = convention or preset.convention
    else:
        policy = image_policy_for(convention)
        settings = {"json_schema": True, "logprobs": True, "top_logprobs": 20}  # a rejection falls back once
        native = convention
    if image_format is not None:
        if image_format not in ("png", "jpeg"):
            raise UnknownModelError(f"an OpenAI-compatible server takes png or jpeg images, not {image_format!r}")
        policy = replace(policy, format=image_format)
    return OpenAIBackend(
        model=preset.model if preset else model,
        base_urls=urls,
        api_key=key,
        image_policy=policy,
        convention=native,
        timeout=timeout,
        price=preset.price if preset else None,
        preset=preset.name if preset else None,
        **settings,
    )


def served_model(base_url: str | None, key: str | None, timeout: float = 10.0) -> str:
    """The one model an OpenAI-compatible server serves (``GET /models``).

    Raises:
        UnknownModelError: the server is unreachable, or serves none or several (the message lists them).
    """
    url = (base_url or "https://api.openai.com/v1").rstrip("/") + "/models"
    scrub = Scrubber.of([key], [base_url, url])
    shown = redact_url(url)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
            ids = [str(m.get("id")) for m in json.load(response).get("data", []) if isinstance(m, dict)]
    except (urllib.error.URLError, OSError, ValueError, AttributeError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UnknownModelError(scrub(f"cannot list the models of {shown}: {reason}; name one with --model")) from None
    if len(ids) != 1:
        listed = ", ".join(ids[:20]) or "none"
        raise UnknownModelError(scrub(f"{shown} serves {len(ids)} models ({listed}): name one with --model"))
    return ids[0]
