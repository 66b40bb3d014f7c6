"""Shared pieces of the end-to-end benchmarks: photo-like datasets, the fake server in its own process, measured
child processes, and the request a ``grounddefake eval`` sends (the template of the hand-written loop).

Every measured command is a process of its own, timed from start to exit and started by a small launcher process
(``_LAUNCHER``) that reports its peak resident memory: that child alone, free of the benchmark's own memory.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.servers.openai_server import FakeOpenAIServer, eval_command  # noqa: E402

LOOP_SCRIPT = Path(__file__).with_name("openai_loop.py")
DEMO_IMAGES = ROOT / "data" / "demo" / "images"


def photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 photo-like content: smooth structure at three scales plus fine sensor-like noise."""
    import cv2

    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for octave, amplitude in ((64, 60.0), (16, 30.0), (4, 12.0)):
        small = rng.standard_normal((max(2, height // octave), max(2, width // octave), 3)).astype(np.float32)
        image += amplitude * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    image += 128 + 3 * rng.standard_normal((height, width, 1), dtype=np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _demo_photos() -> list[np.ndarray]:
    """The demo set's untouched photographs (RGB), or none when the demo set is not there."""
    from PIL import Image

    paths = sorted(p for p in DEMO_IMAGES.glob("*.jpg") if "-" not in p.stem)  # "astronaut", not "astronaut-splice"
    return [np.asarray(Image.open(p).convert("RGB")) for p in paths]


def write_small_dataset(folder: Path, n: int, side: int = 256, seed: int = 0) -> Path:
    """``n`` photo-like images of ``side``×``side`` px, PNG and JPEG alternately: random crops (flipped at random) of
    the demo set's real photographs, else generated photos. Returns the manifest."""
    import cv2

    rng = np.random.default_rng(seed)
    sources = [p for p in _demo_photos() if min(p.shape[:2]) >= side] or [photo(4 * side, 4 * side, seed)]
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        source = sources[i % len(sources)]
        y = int(rng.integers(0, source.shape[0] - side + 1))
        x = int(rng.integers(0, source.shape[1] - side + 1))
        crop = source[y : y + side, x : x + side]
        crop = crop[:, ::-1] if rng.random() < 0.5 else crop
        name = f"{i:05d}.{'png' if i % 2 == 0 else 'jpg'}"
        bgr = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / "images" / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90] if name.endswith("jpg") else [])
        lines.append(json.dumps({"id": f"{i:05d}", "image": f"images/{name}", "label": "fake" if i % 2 else "real"}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


def write_large_dataset(folder: Path, n: int, size: tuple[int, int] = (4000, 3000), seed: int = 0) -> Path:
    """``n`` JPEG photos of ``size`` (W, H): a few generated photos, rolled by random offsets so every file differs."""
    import cv2

    rng = np.random.default_rng(seed)
    bases = [photo(size[0], size[1], seed + k) for k in range(min(n, 4))]
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        pixels = np.roll(bases[i % len(bases)], (int(rng.integers(size[1])), int(rng.integers(size[0]))), (0, 1))
        name = f"{i:05d}.jpg"
        cv2.imwrite(str(folder / "images" / name), pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        lines.append(json.dumps({"id": f"{i:05d}", "image": f"images/{name}", "label": "fake" if i % 2 else "real"}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


class Server:
    """The fake OpenAI-compatible server of ``tests/servers/openai_server.py`` in its own process."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.openai_server", "--latency", str(latency)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}/v1"

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait()


@dataclass(frozen=True)
class Measured:
    """One child process: wall seconds from start to exit, its peak RSS and what it printed."""

    seconds: float
    peak_rss_mb: float
    stdout: str
    ended: float
    """``time.time()`` when the process had exited."""


_LAUNCHER = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[2:])
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as report:
    report.write(f"{seconds} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
if code < 0:  # killed by a signal: die of the same one, so the benchmark sees it
    import os, signal
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""
"""Runs a command and reports its wall time and peak RSS. A child's peak RSS on Linux starts from its parent's at
the fork (the copied page tables count, even across ``exec``), so a measured command is started by this small
process, never by the benchmark itself, which may hold large photos."""


def run_measured(command: Sequence[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``command`` from the repository root (through ``_LAUNCHER``); raise with its output when it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.NamedTemporaryFile("r", suffix=".rusage") as report:
        process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, report.name, *command],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        process.wait()
        ended = time.time()
        out.seek(0)
        text = out.read()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} ... exited with {process.returncode}:\n{text[-3000:]}")
        seconds, max_rss_kb = report.read().split()
    return Measured(float(seconds), int(max_rss_kb) / 1024, text, ended)


@dataclass(frozen=True)
class EvalRun:
    """One ``grounddefake eval`` process: end-to-end wall time, its request phase (``metrics.json`` → seconds)."""

    seconds: float
    request_seconds: float
    peak_rss_mb: float
    n: int
    phases: dict[str, float]
    """``metrics.json`` → ``phases``: seconds of the answers, scoring, overlays and reports, as the eval timed them."""
    after_last_answer_seconds: float
    """From the last answer written (``predictions.jsonl`` last modified) to the process's exit: scoring, reports,
    overlays, and whatever exiting costs."""

    @property
    def after_answers_seconds(self) -> float:
        """Process time that is not the request phase: start-up, dataset reading, scoring, overlays, reports, exit."""
        return self.seconds - self.request_seconds


def run_eval(data: Path, base_url: str, out: Path, concurrency: int, *extra: str) -> EvalRun:
    """A whole ``grounddefake eval`` (no answer cache) in its own process; it must answer every sample."""
    measured = run_measured(eval_command(data, base_url, out, "--no-cache", "--concurrency", str(concurrency), *extra))
    metrics = json.loads((out / "metrics.json").read_text())
    if metrics["requests"]["failed"] or metrics["n_skipped"]:
        raise RuntimeError(f"the eval run in {out} failed or skipped samples: {metrics['requests']}")
    phases = {k: float(v) for k, v in (metrics.get("phases") or {}).items()}
    after = measured.ended - (out / "predictions.jsonl").stat().st_mtime
    return EvalRun(
        measured.seconds, float(metrics["seconds"]), measured.peak_rss_mb, int(metrics["n_samples"]), phases, after
    )


@dataclass(frozen=True)
class LoopRun:
    """One hand-written loop process: end-to-end wall time and its request phase (files read, sent, answered)."""

    seconds: float
    request_seconds: float
    peak_rss_mb: float


def request_template(folder: Path) -> Path:
    """The exact request body ``grounddefake eval`` sends for one image of the dataset, as a JSON file.

    Captured from a one-sample eval against an in-process fake server, so the loop sends the same prompt, schema
    and generation parameters, whatever the prompt pack says today.
    """
    one = folder / "template.jsonl"  # the dataset's first sample, next to the manifest
    one.write_text((folder / "manifest.jsonl").read_text().splitlines()[0] + "\n")
    with FakeOpenAIServer() as server:
        run_measured(eval_command(one, server.base_url, folder / "template-run", "--no-cache"))
        body = server.requests[0]
    path = folder / "request-template.json"
    path.write_text(json.dumps(body))
    return path


def run_loop(template: Path, manifest: Path, base_url: str, concurrency: int) -> LoopRun:
    """The hand-written ``AsyncOpenAI`` loop of ``openai_loop.py`` in its own process."""
    command = [sys.executable, str(LOOP_SCRIPT), str(template), str(manifest), base_url, str(concurrency)]
    measured = run_measured(command)
    request_seconds = float(measured.stdout.split("request_seconds:")[1].split()[0])
    return LoopRun(measured.seconds, request_seconds, measured.peak_rss_mb)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def rounds_line(values: Sequence[float], digits: int = 3) -> str:
    """Per-round values, as printed beside a median."""
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + "]"
