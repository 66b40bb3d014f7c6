"""Model presets: the shipped YAML registry of how to reach, feed and pay for each served model.

A preset names the model id, the endpoint and the key's environment variable, the family's box convention, the
image policy that keeps the server from resizing again, what the server supports (JSON schema, log-probabilities)
and the published price. Data, not code: ``grounddefake/presets.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from grounddefake.conventions import get_convention
from grounddefake.images import ImagePolicy

PRESETS_FILE = Path(__file__).with_name("presets.yaml")
_FIELDS = {
    "model",
    "base_url",
    "api_key_env",
    "convention",
    "image",
    "json_schema",
    "logprobs",
    "top_logprobs",
    "price",
}


class PresetError(ValueError):
    """The preset registry is malformed (names the preset and the field)."""


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


@dataclass(frozen=True)
class Preset:
    """One served model.

    Attributes:
        name: the preset's name (``gpt-4o``, ``qwen2.5-vl-7b``).
        model: the model id sent to the server.
        base_url: the default endpoint, or None for the OpenAI API.
        api_key_env: the environment variable holding the key, or None when the server needs none.
        convention: the family's own box convention, or None when the prompt must define one.
        image_policy: how images are prepared so the server does not resize them again.
        json_schema: whether the server accepts ``response_format`` with a JSON schema.
        logprobs: whether the server returns token log-probabilities.
        top_logprobs: how many alternatives per token to ask for.
        price: published price, or None (self-hosted).
    """

    name: str
    model: str
    base_url: str | None
    api_key_env: str | None
    convention: str | None
    image_policy: ImagePolicy
    json_schema: bool
    logprobs: bool
    top_logprobs: int
    price: Price | None


def _preset(name: str, data: Any) -> Preset:
    def fail(field: str, problem: str) -> PresetError:
        return PresetError(f"{PRESETS_FILE.name}: preset '{name}': field '{field}': {problem}")

    if not isinstance(data, dict):
        raise PresetError(f"{PRESETS_FILE.name}: preset '{name}' must be a mapping")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise fail(unknown[0], f"unknown field (allowed: {', '.join(sorted(_FIELDS))})")
    if not isinstance(data.get("model"), str):
        raise fail("model", "required, a string")
    convention = data.get("convention")
    if convention is not None:
        try:
            get_convention(convention)
        except KeyError as exc:
            raise fail("convention", str(exc.args[0])) from None
    image = data.get("image") or {}
    allowed = {f.name for f in fields(ImagePolicy)}
    if not isinstance(image, dict) or set(image) - allowed:
        raise fail("image", f"a mapping of {', '.join(sorted(allowed))}")
    price = data.get("price")
    if price is not None and (not isinstance(price, dict) or set(price) != {"input", "output"}):
        raise fail("price", "null, or {input: USD per million tokens, output: USD per million tokens}")
    return Preset(
        name=name,
        model=data["model"],
        base_url=data.get("base_url"),
        api_key_env=data.get("api_key_env"),
        convention=convention,
        image_policy=ImagePolicy(**image),
        json_schema=bool(data.get("json_schema", False)),
        logprobs=bool(data.get("logprobs", False)),
        top_logprobs=int(data.get("top_logprobs", 0)),
        price=None if price is None else Price(float(price["input"]), float(price["output"])),
    )


@cache
def presets() -> dict[str, Preset]:
    """All shipped presets by name, in file order."""
    data = yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8")) or {}
    return {str(name): _preset(str(name), value) for name, value in data.items()}


def find_preset(model: str) -> Preset | None:
    """The preset named ``model``, or whose model id is ``model`` (``gpt-4o``, ``Qwen/Qwen2.5-VL-7B-Instruct``)."""
    table = presets()
    if model in table:
        return table[model]
    return next((p for p in table.values() if p.model == model), None)
