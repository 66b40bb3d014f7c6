"""The OpenAI-compatible backend and the runner against a real local HTTP server (tests/servers/openai_server.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from grounddefake.api import evaluate, merge, resume
from grounddefake.rundir import PREDICTIONS, read_predictions

from .conftest import write_dataset
from .servers.openai_server import FakeOpenAIServer, Reply, eval_command

SECRET = "sk-test-DO-NOT-LEAK-4242"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _key_and_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits are recorded instead of slept."""
    waits: list[float] = []
    real_sleep = __import__("asyncio").sleep

    async def record(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("grounddefake.caller._sleep", record)  # the runner's waits only, not the server's
    return waits


def _eval(server: FakeOpenAIServer, data: Path, out: Path, **options):
    options.setdefault("convention", "norm1000")
    return evaluate(data, "test-model", "grounded", True, out, base_urls=[server.base_url], **options)


def _records(out: Path) -> dict[str, dict]:
    return read_predictions(out / PREDICTIONS)


def test_answers_are_parsed_and_scored(server, tiny_dataset: Path, tmp_path: Path) -> None:
    result = _eval(server, tiny_dataset, tmp_path / "run")
    assert len(server.requests) == 4
    assert result.metrics["classification"]["accuracy_fake"] == 1.0
    record = _records(tmp_path / "run")["s1"]
    assert record["label"] == "fake" and record["regions"][0]["label"] == "fused fingers"
    body = server.requests[0]
    assert body["model"] == "test-model" and body["response_format"]["type"] == "json_schema"
    sent = {r["messages"][-1]["content"][0]["image_url"]["url"] for r in server.requests}
    originals = {(tiny_dataset.parent / "images" / f"s{i}.png").read_bytes() for i in range(4)}
    assert sent == {"data:image/png;base64," + base64.b64encode(o).decode() for o in originals}  # sent untouched


GARBLED = [
    {"choices": "nope"},
    {"choices": []},
    {"choices": [None]},
    {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]},
    {"choices": [{"index": 0, "message": "fake", "finish_reason": "stop"}]},
    {"choices": [{"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": "stop"}]},
    {"choices": [{"index": 0, "message": {"role": "assistant", "content": 5}, "finish_reason": "stop"}]},
    {"choices": [{"index": 0, "message": {"role": "assistant", "content": ["fake"]}}]},
]
"""Bodies answered with status 200 that are not a chat completion: retried, never an answer."""


@pytest.mark.parametrize(
    "failures",
    [
        [Reply(status=503), Reply(status=500)],
        [Reply(drop=True)],
        [Reply(body=b'{"id": "x", "choices": [{"mess')],  # truncated body
        [Reply(body=b"<html>bad gateway</html>")],  # garbled body
        [Reply(status=408), Reply(status=409)],
        *([Reply(body=json.dumps(body).encode())] for body in GARBLED),  # 200s that are not a chat completion
    ],
)
def test_retryable_failures_are_retried_then_succeed(server, tiny_dataset, tmp_path, no_waiting, failures) -> None:
    server.add(*failures)
    result = _eval(server, tiny_dataset, tmp_path / "run", limit=1)
    assert result.metrics["requests"]["retries"] == len(failures)
    assert len(server.requests) == len(failures) + 1
    assert _records(tmp_path / "run")["s0"]["error"] is None


def test_backoff_waits_stay_in_growing_windows(server, tiny_dataset, tmp_path, no_waiting) -> None:
    server.add(*[Reply(status=500)] * 5)
    _eval(server, tiny_dataset, tmp_path / "run", limit=1)
    assert len(no_waiting) == 5
    assert all(0 <= wait <= 2**attempt for attempt, wait in enumerate(no_waiting))
    assert len(set(no_waiting)) == 5  # jittered, not a fixed sleep (the growth is measured in test_calls.py)


def test_429_honours_retry_after(server, tiny_dataset, tmp_path, no_waiting) -> None:
    server.add(Reply(status=429, retry_after=7))
    result = _eval(server, tiny_dataset, tmp_path / "run", limit=1)
    assert len(no_waiting) == 1 and 7.0 <= no_waiting[0] <= 7.7  # at least what was asked, spread by up to 10 %
    assert result.metrics["requests"]["retries"] == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_not_retried(server, tiny_dataset, tmp_path, no_waiting, status) -> None:
    server.add(Reply(status=status))
    result = _eval(server, tiny_dataset, tmp_path / "run", limit=1)
    record = _records(tmp_path / "run")["s0"]
    assert len(server.requests) == 1 and no_waiting == []
    assert record["label"] == "unknown" and f"HTTP {status}" in record["error"]
    assert result.metrics["requests"]["failed"] == 1
    assert result.metrics["classification"]["n_unknown"] == 1  # counted, never scored as a label


