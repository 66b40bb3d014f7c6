from __future__ import annotations

from grounddefake.metrics.classification import ClassificationRow, classification_metrics
from grounddefake.records import SampleScore
from grounddefake.report import md_escape, render_markdown

CONFIG = {"model": "m", "data": "d", "prompt": "p@1", "date": "today"}
METRICS = {
    "n_samples": 1,
    "n_missing": 0,
    "n_errors": 1,
    "classification": classification_metrics([ClassificationRow("fake", "unknown")]),
}


def test_untrusted_text_is_escaped_in_markdown() -> None:
    evil = "<script>alert(1)</script> | [x](javascript:alert(1))"
    sample = SampleScore("a|b<img src=x onerror=alert(1)>", "fake", "unknown", None, None, evil)
    text = render_markdown(CONFIG, METRICS, [sample])
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text
    assert "[x](javascript" not in text and "\\[x\\]" in text


def test_md_escape_bounds_and_flattens() -> None:
    assert md_escape("a\nb|c", 100) == "a b\\|c"
    assert len(md_escape("x" * 1000, 50)) == 50
