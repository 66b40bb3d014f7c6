"""ICM end to end against real local HTTP servers: the attribute pack (Yes/No P ≥ 0.5), MQA accuracy, and MEQ by a
scripted judge server, every number checked by hand."""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.compare import compare_runs
from grounddefake.judges.meq import parse_scores
from grounddefake.metrics.moderation import CRITERIA, answer_letter, mqa_metrics
from grounddefake.rundir import read_predictions

from .icm_data import IMAGES, colour_key, icm_instruct
from .servers.openai_server import FakeOpenAIServer, Reply
from .servers.yes_no import YesNoScript, fast_requests

BITE, BUST, UPPER, WHOLE = (colour_key(name) for name in IMAGES)
JUDGE_SECRET, JUDGE_PASSWORD = "sk-judge-0123456789", "judge-pw-98765"


def _run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# -- the attribute pack ------------------------------------------------------------------------------------------


def test_the_icm_suite_judges_each_image_by_yes_no_probability(tmp_path: Path) -> None:
    data = icm_instruct(tmp_path / "icm").parent
    scores = {
        (BITE, "Is the image sexy?"): 0.8,
        (BUST, "Is the image sexy?"): 0.45,  # below 0.5: the attribute table catches it
        (BUST, "Is a large part of a woman's breasts or a deep cleavage uncovered?"): 0.7,
        (WHOLE, "Is the image sexy?"): 0.6,  # a false positive
    }
    script = YesNoScript(scores=scores, default=0.1)
    with FakeOpenAIServer(responder=script) as server:
        args = ["eval", "--suite", "icm-instruct", "--data", str(data), "--model", "test-model"]
        _run(*args, "--convention", "norm1000", "--base-url", server.base_url, "--out", str(tmp_path / "run"))
    config, metrics = _json(tmp_path / "run" / "config.json"), _json(tmp_path / "run" / "metrics.json")
    assert config["data_format"] == "icm-instruct" and config["prompt"].startswith("icm-attributes@")
    assert config["labels"] == ["safe", "unsafe"] and config["positive"] == "unsafe"
    records = read_predictions(tmp_path / "run" / "predictions.jsonl")
    labels = {i.split("_20")[0]: r["label"] for i, r in records.items()}
    assert labels == {"bite_finger": "unsafe", "upper_bust": "unsafe", "upper_normal": "safe", "whole_normal": "unsafe"}
    bust = next(r for i, r in records.items() if i.startswith("upper_bust"))
    violated = {d["id"]: d["score"] for d in bust["rules"] if d["decision"] == "violated"}
    assert violated == {"bust": pytest.approx(0.7)} and bust["score"] == pytest.approx(0.7)
    sexy = next(d for d in bust["rules"] if d["id"] == "sexy")
    assert (sexy["decision"], sexy["path"], sexy["preconditions"][0]["score"]) == (
        "not_violated",
        "fast",
        pytest.approx(0.45),
    )
    # 23 rules, one question each but for the two OR-groups of hips and crotch asked in full: 25 requests per image
    assert all(r["requests"] == 25 for r in records.values())
    assert len(server.requests) == 4 * 25 and not fast_requests(server, with_image=False)  # no text-only baselines
    assert server.requests[0]["messages"][-1]["content"][-1]["text"] == "Is the image sexy?"
    c = metrics["classification"]
    assert c["positive"] == "unsafe" and c["accuracy"] == 0.75 and c["precision"] == pytest.approx(2 / 3)
    assert c["recall"] == 1.0 and "moderation" not in metrics
    rules = metrics["rules"]["per_rule"]
    # rule sexy alone is ICM's protocol: right on bite (0.8) and upper_normal, wrong on bust (0.45) and whole (0.6)
    assert (rules["sexy"]["n"], rules["sexy"]["accuracy"]) == (4, 0.5)
    # rule bust: truth on bust (its attribute) and the two normal images; unknown on bite_finger
    assert (rules["bust"]["n"], rules["bust"]["support"], rules["bust"]["accuracy"]) == (3, 1, 1.0)
    assert metrics["rules"]["rule_named_accuracy"]["value"] == 0.75


def test_without_logprobs_every_rule_is_unknown_and_says_why(tmp_path: Path) -> None:
    data = icm_instruct(tmp_path / "icm")
    with FakeOpenAIServer(responder=YesNoScript(logprobs=False)) as server:
        args = ["eval", "--data", str(data), "--prompt", "icm-attributes", "--model", "test-model", "--limit", "1"]
        _run(*args, "--convention", "norm1000", "--base-url", server.base_url, "--out", str(tmp_path / "run"))
    (record,) = read_predictions(tmp_path / "run" / "predictions.jsonl").values()
    assert record["label"] == "unknown" and {d["decision"] for d in record["rules"]} == {"unknown"}
    assert {d["note"] for d in record["rules"]} == {"undecided without a score, no cascade"}
    assert {p["note"] for d in record["rules"] for p in d["preconditions"]} == {"no log-probabilities in the answer"}