def test_retries_give_up_after_max_retries(server, tiny_dataset, tmp_path, no_waiting) -> None:
    server.add(*[Reply(status=503)] * 3)
    _eval(server, tiny_dataset, tmp_path / "run", limit=1, max_retries=2)
    assert len(server.requests) == 3
    assert "HTTP 503" in _records(tmp_path / "run")["s0"]["error"]


def test_schema_rejection_falls_back_once_for_the_run(server, tiny_dataset, tmp_path) -> None:
    server.default = Reply(reject_schema=True)
    result = _eval(server, tiny_dataset, tmp_path / "run", concurrency=1)
    with_schema = [r for r in server.requests if "response_format" in r]
    assert len(with_schema) == 1 and len(server.requests) == 5
    assert all(r["error"] is None for r in _records(tmp_path / "run").values())
    assert any("json_schema rejected" in f for f in result.metrics["requests"]["fallbacks"])


def test_logprob_rejection_falls_back(server, tiny_dataset, tmp_path) -> None:
    server.default = Reply(reject_logprobs=True)
    _eval(server, tiny_dataset, tmp_path / "run", limit=2, concurrency=1)
    assert [bool(r.get("logprobs")) for r in server.requests] == [True, False, False]


def test_scores_come_from_verdict_token_logprobs(server, tiny_dataset, tmp_path) -> None:
    top = [("fake", math.log(0.6)), ("real", math.log(0.2)), ("Fake", math.log(0.1))]
    server.default = Reply(logprobs=[('{"', 0.0, []), ("verdict", 0.0, []), ("fake", math.log(0.6), top)])
    _eval(server, tiny_dataset, tmp_path / "run", limit=1)
    assert server.requests[0]["logprobs"] is True and server.requests[0]["top_logprobs"] == 20
    assert _records(tmp_path / "run")["s0"]["score"] == pytest.approx(0.7 / 0.9)


def test_a_rerun_is_served_from_the_cache(server, tiny_dataset, tmp_path) -> None:
    _eval(server, tiny_dataset, tmp_path / "first")
    sent = len(server.requests)
    result = _eval(server, tiny_dataset, tmp_path / "second")
    assert len(server.requests) == sent  # the server saw nothing new
    assert result.metrics["requests"]["cached"] == 4 and result.metrics["requests"]["sent"] == 0
    assert all(r["cached"] for r in _records(tmp_path / "second").values())
    _eval(server, tiny_dataset, tmp_path / "third", cache=False)
    assert len(server.requests) == sent + 4


def test_failed_answers_are_not_cached_and_resume_retries_them(server, tiny_dataset, tmp_path) -> None:
    server.add(Reply(status=400))
    out = tmp_path / "run"
    _eval(server, tiny_dataset, out, concurrency=1)
    assert sum(1 for r in _records(out).values() if r["error"]) == 1
    result = resume(out)
    assert len(server.requests) == 5  # only the failed sample was asked again
    assert result.reused == 3
    assert all(r["error"] is None for r in _records(out).values())


@pytest.mark.parametrize("body", GARBLED)
def test_a_garbled_200_is_a_failed_prediction_never_cached(server, tiny_dataset, tmp_path, no_waiting, body) -> None:
    server.add(*[Reply(body=json.dumps(body).encode())] * 3)
    out = tmp_path / "run"
    result = _eval(server, tiny_dataset, out, limit=1, max_retries=2)
    record = _records(out)["s0"]
    assert len(server.requests) == 3 and result.metrics["requests"]["failed"] == 1
    assert record["label"] == "unknown" and "not a chat completion" in record["error"]
    assert result.metrics["classification"]["n_unknown"] == 1
    resume(out)  # a failed prediction is asked again, not served from the cache
    assert len(server.requests) == 4 and _records(out)["s0"]["error"] is None


def test_a_refusal_is_the_answer(server, tiny_dataset, tmp_path) -> None:
    message = {"role": "assistant", "content": None, "refusal": "I cannot help with that."}
    server.add(Reply(body=json.dumps({"choices": [{"index": 0, "message": message}]}).encode()))
    _eval(server, tiny_dataset, tmp_path / "run", limit=1)
    record = _records(tmp_path / "run")["s0"]
    assert record["error"] is None and record["raw"] == "I cannot help with that." and record["label"] == "unknown"


