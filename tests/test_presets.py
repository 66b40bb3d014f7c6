from __future__ import annotations

import pytest

from grounddefake.conventions import convention_for_model, get_convention
from grounddefake.presets import Preset, find_preset, presets

REQUIRED = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "qwen2.5-vl-7b",
    "qwen3-vl-8b",
    "internvl3-8b",
    "llava-onevision-7b",
    "gemini-2.5-flash",
    "ollama-qwen2.5vl",
]


def test_required_presets_are_shipped() -> None:
    assert set(REQUIRED) <= set(presets())


@pytest.mark.parametrize("preset", presets().values(), ids=lambda p: p.name)
def test_each_preset_points_at_its_family_convention(preset: Preset) -> None:
    family = convention_for_model(preset.model)
    if family is None:
        assert preset.convention is None  # prompt-defined: GPT-4o, LLaVA-OneVision
    else:
        assert get_convention(preset.convention).name.split("@")[0] == family.name


@pytest.mark.parametrize("preset", presets().values(), ids=lambda p: p.name)
def test_qwen25_presets_send_images_on_the_grid_their_convention_assumes(preset: Preset) -> None:
    convention = get_convention(preset.convention) if preset.convention else None
    if convention is not None and convention.reference == "smart-resize":
        assert preset.image_policy.resize == "smart-resize"
        assert preset.image_policy.max_pixels == convention.max_pixels


def test_find_by_name_or_model_id() -> None:
    assert find_preset("gpt-4o").model == "gpt-4o"
    assert find_preset("Qwen/Qwen2.5-VL-7B-Instruct").name == "qwen2.5-vl-7b"
    assert find_preset("qwen2.5vl:7b").name == "ollama-qwen2.5vl"
    assert find_preset("nope") is None


def test_prices_cost() -> None:
    price = presets()["gpt-4o"].price
    assert price.cost(1_000_000, 100_000) == pytest.approx(price.input + price.output / 10)
