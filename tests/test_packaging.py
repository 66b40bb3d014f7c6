"""The wheel carries the prompt packs, the report template and the demo set, and works outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling (the dev extra)")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("grounddefake-*.whl")
    return path


@pytest.mark.slow
def test_wheel_ships_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "grounddefake/_assets/prompts/grounded.yaml",
        "grounddefake/_assets/prompts/verdict.yaml",
        "grounddefake/_assets/prompts/grounded-native.yaml",
        "grounddefake/presets.yaml",
        "grounddefake/_assets/eval/suites/sid-set.yaml",
        "grounddefake/_assets/visualize/report.md.j2",
        "grounddefake/_assets/data/demo/manifest.jsonl",
        "grounddefake/_assets/data/demo/ATTRIBUTION.md",
        "grounddefake/forensic/localizer.onnx",
        "grounddefake/forensic/localizer.json",
    ):
        assert required in names, required
    assert wheel.stat().st_size < 25_000_000, wheel.stat().st_size
    assert sum(n.startswith("grounddefake/_assets/data/demo/images/") for n in names) >= 36
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.mark.slow
def test_installed_wheel_runs_demo_and_packs(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        "import grounddefake, pathlib; "
        f"assert str(pathlib.Path(grounddefake.__file__)).startswith(r'{target}'), grounddefake.__file__; "
        "d = grounddefake.load_dataset('demo'); p = grounddefake.load_pack('grounded'); "
        "assert '_assets' in str(d.source) and '_assets' in p.source; "
        "from grounddefake.presets import find_preset; assert find_preset('gpt-4o').model == 'gpt-4o'; "
        "from grounddefake.suites import load_suite; assert load_suite('loki').format == 'loki'; "
        "from grounddefake.forensic import learned; "
        f"assert str(learned.WEIGHTS).startswith(r'{target}') and learned.WEIGHTS.is_file(), learned.WEIGHTS; "
        "r = grounddefake.evaluate('demo', with_boxes=True, limit=2, out='run'); "
        "print(r.metrics['classification']['n'])"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
    assert (tmp_path / "run" / "report.md").is_file()
