"""Benchmark how soon a large evaluation starts: seconds from ``evaluate`` to the first request, 100k samples.

Run from the repository root::

    .venv/bin/python eval/bench/startup.py [--n 100000]

A manifest of N lines (all pointing at one small image, so the disk is not what is measured) is read and evaluated
with a backend that stops the run at its first request. Goal (issue #6): under 2 s for 100k lines, and memory that
does not hold every image (peak RSS is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import tempfile
import time
from pathlib import Path

from PIL import Image

from grounddefake.api import evaluate
from grounddefake.backends.base import Backend, Request
from grounddefake.images import ImagePolicy
from grounddefake.types import Completion


class FirstRequest(BaseException):
    """Raised by the backend at its first request: the run is stopped there."""


class StopAtFirst(Backend):
    model = "stop-at-first"
    image_policy = ImagePolicy()

    def __init__(self) -> None:
        self.first: float | None = None

    async def complete(self, request: Request) -> Completion:
        self.first = time.perf_counter()
        raise FirstRequest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "images").mkdir()
        Image.new("RGB", (32, 24)).save(root / "images" / "x.png")
        with open(root / "manifest.jsonl", "w") as f:
            for i in range(args.n):
                regions = [{"box": [1, 1, 8, 8]}] if i % 2 else []
                f.write(
                    json.dumps(
                        {
                            "id": f"s{i}",
                            "image": "images/x.png",
                            "label": "fake" if i % 2 else "real",
                            "regions": regions,
                        }
                    )
                    + "\n"
                )
        backend = StopAtFirst()
        start = time.perf_counter()
        with contextlib.suppress(FirstRequest):
            evaluate(root, backend, "verdict", False, root / "run")
        assert backend.first is not None
        seconds = backend.first - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"manifest lines: {args.n}")
    print(f"seconds_to_first_request: {seconds:.2f} (goal < 2)")
    print(f"peak_rss_mb: {peak:.0f}")


if __name__ == "__main__":
    main()