def test_malformed_logprobs_leave_the_answer_unscored(server, tiny_dataset, tmp_path) -> None:
    choice = {"index": 0, "message": {"role": "assistant", "content": "Verdict: fake."}, "finish_reason": "stop"}
    choice["logprobs"] = {"content": [{"token": None, "logprob": "high", "top_logprobs": "none"}]}
    server.add(Reply(body=json.dumps({"choices": [choice], "usage": {"prompt_tokens": "many"}}).encode()))
    _eval(server, tiny_dataset, tmp_path / "run", limit=1)
    record = _records(tmp_path / "run")["s0"]
    assert record["error"] is None and record["label"] == "fake" and record["score"] is None


def test_the_key_never_reaches_an_output_file(server, tiny_dataset, tmp_path) -> None:
    # A leaky server puts the Authorization header into an error message and into an answer.
    server.add(Reply(status=401, echo_auth=True))
    server.default = Reply(text="Verdict: fake.", echo_auth=True)
    out = tmp_path / "run"
    _eval(server, tiny_dataset, out, concurrency=1)
    assert server.authorizations[0] == f"Bearer {SECRET}"
    records = _records(out)
    assert "***" in records["s0"]["error"] and "***" in records["s1"]["raw"]
    files = [p for p in [*out.rglob("*"), *(tmp_path / "cache").rglob("*")] if p.is_file()]
    assert len(files) > 5
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path


def test_error_messages_are_scrubbed_of_the_key(server, tiny_dataset, tmp_path, monkeypatch) -> None:
    from grounddefake.backends.openai_compat import OpenAIBackend

    backend = OpenAIBackend("test-model", [server.base_url], api_key=SECRET)
    error = backend._error(RuntimeError(f"upstream said: invalid key {SECRET}"))
    assert SECRET not in str(error) and "***" in str(error)


def test_base_url_alone_uses_the_served_model(server, tiny_dataset, tmp_path) -> None:
    result = evaluate(
        tiny_dataset, None, "grounded", True, tmp_path / "run", base_urls=[server.base_url], convention="norm1000"
    )
    assert result.metrics["classification"]["n"] == 4
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"] == "test-model"


def test_the_endpoint_with_fewest_requests_in_flight_gets_the_next(tmp_path) -> None:
    data = write_dataset(tmp_path / "data", 24)
    with FakeOpenAIServer(default=Reply(delay=0.4)) as slow, FakeOpenAIServer(default=Reply(delay=0.01)) as fast:
        evaluate(
            data,
            "test-model",
            "grounded",
            True,
            tmp_path / "run",
            concurrency=4,
            convention="norm1000",
            base_urls=[slow.base_url, fast.base_url],
        )
        assert len(slow.requests) + len(fast.requests) == 24
        assert len(slow.requests) >= 1 and len(fast.requests) >= 18  # round robin would give 12 and 12


def _answer_by_image(body: dict) -> Reply:
    """A different answer per image (from its bytes): real, fake with a box, or a 400 for some."""
    digest = hashlib.sha256(body["messages"][-1]["content"][0]["image_url"]["url"].encode()).digest()
    if digest[0] % 7 == 0:
        return Reply(status=400)
    if digest[0] % 2:
        return Reply(text='{"verdict": "real", "rationale": "fine", "regions": []}')
    box = [digest[1] % 400, digest[2] % 400, 500 + digest[3] % 500, 500 + digest[4] % 500]
    return Reply(text=json.dumps({"verdict": "fake", "rationale": "x", "regions": [{"box": box}]}))


def test_shards_merge_into_the_unsharded_run(tmp_path) -> None:
    data = write_dataset(tmp_path / "data", 30)
    (data.parent / "images" / "img0003.png").write_bytes(b"not a png")  # one unreadable image
    with FakeOpenAIServer(responder=_answer_by_image) as server:
        full = _eval(server, data, tmp_path / "full", cache=False)
        parts = [_eval(server, data, tmp_path / f"shard{k}", shard=(k, 3), cache=False) for k in (1, 2, 3)]
    assert full.metrics["classification"]["n_unknown"] > 0 and full.metrics["skipped"]
    assert 0 < full.metrics["localization"]["iou_mean"] < 1
    assert sum(len(p.scores.samples) for p in parts) == len(full.scores.samples)
    assert all(len(p.scores.samples) < 29 for p in parts)
    merged = merge([tmp_path / f"shard{k}" for k in (1, 2, 3)], tmp_path / "merged")
    for group in ("classification", "localization", "skipped"):
        assert merged.metrics[group] == full.metrics[group], group
    assert merged.metrics["requests"]["sent"] == sum(p.metrics["requests"]["sent"] for p in parts)

    def answers(out: Path) -> dict[str, tuple]:
        return {k: (r["label"], r["regions"], bool(r["error"])) for k, r in _records(out).items()}

    assert answers(tmp_path / "merged") == answers(tmp_path / "full")  # the same answer for every sample


