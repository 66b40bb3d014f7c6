"""Benchmark ``grounddefake eval`` on large photos: the time spent after the model's answers, and peak memory.

Run from the repository root::

    .venv/bin/python eval/bench/large_images.py [--n 60] [--rounds 1]

N JPEG photos of 4000×3000 go through a whole ``grounddefake eval`` process (no answer cache) against the fake
server of ``tests/servers/openai_server.py`` answering at once, so the request phase is short and what remains is
grounddefake's own work on large images: reading, scoring, reports and overlays.

* ``after_last_answer_ms_per_image``: (process exit − the last answer written, i.e. ``predictions.jsonl`` last
  modified) / N: scoring, reports, default overlays and exit (goal ≤ 40). The eval's own ``phases`` follow.
* ``outside_requests_ms_per_image``: (process time, start to exit, minus the request phase) / N: the same plus
  start-up and reading the dataset.
* ``peak_rss_mb``: peak resident memory of the eval process (goal ≤ 1500).

With several rounds the median is printed, with every round's value.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Server, median, rounds_line, run_eval, write_large_dataset

CONCURRENCY = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="photos of 4000×3000")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest = write_large_dataset(work / "data", args.n)
        with Server(0.0) as server:
            runs = [run_eval(manifest, server.base_url, work / f"run{r}", CONCURRENCY) for r in range(args.rounds)]
    after = [run.after_last_answer_seconds / run.n * 1000 for run in runs]
    outside = [run.after_answers_seconds / run.n * 1000 for run in runs]
    print(
        f"large images: {args.n} JPEG 4000x3000, eval process {median([r.seconds for r in runs]):.2f} s, request "
        f"phase {median([r.request_seconds for r in runs]):.2f} s (concurrency {CONCURRENCY}, medians)"
    )
    print(f"after_last_answer_ms_per_image: {median(after):.1f}  (rounds {rounds_line(after, 1)}; goal <= 40)")
    print(
        f"outside_requests_ms_per_image: {median(outside):.1f}  (process time minus the request phase: the line "
        f"above plus start-up and reading the dataset; rounds {rounds_line(outside, 1)})"
    )
    for phase in ("scoring", "overlays", "reports"):
        print(f"  {phase}: {median([run.phases.get(phase, 0.0) for run in runs]):.2f} s")
    rss = [run.peak_rss_mb for run in runs]
    print(f"peak_rss_mb: {median(rss):.0f}  (rounds {rounds_line(rss, 0)}; goal <= 1500)")


if __name__ == "__main__":
    main()
