from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from grounddefake.cli import app

runner = CliRunner()


def _cli(*args: str):
    return runner.invoke(app, list(args))


def test_eval_on_a_small_dataset_writes_the_run_directory(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _cli("eval", "--data", str(tiny_dataset), "--with-boxes", "--out", str(out), "--overlays", "all")
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "mask IoU" in result.output
    for name in ("config.json", "predictions.jsonl", "samples.jsonl", "metrics.json", "report.md", "report.html"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "overlays").iterdir()) == [f"s{i}.jpg" for i in range(4)]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classification"]["n"] == 4
    assert metrics["localization"]["n"] == 2
    config = json.loads((out / "config.json").read_text())
    assert config["prompt"].startswith("grounded@") and config["model"] == "forensic"
    assert "| s1 |" in (out / "report.md").read_text()


def test_eval_limit_and_verdict_pack(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _cli("eval", "--data", str(tiny_dataset), "--limit", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classification"]["n"] == 2 and "localization" not in metrics


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "--data", "/no/such/dataset"], "no such file or folder"),
        (["eval", "--model", "gpt-99"], "'gpt-99' is not the built-in 'forensic' nor a preset"),
        (["eval", "--model", "Qwen/Qwen2.5-VL-3B-Instruct"], "suggests --convention qwen2.5-vl"),
        (["eval", "--model", "x", "--convention", "qwen9"], "unknown box convention 'qwen9'"),
        (["eval", "--shard", "3/2"], "1 <= K <= N"),
        (["eval", "--prompt", "nope"], "no prompt pack named 'nope'"),
        (["eval", "--prompt", "verdict", "--with-boxes"], "needs a grounding prompt pack"),
        (["detect", "/no/such.png"], "no such file"),
    ],
)
def test_clear_errors_and_nonzero_exit(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_bad_manifest_line_names_file_and_line(tiny_dataset: Path) -> None:
    with open(tiny_dataset, "a") as f:
        f.write("{oops\n")
    result = _cli("eval", "--data", str(tiny_dataset))
    assert result.exit_code == 2
    assert "manifest.jsonl:5" in result.output


def test_detect_json_and_overlay(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    pixels = rng.normal(120, 15, (120, 160, 3)).clip(0, 255).astype(np.uint8)
    image = tmp_path / "photo.png"
    Image.fromarray(pixels).save(image)
    overlay = tmp_path / "overlay.png"
    result = _cli("detect", str(image), "--json", "--overlay", str(overlay))
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["image"] == str(image) and record["label"] in ("real", "fake")
    assert Image.open(overlay).size == (160, 120)


def test_detect_human_readable(tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    Image.fromarray(np.full((64, 64, 3), 100, np.uint8)).save(image)
    result = _cli("detect", str(image))
    assert result.exit_code == 0, result.output
    assert "photo.png" in result.output and "P(fake)=" in result.output


@pytest.mark.parametrize("command", ["prompts", "models", "conventions"])
def test_listings(command: str) -> None:
    result = _cli(command)
    assert result.exit_code == 0
    assert {"prompts": "grounded", "models": "forensic", "conventions": "norm1000"}[command] in result.output


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "grounddefake"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "eval" in result.stdout


@pytest.mark.parametrize("name", ["x[/b].png", "shot[red].png", "[bold]a.png"])
def test_markup_characters_in_paths_are_printed_verbatim(tmp_path: Path, name: str) -> None:
    image = tmp_path / name
    image.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(image, format="PNG")
    result = _cli("detect", str(image))
    assert result.exit_code == 0, result.output
    assert name in result.output


def test_markup_characters_in_errors_are_printed_verbatim(tiny_dataset: Path) -> None:
    with open(tiny_dataset, "a") as f:
        f.write('{"id": "x", "image": "a.png", "label": "[fake]"}\n')
    result = _cli("eval", "--data", str(tiny_dataset))
    assert result.exit_code == 2 and "'[fake]'" in result.output


@pytest.mark.parametrize(
    ("target", "ok"), [("sub/dir/out.png", True), ("noext", False), ("out.jpg", True), ("out.gif", False)]
)
def test_detect_overlay_paths(tmp_path: Path, target: str, ok: bool) -> None:
    image = tmp_path / "photo.png"
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(image)
    result = _cli("detect", str(image), "--overlay", str(tmp_path / target))
    if ok:
        assert result.exit_code == 0 and (tmp_path / target).is_file()
    else:
        assert result.exit_code == 2 and ".png" in result.output


def test_parse_prints_the_verdict_as_json(tmp_path: Path) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text('Fake.\n```json\n[{"bbox_2d": [72, 131, 364, 658], "label": "hand"}]\n```', encoding="utf-8")
    result = _cli(
        "parse", "--convention", "qwen2.5-vl", "--image-size", "1080x1920", "--input-size", "728x1316", str(answer)
    )
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["label"] == "fake" and verdict["regions"][0]["label"] == "hand"
    assert verdict["regions"][0]["box"] == pytest.approx(
        [72 * 1080 / 728, 131 * 1920 / 1316, 364 * 1080 / 728, 658 * 1920 / 1316], abs=1e-3
    )


def test_parse_reads_stdin() -> None:
    result = runner.invoke(
        app, ["parse", "-c", "paligemma", "--image-size", "200x100"], input="<loc0000><loc0000><loc0512><loc0512> sky"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["regions"][0]["box"] == [0, 0, 100, 50]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c", "qwen9", "--image-size", "10x10"], "unknown box convention"),
        (["-c", "pixel", "--image-size", "10"], "WIDTHxHEIGHT"),
        (["-c", "pixel", "--image-size", "10x10", "--input-size", "0x5"], "positive"),
        (["-c", "pixel", "--image-size", "10x10", "/no/such/answer.txt"], "No such file"),
    ],
)
def test_parse_user_errors_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["parse", *args], input="")
    assert result.exit_code == 2
    assert message in result.output


def test_parse_help_says_what_the_input_size_means() -> None:
    result = runner.invoke(app, ["parse", "--help"], env={"COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"})
    help_text = " ".join(result.output.split())
    assert "image that was sent" in help_text and "28-px grid" in help_text and "-c pixel" in help_text


def test_score_rescores_minimal_predictions_offline(tiny_dataset: Path, tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    lines = [
        {"id": "s0", "label": "real"},
        {"id": "s1", "label": "fake", "score": 0.8, "regions": [{"box": [40, 10, 70, 30]}]},  # no image_size
        {"id": "s2", "label": "fake", "score": 0.6},
        {"id": "s3", "label": "unknown"},
        {"id": "other", "label": "fake"},
    ]
    predictions.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = _cli(
        "score",
        "--predictions",
        str(predictions),
        "--data",
        str(tiny_dataset),
        "--out",
        str(tmp_path / "scored"),
        "--group-by",
        "label",
        "--bootstrap",
        "50",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "scored" / "metrics.json").read_text())
    c = metrics["classification"]
    assert (c["n"], c["n_unknown"], c["accuracy"]) == (4, 1, 0.5)
    assert metrics["localization"]["iou_mean"] == pytest.approx(0.5)  # s1 exact, s3 unknown scores 0
    assert metrics["n_unmatched_predictions"] == 1
    assert set(metrics["groups"]["values"]) == {"real", "fake"}
    assert metrics["classification"]["ci95"]["accuracy"] is not None


def test_eval_groups_by_a_metadata_field(tiny_dataset: Path, tmp_path: Path) -> None:
    lines = [json.loads(line) for line in tiny_dataset.read_text().splitlines()]
    for i, line in enumerate(lines):
        line["meta"] = {"generator": "sdxl" if i < 2 else "flux"}
    tiny_dataset.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "run"
    result = _cli(
        "eval",
        "--data",
        str(tiny_dataset),
        "--with-boxes",
        "--out",
        str(out),
        "--group-by",
        "meta.generator",
        "--iou-threshold",
        "0.3",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["groups"]["values"]) == {"sdxl", "flux"}
    assert metrics["localization"]["n_box"] == 2 and "box_f1@0.3" in metrics["localization"]
    assert json.loads((out / "config.json").read_text())["options"]["group_by"] == "meta.generator"


REFUSED_PACKS = {
    "include": "{% include 'x.txt' %} Is this real?",
    "import": "{% import 'macros.txt' as m %}{{ m.q() }}",
    "unsafe attribute": "{{ image.__class__.__mro__ }}",
}


@pytest.mark.parametrize("template", REFUSED_PACKS.values(), ids=REFUSED_PACKS.keys())
def test_a_refused_pack_fails_before_anything_is_written(tmp_path: Path, template: str) -> None:
    pack = tmp_path / "bad.yaml"
    pack.write_text(
        yaml.safe_dump({"name": "bad", "version": 1, "description": "d", "task": "verdict", "turns": [template]})
    )
    image = tmp_path / "photo.png"
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(image)
    detected = _cli("detect", str(image), "--prompt", str(pack))
    assert detected.exit_code == 2 and detected.output.startswith("error:") and "Traceback" not in detected.output
    evaluated = _cli("eval", "--data", "demo", "--prompt", str(pack), "--out", str(tmp_path / "run"), "--limit", "1")
    assert evaluated.exit_code == 2 and len(evaluated.output.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_file_system_refusals_are_one_line(tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    result = _cli("eval", "--data", str(tiny_dataset), "--out", str(a_file))
    assert (
        result.exit_code == 2
        and result.output.strip() == f"error: {a_file} is a file, not a run directory; choose another --out"
    )

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    with monkeypatch.context() as patch:
        patch.setattr(Path, "mkdir", refuse)
        result = _cli("eval", "--data", str(tiny_dataset), "--out", str(tmp_path / "locked" / "run"))
    assert result.exit_code == 2 and "cannot make the run directory (Permission denied)" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_full_disk_while_drawing_costs_only_overlays(tiny_dataset: Path, tmp_path: Path, monkeypatch) -> None:
    import errno

    import grounddefake.overlay_pass as overlay_pass

    def full(path: str, pixels: np.ndarray) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(overlay_pass, "save_image", full)
    result = _cli(
        "eval", "--data", str(tiny_dataset), "--with-boxes", "--out", str(tmp_path / "run"), "--overlays", "all"
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["classification"]["n"] == 4 and len(metrics["overlay_problems"]) == 4
    assert "No space left on device" in metrics["overlay_problems"][0]["reason"]
    (tmp_path / "run" / "samples.jsonl").open("ab").write(b"\xff\xfe{not json\n")  # a damaged line
    assert _cli("report", str(tmp_path / "run"), "--overlays", "none").exit_code == 0


@pytest.mark.parametrize(("columns", "table"), [(80, False), (200, True)])
def test_conventions_stay_readable_in_a_narrow_terminal(columns: int, table: bool) -> None:
    result = CliRunner().invoke(app, ["conventions"], env={"COLUMNS": str(columns)}, terminal_width=columns)
    assert result.exit_code == 0
    assert ("  example answer: " in result.output) is not table
    assert all(len(line) <= columns for line in result.output.splitlines()) or table


@pytest.mark.parametrize(("typo", "meant"), [("forensik", "'forensic'"), ("FORENSIC ", "'forensic'")])
def test_a_typo_of_a_model_name_is_caught_with_a_suggestion(tmp_path: Path, typo: str, meant: str) -> None:
    image = tmp_path / "photo.png"
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(image)
    result = _cli("detect", str(image), "--model", typo)
    assert result.exit_code == 2 and f"did you mean {meant}" in result.output and "--convention" not in result.output