def test_shards_run_against_different_replicas_merge(tmp_path) -> None:
    data = write_dataset(tmp_path / "data", 8)
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        _eval(a, data, tmp_path / "s1", shard=(1, 2))
        _eval(b, data, tmp_path / "s2", shard=(2, 2))
    assert merge([tmp_path / "s1", tmp_path / "s2"], tmp_path / "m").metrics["classification"]["n"] == 8


def test_a_run_directory_never_reuses_answers_for_other_images(server, tmp_path) -> None:
    from grounddefake.rundir import RunDirectoryError

    first = write_dataset(tmp_path / "a", 4, seed=2)
    other = write_dataset(tmp_path / "b", 4, seed=99)  # the same ids, other images
    _eval(server, first, tmp_path / "run")
    sent = len(server.requests)
    result = _eval(server, other, tmp_path / "run")  # the same manifest text: the images decide
    assert result.reused == 0 and len(server.requests) == sent + 4
    other.write_text(other.read_text().replace("img0000", "renamed"))  # another manifest: another run
    with pytest.raises(RunDirectoryError, match="another configuration"):
        _eval(server, other, tmp_path / "run")


def test_an_unrelated_400_mentioning_a_schema_is_the_samples_error(server, tiny_dataset, tmp_path) -> None:
    server.add(Reply(status=400, message="image too large; see the request schema"))
    result = _eval(server, tiny_dataset, tmp_path / "run", limit=2, concurrency=1)
    assert result.metrics["requests"]["fallbacks"] == []
    assert all("response_format" in r for r in server.requests)
    assert "HTTP 400" in _records(tmp_path / "run")["s0"]["error"]


def test_top_logprobs_cap_asks_for_fewer_first(server, tiny_dataset, tmp_path) -> None:
    server.add(Reply(status=400, message="top_logprobs must be <= 5"))
    result = _eval(server, tiny_dataset, tmp_path / "run", limit=2, concurrency=1)
    assert [r.get("top_logprobs") for r in server.requests] == [20, 5, 5]
    assert any("5 alternatives" in f for f in result.metrics["requests"]["fallbacks"])
    _eval(server, tiny_dataset, tmp_path / "again", limit=2, concurrency=1)  # remembered: served from the cache
    assert len(server.requests) == 3


def test_a_slow_answer_times_out_and_is_retried(server, tiny_dataset, tmp_path, no_waiting) -> None:
    server.add(Reply(delay=3.0))
    result = _eval(server, tiny_dataset, tmp_path / "run", limit=1, timeout=1.0)
    assert result.metrics["requests"]["retries"] == 1
    assert _records(tmp_path / "run")["s0"]["error"] is None


def test_resume_keeps_the_runs_cache_folder(server, tiny_dataset, tmp_path, monkeypatch) -> None:
    server.add(Reply(status=400))
    out = tmp_path / "run"
    _eval(server, tiny_dataset, out, concurrency=1, cache_dir=tmp_path / "mine")
    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "elsewhere"))
    resume(out)
    assert (tmp_path / "mine" / "responses.sqlite3").exists()
    assert not (tmp_path / "elsewhere").exists()


def test_a_pack_showing_the_image_in_two_turns(server, tiny_dataset, tmp_path) -> None:
    pack = tmp_path / "two.yaml"
    pack.write_text(
        "name: two\nversion: 1\ndescription: d\ntask: grounded\nconvention: norm1000\n"
        "turns:\n  - Describe the image.\n  - {text: Now the verdict and boxes, image: before}\n"
    )
    evaluate(
        tiny_dataset,
        "test-model",
        str(pack),
        True,
        tmp_path / "run",
        base_urls=[server.base_url],
        convention="norm1000",
        limit=1,
    )
    second = server.requests[-1]["messages"]
    images = [p for m in second if isinstance(m["content"], list) for p in m["content"] if p["type"] == "image_url"]
    assert len(images) == 2 and images[0] == images[1]
    assert _records(tmp_path / "run")["s0"]["error"] is None


def test_a_url_without_scheme_fails_at_once() -> None:
    from grounddefake.backends import UnknownModelError, create_backend

    with pytest.raises(UnknownModelError, match="full URL"):
        create_backend("m", base_urls=["127.0.0.1:9/v1"], convention="norm1000")


