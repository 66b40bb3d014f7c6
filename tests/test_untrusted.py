"""Untrusted text never reaches a terminal or a Markdown file as escape sequences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.untrusted import json_line, visible

from .servers.openai_server import FakeOpenAIServer, Reply

ATTACKS = {
    "clear screen": "\x1b[2J\x1b[H",
    "window title": "\x1b]0;pwned\x07",
    "osc-8 link": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "blink": "\x1b[5m",
    "c1 csi": "\x9b2J",
    "bidi override": "\u202etxt.exe",
    "backspace": "real\x08\x08\x08\x08fake",
}
RAW = tuple("\x1b\x9b\u202e\x08\x07")


def _clean(text: str) -> bool:
    return not any(c in text for c in RAW)


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_every_control_is_shown_not_obeyed(attack: str) -> None:
    assert _clean(visible(attack)) and _clean(visible(attack, multiline=True)) and _clean(json_line({"x": attack}))
    assert json.loads(json_line({"x": attack})) == {"x": attack}  # JSON escapes keep the value
    assert visible("a\nb\tc", multiline=True) == "a\nb\tc"


def test_detect_eval_inspect_and_reports_show_escapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    evil = "".join(ATTACKS.values())
    (tmp_path / "images").mkdir()
    lines = []
    for i in range(2):
        Image.fromarray(np.full((32, 32, 3), 60 * i, np.uint8)).save(tmp_path / "images" / f"{i}.png")
        lines.append({"id": f"s{i}{evil}", "image": f"images/{i}.png", "label": "fake", "meta": {"generator": evil}})
    lines.append({"id": f"gone{evil}", "image": "images/missing.png", "label": "real"})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    answer = json.dumps({"verdict": "fake", "rationale": evil, "regions": [{"box": [1, 1, 500, 500], "label": evil}]})
    runner = CliRunner()
    with FakeOpenAIServer(default=Reply(text=answer)) as server:
        common = ["--base-url", server.base_url, "--model", "test-model", "--convention", "norm1000"]
        detected = runner.invoke(app, ["detect", str(tmp_path / "images" / "0.png"), *common])
        as_json = runner.invoke(app, ["detect", str(tmp_path / "images" / "0.png"), "--json", *common])
        evaluated = runner.invoke(
            app,
            ["eval", "--data", str(manifest), "--with-boxes", "--out", str(tmp_path / "run"), "--no-cache", *common],
        )
    inspected = runner.invoke(app, ["data", "inspect", str(manifest)])
    for result in (detected, as_json, evaluated, inspected):
        assert result.exit_code in (0, 2), result.output
        assert _clean(result.output), result.output
    assert "\\x1b]0;pwned" in detected.output and json.loads(as_json.output)["rationale"] == evil
    assert _clean((tmp_path / "run" / "report.md").read_text())
