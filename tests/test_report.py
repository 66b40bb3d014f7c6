from __future__ import annotations

from grounddefake.evaluation import SampleScore
from grounddefake.report import md_escape, render_markdown

CONFIG = {"model": "m", "data": "d", "prompt": "p@1", "date": "today"}
METRICS = {
    "n_samples": 1,
    "n_missing": 0,
    "n_errors": 1,
    "classification": {
        "n": 1,
        "n_real": 0,
        "n_fake": 1,
        "n_unknown": 1,
        "coverage": 0.0,
        "accuracy": 0.0,
        "accuracy_real": None,
        "accuracy_fake": 0.0,
        "confusion": {"real": {"real": 0, "fake": 0, "unknown": 0}, "fake": {"real": 0, "fake": 0, "unknown": 1}},
        "definition": {"unknown": "counted as wrong"},
    },
}


def test_untrusted_text_is_escaped_in_markdown() -> None:
    evil = "<script>alert(1)</script> | [x](javascript:alert(1))"
    sample = SampleScore("a|b<img src=x onerror=alert(1)>", "fake", "unknown", None, None, evil, None)
    text = render_markdown(CONFIG, METRICS, [sample])
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text
    assert "[x](javascript" not in text and "\\[x\\]" in text


def test_md_escape_bounds_and_flattens() -> None:
    assert md_escape("a\nb|c", 100) == "a b\\|c"
    assert len(md_escape("x" * 1000, 50)) == 50
