"""Benchmark building a run's reports: ``report.html`` and ``report.md`` for 1,000 samples on one core.

Run from the repository root::

    .venv/bin/python eval/bench/report.py [--n 1000]

A run directory with N predictions, per-sample scores and metrics is written (no overlays: they are drawn during
the evaluation, not by the report), then ``grounddefake.api.build_report`` is timed. Goal (issue #8): ≤ 30 s.
The second goal — the page usable in Chromium within 2 s — needs headless Chromium; without it the script says so.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from grounddefake.api import build_report
from grounddefake.metrics.classification import ClassificationRow, classification_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        rows, predictions, samples = [], [], []
        for i in range(args.n):
            truth = "fake" if i % 2 else "real"
            answer = rng.choice(["real", "fake", "unknown"])
            score = rng.random()
            rows.append(ClassificationRow(truth, answer, score))
            predictions.append(
                {
                    "id": f"s{i}",
                    "label": answer,
                    "score": score,
                    "rationale": "x " * rng.randint(10, 200),
                    "raw": "{...}" * 50,
                    "regions": [{"box": [1, 2, 30, 40], "label": "hand", "score": 0.5}],
                }
            )
            samples.append(
                {
                    "id": f"s{i}",
                    "truth": truth,
                    "predicted": answer,
                    "score": score,
                    "iou": rng.random() if truth == "fake" else None,
                    "error": None,
                    "overlay": f"s{i}.png",
                }
            )
        (run / "config.json").write_text(
            json.dumps({"run_key": "x", "model": "bench", "data": "bench", "prompt": "grounded@0"})
        )
        (run / "metrics.json").write_text(
            json.dumps({"n_samples": args.n, "n_errors": 0, "classification": classification_metrics(rows)})
        )
        (run / "predictions.jsonl").write_text("\n".join(json.dumps(p) for p in predictions) + "\n")
        (run / "samples.jsonl").write_text("\n".join(json.dumps(s) for s in samples) + "\n")
        (run / "overlays").mkdir()
        for i in range(args.n):  # small overlay files, so the page loads real images lazily
            (run / "overlays" / f"s{i}.png").write_bytes(PNG)
        start = time.perf_counter()
        _, html = build_report(run, overlays="none")  # the overlays are there: only the pages are built
        seconds = time.perf_counter() - start
        size = html.stat().st_size
        usable = page_usable_seconds(html)
    print(f"samples: {args.n}; report.html {size / 1e6:.1f} MB")
    print(f"report_build_seconds: {seconds:.2f} (goal <= 30)")
    if usable is None:
        print("page_usable_seconds: not measured (headless Chromium and chromedriver are not installed here)")
    else:
        print(f"page_usable_seconds: {usable:.2f} (goal <= 2; navigation until the gallery shows its first page)")


def page_usable_seconds(html: Path) -> float | None:
    """Seconds from navigation until the gallery has rendered, in headless Chromium (None without it)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.browser import Browser, chromium_paths

    paths = chromium_paths()
    if paths is None:
        return None
    browser = Browser(*paths)
    try:
        browser.go("about:blank")
        start = time.perf_counter()
        browser.go(html.resolve().as_uri())
        while not browser.run("return document.querySelectorAll('#grid .card').length"):
            time.sleep(0.01)
        return time.perf_counter() - start
    finally:
        browser.close()


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e0b3f1b90000000049454e44ae426082"
)


if __name__ == "__main__":
    main()
