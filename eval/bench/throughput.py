"""Benchmark ``grounddefake eval`` against a hand-written ``AsyncOpenAI`` loop, each a process of its own.

Run from the repository root::

    .venv/bin/python eval/bench/throughput.py [--n 1500] [--rounds 5] [--memory-n 10000]

The same N photo-like images (256×256 crops of the demo set's photographs, PNG and JPEG alternately) go through
(a) ``eval/bench/openai_loop.py``: read, base64, ``chat.completions.create`` with the very body grounddefake sends
(captured from it), keep the text; and (b) a whole ``grounddefake eval`` (prepare, send, parse, records, scoring,
reports, default overlays), against the fake server of ``tests/servers/openai_server.py`` at concurrency 64.
Rounds are interleaved (loop, eval, loop, eval, ...) on a shared machine, so the MEDIAN of the per-round ratios is
reported, with every round's value.

* ``e2e_ratio_instant``: loop process time / eval process time, start to exit, server answering at once
  (goal ≥ 0.80).
* ``request_ratio_instant``: the loop's request phase / eval's (``metrics.json`` → ``seconds``), at once
  (goal ≥ 0.90).
* ``request_ratio_100ms``: the same with 100 ms server latency (goal ≥ 0.97).
* with ``--memory-n M``: ``rss_growth_mb_to_M``, peak RSS of an eval of M samples minus that of N (goal ≤ 50).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    EvalRun,
    LoopRun,
    Server,
    median,
    request_template,
    rounds_line,
    run_eval,
    run_loop,
    write_small_dataset,
)

CONCURRENCY = 64


def interleaved(
    latency: float, manifest: Path, template: Path, rounds: int, work: Path
) -> tuple[list[LoopRun], list[EvalRun]]:
    """``rounds`` × (loop, eval) against one server process of ``latency`` seconds."""
    loops: list[LoopRun] = []
    evals: list[EvalRun] = []
    with Server(latency) as server:
        for r in range(rounds):
            loops.append(run_loop(template, manifest, server.base_url, CONCURRENCY))
            evals.append(run_eval(manifest, server.base_url, work / f"run-{latency:g}-{r}", CONCURRENCY))
    return loops, evals


def report(name: str, loops: list[LoopRun], evals: list[EvalRun], e2e: bool, goals: dict[str, float]) -> None:
    n = evals[0].n
    request = [loop.request_seconds / run.request_seconds for loop, run in zip(loops, evals, strict=True)]
    print(
        f"{name}: loop request phase {median([x.request_seconds for x in loops]):.2f} s, eval request phase "
        f"{median([x.request_seconds for x in evals]):.2f} s; loop process {median([x.seconds for x in loops]):.2f} s, "
        f"eval process {median([x.seconds for x in evals]):.2f} s ({n} images, medians)"
    )
    if e2e:
        ratios = [loop.seconds / run.seconds for loop, run in zip(loops, evals, strict=True)]
        print(f"e2e_ratio_{name}: {median(ratios):.3f}  (median; rounds {rounds_line(ratios)}; goal >= {goals['e2e']})")
    print(
        f"request_ratio_{name}: {median(request):.3f}  (median; rounds {rounds_line(request)}; "
        f"goal >= {goals['request']})"
    )
    after = [(run.seconds - run.request_seconds) / n * 1000 for run in evals]
    print(f"eval_outside_requests_ms_per_image_{name}: {median(after):.2f}  (rounds {rounds_line(after, 2)})")
    print(f"eval_peak_rss_mb_{name}: {median([run.peak_rss_mb for run in evals]):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500, help="images per run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved (loop, eval) rounds per setting")
    parser.add_argument("--memory-n", type=int, default=0, help="also measure an eval of this many samples (RSS)")
    parser.add_argument("--skip-100ms", action="store_true", help="only the instant server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest = write_small_dataset(work / "data", args.n)
        template = request_template(work / "data")
        loops, evals = interleaved(0.0, manifest, template, args.rounds, work)
        report("instant", loops, evals, True, {"e2e": 0.80, "request": 0.90})
        if not args.skip_100ms:
            loops, evals = interleaved(0.1, manifest, template, args.rounds, work)
            report("100ms", loops, evals, False, {"request": 0.97})
        if args.memory_n:
            large = write_small_dataset(work / "large", args.memory_n, seed=1)
            with Server(0.0) as server:
                small_rss = run_eval(manifest, server.base_url, work / "mem-small", CONCURRENCY).peak_rss_mb
                large_rss = run_eval(large, server.base_url, work / "mem-large", CONCURRENCY).peak_rss_mb
            print(f"peak RSS: {args.n} samples {small_rss:.0f} MB, {args.memory_n} samples {large_rss:.0f} MB")
            print(f"rss_growth_mb_to_{args.memory_n}: {large_rss - small_rss:.1f}  (goal <= 50)")


if __name__ == "__main__":
    main()
