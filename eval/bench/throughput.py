"""Benchmark the runner against a local OpenAI-compatible server in a separate process.

Run from the repository root::

    .venv/bin/python eval/bench/throughput.py [--n 1000] [--memory-n 10000]

The same N images go through (a) a minimal hand-written async loop on the ``openai`` client (the same payloads,
prompt, schema, logprobs and concurrency, nothing else: no parsing, no records) and (b) ``grounddefake``'s
evaluation (prepare, render, send, parse, append and flush each record), against the fake server of
``tests/servers/openai_server.py``. The ratio compares answers per second of the request phase (b's
``metrics.seconds``); the end-to-end time of (b), scoring and overlays included, is printed beside it.
A third loop sends the same bodies through ``client.post`` as grounddefake does (it skips the SDK's parameter
transform); its ratio isolates grounddefake's own overhead. Goals (issue #4): ``throughput_ratio_instant`` ≥ 0.90
(server answers at once, concurrency 16), ``throughput_ratio_100ms`` ≥ 0.97 (100 ms latency, concurrency 64),
``rss_growth_mb_1k_to_10k`` ≤ 50 (peak memory of a whole ``grounddefake eval`` on 10k samples minus on 1k samples,
each in its own process).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.servers.openai_server import eval_command  # noqa: E402


def write_dataset(folder: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        pixels = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "images" / f"{i:05d}.png")
        lines.append(
            json.dumps({"id": f"{i:05d}", "image": f"images/{i:05d}.png", "label": "fake" if i % 2 else "real"})
        )
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


class Server:
    """The fake server in its own process."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.openai_server", "--latency", str(latency)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}/v1"

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


async def minimal_loop(base_url: str, images: list[Path], concurrency: int, messages_of, post: bool = False) -> float:
    """Seconds for the hand-written loop: read, base64, send, keep the text.

    ``post``: send through ``client.post`` with the plain body, as grounddefake does, instead of
    ``chat.completions.create`` (which first walks the parameters through the SDK's type transform).
    """
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion

    from grounddefake.prompts import load_pack

    pack = load_pack("grounded")
    client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)
    answers = []

    async def one(path: Path) -> None:
        async with semaphore:
            data = base64.b64encode(path.read_bytes()).decode()
            body = {
                "model": "test-model",
                "messages": messages_of(data),
                "max_tokens": 1024,
                "temperature": 0.0,
                "seed": 0,
                "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": pack.schema}},
                "logprobs": True,
                "top_logprobs": 20,
            }
            if post:
                response = await client.post("/chat/completions", body=body, cast_to=ChatCompletion)
            else:
                response = await client.chat.completions.create(**body)
            answers.append(response.choices[0].message.content)

    start = time.perf_counter()
    await asyncio.gather(*(one(p) for p in images))
    seconds = time.perf_counter() - start
    await client.close()
    assert len(answers) == len(images)
    return seconds


def messages_factory():
    from grounddefake.prompts import load_pack

    pack = load_pack("grounded")
    system = pack.render_system((64, 48))
    text = pack.render_turn(0, (64, 48)).text

    def messages(data: str) -> list[dict]:
        return [
            {"role": "system", "content": system},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}", "detail": "high"}},
                    {"type": "text", "text": text},
                ],
            },
        ]

    return messages


def grounddefake_run(base_url: str, data: Path, out: Path, concurrency: int) -> tuple[float, float]:
    """(request-phase seconds, end-to-end seconds) of grounddefake's evaluation."""
    from grounddefake.api import evaluate

    start = time.perf_counter()
    result = evaluate(
        data,
        "test-model",
        "grounded",
        True,
        out,
        concurrency=concurrency,
        base_urls=[base_url],
        convention="norm1000",
        cache=False,
    )
    total = time.perf_counter() - start
    assert result.metrics["requests"]["failed"] == 0
    return result.metrics["seconds"], total


def ratio(latency: float, concurrency: int, data: Path, n: int, rounds: int) -> dict[str, float]:
    server = Server(latency)
    try:
        images = sorted((data.parent / "images").glob("*.png"))[:n]
        messages = messages_factory()
        loop_times, post_times, ours, totals = [], [], [], []
        for r in range(rounds):  # interleaved, best of each: the machine is shared and noisy
            loop_times.append(asyncio.run(minimal_loop(server.base_url, images, concurrency, messages)))
            post_times.append(asyncio.run(minimal_loop(server.base_url, images, concurrency, messages, post=True)))
            with tempfile.TemporaryDirectory() as tmp:
                seconds, total = grounddefake_run(server.base_url, data, Path(tmp) / f"run{r}", concurrency)
            ours.append(seconds)
            totals.append(total)
    finally:
        server.close()
    return {
        "loop_per_s": n / min(loop_times),
        "ours_per_s": n / min(ours),
        "ours_end_to_end_per_s": n / min(totals),
        "ratio": min(loop_times) / min(ours),
        "post_loop_per_s": n / min(post_times),
        "ratio_vs_post_loop": min(post_times) / min(ours),
    }


def peak_rss_mb(base_url: str, data: Path, out: Path) -> float:
    """Peak resident memory of one ``grounddefake eval`` process."""
    command = eval_command(data, base_url, out, "--no-cache")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"grounddefake eval exited with status {status}")
    return usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="images per throughput measurement")
    parser.add_argument("--memory-n", type=int, default=10000, help="samples of the large memory run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(Path(tmp) / "data", args.n)
        instant = ratio(0.0, 16, data, args.n, args.rounds)
        print(
            f"instant, concurrency 16: minimal loop {instant['loop_per_s']:.0f}/s, grounddefake "
            f"{instant['ours_per_s']:.0f}/s (end to end {instant['ours_end_to_end_per_s']:.0f}/s)"
        )
        print(f"throughput_ratio_instant: {instant['ratio']:.3f} (goal >= 0.90)")
        print(
            f"  same transport path (a client.post loop, {instant['post_loop_per_s']:.0f}/s): "
            f"ratio {instant['ratio_vs_post_loop']:.3f}"
        )
        slow = ratio(0.1, 64, data, args.n, args.rounds)
        print(
            f"100 ms, concurrency 64: minimal loop {slow['loop_per_s']:.0f}/s, grounddefake "
            f"{slow['ours_per_s']:.0f}/s (end to end {slow['ours_end_to_end_per_s']:.0f}/s)"
        )
        print(f"throughput_ratio_100ms: {slow['ratio']:.3f} (goal >= 0.97)")
        print(
            f"  same transport path (a client.post loop, {slow['post_loop_per_s']:.0f}/s): "
            f"ratio {slow['ratio_vs_post_loop']:.3f}"
        )
        if not args.skip_memory:
            small = data
            large = write_dataset(Path(tmp) / "large", args.memory_n)
            server = Server(0.0)
            try:
                rss_small = peak_rss_mb(server.base_url, small, Path(tmp) / "mem-small")
                rss_large = peak_rss_mb(server.base_url, large, Path(tmp) / "mem-large")
            finally:
                server.close()
            print(f"peak RSS: {args.n} samples {rss_small:.0f} MB, {args.memory_n} samples {rss_large:.0f} MB")
            print(f"rss_growth_mb_1k_to_10k: {rss_large - rss_small:.1f} (goal <= 50)")


if __name__ == "__main__":
    main()
