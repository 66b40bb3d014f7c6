"""``grounddefake train`` on tiny random checkpoints: the batches are eval's own prompts with the loss on the
answer, a synthetic task is learnt (and the adapter answers it through ``eval --adapter``), checkpoints resume to
the very same weights, and what was trained is written down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="training needs torch (make test installs the CPU wheel)")
pytest.importorskip("peft", reason="training needs peft (grounddefake[train])")

import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from grounddefake.backends.local import LocalBackend
from grounddefake.cli import app
from grounddefake.conventions import get_convention
from grounddefake.datasets import load_dataset
from grounddefake.images import fit_size, prepare_image
from grounddefake.prompts import load_pack
from grounddefake.training.batches import IGNORE, collate, items_of
from grounddefake.training.examples import conversation_of
from grounddefake.training.lora import TrainConfig, TrainingError, data_hash, train
from tests.synthetic_tasks import bright_square
from tests.tiny_models import build_llava, build_paligemma, build_qwen


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("trainable")
    return {
        "paligemma": build_paligemma(root / "paligemma", output_std=0.3),
        "qwen2.5-vl": build_qwen(root / "qwen", output_std=0.3),
        "llava": build_llava(root / "llava"),
    }


@pytest.fixture(scope="module")
def squares(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("squares")
    return {"train": bright_square(root / "train", 64, seed=0), "held": bright_square(root / "held", 20, seed=9)}


@pytest.mark.parametrize(
    ("family", "prompt"), [("paligemma", "paligemma-detect"), ("qwen2.5-vl", "grounded-native"), ("llava", "grounded")]
)
def test_a_batch_is_evals_prompt_then_the_answer_and_only_the_answer_is_scored(
    models: dict[str, Path], squares: dict[str, Path], family: str, prompt: str
) -> None:
    backend = LocalBackend(f"local:{models[family]}")
    pack = load_pack(prompt)
    convention = get_convention(backend.convention) if pack.convention == "native" else get_convention("norm1000")
    samples = load_dataset(squares["train"]).samples[:3]
    fit = lambda size: fit_size(size, backend.image_policy)  # noqa: E731
    items = [
        item
        for s in samples
        for item in items_of(
            conversation_of(s, pack, convention, 0.0, fit), prepare_image(s.image, backend.image_policy)
        )
    ]
    assert len(items) == len(samples) * len(pack.turns)
    batch, tokens = collate(backend.inputs, items)
    tokenizer = backend.inputs.tokenizer
    assert tokens == int((batch["labels"] != IGNORE).sum())
    for row, item in enumerate(items):
        prompt_ids = backend.encode([item.request])["input_ids"][0]  # what eval sends for this turn
        assert torch.equal(batch["input_ids"][row, : len(prompt_ids)], prompt_ids)
        scored = batch["labels"][row][batch["labels"][row] != IGNORE]
        answer = tokenizer(item.answer, add_special_tokens=False)["input_ids"]
        assert scored.tolist() == [*answer, tokenizer.eos_token_id]
        assert torch.equal(batch["input_ids"][row, len(prompt_ids) : len(prompt_ids) + len(scored)], scored)
        if "token_type_ids" in batch:  # PaliGemma: the answer is the causal suffix
            assert batch["token_type_ids"][row, len(prompt_ids) : len(prompt_ids) + len(scored)].eq(1).all()


def test_the_bright_square_task_is_learnt_and_the_adapter_answers_it_in_eval(
    models: dict[str, Path], squares: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    adapter = tmp_path / "adapter"
    model = f"local:{models['paligemma']}"
    arguments = ["train", "--model", model, "--data", str(squares["train"]), "--prompt", "paligemma-verdict"]
    arguments += ["--out", str(adapter), "--epochs", "20", "--lr", "3e-3", "--batch-size", "8"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())  # rich wraps at the terminal's width, between words
    assert "samples/s" in printed and f"--adapter {adapter}" in printed
    state = json.loads((adapter / "training.json").read_text())
    assert state["loss"]["after"] < 0.2 * state["loss"]["before"]
    assert state["config"]["rank"] == 8 and state["prompt"].startswith("paligemma-verdict@")
    assert len(state["data_sha256"]) == 64 and state["base_model"]["weights"]["files"]
    assert (adapter / "adapter_config.json").is_file() and (adapter / "adapter_model.safetensors").is_file()
    accuracy = {}
    for name, extra in (("base", []), ("adapter", ["--adapter", str(adapter)])):
        out = tmp_path / name
        arguments = ["eval", "--model", model, *extra, "--data", str(squares["held"]), "--prompt", "paligemma-verdict"]
        result = CliRunner().invoke(app, [*arguments, "--out", str(out)])
        assert result.exit_code == 0, result.output
        accuracy[name] = json.loads((out / "metrics.json").read_text())["classification"]["accuracy"]
    assert accuracy["adapter"] >= 0.9 and accuracy["base"] <= 0.6, accuracy


def config(models: dict[str, Path], **changes) -> TrainConfig:
    pack = load_pack("paligemma-verdict")
    return TrainConfig(
        **{
            "model": f"local:{models['paligemma']}",
            "prompt": pack.id,
            "epochs": 2,
            "batch_size": 8,
            "lr": 3e-3,
            **changes,
        }
    )


def test_a_resumed_run_ends_with_the_same_weights_as_an_unbroken_one(
    models: dict[str, Path], squares: dict[str, Path], tmp_path: Path
) -> None:
    samples = load_dataset(squares["train"]).samples
    pack = load_pack("paligemma-verdict")
    whole = train(samples, pack, config(models), tmp_path / "whole", save_every=2)

    def stop_at_three(step: int, total: int, loss: float, speed: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(samples, pack, config(models), tmp_path / "broken", save_every=2, on_step=stop_at_three)
    resumed = train(samples, pack, config(models), tmp_path / "broken", resume=True, save_every=2)
    assert resumed.resumed_from == 2 and resumed.steps == whole.steps
    a = load_file(tmp_path / "whole" / "adapter_model.safetensors")
    b = load_file(tmp_path / "broken" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert [h.loss for h in resumed.history] == pytest.approx([h.loss for h in whole.history], abs=1e-5)


def test_resume_refuses_another_configuration_or_no_checkpoint(
    models: dict[str, Path], squares: dict[str, Path], tmp_path: Path
) -> None:
    samples = load_dataset(squares["train"]).samples[:16]
    pack = load_pack("paligemma-verdict")
    with pytest.raises(TrainingError, match="no checkpoint"):
        train(samples, pack, config(models, epochs=1), tmp_path / "run", resume=True)
    train(samples, pack, config(models, epochs=1), tmp_path / "run")
    with pytest.raises(TrainingError, match="another configuration or other data"):
        train(samples, pack, config(models, epochs=1, rank=4), tmp_path / "run", resume=True)
    with pytest.raises(TrainingError, match="another configuration or other data"):
        train(samples[:8], pack, config(models, epochs=1), tmp_path / "run", resume=True)


def test_the_data_hash_follows_what_the_model_learns(squares: dict[str, Path], tmp_path: Path) -> None:
    samples = load_dataset(squares["train"]).samples[:4]
    verdict, grounded = load_pack("paligemma-verdict"), load_pack("grounded")
    norm = get_convention("norm1000")
    one = [conversation_of(s, verdict, None) for s in samples]
    assert data_hash(one) == data_hash(one[::-1])
    assert data_hash(one) != data_hash([conversation_of(s, grounded, norm) for s in samples])
    assert data_hash(one) != data_hash(one[:3])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model", "gpt-4o", "--prompt", "verdict"], "local:/path"),
        (["--prompt", "constitution"], "judges rules"),
        (["--prompt", "verdict", "--rank", "0"], "--rank"),
        (["--prompt", "verdict", "--quantize", "8bit"], "--quantize must be one of"),
        (["--prompt", "verdict", "--val-fraction", "1"], "--val-fraction must be in"),
    ],
)
def test_what_cannot_be_trained_is_one_line(
    models: dict[str, Path], squares: dict[str, Path], tmp_path: Path, arguments: list[str], message: str
) -> None:
    base = ["train", "--data", str(squares["train"]), "--out", str(tmp_path / "a")]
    if "--model" not in arguments:
        base += ["--model", f"local:{models['paligemma']}"]
    result = CliRunner().invoke(app, [*base, *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_the_paligemma_recipe_runs_on_the_seeds_record_shape(
    models: dict[str, Path], squares: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's recipe: {image, label: 0 = deepfake / 1 = normal, question} JSONL → train → eval --adapter."""
    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    samples = load_dataset(squares["train"]).samples[:12]
    root = squares["train"].parent
    records = [
        {
            "image": s.image.relative_to(root).as_posix(),
            "label": 0 if s.label == "fake" else 1,
            "question": "Is this image made by AI?",
        }
        for s in samples
    ]
    data = root / "seed.jsonl"  # beside its images: paths are relative to the file
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    model, adapter = f"local:{models['paligemma']}", tmp_path / "lora"
    seed_data = ["--data", str(data), "--prompt", "paligemma-question"]
    refused = CliRunner().invoke(app, ["train", "--model", model, *seed_data, "--out", str(adapter)])
    assert refused.exit_code == 2 and "--label-map" in refused.output
    seed_data += ["--label-map", "0=fake,1=real"]
    trained = CliRunner().invoke(app, ["train", "--model", model, *seed_data, "--out", str(adapter), "--epochs", "2"])
    assert trained.exit_code == 0, trained.output
    state = json.loads((adapter / "training.json").read_text())
    assert state["prompt"].startswith("paligemma-question@") and state["samples"]["skipped"] == 0
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["eval", "--model", model, "--adapter", str(adapter), *seed_data, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["label_map"] == "0=fake,1=real" and config["backend"]["adapter"]["sha256"]