# -- MQA and MEQ -------------------------------------------------------------------------------------------------

# What the model under test answers, per image: multiple choice, Yes/No, explanation (None: HTTP 400).
ANSWERS = {
    BITE: ("B.", "Yes", "A finger in the mouth: sexy."),  # truth B, Yes: both right
    BUST: ("Based on the chest, A", "No", "Cleavage is shown: sexy."),  # no letter (unanswered); wrong
    UPPER: ("(C) The shirt", "no.", "A dressed person: not sexy."),  # truth C, No: both right
    WHOLE: ("A.", None, "A coat: not sexy."),  # truth D: wrong; the Yes/No request fails (unanswered)
}
# What the judge answers, per candidate (None: HTTP 400).
VERDICTS: dict[str, str | None] = {
    "A finger in the mouth: sexy.": json.dumps(dict(zip(CRITERIA, (90, 70, 80, 85), strict=True))),
    "Cleavage is shown: sexy.": "| Criteria | Score |\n|---|---|\n| Accuracy | 60 |\n| Preciseness | 50 |\n"
    "| Comprehensiveness | 40 |\n| Fluency | 90 |",  # ICM's own table
    "A dressed person: not sexy.": "I would rather not grade this.",
    "A coat: not sexy.": None,
}


def model_reply(body: dict[str, Any]) -> Reply:
    key = YesNoScript().key(body)
    text = body["messages"][-1]["content"][-1]["text"]
    mc, yes_no, explanation = ANSWERS[key or ""]
    if "option's letter" in text:
        return Reply(text=mc)
    if text.endswith("Answer Yes or No."):
        return Reply(text=yes_no) if yes_no else Reply(status=400, message="scripted failure")
    return Reply(text=explanation)


def judge_reply(body: dict[str, Any]) -> Reply:
    prompt = body["messages"][-1]["content"]
    text = prompt if isinstance(prompt, str) else " ".join(p.get("text", "") for p in prompt)
    candidate = text.split("<<<CANDIDATE")[1].split("CANDIDATE>>>")[0].strip()
    verdict = VERDICTS[candidate]
    return Reply(text=verdict) if verdict is not None else Reply(status=400, message="judge refused")