def test_sigkill_then_resume_answers_every_sample_exactly_once(tmp_path) -> None:
    data = write_dataset(tmp_path / "data", 24)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with FakeOpenAIServer(default=Reply(delay=0.15)) as server:
        command = eval_command(data, server.base_url, out, "--concurrency", "3", "--no-cache")
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        predictions = out / PREDICTIONS
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if predictions.exists() and predictions.read_text().count("\n") >= 6:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        before = predictions.read_text().count("\n")
        assert 6 <= before < 24, "the kill must land in the middle of the run"
        sent_before = len(server.requests)
        resume(out)
        lines = [json.loads(line) for line in predictions.read_text().splitlines()]
        ids = [line["id"] for line in lines]
        assert sorted(set(ids)) == sorted(f"img{i:04d}" for i in range(24))
        assert len(ids) == len(set(ids)), "no sample is answered twice"
        # Only the requests in flight at the kill were lost and asked again.
        assert len(server.requests) - sent_before == 24 - before
        assert sent_before - before <= 3


def test_cli_runs_a_server_model(server, tiny_dataset, tmp_path) -> None:
    from typer.testing import CliRunner

    from grounddefake.cli import app

    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--data",
            str(tiny_dataset),
            "--model",
            "test-model",
            "--convention",
            "norm1000",
            "--with-boxes",
            "--base-url",
            server.base_url,
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "requests: 4 sent, 0 from cache" in " ".join(result.output.split())


def test_a_rejected_schema_is_remembered_so_a_rerun_costs_nothing(server, tiny_dataset, tmp_path) -> None:
    server.default = Reply(reject_schema=True)
    _eval(server, tiny_dataset, tmp_path / "first", concurrency=1)
    sent = len(server.requests)
    result = _eval(server, tiny_dataset, tmp_path / "second", concurrency=1)
    assert len(server.requests) == sent
    assert result.metrics["requests"]["cached"] == 4
    assert any("earlier run" in f for f in result.metrics["requests"]["fallbacks"])


def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path) -> None:
    data = write_dataset(tmp_path / "data", 40)
    out = tmp_path / "run"
    with FakeOpenAIServer(default=Reply(delay=0.2)) as server:
        command = eval_command(data, server.base_url, out, "--concurrency", "2", "--no-cache")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        predictions = out / PREDICTIONS
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (predictions.exists() and predictions.read_text().count("\n") >= 4):
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr[-3000:]
    assert "interrupted" in stderr and "--resume" in stderr
    lines = predictions.read_text().splitlines()
    assert all(json.loads(line)["id"] for line in lines)  # every saved line is whole
    assert 4 <= len(lines) < 40


def test_detect_command_on_a_served_model(server, tmp_path) -> None:
    from typer.testing import CliRunner

    from grounddefake.cli import app

    image = next((Path(__file__).parents[1] / "data" / "demo" / "images").glob("*.jpg"))
    result = CliRunner().invoke(
        app, ["detect", str(image), "--json", "--base-url", server.base_url, "--convention", "norm1000"]
    )
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output.splitlines()[-1])
    assert verdict["label"] == "fake" and verdict["regions"][0]["label"] == "fused fingers"


class _FullDisk:
    """A response-cache connection whose every write fails as a full disk does."""

    def __init__(self, db, error: Exception) -> None:
        self.db, self.error = db, error

    def execute(self, sql: str, *args):
        if sql.lstrip().upper().startswith("INSERT"):
            raise self.error
        return self.db.execute(sql, *args)

    def close(self) -> None:
        self.db.close()


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database or disk is full"),
        OSError(28, "No space left on device"),
    ],
    ids=["sqlite-full", "enospc"],
)
def test_a_full_disk_under_the_cache_turns_it_off_with_one_warning(
    server, tiny_dataset, tmp_path, monkeypatch, error: Exception
) -> None:
    import sqlite3

    from typer.testing import CliRunner

    from grounddefake.cli import app

    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: _FullDisk(connect(*a, **k), error))
    out = tmp_path / "run"
    command = eval_command(tiny_dataset, server.base_url, out, "--concurrency", "1")[3:]  # past "python -m pkg"
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    records = _records(out)
    assert len(records) == 4 and all(r["error"] is None for r in records.values())
    warnings = [line for line in result.output.splitlines() if "response cache" in line]
    assert len(warnings) == 1 and str(error.args[-1]) in warnings[0], result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["requests"]["warnings"]) == 1 and len(server.requests) == 4
