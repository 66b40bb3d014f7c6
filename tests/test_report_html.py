"""report.html: self-contained, every section present, untrusted model text inert."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from grounddefake.api import build_report, evaluate

from .conftest import ScriptedBackend

CANARY = '<script>window.__canary_ran=1;alert("x")</script><img src=x onerror="window.__canary_ran=2"> & </script>'


def _answer(request) -> str:
    return json.dumps(
        {
            "verdict": "fake",
            "rationale": CANARY,
            "regions": [{"box": [100, 100, 600, 600], "label": CANARY, "score": 0.7}],
        }
    )


@pytest.fixture
def run(tiny_dataset: Path, tmp_path: Path) -> Path:
    evaluate(tiny_dataset, ScriptedBackend(_answer), "grounded", True, tmp_path / "run", bootstrap=50, group_by="label")
    return tmp_path / "run"


def _script_data(html: str) -> list[dict]:
    match = re.search(r'<script type="application/json" id="samples">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_the_page_has_every_section_and_no_outside_resource(run: Path) -> None:
    html = (run / "report.html").read_text()
    for section in (
        "summary",
        "classification",
        "confusion",
        "localization",
        "reliability",
        "iou-histogram",
        "groups",
        "gallery",
    ):
        assert f'id="{section}"' in html, section
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no CDN, no remote file
    assert "Content-Security-Policy" in html
    data = _script_data(html)
    assert len(data) == 4 and {d["kind"] for d in data} == {"fp", "ok"}
    assert all(d["overlay"].startswith("overlays/") and (run / d["overlay"]).is_file() for d in data)


def test_untrusted_text_cannot_run(run: Path) -> None:
    html = (run / "report.html").read_text()
    assert html.count("<script") == 2  # the data block and the page's own script, nothing from the model
    assert "<img src=x" not in html and 'alert("x")</script>' not in html
    data = _script_data(html)
    assert data[0]["rationale"] == CANARY and data[0]["regions"][0]["label"] == CANARY  # shown as text


def test_report_command_rebuilds_both(run: Path) -> None:
    (run / "report.html").unlink()
    (run / "report.md").unlink()
    markdown, html = build_report(run)
    assert markdown.is_file() and html.is_file()


def test_the_inline_script_is_valid_javascript(run: Path, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the page's script is not syntax-checked")
    html = (run / "report.html").read_text()
    script = html[html.rindex("<script>") + len("<script>") : html.rindex("</script>")]
    (tmp_path / "page.js").write_text(script)
    assert subprocess.run([node, "--check", str(tmp_path / "page.js")], capture_output=True).returncode == 0


def test_the_page_in_headless_chromium(run: Path, tmp_path: Path) -> None:
    from .browser import Browser, chromium_paths

    paths = chromium_paths()
    if paths is None:
        pytest.skip("headless Chromium and chromedriver are not installed (Debian: chromium chromium-driver)")
    browser = Browser(*paths)
    try:
        browser.go((run / "report.html").resolve().as_uri())
        assert browser.run("return document.getElementById('count').textContent") == "(4 of 4)"
        browser.run("document.querySelector('[data-filter=fp]').click()")
        assert browser.run("return document.getElementById('count').textContent") == "(2 of 4)"
        assert browser.run("return document.querySelectorAll('#grid .card').length") == 2
        browser.run("document.querySelector('#grid .card').click()")
        shown = browser.run("return document.getElementById('detail-body').textContent")
        assert 'alert("x")' in shown  # the canary is text on the page ...
        assert browser.run("return typeof window.__canary_ran") == "undefined"  # ... and never runs
        assert browser.run("return document.querySelectorAll('img[src=x]').length") == 0
        browser.screenshot(tmp_path / "report.png")
        assert (tmp_path / "report.png").stat().st_size > 1000
        errors = [e for e in browser.console() if e.get("level") == "SEVERE"]
        assert errors == [], errors
    finally:
        browser.close()


def scroll_until(browser, cards: int, patience: float = 20.0) -> int:
    """Scroll to the bottom until the gallery shows ``cards`` cards or ``patience`` seconds pass; the count shown.

    The page adds cards when its sentinel scrolls into view, asynchronously: a busy machine needs a moment."""
    deadline = time.monotonic() + patience
    count = -1
    while time.monotonic() < deadline:
        browser.run("window.scrollTo(0, document.body.scrollHeight)")
        count = browser.run("return document.querySelectorAll('#grid .card').length")
        if count == cards:
            break
        time.sleep(0.05)
    return count


def test_paging_keeps_going_after_a_filter_while_scrolled_down(tmp_path: Path) -> None:
    from .browser import Browser, chromium_paths
    from .conftest import write_dataset

    paths = chromium_paths()
    if paths is None:
        pytest.skip("headless Chromium and chromedriver are not installed (Debian: chromium chromium-driver)")
    data = write_dataset(tmp_path / "data", 150)
    evaluate(data, ScriptedBackend(_answer), "grounded", True, tmp_path / "run")  # every real answered fake: 75 fps
    browser = Browser(*paths)
    try:
        browser.go((tmp_path / "run" / "report.html").resolve().as_uri())
        assert scroll_until(browser, 150) == 150
        browser.run("document.querySelector('[data-filter=fp]').click()")
        assert scroll_until(browser, 75) == 75
        assert browser.run("return document.getElementById('count').textContent") == "(75 of 150)"
    finally:
        browser.close()


def test_report_survives_odd_values_in_an_edited_run(run: Path) -> None:
    lines = (run / "samples.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first.update(score=float("nan"), iou=-3)
    lines[0] = json.dumps(first)
    (run / "samples.jsonl").write_text("\n".join(lines) + "\n")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["requests"] = {"prompt_tokens": None}
    metrics["groups"]["values"]["x"] = {}
    (run / "metrics.json").write_text(json.dumps(metrics))
    _, html = build_report(run)
    assert _script_data(html.read_text())[0]["score"] is None


def test_overlay_names_never_collide() -> None:
    from grounddefake.rundir import overlay_name

    assert overlay_name("a/b") != overlay_name("a:b") and overlay_name("plain-id_1.x") == "plain-id_1.x.jpg"
