"""The prediction record and the score row: written and read back with one schema, older versions upgraded."""

from __future__ import annotations

import pytest

from grounddefake.records import (
    SCHEMA,
    SampleScore,
    prediction_record,
    record_size,
    skip_reason,
    skipped_record,
    upgrade_record,
    verdict_from_record,
)
from grounddefake.types import Region, Transform, Usage
from grounddefake.verdict import Verdict

VERDICT = Verdict(
    "fake",
    0.875,
    "fused fingers",
    (Region((1.0, 2.0, 30.0, 40.0), label="hand", score=0.5),),
    raw='{"verdict": "fake"}',
    parse_errors=("box 2 dropped",),
    image_size=(64, 48),
)


def test_a_verdict_survives_its_record() -> None:
    line = prediction_record(
        "0001",
        VERDICT,
        model="m",
        prompt="grounded@1",
        run_key="k",
        usage=Usage(10, 5),
        latency_s=1.23456,
        cached=True,
        image_sha256="ab",
        transform=Transform.identity((64, 48)),
    )
    assert line["schema"] == SCHEMA and line["usage"] == {"prompt_tokens": 10, "completion_tokens": 5}
    assert line["latency_s"] == 1.2346 and line["cached"] and line["transform"]["input_size"] == [64, 48]
    assert verdict_from_record(line) == VERDICT


def test_the_record_is_written_from_the_verdict_json() -> None:
    line = prediction_record("0001", VERDICT, model="m", prompt="p")
    assert {k: line[k] for k in VERDICT.to_json()} == VERDICT.to_json()


def test_skipped_lines_keep_their_reason() -> None:
    line = skipped_record("x", "corrupt JPEG", model="m", prompt="p")
    assert line["skipped"] and line["label"] == "unknown" and skip_reason(line) == "corrupt JPEG"


@pytest.mark.parametrize(
    ("line", "schema"),
    [
        ({"id": "a", "label": "fake"}, 4),
        ({"id": "a", "label": "fake", "schema": 1}, 4),
        ({"schema": 2}, 4),
        ({"schema": 3, "rules": [], "requests": 4}, 4),
        ({"schema": 4, "rules": [], "requests": 17, "requests_by_purpose": {"answer": 1, "probe": 16}}, 4),
        (
            {
                "schema": 4,
                "rules": [],
                "requests": 1,
                "scalar": {"value": 0.8, "scale": 1, "direction": "plausibility"},
            },
            4,
        ),
    ],
)
def test_older_lines_are_upgraded(line: dict, schema: int) -> None:
    upgraded = upgrade_record(line)
    assert upgraded["schema"] == schema
    assert upgraded["rules"] == line.get("rules", []) and upgraded["requests"] == line.get("requests")
    assert upgraded["requests_by_purpose"] == line.get("requests_by_purpose", {})
    assert upgraded["scalar"] == line.get("scalar")
    assert "schema" not in line or line["schema"] in (1, 2, 3, 4)  # the input is not changed


@pytest.mark.parametrize(
    ("value", "size"),
    [([640, 480], (640, 480)), ((3, 2), (3, 2)), ([0, 4], None), ("640x480", None), ([1, "x"], None), (None, None)],
)
def test_record_size(value, size) -> None:
    assert record_size(value) == size


@pytest.mark.parametrize(
    ("truth", "predicted", "error", "kind"),
    [
        ("real", "fake", None, "fp"),
        ("fake", "real", None, "fn"),
        ("fake", "unknown", None, "unknown"),
        ("fake", "unknown", "HTTP 500", "error"),
        ("real", "real", None, "ok"),
        (None, "fake", None, "ok"),
    ],
)
def test_score_row_kind(truth, predicted, error, kind) -> None:
    row = SampleScore("a", truth, predicted, None, None, error)
    assert row.kind == kind and SampleScore.from_json(row.to_json()) == row
