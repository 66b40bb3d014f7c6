"""Choosing a backend: the built-in model, presets, any model with a convention, the server's only model."""

from __future__ import annotations

import pytest

from grounddefake.backends import UnknownModelError, create_backend
from grounddefake.backends.openai_compat import OpenAIBackend

from .servers.openai_server import FakeOpenAIServer


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def test_forensic_is_built_in() -> None:
    assert type(create_backend("forensic")).__name__ == "ForensicBackend"


def test_a_preset_brings_endpoint_policy_and_convention(monkeypatch) -> None:
    backend = create_backend("qwen2.5-vl-7b")
    assert isinstance(backend, OpenAIBackend)
    assert backend.base_urls == ("http://localhost:8000/v1",)
    assert backend.convention == "qwen2.5-vl" and backend.image_policy.resize == "smart-resize"
    assert backend.price is None and backend.describe()["preset"] == "qwen2.5-vl-7b"


def test_the_openai_api_needs_a_key(monkeypatch) -> None:
    with pytest.raises(UnknownModelError, match="OPENAI_API_KEY"):
        create_backend("gpt-4o")
    monkeypatch.setenv("MY_KEY", "sk-x")
    backend = create_backend("gpt-4o", api_key_env="MY_KEY")
    assert backend.price is not None and "sk-x" not in str(backend.describe())


def test_any_model_with_a_convention(monkeypatch) -> None:
    backend = create_backend("my-org/Qwen2.5-VL-finetune", base_urls=["http://127.0.0.1:9/v1"], convention="qwen2.5-vl")
    assert backend.convention == "qwen2.5-vl" and backend.image_policy.resize == "smart-resize"
    backend = create_backend(
        "some-vlm", base_urls=["http://127.0.0.1:9/v1"], convention="norm1000", image_format="jpeg"
    )
    assert backend.image_policy.max_side == 2048 and backend.image_policy.format == "jpeg"


def test_base_url_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert create_backend("m", convention="pixel").base_urls == ("http://127.0.0.1:9/v1",)


def test_unknown_model_without_convention_says_how_to_choose() -> None:
    with pytest.raises(UnknownModelError, match=r"--convention qwen3-vl"):
        create_backend("Qwen/Qwen3-VL-32B-Instruct", base_urls=["http://127.0.0.1:9/v1"])


def test_the_servers_only_model_is_used_and_several_are_refused() -> None:
    with FakeOpenAIServer(model="served/vlm") as server:
        backend = create_backend(None, base_urls=[server.base_url], convention="norm1000")
        assert backend.model == "served/vlm"
    with pytest.raises(UnknownModelError, match="cannot list the models"):
        create_backend(None, base_urls=["http://127.0.0.1:9/v1"], convention="norm1000")


@pytest.mark.parametrize("image_format", ["raw", "webp"])
def test_a_server_gets_only_encoded_images(image_format: str) -> None:
    """Raw pixels are for models in this process: an HTTP server would get megabytes it cannot decode."""
    with pytest.raises(UnknownModelError, match="png or jpeg"):
        create_backend("qwen2.5-vl-7b", base_urls=["http://127.0.0.1:9/v1"], image_format=image_format)  # type: ignore[arg-type]
