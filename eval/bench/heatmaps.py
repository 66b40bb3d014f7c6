"""What each ``--heatmap`` mode costs and what it buys, measured side by side in one run.

    python eval/bench/heatmaps.py [--images 8] [--latency 0.05] [--concurrency 4]

A scripted model looks at photo-like images (1024×768) each holding one red artifact block, the ground truth:
- its answer's box is the block's box with noise (each side moved by a seeded N(0, 12 % of the block) draw, a new
  draw per sample seed), so one answer's box is off, and the vote of several is centred on the truth;
- a probe tile's P(Yes) is the share of red pixels in the crop, plus a little noise.
Every command is a whole ``grounddefake eval`` process (start to exit) against the scripted server, which waits
``--latency`` seconds per request. Printed: requests and seconds per image of each mode, and the mean CC of each
mode's map against the ground-truth heatmaps (``consensus:5`` must beat ``boxes``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import photo, run_measured

from tests.servers.openai_server import FakeOpenAIServer, Reply, eval_command, request_pixels
from tests.servers.yes_no import yes_no_logprobs

SIZE = (1024, 768)
MODES = ("boxes", "consensus:5", "probe:4")


def write_dataset(folder: Path, n: int) -> Path:
    """``n`` photos with one red block each (10-25 % of each side), their ground-truth heatmaps, and a manifest."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    w, h = SIZE
    for i in range(n):
        pixels = photo(w, h, seed=i)
        bw, bh = int(rng.uniform(0.1, 0.25) * w), int(rng.uniform(0.1, 0.25) * h)
        x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        pixels[y : y + bh, x : x + bw] = (235, 15, 15)
        Image.fromarray(pixels).save(folder / f"{i}.png")
        truth = np.zeros((h, w), np.uint8)
        truth[y : y + bh, x : x + bw] = 255
        Image.fromarray(truth).save(folder / f"{i}_heat.png")
        lines.append({"id": str(i), "image": f"{i}.png", "label": "fake", "heatmap": f"{i}_heat.png"})
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return manifest


def scripted(latency: float):  # type: ignore[no-untyped-def]
    """The scripted model (see the module's docstring), answering after ``latency`` seconds."""

    def respond(body: dict) -> Reply:  # type: ignore[type-arg]
        pixels = request_pixels(body)
        red = np.abs(pixels.astype(np.int16) - (235, 15, 15)).max(axis=-1) <= 12
        if body.get("max_tokens") == 1:  # a probe tile
            noise = np.random.default_rng(zlib.crc32(pixels.tobytes()[:4096])).normal(0, 0.03)
            p = float(np.clip(red.mean() * 4 + 0.05 + noise, 0.01, 0.99))
            return Reply(text="Yes" if p >= 0.5 else "No", logprobs=yes_no_logprobs(p), delay=latency)
        ys, xs = np.nonzero(red)  # the block, robust to the odd photo pixel of its colour
        h, w = red.shape
        (x1, x2), (y1, y2) = np.percentile(xs, [0.5, 99.5]) / w, np.percentile(ys, [0.5, 99.5]) / h
        rng = np.random.default_rng([int(body.get("seed") or 0), int(x1 * 1e6), int(y1 * 1e6)])
        dx, dy = 0.12 * (x2 - x1), 0.12 * (y2 - y1)
        box = [x1 + rng.normal(0, dx), y1 + rng.normal(0, dy), x2 + rng.normal(0, dx), y2 + rng.normal(0, dy)]
        box = [int(np.clip(v, 0, 1) * 1000) for v in box]
        answer = {"verdict": "fake", "rationale": "a red block", "regions": [{"box": box, "label": "artifact"}]}
        return Reply(text=json.dumps(answer), delay=latency)

    return respond


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = write_dataset(root / "data", args.images)
        rows = []
        with FakeOpenAIServer(responder=scripted(args.latency)) as server:
            for mode in MODES:
                out = root / mode.replace(":", "-")
                command = eval_command(data, server.base_url, out, "--no-cache", "--overlays", "none")
                extra = ["--heatmap", mode, "--temperature", "0.7", "--concurrency", str(args.concurrency)]
                measured = run_measured([*command, *extra])
                metrics = json.loads((out / "metrics.json").read_text())
                records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
                requests = sum(r["requests"] or sum(r["requests_by_purpose"].values()) for r in records)
                rows.append((mode, requests / len(records), measured.seconds / len(records), metrics["heatmap"]["cc"]))
    w, h = SIZE
    print(f"{args.images} images of {w}x{h}, {args.latency:g} s per request, concurrency {args.concurrency}")
    print(f"{'mode':<14}{'requests/image':>16}{'seconds/image':>16}{'mean CC':>10}")
    for mode, requests, seconds, cc in rows:
        print(f"{mode:<14}{requests:>16.1f}{seconds:>16.3f}{cc:>10.3f}")
    boxes_cc, consensus_cc = rows[0][3], rows[1][3]
    closer = consensus_cc > boxes_cc
    print(f"consensus:5 / boxes CC: {consensus_cc / boxes_cc:.2f} (consensus closer to the truth: {closer})")


if __name__ == "__main__":
    main()
