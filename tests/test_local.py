"""Local transformers models end to end, on tiny random checkpoints built offline (tests/tiny_models.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="local models need torch (make test installs the CPU wheel)")
pytest.importorskip("transformers", reason="local models need transformers")

import torch
from PIL import Image
from typer.testing import CliRunner

from grounddefake.backends import BackendError, GenerationParams, Request, create_backend
from grounddefake.backends.local import LocalBackend
from grounddefake.cli import app
from grounddefake.images import ImagePolicy, prepare_image
from grounddefake.local import LocalModelError, LocalOptions
from grounddefake.local.loading import pick_device, pick_dtype
from grounddefake.local.scoring import verdict_vocabulary
from grounddefake.parsing import parse_completion
from grounddefake.prompts import ImagePart, Message, TextPart
from tests.tiny_models import build_llava, build_paligemma, build_qwen
from tests.tiny_models import tokenizer as tiny_tokenizer

FAMILIES = {
    "qwen2.5-vl": ("qwen2_5_vl", "qwen2.5-vl@1003520"),
    "qwen2-vl": ("qwen2_vl", "qwen2-vl"),
    "qwen3-vl": ("qwen3_vl", "qwen3-vl"),
    "llava": ("llava", "llava-1.5"),
    "paligemma": ("paligemma", "paligemma"),
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {
        "qwen2.5-vl": build_qwen(root / "qwen25"),
        "qwen2-vl": build_qwen(root / "qwen2", version="2"),
        "qwen3-vl": build_qwen(root / "qwen3", version="3"),
        "llava": build_llava(root / "llava"),
        "paligemma": build_paligemma(root / "paligemma"),
    }


@pytest.fixture(scope="module")
def backends(checkpoints: dict[str, Path]) -> dict[str, LocalBackend]:
    return {name: LocalBackend(f"local:{path}", LocalOptions(batch_size=4)) for name, path in checkpoints.items()}


def image(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def request(backend: LocalBackend, pixels: np.ndarray, text: str = "Is this image real or fake?", **kw) -> Request:
    prepared = prepare_image(pixels, backend.image_policy)
    message = Message("user", (ImagePart(0), TextPart(text)))
    params = GenerationParams(max_tokens=kw.pop("max_tokens", 12), **kw)
    return Request((message,), (prepared,), backend.convention, None, params)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_is_recognised_from_its_config(backends: dict[str, LocalBackend], family: str) -> None:
    model_type, convention = FAMILIES[family]
    backend = backends[family]
    assert backend.model_type == model_type
    assert backend.convention == convention
    assert backend.describe()["device"] == "cpu" and backend.describe()["dtype"] == "float32"


def speak_verdicts(backend: LocalBackend) -> LocalBackend:
    """Make ``backend``'s output layer know only the verdict tokens: their rows point along the model's final hidden
    state (plus noise, so real and fake differ), every other row is zero. Every answer then starts with a verdict
    token, so every answer has a score."""
    vocabulary = backend.vocabulary(None)
    with torch.inference_mode():
        output = backend.network(**backend.encode([request(backend, image(64, 48, 9))]), output_hidden_states=True)
    direction = output.hidden_states[-1][0, -1].float()
    direction = direction / direction.norm()
    weight = backend.network.get_output_embeddings().weight.data
    keep = torch.zeros(weight.shape[0], dtype=torch.bool)
    keep[list(vocabulary.ids)] = True
    noise = torch.randn(int(keep.sum()), weight.shape[1], generator=torch.Generator().manual_seed(5))
    weight[~keep] = 0.0
    weight[keep] = (direction * 8.0 + noise).to(weight.dtype)
    return backend


@pytest.fixture(scope="module")
def speakers(checkpoints: dict[str, Path]) -> dict[str, LocalBackend]:
    return {name: speak_verdicts(LocalBackend(f"local:{path}")) for name, path in checkpoints.items()}


def mixed_requests(backend: LocalBackend) -> list[Request]:
    """Four requests whose images and prompts differ in size, so a batch of them needs left padding."""
    sizes = [(64, 48), (40, 72), (56, 56), (90, 30)]
    texts = ["Is this image real or fake?", "Real or fake?", "Is this image real or fake? Answer with one word.", "?"]
    return [request(backend, image(w, h, i), text) for i, ((w, h), text) in enumerate(zip(sizes, texts, strict=True))]


@pytest.mark.parametrize("model", ["random", "verdict-speaking"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_batch_of_four_answers_as_four_single_requests(
    backends: dict[str, LocalBackend], speakers: dict[str, LocalBackend], family: str, model: str
) -> None:
    backend = (backends if model == "random" else speakers)[family]
    requests = mixed_requests(backend)
    lengths = {int(backend.encode([r])["attention_mask"].sum()) for r in requests}
    assert len(lengths) > 1  # the batch really is padded
    together = backend.generate(requests)
    alone = [backend.generate([r])[0] for r in requests]
    for batched, single in zip(together, alone, strict=True):
        assert batched.text == single.text
        assert batched.usage == single.usage
        assert [t.token for t in batched.logprobs] == [t.token for t in single.logprobs]
        np.testing.assert_allclose(
            [t.logprob for t in batched.logprobs], [t.logprob for t in single.logprobs], atol=1e-4
        )
        if model == "verdict-speaking":
            assert batched.score is not None and single.score is not None
            assert batched.score == pytest.approx(single.score, abs=1e-5)
        else:
            assert (batched.score is None) == (single.score is None)


def test_batched_requests_through_the_async_batcher_equal_single_calls(backends: dict[str, LocalBackend]) -> None:
    import asyncio

    backend = backends["qwen2.5-vl"]
    requests = [request(backend, image(48 + 8 * i, 40, i)) for i in range(6)]

    async def concurrently() -> list:
        return await asyncio.gather(*(backend.complete(r) for r in requests))

    answers = asyncio.run(concurrently())
    assert [a.text for a in answers] == [backend.generate([r])[0].text for r in requests]


def independent_verdict_ids(tokenizer, words: dict[str, str]) -> dict[str, set[int]]:
    """Token ids whose decoded text is a verdict word, up to white space, quotes and asterisks."""
    ids: dict[str, set[int]] = {"real": set(), "fake": set()}
    for token_id in range(len(tokenizer)):
        label = words.get(tokenizer.decode([token_id]).strip(" \t\n\"'*").lower())
        if label is not None:
            ids[label].add(token_id)
    return ids


@pytest.mark.parametrize("answers", [None, {"yes": "fake", "no": "real"}])
@pytest.mark.parametrize("family", ["qwen2.5-vl", "llava", "paligemma"])
def test_the_verdict_vocabulary_comes_from_the_tokenizer(
    backends: dict[str, LocalBackend], family: str, answers
) -> None:
    tokenizer = backends[family].inputs.tokenizer
    vocabulary = verdict_vocabulary(tokenizer, answers)
    expected = independent_verdict_ids(tokenizer, {"real": "real", "fake": "fake", **(answers or {})})
    assert set(vocabulary.real) == expected["real"] and set(vocabulary.fake) == expected["fake"]
    assert vocabulary.usable and not set(vocabulary.real) & set(vocabulary.fake)


def test_sentencepiece_word_pieces_without_their_space_mark_count() -> None:
    """After a quote, SentencePiece writes `"fake` or `fake` without `▁`: encoding the word alone never finds it."""
    tokenizer = tiny_tokenizer(["<unk>", "<s>"], sentencepiece=True, bos="<s>")
    vocabulary = verdict_vocabulary(tokenizer)
    pieces = {tokenizer.convert_ids_to_tokens(i) for i in vocabulary.fake}
    assert {"fake", "▁fake", '▁"fake'} <= pieces
    assert tokenizer.encode("fake", add_special_tokens=False) != [tokenizer.convert_tokens_to_ids("fake")]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_score_is_p_fake_renormalised_over_the_verdict_vocabulary(
    speakers: dict[str, LocalBackend], family: str
) -> None:
    backend = speakers[family]
    vocabulary = backend.vocabulary(None)
    requests = mixed_requests(backend)
    for req, completion in zip(requests, backend.generate(requests), strict=True):
        assert completion.score is not None and 0.0 <= completion.score <= 1.0
        with torch.inference_mode():  # an independent forward pass over the unpadded request
            logits = backend.network(**backend.encode([req])).logits[0, -1].float()
        probabilities = torch.softmax(logits, dim=-1)
        fake = float(probabilities[list(vocabulary.fake)].sum())
        real = float(probabilities[list(vocabulary.real)].sum())
        assert completion.score == pytest.approx(fake / (fake + real), abs=1e-5)
        verdict = parse_completion(completion, None, req.images[0].transform)
        assert verdict.score == completion.score  # the backend's full-vocabulary score wins


@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen2-vl", "qwen3-vl"])
def test_qwen_image_tokens_get_their_multimodal_positions(backends: dict[str, LocalBackend], family: str) -> None:
    """M-RoPE: image patches are placed on a 2-D grid, so positions run ahead of the token count (rope_deltas ≠ 0)."""
    backend = backends[family]
    batch = backend.encode([request(backend, image(96, 64, 0))])
    image_pad = backend.inputs.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert batch["mm_token_type_ids"].tolist() == (batch["input_ids"] == image_pad).int().tolist()
    with torch.inference_mode():
        backend.network(**batch)  # Qwen2-VL and Qwen3-VL refuse images without mm_token_type_ids
    assert int(backend.network.model.rope_deltas.abs().sum()) > 0


def test_one_bad_request_never_fails_its_batch(backends: dict[str, LocalBackend]) -> None:
    import asyncio

    backend = backends["qwen2.5-vl"]
    good = [request(backend, image(48 + 8 * i, 40, i)) for i in range(3)]
    off_grid = prepare_image(image(640, 480, 0), ImagePolicy())
    bad = Request((Message("user", (ImagePart(0), TextPart("?"))),), (off_grid,), backend.convention)

    async def together() -> list:
        return await asyncio.gather(*(backend.complete(r) for r in [*good, bad]), return_exceptions=True)

    answers = asyncio.run(together())
    assert [a.text for a in answers[:3]] == [backend.generate([r])[0].text for r in good]
    assert isinstance(answers[3], BackendError) and "resized a 640x480 input" in str(answers[3])


def test_llava_prompts_start_with_one_bos(backends: dict[str, LocalBackend]) -> None:
    """The chat template writes <s> and the tokenizer adds one: the prompt must still carry exactly one."""
    backend = backends["llava"]
    tokenizer = backend.inputs.tokenizer
    assert backend.inputs.adds_bos
    batch = backend.encode(mixed_requests(backend))
    for ids, mask in zip(batch["input_ids"], batch["attention_mask"], strict=True):
        real = ids[mask.bool()].tolist()
        assert real[0] == tokenizer.bos_token_id and real.count(tokenizer.bos_token_id) == 1


def test_greedy_ignores_the_checkpoints_sampling_settings(backends: dict[str, LocalBackend]) -> None:
    backend = backends["qwen2-vl"]
    req = request(backend, image(64, 48, 0))
    before = backend.generate([req])[0]
    saved = backend.network.generation_config
    try:
        import copy

        vendor = copy.deepcopy(saved)
        vendor.do_sample, vendor.top_k, vendor.top_p, vendor.repetition_penalty = True, 3, 0.5, 4.0
        vendor.temperature, vendor.no_repeat_ngram_size = 0.3, 2
        backend.network.generation_config = vendor
        after = backend.generate([req])[0]
    finally:
        backend.network.generation_config = saved
    assert after.text == before.text and after.logprobs == before.logprobs


def test_sampling_is_seeded(backends: dict[str, LocalBackend]) -> None:
    backend = backends["qwen2.5-vl"]
    sampled = request(backend, image(64, 48, 0), temperature=1.5, seed=7)
    first, second = backend.generate([sampled])[0], backend.generate([sampled])[0]
    assert first.text == second.text
    others = {backend.generate([request(backend, image(64, 48, 0), temperature=1.5, seed=s)])[0].text for s in range(6)}
    assert len(others) > 1  # a temperature really samples


def test_qwen25_boxes_map_back_through_the_processors_grid(backends: dict[str, LocalBackend]) -> None:
    backend = backends["qwen2.5-vl"]
    pixels = image(640, 480, 0)
    req = request(backend, pixels)
    assert req.images[0].transform.input_size == (644, 476)  # smart resize onto the 28-px grid
    batch = backend.encode([req])
    assert batch["image_grid_thw"].tolist() == [[1, 34, 46]]  # 34 × 14 = 476 rows, 46 × 14 = 644 columns
    from grounddefake.types import Completion

    answer = Completion('{"verdict": "fake", "regions": [{"bbox_2d": [322, 238, 644, 476], "label": "x"}]}')
    verdict = parse_completion(answer, backend.convention, req.images[0].transform)
    assert verdict.regions[0].box == pytest.approx((320.0, 240.0, 640.0, 480.0))


def test_an_image_off_the_processors_grid_is_refused(backends: dict[str, LocalBackend]) -> None:
    backend = backends["qwen2.5-vl"]
    prepared = prepare_image(image(640, 480, 0), ImagePolicy())  # sent as it is: not on the 28-px grid
    off_grid = Request((Message("user", (ImagePart(0), TextPart("?"))),), (prepared,), backend.convention)
    with pytest.raises(BackendError, match="resized a 640x480 input to 644x476"):
        backend.encode([off_grid])


def test_qwen_prompts_follow_the_checkpoints_chat_template(backends: dict[str, LocalBackend]) -> None:
    backend = backends["qwen2.5-vl"]
    req = request(backend, image(56, 56, 0), "Real or fake?")
    with_system = Request(
        (Message("system", (TextPart("You judge images."),)), *req.messages), req.images, req.convention
    )
    tokenizer = backend.inputs.tokenizer
    for asked, system in ((req, "You are a helpful assistant."), (with_system, "You judge images.")):
        text = tokenizer.decode(backend.encode([asked])["input_ids"][0])
        pads = text.count("<|image_pad|>")
        assert pads == 4 * 4 // 4  # a 56 x 56 image: a 4 x 4 grid of 14-px patches, merged 2 x 2
        expected = (
            f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n<|vision_start|>"
            + "<|image_pad|>" * pads
            + "<|vision_end|>Real or fake?<|im_end|>\n<|im_start|>assistant\n"
        )
        assert text == expected


def test_llava_sees_the_mean_padded_square(backends: dict[str, LocalBackend]) -> None:
    inputs = backends["llava"].inputs
    padded = inputs._image(Image.fromarray(image(60, 30, 0)))
    assert padded.size == (60, 60)
    assert padded.getpixel((0, 0)) == inputs.fill  # padding rows carry the processor's mean colour


def test_paligemma_asks_only_the_last_turn_with_one_image(backends: dict[str, LocalBackend]) -> None:
    backend = backends["paligemma"]
    prepared = prepare_image(image(64, 48, 0), backend.image_policy)
    messages = (
        Message("system", (TextPart("You are an expert."),)),
        Message("user", (ImagePart(0), TextPart("answer en Is this image made by AI?"))),
        Message("assistant", (TextPart("yes"),)),
        Message("user", (ImagePart(0), TextPart("detect manipulated region"))),
    )
    batch = backend.encode([Request(messages, (prepared,), backend.convention)])
    text = backend.inputs.tokenizer.decode(batch["input_ids"][0])
    assert text.count("<image>") == 16 and text.rstrip().endswith("detect manipulated region")
    assert "expert" not in text and "made by AI" not in text


@pytest.mark.parametrize("family", list(FAMILIES))
def test_eval_runs_a_local_model_end_to_end(
    checkpoints: dict[str, Path], tmp_path: Path, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    arguments = ["eval", "--model", f"local:{checkpoints[family]}", "--with-boxes", "--limit", "5"]
    arguments += ["--max-new-tokens", "16", "--batch-size", "4", "--out", str(out)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 5 and all(line["error"] is None for line in lines)
    assert all(line["usage"]["completion_tokens"] > 0 for line in lines)
    config = json.loads((out / "config.json").read_text())
    assert config["backend"]["backend"] == "local" and config["options"]["local"]["batch_size"] == 4
    assert config["prompt"].startswith("paligemma-detect@" if family == "paligemma" else "grounded@")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classification"]["n"] == 5
    again = CliRunner().invoke(app, [*arguments[:-1], str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert "requests: 0 sent" in again.output and "from cache" in again.output  # a re-run generates nothing


def test_resume_keeps_the_local_options(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    from grounddefake.api import evaluate, resume

    out = tmp_path / "run"
    local = LocalOptions(batch_size=2, dtype="float32")
    evaluate(
        "demo", f"local:{checkpoints['qwen2-vl']}", limit=2, out=out, local=local, params=GenerationParams(max_tokens=8)
    )
    (out / "predictions.jsonl").write_text((out / "predictions.jsonl").read_text().splitlines()[0] + "\n")
    result = resume(out)
    assert result.reused == 1 and len(result.scores.samples) == 2
    assert json.loads((out / "config.json").read_text())["options"]["local"]["batch_size"] == 2


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("hf:nobody/not-cached", "HF_HUB_OFFLINE is set"),
        ("local:/no/such/folder", "no config.json"),
        ("hf:", "local:/path/to/checkpoint or hf:ORG/NAME"),
    ],
)
def test_unloadable_references_fail_fast_with_a_reason(ref: str, message: str, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LocalModelError, match=message):
        create_backend(ref)


def test_an_offline_hub_name_fails_in_the_cli_with_exit_code_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(app, ["eval", "--model", "hf:Qwen/Qwen2.5-VL-3B-Instruct", "--limit", "1"])
    assert result.exit_code == 2 and "not in the local hub cache" in result.output


def test_an_unsupported_family_is_named(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(LocalModelError, match="'bert' is not supported locally"):
        LocalBackend(f"local:{tmp_path}")


@pytest.mark.parametrize(
    ("device", "dtype", "expected"),
    [("cpu", "auto", "float32"), ("mps", "auto", "float16"), ("cpu", "bfloat16", "bfloat16")],
)
def test_dtype_follows_the_device(device: str, dtype: str, expected: str) -> None:
    assert pick_dtype(dtype, device) == expected


def test_auto_device_prefers_cuda_then_mps_then_cpu() -> None:
    mps = torch.backends.mps.is_available()
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    assert pick_device("auto") == expected and pick_device("cpu") == "cpu"


@pytest.mark.parametrize(
    ("options", "message"),
    [({"dtype": "int8"}, "--dtype"), ({"device": "tpu"}, "--device"), ({"batch_size": 0}, "--batch-size")],
)
def test_local_options_are_validated(options: dict, message: str) -> None:
    with pytest.raises(LocalModelError, match=message):
        LocalOptions(**options)


def test_scores_are_probabilities(backends: dict[str, LocalBackend]) -> None:
    for backend in backends.values():
        for completion in backend.generate([request(backend, image(50, 40, i)) for i in range(3)]):
            assert completion.score is None or 0.0 <= completion.score <= 1.0
            assert all(math.isfinite(t.logprob) and t.logprob <= 0.0 for t in completion.logprobs)


def go_online(monkeypatch: pytest.MonkeyPatch, endpoint: str, cache: Path) -> None:
    """Point huggingface_hub at ``endpoint`` with an empty cache, online. Its settings were read at import time, so
    the constants are patched, not only the environment."""
    import huggingface_hub.constants as constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache / "hub"))


def test_an_unreachable_hub_fails_fast_naming_the_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    from grounddefake.local.loading import hub_problem, resolve

    with socket.socket() as closed:  # a local port nobody listens on: the connection is refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    assert hub_problem(endpoint) is not None
    go_online(monkeypatch, endpoint, tmp_path)
    with pytest.raises(LocalModelError, match=f"the hub \\({endpoint}\\) cannot be reached"):
        resolve("hf:nobody/not-cached")


def test_a_cached_hub_model_loads_with_no_network(
    checkpoints: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hf:ORG/NAME resolves to its snapshot in the hub cache (laid out as huggingface_hub writes it)."""
    import shutil

    revision = "0" * 40
    repo = tmp_path / "hub" / "models--acme--tiny-qwen"
    snapshot = repo / "snapshots" / revision
    shutil.copytree(checkpoints["qwen2-vl"], snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    backend = create_backend("hf:acme/tiny-qwen")
    assert backend.model_type == "qwen2_vl" and Path(backend.path) == snapshot


def test_the_user_can_name_another_convention(checkpoints: dict[str, Path]) -> None:
    backend = create_backend(f"local:{checkpoints['llava']}", convention="norm1000")
    assert backend.convention == "norm1000"
    with pytest.raises(KeyError, match="unknown box convention"):
        create_backend(f"local:{checkpoints['llava']}", convention="nope")


def test_detect_judges_an_image_with_a_local_model(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    Image.fromarray(image(80, 60, 1)).save(photo)
    arguments = ["detect", str(photo), "--model", f"local:{checkpoints['paligemma']}", "--json"]
    result = CliRunner().invoke(app, [*arguments, "--max-new-tokens", "6"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["image"] == str(photo) and record["image_size"] == [80, 60] and record["error"] is None
    assert set(record) >= {"label", "score", "rationale", "regions", "raw", "parse_errors"}


@pytest.mark.parametrize(
    ("files", "gap"),
    [(["config.json"], "missing its weights"), (["config.json", "model.safetensors"], "missing its tokenizer")],
)
def test_an_incomplete_hub_snapshot_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[str], gap: str
) -> None:
    """An interrupted download leaves a snapshot folder behind: it is named as incomplete, never half-loaded."""
    import huggingface_hub.constants

    revision = "1" * 40
    repo = tmp_path / "hub" / "models--acme--partial"
    (repo / "snapshots" / revision).mkdir(parents=True)
    for name in files:
        (repo / "snapshots" / revision / name).write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LocalModelError, match=f"acme/partial is {gap}"):
        create_backend("hf:acme/partial")


def test_a_hub_model_is_downloaded_then_runs_from_the_cache(
    checkpoints: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the hub answers, hf:ORG/NAME downloads the checkpoint (never its code) and loads it from the cache;
    afterwards it loads offline from the same folder, so the two runs share a cache key."""
    import shutil

    import huggingface_hub.constants as constants

    from tests.servers.hub_server import FakeHub

    repo = tmp_path / "repo"
    shutil.copytree(checkpoints["qwen2-vl"], repo)
    (repo / "modeling_custom.py").write_text("raise SystemExit('remote code must never be fetched')\n")
    (repo / "README.md").write_text("# tiny\n")
    with FakeHub({"acme/tiny-qwen": repo}) as hub:
        go_online(monkeypatch, hub.endpoint, tmp_path)
        online = create_backend("hf:acme/tiny-qwen")
        fetched = {p.name for p in Path(online.path).iterdir()}
        assert "config.json" in fetched and "model.safetensors" in fetched
        assert "modeling_custom.py" not in fetched and "README.md" not in fetched
        assert any("/resolve/" in r for r in hub.requests)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        before = len(hub.requests)
        offline = create_backend("hf:acme/tiny-qwen")
        assert hub.requests[before:] == []  # the cache alone
    assert offline.path == online.path and offline.cache_identity() == online.cache_identity()
    req = request(offline, image(64, 48, 0))
    assert offline.generate([req])[0].text == online.generate([req])[0].text


def test_the_cache_key_follows_the_weights_not_the_path_or_copy_time(
    checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    import os
    import shutil

    original = LocalBackend(f"local:{checkpoints['qwen2-vl']}")
    copy = tmp_path / "elsewhere"
    shutil.copytree(checkpoints["qwen2-vl"], copy)
    for file in copy.iterdir():
        os.utime(file, (1, 1))  # copied later, touched: the same checkpoint
    assert LocalBackend(f"local:{copy}").cache_identity() == original.cache_identity()
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one byte of the weights changed
    weights.write_bytes(bytes(data))
    assert LocalBackend(f"local:{copy}").cache_identity() != original.cache_identity()


def test_a_large_file_is_fingerprinted_by_samples_of_its_content(tmp_path: Path, monkeypatch) -> None:
    from grounddefake.local import loading

    monkeypatch.setattr(loading, "WHOLE_FILE", 1000)
    monkeypatch.setattr(loading, "CHUNK", 10)
    data = bytearray(range(256)) * 40
    (tmp_path / "w.bin").write_bytes(bytes(data))
    before = loading.checkpoint_fingerprint(str(tmp_path))
    data[len(data) // 2] ^= 0xFF  # the middle sample sees it
    (tmp_path / "w.bin").write_bytes(bytes(data))
    assert loading.checkpoint_fingerprint(str(tmp_path)) != before


def test_resume_survives_a_touched_checkpoint(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    import os
    import shutil

    from grounddefake.api import evaluate, resume

    model = tmp_path / "model"
    shutil.copytree(checkpoints["qwen2-vl"], model)
    out = tmp_path / "run"
    evaluate("demo", f"local:{model}", limit=2, out=out, params=GenerationParams(max_tokens=6))
    os.utime(model / "config.json")
    assert resume(out).reused == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
@pytest.mark.parametrize("device", ["cuda", "cuda:3"])
def test_a_device_this_machine_lacks_is_refused_before_loading(checkpoints: dict[str, Path], device: str) -> None:
    with pytest.raises(LocalModelError, match=f"--device {device}: no CUDA device"):
        LocalBackend(f"local:{checkpoints['llava']}", LocalOptions(device=device))


@pytest.mark.parametrize("flags", [["--device", "cpu"], ["--dtype", "float32"], ["--batch-size", "4"]])
def test_local_model_flags_with_another_model_are_refused(flags: list[str]) -> None:
    result = CliRunner().invoke(app, ["eval", "--data", "demo", "--limit", "1", *flags])
    assert result.exit_code == 2 and "only for local models" in result.output


def test_each_sampled_request_draws_its_own_stream(backends: dict[str, LocalBackend]) -> None:
    from grounddefake.backends.local import request_seed

    backend = backends["qwen2-vl"]
    one, other = request(backend, image(64, 48, 0), seed=3), request(backend, image(64, 48, 1), seed=3)
    assert request_seed(one) == request_seed(request(backend, image(64, 48, 0), seed=3))
    assert request_seed(one) != request_seed(other)
    assert request_seed(one) != request_seed(request(backend, image(64, 48, 0), seed=4))


def test_a_thinking_models_reasoning_does_not_give_the_score(backends: dict[str, LocalBackend]) -> None:
    """The verdict token counts only after </think>: a verdict word inside the reasoning is not the answer."""
    from grounddefake.local.scoring import StepRecorder, VerdictVocabulary

    real, fake, think_end, other = 1, 2, 3, 0
    recorder = StepRecorder(VerdictVocabulary(real=(real,), fake=(fake,)), top_k=2)
    steps = [  # logits over a 4-token vocabulary, one row; the tokens chosen: real, </think>, fake
        torch.tensor([[0.0, 3.0, 0.0, 0.0]]),
        torch.tensor([[0.0, 0.0, 0.0, 3.0]]),
        torch.tensor([[0.0, 0.0, math.log(4.0), 0.0]]),  # P(fake) / (P(fake) + P(real)) = 4 / 5
    ]
    chosen = [real, think_end, fake]
    for k, logits in enumerate(steps):
        recorder(torch.tensor([[other, *chosen[:k]]]), logits)
    recorder.finish(torch.tensor([fake]))
    backend = backends["qwen2-vl"]
    saved, backend._think_end = backend._think_end, think_end
    try:
        start = backend._after_thinking(chosen)
    finally:
        backend._think_end = saved
    assert start == 2
    assert recorder.verdict_score(0, chosen) == pytest.approx(1 / (1 + math.exp(3.0)))  # the reasoning's "real"
    assert recorder.verdict_score(0, chosen, start) == pytest.approx(0.8)  # the answer's "fake"
    assert [round(t.logprob, 4) for t in recorder.token_logprobs(0, chosen, str)] == [
        round(3.0 - math.log(math.exp(3.0) + 3), 4),
        round(3.0 - math.log(math.exp(3.0) + 3), 4),
        round(math.log(4.0) - math.log(4.0 + 3), 4),
    ]


def test_a_safety_packs_answers_score_p_unsafe() -> None:
    """A verdict pack in another label space ({yes: unsafe, no: safe}): its words take the slots by the positive
    class, so a local model's score is P(unsafe)."""
    from grounddefake.pipeline import slot_answers
    from grounddefake.prompts import pack_from_mapping

    pack = pack_from_mapping(
        {
            "name": "unsafe-yes-no",
            "version": 1,
            "description": "d",
            "task": "verdict",
            "labels": ["safe", "unsafe"],
            "positive": "unsafe",
            "answers": {"yes": "unsafe", "no": "safe"},
            "turns": ["Is this image unsafe? Answer yes or no."],
        },
        "p.yaml",
    )
    answers = slot_answers(pack)
    assert answers == {"safe": "real", "unsafe": "fake", "yes": "fake", "no": "real"}
    tokenizer = tiny_tokenizer(["<unk>", "<s>"])
    vocabulary = verdict_vocabulary(tokenizer, answers)
    expected = independent_verdict_ids(tokenizer, {"real": "real", "fake": "fake", **answers})
    assert set(vocabulary.fake) == expected["fake"] and set(vocabulary.real) == expected["real"]
    assert expected["fake"] & {tokenizer.convert_tokens_to_ids("yes")}  # "yes" stands for unsafe
