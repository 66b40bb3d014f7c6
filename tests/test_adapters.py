"""LoRA adapters on local models (``--adapter DIR``), on a tiny random Qwen2.5-VL and adapters made with peft."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="local models need torch")
pytest.importorskip("transformers", reason="local models need transformers")
pytest.importorskip("peft", reason="adapters need peft (pip install 'grounddefake[train]')")

import torch
from PIL import Image
from typer.testing import CliRunner

from grounddefake.api import Detector, RunConfig, evaluate, resume
from grounddefake.backends import GenerationParams, Request
from grounddefake.backends.local import LocalBackend
from grounddefake.caller import Caller
from grounddefake.cli import app
from grounddefake.images import prepare_image
from grounddefake.local import LocalModelError
from grounddefake.prompts import ImagePart, Message, TextPart
from grounddefake.rundir import RunDirectoryError
from tests.tiny_models import build_paligemma, build_qwen

PARAMS = GenerationParams(max_tokens=4)
IMAGES = 3
NAMES = ("base", "A", "B", "A-copy")


def pixels(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def request(backend: LocalBackend, seed: int) -> Request:
    message = Message("user", (ImagePart(0), TextPart("Is this image real or fake?")))
    return Request((message,), (prepare_image(pixels(seed), backend.image_policy),), backend.convention, None, PARAMS)


def speaking_qwen(folder: Path) -> Path:
    """A tiny Qwen2.5-VL whose output layer knows only the verdict tokens (their rows along its last hidden state,
    plus noise), so every answer starts with a verdict token and has a score."""
    build_qwen(folder)
    backend = LocalBackend(f"local:{folder}")
    with torch.inference_mode():
        output = backend.network(**backend.encode([request(backend, 99)]), output_hidden_states=True)
    direction = output.hidden_states[-1][0, -1].float()
    weight = backend.network.get_output_embeddings().weight.data
    keep = torch.zeros(weight.shape[0], dtype=torch.bool)
    keep[list(backend.vocabulary(None).ids)] = True
    noise = torch.randn(int(keep.sum()), weight.shape[1], generator=torch.Generator().manual_seed(5))
    weight[~keep] = 0.0
    weight[keep] = direction / direction.norm() * 8.0 + noise
    backend.network.save_pretrained(folder)
    return folder


def build_lora(base: Path, folder: Path, seed: int, scale: float, targets: tuple[str, ...] = ("q_proj", "v_proj")):
    """A LoRA adapter on ``base``'s ``targets``, its A and B matrices drawn with ``seed`` (peft starts B at zero,
    which changes nothing, and A from the global random state), saved as ``PeftModel.save_pretrained`` does."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    network = AutoModelForImageTextToText.from_pretrained(base)
    model = get_peft_model(network, LoraConfig(r=4, lora_alpha=8, target_modules=list(targets)))
    draw = torch.Generator().manual_seed(seed)
    for name, parameter in model.named_parameters():
        if "lora_A" in name:
            parameter.data = torch.randn(parameter.shape, generator=draw) / parameter.shape[1] ** 0.5
        elif "lora_B" in name:
            parameter.data = torch.randn(parameter.shape, generator=draw) * scale
    model.save_pretrained(folder)
    return folder


