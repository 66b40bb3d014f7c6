"""RunConfig: every option in one value, read back from config.json of every schema, filled by suites."""

from __future__ import annotations

import pytest

from grounddefake.backends import GenerationParams
from grounddefake.local import LocalOptions
from grounddefake.run_config import RunConfig, in_shard, parse_shard
from grounddefake.suites import apply_suite

FULL = RunConfig(
    data="d/manifest.jsonl",
    model="qwen2.5-vl-7b",
    prompt="grounded",
    with_boxes=True,
    out="runs/x",
    limit=10,
    shard=(2, 4),
    data_format="manifest",
    concurrency=3,
    params=GenerationParams(max_tokens=64, temperature=0.7, seed=3),
    base_urls=("http://127.0.0.1:8000/v1",),
    api_key_env="MY_KEY",
    convention="norm1000",
    image_format="jpeg",
    timeout=5.0,
    max_retries=1,
    rpm=60.0,
    tpm=1000.0,
    cache=False,
    cache_dir="/tmp/c",
    local=LocalOptions(device="cpu", dtype="float32", batch_size=2),
    group_by="meta.generator",
    bootstrap=100,
    iou_threshold=0.75,
    overlays="all",
    overlay_size=512,
    side_by_side=True,
)


def test_every_option_round_trips_through_json() -> None:
    assert RunConfig.from_json(FULL.to_json()) == FULL
    assert RunConfig.from_config({"options": FULL.to_json(), "run_key": "k"}) == FULL


def test_a_schema_1_config_is_read() -> None:
    old = {
        "run_key": "k",
        "data": "d",
        "model": "served-name",
        "model_requested": "test-model",
        "prompt": "grounded@abcd",
        "prompt_source": "/packs/grounded.yaml",
        "with_boxes": True,
        "shard": "1/2",
        "backend": {"backend": "openai", "base_urls": ["http://127.0.0.1:1/v1", "https://api.openai.com/v1"]},
        "params": {"max_tokens": 32, "temperature": 0.0, "seed": 0},
        "local": None,
        "scoring": {"group_by": "label", "bootstrap": 10, "iou_threshold": 0.3, "side_by_side": True},
    }
    options = RunConfig.from_config(old)
    assert options.model == "test-model" and options.prompt == "/packs/grounded.yaml" and options.shard == (1, 2)
    assert options.base_urls == ("http://127.0.0.1:1/v1",) and options.params.max_tokens == 32
    assert (options.group_by, options.bootstrap, options.iou_threshold, options.side_by_side) == (
        "label",
        10,
        0.3,
        True,
    )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"overlays": "some"}, "overlays is one of"),
        ({"image_format": "gif"}, "image_format"),
        ({"limit": 0}, "limit"),
        ({"iou_threshold": 1.5}, "iou_threshold"),
        ({"shard": (3, 2)}, "shard"),
        ({"overlay_size": 2}, "overlay_size"),
    ],
)
def test_bad_options_are_refused_when_made(changes: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RunConfig(**changes)


def test_thresholds_and_defaults() -> None:
    assert RunConfig().iou_thresholds == (0.5,) and RunConfig(iou_threshold=0.3).iou_thresholds == (0.3, 0.5)
    assert RunConfig().bootstrap_draws == 0


def test_a_suite_fills_only_what_the_run_did_not_give() -> None:
    filled = apply_suite(RunConfig(data="x", suite="synthscars"))
    assert filled.data_format == "synthscars" and filled.with_boxes
    own = apply_suite(RunConfig(data="x", suite="synthscars", data_format="manifest", iou_threshold=0.9))
    assert own.data_format == "manifest" and own.iou_threshold == 0.9
    assert apply_suite(filled) == filled  # applying twice changes nothing
    verdict_only = apply_suite(RunConfig(data="x", suite="synthscars", prompt="verdict"))
    assert verdict_only.prompt == "verdict" and not verdict_only.with_boxes


def test_shards_partition_the_ids() -> None:
    ids = [f"s{i}" for i in range(200)]
    parts = [[i for i in ids if in_shard(i, (k, 3))] for k in (1, 2, 3)]
    assert sorted(i for part in parts for i in part) == sorted(ids) and all(parts)
    assert parse_shard("1/1") == (1, 1)
    with pytest.raises(ValueError):
        parse_shard("0/2")
