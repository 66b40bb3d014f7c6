"""The run directory: its files, torn tails, and the lock that keeps a second writer out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grounddefake.records import SCHEMA, SampleScore
from grounddefake.rundir import RunDir, RunDirectoryError, overlay_name, read_predictions, write_json

from .conftest import write_dataset
from .servers.openai_server import FakeOpenAIServer, Reply, eval_command

ROOT = Path(__file__).resolve().parents[1]


def test_lock_refuses_a_second_writer_in_the_same_process(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    busy = pytest.raises(RunDirectoryError, match=r"being written by another process \(pid \d+\)")
    with run.locked(), busy, RunDir(tmp_path / "run").locked():
        pass
    with run.locked():  # released when the block ends
        pass


def test_lock_is_released_when_its_process_is_killed(tmp_path: Path) -> None:
    code = f"import time; from grounddefake.rundir import RunDir\nwith RunDir.at({str(tmp_path)!r}).locked():\n"
    code += "    print('locked', flush=True); time.sleep(60)\n"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirectoryError, match=f"pid {holder.pid}"), RunDir(tmp_path).locked():
            pass
    finally:
        holder.kill()
        holder.wait()
    with RunDir(tmp_path).locked():
        pass


def test_a_second_eval_on_the_same_out_exits_2_and_sends_nothing(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", 24)  # 24 answers at 0.5 s, two at a time: 6 s, long past the 2nd start
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test"}
    with FakeOpenAIServer(default=Reply(delay=0.5)) as server:
        first = subprocess.Popen(
            eval_command(data, server.base_url, out, "--concurrency", "2", "--no-cache", "--overlays", "none"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out / "predictions.jsonl").exists():
            time.sleep(0.02)
        second = subprocess.run(
            eval_command(data, server.base_url, out, "--no-cache"), env=env, capture_output=True, text=True, timeout=120
        )
        first.communicate(timeout=120)
        sent = len(server.requests)
    assert second.returncode == 2
    assert len(second.stderr.strip().splitlines()) == 1 and "being written by another process" in second.stderr
    assert first.returncode == 0
    assert sent == 24  # every sample asked once, by the first process only
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 24


def test_predictions_append_after_a_torn_tail(tmp_path: Path) -> None:
    run = RunDir(tmp_path).create()
    run.predictions.write_text('{"id": "a", "label": "fake"}\n{"id": "b", "lab')
    with run.appending_predictions() as sink:
        sink.write(json.dumps({"id": "c", "label": "real"}) + "\n")
    assert list(read_predictions(run.predictions)) == ["a", "c"]
    assert all(r["schema"] == SCHEMA for r in run.read_predictions().values())  # read at the current schema


def test_samples_round_trip_and_odd_values_become_none(tmp_path: Path) -> None:
    run = RunDir(tmp_path).create()
    rows = [SampleScore("a", "fake", "real", 0.25, 0.5, None), SampleScore("b", None, "unknown", None, None, "boom")]
    run.write_samples(rows)
    assert run.read_samples() == rows
    run.samples.write_text(json.dumps({"id": "c", "truth": "real", "predicted": "fake", "score": "x", "iou": True}))
    assert run.read_samples() == [SampleScore("c", "real", "fake", None, None, None)]


def test_config_must_be_a_run_configuration(tmp_path: Path) -> None:
    with pytest.raises(RunDirectoryError, match="not a run directory"):
        RunDir(tmp_path).read_config()
    write_json(tmp_path / "config.json", {"model": "m"})
    with pytest.raises(RunDirectoryError, match="not a grounddefake run configuration"):
        RunDir(tmp_path).read_config()


@pytest.mark.parametrize(
    ("sample_id", "expected"),
    [("0001", "0001.jpg"), ("plain-id_1.x", "plain-id_1.x.jpg"), ("a/b", None), ("x" * 200, None)],
)
def test_overlay_names_are_safe(sample_id: str, expected: str | None) -> None:
    name = overlay_name(sample_id)
    assert "/" not in name and len(name) <= 115 and name.endswith(".jpg")
    if expected is not None:
        assert name == expected


@pytest.mark.parametrize(
    ("drawn", "found"),
    [({"a.jpg"}, "a.jpg"), ({"a.png"}, "a.png"), ({"a.jpg", "a.png"}, "a.jpg"), ({"b.jpg"}, None), (set(), None)],
)
def test_overlays_of_schema_1_runs_are_still_found(drawn: set[str], found: str | None) -> None:
    from grounddefake.rundir import find_overlay

    assert find_overlay("a", drawn) == found