def unmerged(base: Path, adapter: Path) -> LocalBackend:
    """The base model with ``adapter`` as peft loads it, not merged: what the adapter computes by itself."""
    from peft import PeftModel

    backend = LocalBackend(f"local:{base}")
    backend.network = PeftModel.from_pretrained(backend.network, adapter).eval()
    return backend


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The base checkpoint, adapters A (flips the verdicts) and B (moves the scores), and A copied elsewhere, later,
    with another README (a file peft does not read)."""
    root = tmp_path_factory.mktemp("adapters")
    base = speaking_qwen(root / "qwen")
    a = build_lora(base, root / "A", seed=2, scale=0.2)
    b = build_lora(base, root / "B", seed=1, scale=0.1)
    copy = root / "elsewhere" / "A"
    shutil.copytree(a, copy)
    for file in copy.iterdir():
        os.utime(file, (1, 1))
    (copy / "README.md").write_text("copied\n")
    return {"base": base, "A": a, "B": b, "A-copy": copy, "root": root}


@pytest.fixture(scope="module")
def manifest(models: dict[str, Path]) -> Path:
    folder = models["root"] / "data"
    folder.mkdir()
    lines = []
    for i in range(IMAGES):
        Image.fromarray(pixels(i)).save(folder / f"i{i}.png")
        lines.append(json.dumps({"id": f"i{i}", "image": f"i{i}.png", "label": ("real", "fake")[i % 2]}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


def adapter_of(models: dict[str, Path], name: str) -> str | None:
    return None if name == "base" else str(models[name])


@pytest.fixture(scope="module")
def backends(models: dict[str, Path]) -> dict[str, LocalBackend]:
    return {name: LocalBackend(f"local:{models['base']}", adapter=adapter_of(models, name)) for name in NAMES}


@pytest.fixture(scope="module")
def runs(models: dict[str, Path], manifest: Path) -> dict[str, dict]:
    """An eval run per model, in this order, sharing one response cache: config, predictions and request counts."""
    out = {}
    for name in NAMES:
        options = RunConfig(
            data=str(manifest),
            model=f"local:{models['base']}",
            adapter=adapter_of(models, name),
            out=str(models["root"] / "runs" / name),
            cache_dir=str(models["root"] / "cache"),
            params=PARAMS,
        )
        result = evaluate(options)
        out[name] = {
            "config": json.loads((Path(result.run_dir) / "config.json").read_text()),
            "predictions": read_predictions(Path(result.run_dir)),
            "requests": result.metrics["requests"],
        }
    return out


def read_predictions(run_dir: Path) -> dict[str, dict]:
    lines = (run_dir / "predictions.jsonl").read_text().splitlines()
    return {record["id"]: record for record in map(json.loads, lines)}


@pytest.mark.parametrize("name", ["A", "B"])
def test_an_adapter_changes_the_answers_as_the_unmerged_peft_model_does(
    models: dict[str, Path], backends: dict[str, LocalBackend], name: str
) -> None:
    seeds = range(IMAGES)
    base = backends["base"].generate([request(backends["base"], s) for s in seeds])
    merged = backends[name].generate([request(backends[name], s) for s in seeds])
    direct = unmerged(models["base"], models[name])
    alone = direct.generate([request(direct, s) for s in seeds])
    for without, adapted, peft_model in zip(base, merged, alone, strict=True):
        assert without.score is not None and adapted.score is not None and peft_model.score is not None
        assert abs(adapted.score - without.score) > 0.05  # the adapter changes the verdict probability
        assert adapted.text == peft_model.text
        assert adapted.score == pytest.approx(peft_model.score, abs=1e-5)
        np.testing.assert_allclose(
            [t.logprob for t in adapted.logprobs], [t.logprob for t in peft_model.logprobs], atol=1e-4
        )


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [("base", "A", False), ("base", "B", False), ("A", "B", False), ("A", "A-copy", True)],
)
def test_cache_and_run_keys_follow_the_adapters_content(
    backends: dict[str, LocalBackend], runs: dict[str, dict], left: str, right: str, same: bool
) -> None:
    keys = {name: Caller(backends[name]).key(request(backends[name], 0)) for name in (left, right)}
    assert (keys[left] == keys[right]) is same
    assert (runs[left]["config"]["run_key"] == runs[right]["config"]["run_key"]) is same
    assert (backends[left].cache_identity() == backends[right].cache_identity()) is same


def test_the_run_records_the_adapter_and_its_answers_differ(runs: dict[str, dict], models: dict[str, Path]) -> None:
    config = runs["A"]["config"]
    assert config["options"]["adapter"] == str(models["A"])
    assert config["backend"]["adapter"]["path"] == str(models["A"])
    assert config["backend"]["adapter"]["sha256"] == runs["A-copy"]["config"]["backend"]["adapter"]["sha256"]
    assert "adapter" not in runs["base"]["config"]["backend"] and runs["base"]["config"]["options"]["adapter"] is None
    for sample, record in runs["base"]["predictions"].items():
        scores = [runs[name]["predictions"][sample]["score"] for name in ("A", "B")]
        assert abs(scores[0] - record["score"]) > 0.05 and abs(scores[1] - record["score"]) > 0.05
        assert abs(scores[0] - scores[1]) > 0.05


def test_the_same_adapter_elsewhere_reuses_every_answer(runs: dict[str, dict]) -> None:
    assert runs["A"]["requests"]["sent"] == IMAGES and runs["A"]["requests"]["cached"] == 0
    assert runs["A-copy"]["requests"]["sent"] == 0 and runs["A-copy"]["requests"]["cached"] == IMAGES
    assert runs["B"]["requests"]["sent"] == IMAGES  # another adapter never reuses A's answers
    for sample, record in runs["A"]["predictions"].items():
        assert runs["A-copy"]["predictions"][sample]["score"] == record["score"]


def test_eval_and_detect_take_an_adapter_on_the_command_line(
    models: dict[str, Path], manifest: Path, tmp_path: Path
) -> None:
    direct = evaluate(
        str(manifest), unmerged(models["base"], models["A"]), out=tmp_path / "direct", cache=False, params=PARAMS
    )
    expected = read_predictions(Path(direct.run_dir))
    arguments = ["eval", "--data", str(manifest), "--model", f"local:{models['base']}", "--adapter", str(models["A"])]
    arguments += ["--max-new-tokens", "4", "--cache-dir", str(tmp_path / "cache"), "--out"]
    first = CliRunner().invoke(app, [*arguments, str(tmp_path / "first")])
    assert first.exit_code == 0, first.output
    got = read_predictions(tmp_path / "first")
    for sample, record in expected.items():
        assert got[sample]["raw"] == record["raw"] and got[sample]["label"] == record["label"]
        assert got[sample]["score"] == pytest.approx(record["score"], abs=1e-5)
    again = CliRunner().invoke(app, [*arguments, str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert f"requests: 0 sent, {IMAGES} from cache" in again.output  # the same adapter generates nothing new
    image = manifest.parent / "i0.png"
    detect = ["detect", str(image), "--model", f"local:{models['base']}", "--adapter", str(models["A"])]
    shown = CliRunner().invoke(app, [*detect, "--prompt", "verdict", "--max-new-tokens", "4", "--json"])
    assert shown.exit_code == 0, shown.output
    verdict = json.loads(shown.output.strip().splitlines()[-1])
    assert verdict["label"] == got["i0"]["label"] and verdict["score"] == pytest.approx(got["i0"]["score"], abs=1e-5)


def test_detector_takes_an_adapter(models: dict[str, Path], backends: dict[str, LocalBackend]) -> None:
    base = f"local:{models['base']}"
    adapted = Detector(base, "verdict", PARAMS, adapter=models["A"], cache=False).detect(pixels(1))
    direct = Detector(unmerged(models["base"], models["A"]), "verdict", PARAMS, cache=False).detect(pixels(1))
    plain = Detector(backends["base"], "verdict", PARAMS, cache=False).detect(pixels(1))
    assert adapted.score == pytest.approx(direct.score, abs=1e-5)
    assert abs(adapted.score - plain.score) > 0.05
    with pytest.raises(LocalModelError, match="built-in forensic model is not a transformers model"):
        Detector("forensic", adapter=models["A"])
    with pytest.raises(LocalModelError, match="not a Backend"):
        Detector(backends["base"], adapter=models["A"])


def test_resume_reopens_the_adapter_and_refuses_another_in_its_place(
    models: dict[str, Path], manifest: Path, tmp_path: Path
) -> None:
    adapter, out = tmp_path / "adapter", tmp_path / "run"
    shutil.copytree(models["A"], adapter)
    first = evaluate(str(manifest), f"local:{models['base']}", adapter=adapter, out=out, cache=False, params=PARAMS)
    before = read_predictions(out)
    (out / "predictions.jsonl").write_text((out / "predictions.jsonl").read_text().splitlines()[0] + "\n")
    again = resume(out)
    assert again.reused == 1 and len(again.scores.samples) == IMAGES == len(first.scores.samples)
    assert {s: r["score"] for s, r in read_predictions(out).items()} == {s: r["score"] for s, r in before.items()}
    shutil.rmtree(adapter)
    shutil.copytree(models["B"], adapter)  # another adapter under the recorded path: its answers never mix in
    with pytest.raises(RunDirectoryError, match="predictions of another configuration"):
        resume(out)


@pytest.fixture(scope="module")
def bad_adapters(models: dict[str, Path]) -> dict[str, Path]:
    """Folders that are not adapters of the base model: none at all, no weights, another architecture's adapter
    (PaliGemma: its LoRA covers the SigLIP tower too), target modules the model lacks, a tensor of another shape."""
    from safetensors.torch import load_file, save_file

    root = models["root"] / "bad"
    config_only = root / "config-only"
    config_only.mkdir(parents=True)
    shutil.copy(models["A"] / "adapter_config.json", config_only)
    paligemma = build_lora(build_paligemma(root / "paligemma"), root / "paligemma-lora", seed=3, scale=0.1)
    targets = root / "targets"
    shutil.copytree(models["A"], targets)
    config = json.loads((targets / "adapter_config.json").read_text())
    (targets / "adapter_config.json").write_text(json.dumps({**config, "target_modules": ["fc1"]}))
    shape = root / "shape"
    shutil.copytree(models["A"], shape)
    tensors = load_file(shape / "adapter_model.safetensors")
    first = sorted(k for k in tensors if "lora_A" in k)[0]
    tensors[first] = torch.zeros(4, 32)
    save_file(tensors, shape / "adapter_model.safetensors")
    return {
        "missing": root / "nothing-here",
        "checkpoint": models["base"],
        "config-only": config_only,
        "paligemma": paligemma,
        "targets": targets,
        "shape": shape,
    }


LOCAL = "LOCAL"
"""Stands for ``--model local:<the base checkpoint>`` in the table below."""


@pytest.mark.parametrize(
    ("command", "model", "adapter", "message"),
    [
        ("eval", None, "A", "--adapter needs a local model (--model local:/path or hf:ORG/NAME): the built-in"),
        ("detect", None, "A", "the built-in forensic model is not a transformers model a LoRA adapter can change"),
        ("eval", "gpt-4o", "A", "'gpt-4o' is an API model"),
        ("detect", "gpt-4o", "A", "'gpt-4o' is an API model"),
        ("eval", "--base-url", "A", "a served model's weights are on its server"),
        ("detect", "--base-url", "A", "a served model's weights are on its server"),
        ("eval", LOCAL, "missing", "nothing-here: no such folder"),
        ("detect", LOCAL, "checkpoint", "qwen: no adapter_config.json, so not a peft adapter folder"),
        ("eval", LOCAL, "config-only", "config-only: no adapter_model.safetensors or adapter_model.bin"),
        ("eval", LOCAL, "paligemma", "paligemma-lora: does not fit the model: it holds"),
        ("detect", LOCAL, "targets", "targets: does not fit the model (Target modules {'fc1'} not found"),
        ("eval", LOCAL, "shape", "shape: does not fit the model (Error(s) in loading state_dict"),
    ],
)
def test_an_adapter_that_cannot_be_used_is_one_line(
    models: dict[str, Path],
    bad_adapters: dict[str, Path],
    manifest: Path,
    tmp_path: Path,
    command: str,
    model: str | None,
    adapter: str,
    message: str,
) -> None:
    folder = models.get(adapter) or bad_adapters[adapter]
    arguments = ["eval", "--data", str(manifest), "--out", str(tmp_path / "run")] if command == "eval" else []
    arguments = arguments or ["detect", str(manifest.parent / "i0.png")]
    if model == "--base-url":
        arguments += ["--base-url", "http://127.0.0.1:9/v1", "--convention", "qwen2.5-vl"]
    elif model is not None:
        arguments += ["--model", f"local:{models['base']}" if model == LOCAL else model]
    result = CliRunner().invoke(app, [*arguments, "--adapter", str(folder)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_without_peft_only_an_adapter_fails(models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "peft", None)  # `import peft` raises ImportError, as in the core install
    assert LocalBackend(f"local:{models['base']}").adapter is None
    detect = ["detect", str(models["root"] / "data" / "i0.png"), "--model", f"local:{models['base']}"]
    result = CliRunner().invoke(app, [*detect, "--adapter", str(models["A"])])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --adapter needs peft: pip install 'grounddefake[train]'"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"model": "local:/m", "adapter": "/a"}, None),
        ({"model": "hf:org/name", "adapter": "/a"}, None),
        ({"model": "local:/m", "adapter": "/a", "base_urls": ("http://gpu:8000/v1",)}, "on its server"),
        ({"model": "forensic", "adapter": "/a"}, "built-in forensic model"),
        ({"model": "gpt-4o", "adapter": "/a"}, "'gpt-4o' is an API model"),
        ({"model": None, "adapter": "/a", "base_urls": ("http://gpu:8000/v1",)}, "on its server"),
    ],
)
def test_run_config_keeps_the_adapter_of_a_local_model_only(options: dict, problem: str | None) -> None:
    if problem is not None:
        with pytest.raises(LocalModelError, match=problem):
            RunConfig(**options)
        return
    config = RunConfig(**options)
    assert RunConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert RunConfig.from_json({k: v for k, v in config.to_json().items() if k != "adapter"}).adapter is None