@pytest.fixture
def qa_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An eval of icm-mqa on the Q-A view, with the judge on a server of its own."""
    monkeypatch.setenv("JUDGE_KEY", JUDGE_SECRET)
    data = icm_instruct(tmp_path / "icm")
    with FakeOpenAIServer(responder=model_reply) as model, FakeOpenAIServer(responder=judge_reply) as judge:
        judged = [
            "--judge-model",
            "judge-model",
            "--judge-base-url",
            judge.base_url,
            "--judge-api-key-env",
            "JUDGE_KEY",
        ]
        args = ["eval", "--data", str(data), "--format", "icm-qa", "--prompt", "icm-mqa", "--model", "test-model"]
        args += ["--convention", "norm1000", "--base-url", model.base_url, "--max-retries", "0"]
        _run(*args, *judged, "--out", str(tmp_path / "run"))
        yield {"data": data, "model": model, "judge": judge, "judged": judged, "out": tmp_path / "run"}


def test_mqa_accuracy_is_the_first_letter_against_the_truth(qa_run: Any) -> None:
    q = _json(qa_run["out"] / "metrics.json")["moderation"]["mqa"]
    # 8 questions: right are bite (B, Yes) and upper_normal (C, No); unanswered: bust's "Based ..." and whole's failure
    assert (q["n"], q["correct"], q["accuracy"], q["n_unanswered"]) == (8, 4, 0.5, 2)
    assert q["accuracy_answered"] == pytest.approx(4 / 6)
    assert q["by_kind"]["mc"] == {"n": 4, "correct": 2, "accuracy": 0.5, "n_unanswered": 1, "accuracy_answered": 2 / 3}
    assert q["by_kind"]["yes_no"]["correct"] == 2 and q["by_kind"]["yes_no"]["n_unanswered"] == 1
    reasons = {u["id"].split("_20")[0]: u["reason"] for u in q["unanswered"]}
    assert reasons["identity_upper_bust"] == "no A-D answer letter"
    assert (
        reasons["identity_whole_normal"].startswith("request failed")
        and "scripted failure" in reasons["identity_whole_normal"]
    )


def test_meq_scores_the_explanations_and_leaves_failures_unscored(qa_run: Any) -> None:
    e = _json(qa_run["out"] / "metrics.json")["moderation"]["meq"]
    # scored: bite (90, 70, 80, 85) and bust (60, 50, 40, 90); unscored: no scores in the answer, and a failed request
    assert (e["n"], e["n_scored"], e["n_unscored"]) == (4, 2, 2)
    assert (e["accuracy"], e["preciseness"], e["comprehensiveness"], e["fluency"]) == (75.0, 60.0, 60.0, 87.5)
    assert e["mean"] == (75 + 60 + 60 + 87.5) / 4 and math.isclose(e["meq"], 0.70625)
    reasons = {u["id"].split("_20")[0]: u["reason"] for u in e["unscored"]}
    assert reasons["identity_upper_normal"] == "the judge's answer has no JSON object or table with the four scores"
    assert (
        reasons["identity_whole_normal"].startswith("judge request failed")
        and "judge refused" in reasons["identity_whole_normal"]
    )
    shown = qa_run["judge"].base_url
    assert e["judge"]["model"] == "judge-model" and e["judge"]["base_url"] == shown
    assert e["judge"]["api_key_env"] == "JUDGE_KEY" and e["judge"]["prompt"].startswith("meq-judge@")
    assert e["requests"]["sent"] == 4 and e["requests"]["failed"] == 1
    options = _json(qa_run["out"] / "config.json")["options"]
    assert options["judge_base_url"] == shown and options["judge_model"] == "judge-model"
    judge = qa_run["judge"]
    assert set(judge.authorizations) == {f"Bearer {JUDGE_SECRET}"}
    sent = judge.requests[0]
    assert sent["model"] == "judge-model" and sent["max_tokens"] == 400 and sent["temperature"] == 0.0
    assert all(
        not isinstance(m["content"], list) or all(p["type"] == "text" for p in m["content"]) for m in sent["messages"]
    )  # the judge reads text: no image


def test_the_judge_sees_the_reference_and_the_model_never_does(qa_run: Any) -> None:
    references = [v[3] for v in IMAGES.values()]
    for body in qa_run["model"].requests:
        text = json.dumps(body["messages"])
        assert not any(reference in text for reference in references)
    judged = " ".join(json.dumps(b["messages"]) for b in qa_run["judge"].requests)
    assert all(reference in judged for reference in references)


def test_score_reuses_the_judges_cached_answers(qa_run: Any) -> None:
    judge = qa_run["judge"]
    before = len(judge.requests)
    out = qa_run["out"].parent / "scored"
    args = ["score", "--predictions", str(qa_run["out"]), "--data", str(qa_run["data"]), "--format", "icm-qa"]
    result = _run(*args, *qa_run["judged"], "--out", str(out))
    assert "MEQ" in result.output and "MQA" in result.output
    e = _json(out / "metrics.json")["moderation"]["meq"]
    assert e["meq"] == _json(qa_run["out"] / "metrics.json")["moderation"]["meq"]["meq"]
    assert len(judge.requests) == before + 1  # only the failed request is asked again: the others are cached
    assert (e["requests"]["cached"], e["requests"]["sent"]) == (3, 1)


def test_reports_show_mqa_and_meq(qa_run: Any) -> None:
    markdown = (qa_run["out"] / "report.md").read_text(encoding="utf-8")
    assert "## Moderation Q-A (MQA accuracy)" in markdown and "| all | 8 | 4 | 0.500 | 2 | 0.667 |" in markdown
    assert "| **MEQ** (mean / 100) | 0.706 |" in markdown and "2 of 4 explanations scored" in markdown
    html = (qa_run["out"] / "report.html").read_text(encoding="utf-8")
    assert 'id="mqa"' in html and 'id="meq"' in html
    rows = dict(compare_runs([qa_run["out"]]).rows)
    assert rows["moderation.mqa.accuracy"][0][0] == 0.5 and rows["moderation.meq.meq"][0][0] == pytest.approx(0.70625)


def test_the_judges_credentials_are_never_written(qa_run: Any, tmp_path: Path) -> None:
    judge = qa_run["judge"]
    port = judge.base_url.split(":")[2].split("/")[0]
    url = f"http://user:{JUDGE_PASSWORD}@127.0.0.1:{port}/v1"
    out = tmp_path / "scored"
    args = ["score", "--predictions", str(qa_run["out"] / "predictions.jsonl"), "--data", str(qa_run["data"])]
    _run(*args, "--format", "icm-qa", "--judge-model", "judge-model", "--judge-base-url", url, "--out", str(out))
    basic = base64.b64encode(f"user:{JUDGE_PASSWORD}".encode()).decode()
    assert judge.authorizations[-1] == f"Basic {basic}"  # the URL's credentials reached the judge
    shown = f"http://***@127.0.0.1:{port}/v1"
    assert _json(out / "config.json")["options"]["judge_base_url"] == shown
    assert _json(out / "metrics.json")["moderation"]["meq"]["judge"]["base_url"] == shown
    for folder in (out, qa_run["out"], Path(os.environ["GROUNDDEFAKE_CACHE_DIR"])):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for secret in (JUDGE_SECRET, JUDGE_PASSWORD, basic):
                    assert secret.encode() not in data, path


def test_without_a_judge_explanations_are_unscored_not_zero(tmp_path: Path) -> None:
    data = icm_instruct(tmp_path / "icm")
    with FakeOpenAIServer(responder=model_reply) as model:
        args = ["eval", "--data", str(data), "--format", "icm-qa", "--prompt", "icm-mqa", "--model", "test-model"]
        _run(*args, "--convention", "norm1000", "--base-url", model.base_url, "--out", str(tmp_path / "run"))
    e = _json(tmp_path / "run" / "metrics.json")["moderation"]["meq"]
    assert (e["n"], e["n_scored"], e["meq"], e["judge"]) == (4, 0, None, None)
    assert {u["reason"] for u in e["unscored"]} == {
        "no judge: give --judge-model (and --judge-base-url, --judge-api-key-env) to score explanations"
    }


def test_an_unusable_judge_fails_before_any_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    data = icm_instruct(tmp_path / "icm")
    with FakeOpenAIServer(responder=model_reply) as model:
        args = ["eval", "--data", str(data), "--format", "icm-qa", "--prompt", "icm-mqa", "--model", "test-model"]
        args += ["--convention", "norm1000", "--base-url", model.base_url, "--judge-model", "gpt-4o"]
        result = CliRunner().invoke(app, [*args, "--judge-api-key-env", "NO_SUCH_KEY", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "NO_SUCH_KEY" in result.output and not model.requests


def test_a_judge_pack_is_not_a_prompt(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "--prompt", "meq-judge", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "judge pack" in result.output


# -- the pieces --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "letter"),
    [
        ("B.", "mc", "B"),
        ("D", "mc", "D"),
        ("(a) lips", "mc", "A"),
        ("A person", "mc", "A"),  # the article reads as choice A: a first-letter metric cannot tell (nor can ICM's)
        ("Answer: B", "mc", None),
        ("Yes.", "yes_no", "Y"),
        ("NO", "yes_no", "N"),
        ("Nope", "yes_no", None),
        ("  *Yes*", "yes_no", "Y"),
    ],
)
def test_answer_letters(text: str, kind: str, letter: str | None) -> None:
    assert answer_letter(text, kind) == letter


def test_mqa_per_kind_is_not_the_total_repeated() -> None:
    from grounddefake.metrics.moderation import MqaRow

    rows = [MqaRow("1", "mc", "A", "A"), MqaRow("2", "mc", "B", "C"), MqaRow("3", "yes_no", "Y", "Y")]
    m = mqa_metrics(rows)
    assert (m["accuracy"], m["by_kind"]["mc"]["accuracy"], m["by_kind"]["yes_no"]["accuracy"]) == (2 / 3, 0.5, 1.0)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"accuracy": 90, "preciseness": 70, "comprehensiveness": 80, "fluency": 140}', "fluency score 140"),
        ('{"accuracy": "high", "preciseness": 70, "comprehensiveness": 80, "fluency": 85}', "accuracy score 'high'"),
        ('{"accuracy": true, "preciseness": 70, "comprehensiveness": 80, "fluency": 85}', "accuracy score True"),
        ('{"Accuracy": 90, "Preciseness": 70}', "no comprehensiveness score"),
        ("", "no JSON object or table"),
    ],
)
def test_unparseable_judge_answers_are_unscored_with_a_reason(answer: str, reason: str) -> None:
    scores, why = parse_scores(answer)
    assert scores is None and reason in why


def test_a_judge_url_recorded_without_its_credentials_is_asked_for_again() -> None:
    from grounddefake.judges.meq import JudgeEndpoint, JudgeUnavailableError, judge_backend
    from grounddefake.run_config import RunConfig

    options = RunConfig(judge_model="j", judge_base_url=f"http://user:{JUDGE_PASSWORD}@127.0.0.1:9/v1")
    recorded = RunConfig.from_json(options.to_json())
    assert recorded.judge_base_url == "http://***@127.0.0.1:9/v1"
    assert JUDGE_PASSWORD not in json.dumps(options.to_json())
    with pytest.raises(JudgeUnavailableError, match="full URL again"):
        judge_backend(JudgeEndpoint("j", recorded.judge_base_url))
