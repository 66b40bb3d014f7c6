"""Secrets never reach a file: redacted endpoints, scrubbed completions and errors, keys refused up front."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pytest

from grounddefake.api import evaluate, resume
from grounddefake.backends import UnknownModelError, create_backend
from grounddefake.redaction import Scrubber, header_problem, is_redacted, redact_url, scrub_completion
from grounddefake.run_config import RunConfig
from grounddefake.rundir import PREDICTIONS, read_predictions
from grounddefake.types import Completion, TokenLogprob

from .servers.openai_server import FakeOpenAIServer, Reply

SECRET = "sk-test-DO-NOT-LEAK-4242"
PASSWORD = "hunter2-PASSWORD-9931"
QUERY_KEY = "qk-QUERY-SECRET-5150"


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _key_and_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("GROUNDDEFAKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def _files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]


def _assert_nowhere(secrets: list[str], *folders: Path) -> None:
    files = _files(*folders)
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (path, secret)


# -- the module --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        (f"http://user:{PASSWORD}@host/v1", "http://***@host/v1"),
        (f"https://{SECRET}@host:8443/v1", "https://***@host:8443/v1"),
        (f"http://host/v1?api-key={QUERY_KEY}", "http://host/v1?api-key=***"),
        (f"http://host/v1?api-version=2024&key={QUERY_KEY}", "http://host/v1?api-version=***&key=***"),
        (f"http://host/v1?{QUERY_KEY}", "http://host/v1?***"),
        (f"http://host/v1#{QUERY_KEY}", "http://host/v1#***"),
        (f"user:{PASSWORD}@host/v1", "***@host/v1"),  # no scheme: still no password in the message
    ],
)
def test_urls_are_redacted(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
    assert is_redacted(redacted) == (redacted != url)
    assert Scrubber.of([], [url])(f"GET {url} failed") == f"GET {redacted} failed"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("sk-ok-123", None),
        (f"{SECRET}\r", "a control character at its end"),
        (f"{SECRET}\r\n", "a control character at its end"),
        (f"{SECRET}\n", "a control character at its end"),
        (f"{SECRET} ", "a space at its end"),
        ("sk-a b", "a space at position 5"),
        ("sk-\x00b", "a control character at position 4"),
        ("sk-ké", "a non-ASCII character at position 5"),
    ],
)
def test_keys_an_http_header_cannot_carry_are_named(key: str, problem: str | None) -> None:
    found = header_problem(key)
    assert found is None if problem is None else found is not None and found.startswith(problem)


KEY_CR = f"{SECRET}\r"


@pytest.mark.parametrize(
    "message",
    [
        f"LocalProtocolError: Illegal header value b'Bearer {SECRET}\\r'",  # httpx's bytes repr
        f"Illegal header value {f'Bearer {KEY_CR}'!r}",  # a str repr
        f"header: {json.dumps(KEY_CR)}",  # JSON-escaped
        f"url: /v1?key={SECRET}%0D",  # URL-quoted
        f"raw: {KEY_CR}",
        f"stripped: {SECRET}!",  # the key's printable part, whatever became of the \r
    ],
)
def test_every_transformed_form_of_a_key_is_scrubbed(message: str) -> None:
    scrubbed = Scrubber.of([KEY_CR])(message)
    assert SECRET not in scrubbed and "***" in scrubbed


def test_basic_auth_of_url_credentials_is_scrubbed() -> None:
    basic = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert Scrubber.of([], [f"http://user:{PASSWORD}@h/v1"])(f"you sent Basic {basic}") == "you sent Basic ***"


def test_short_strings_are_not_scrubbed_so_answers_stay_readable() -> None:
    assert Scrubber.of(["x"], ["http://u:pw@h/v1?v=2"])("Verdict: fake, v=2") == "Verdict: fake, v=2"


def test_a_completion_is_scrubbed_in_every_string() -> None:
    tokens = [TokenLogprob("sk-test-", -0.1), TokenLogprob("DO-NOT-LEAK-4242", -0.2), TokenLogprob(" fake", -0.3)]
    tokens.append(TokenLogprob("x", -0.4, ((SECRET, -1.0), ("real", -2.0))))
    completion = Completion(f"said {SECRET}", tuple(tokens), finish_reason=f"stop {SECRET}")
    scrubbed = scrub_completion(completion, Scrubber.of([SECRET]))
    strings = [scrubbed.text, scrubbed.finish_reason or ""]
    strings += [t.token for t in scrubbed.logprobs or ()] + [a for t in scrubbed.logprobs or () for a, _ in t.top]
    assert not any("DO-NOT-LEAK" in s or "sk-test" in s for s in strings), strings
    assert [t.token for t in scrubbed.logprobs or ()] == ["***", "", " fake", "x"]
    assert [t.logprob for t in scrubbed.logprobs or ()] == [-0.1, -0.2, -0.3, -0.4]
    assert scrub_completion(Completion("fine"), Scrubber.of([SECRET])) == Completion("fine")


# -- a run against a leaky server ----------------------------------------------------------------------------------


def _eval(url: str, data: Path, out: Path, **options):
    return evaluate(data, "test-model", "grounded", True, out, base_urls=[url], convention="norm1000", **options)


def test_a_key_echoed_in_logprob_tokens_never_reaches_a_file(server, tiny_dataset, tmp_path) -> None:
    top = [(SECRET, math.log(0.3)), ("fake", math.log(0.6))]
    split = [("sk-test-", 0.0, []), ("DO-NOT-LEAK-4242", 0.0, [])]  # the key spread over two tokens
    server.default = Reply(logprobs=[(SECRET, 0.0, top), *split, ("fake", math.log(0.6), top)])
    out = tmp_path / "run"
    _eval(server.base_url, tiny_dataset, out)
    assert len(server.requests) == 4
    _eval(server.base_url, tiny_dataset, tmp_path / "again")  # from the cache
    assert len(server.requests) == 4
    _assert_nowhere([SECRET, "DO-NOT-LEAK"], out, tmp_path / "again", tmp_path / "cache")


def test_a_key_with_a_trailing_cr_is_refused_naming_only_the_variable(monkeypatch, tiny_dataset, tmp_path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", f"{SECRET}\r")
    with pytest.raises(UnknownModelError, match="OPENAI_API_KEY") as caught:
        create_backend("test-model", base_urls=["http://127.0.0.1:9/v1"], convention="norm1000")
    assert SECRET not in str(caught.value) and "\n" not in str(caught.value)


def test_the_cli_refuses_a_crlf_key_in_one_line_with_exit_2(monkeypatch, tiny_dataset, tmp_path) -> None:
    from typer.testing import CliRunner

    from grounddefake.cli import app

    monkeypatch.setenv("MY_KEY", f"{SECRET}\r\n")
    args = ["eval", "--data", str(tiny_dataset), "--model", "test-model", "--convention", "norm1000"]
    args += ["--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "MY_KEY", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "MY_KEY" in result.output and SECRET not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_url_credentials_never_reach_a_file_and_resume_asks_for_the_url(server, tiny_dataset, tmp_path) -> None:
    port = server.base_url.split(":")[2].split("/")[0]
    url = f"http://user:{PASSWORD}@127.0.0.1:{port}/v1"
    server.add(Reply(status=401, echo_auth=True))  # a leaky server repeats the Authorization header
    out = tmp_path / "run"
    _eval(url, tiny_dataset, out, concurrency=1, limit=2)
    config = json.loads((out / "config.json").read_text())
    shown = f"http://***@127.0.0.1:{port}/v1"
    assert config["backend"]["base_urls"] == [shown] and config["options"]["base_urls"] == [shown]
    assert sum(1 for r in read_predictions(out / PREDICTIONS).values() if r["error"]) == 1
    with pytest.raises(UnknownModelError, match="full --base-url"):
        resume(out)
    _eval(url, tiny_dataset, out, concurrency=1, limit=2)  # the full URL again: only the failed sample is asked
    assert len(server.requests) == 3
    assert all(r["error"] is None for r in read_predictions(out / PREDICTIONS).values())
    basic = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    _assert_nowhere([PASSWORD, basic, SECRET], out, tmp_path / "cache")


def test_a_query_key_never_reaches_a_file(server, tiny_dataset, tmp_path) -> None:
    url = f"{server.base_url}?api-key={QUERY_KEY}"
    out = tmp_path / "run"
    _eval(url, tiny_dataset, out, limit=1, max_retries=0)
    assert json.loads((out / "config.json").read_text())["options"]["base_urls"] == [f"{server.base_url}?api-key=***"]
    _assert_nowhere([QUERY_KEY], out, tmp_path / "cache")


def test_run_config_json_holds_no_url_credentials() -> None:
    options = RunConfig(base_urls=(f"http://u:{PASSWORD}@h/v1?api-key={QUERY_KEY}", "http://h2/v1"))
    assert options.to_json()["base_urls"] == ["http://***@h/v1?api-key=***", "http://h2/v1"]
    assert options.base_urls[0].startswith("http://u:")  # in memory the client still has the full URL


def test_the_served_model_lookup_names_no_credentials(server) -> None:
    with pytest.raises(UnknownModelError) as caught:
        create_backend(None, base_urls=[f"http://user:{PASSWORD}@127.0.0.1:9/v1?api-key={QUERY_KEY}"])
    assert PASSWORD not in str(caught.value) and QUERY_KEY not in str(caught.value)
    assert "http://***@127.0.0.1:9/v1" in str(caught.value)
