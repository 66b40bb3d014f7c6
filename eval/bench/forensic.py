"""Benchmark the signal-level forensic detector: speed on one core and accuracy / mask IoU on the demo set.

Run from the repository root::

    .venv/bin/python eval/bench/forensic.py [--data data/demo] [--per-sample] [--skip-memory]

Protocol: predicted label = ``analysis.label``; predicted mask = union of the findings' boxes rasterised at image
size; IoU against the ground-truth mask (> 127) averaged over the fakes, a fake with no findings scoring 0.

Memory: peak RSS of a whole ``grounddefake detect`` process (built-in model) on generated photos: 4000×3000 JPEG
and PNG, and a 12000×12000 PNG (tiled, under Pillow's decompression-bomb limit). Goal: ≤ 1000 MB each.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import photo, run_measured  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BUDGET_SECONDS_PER_MP = 0.5


def _load_forensic():
    """Import grounddefake.forensic without executing grounddefake/__init__ (which may pull heavy deps)."""
    try:
        from grounddefake.forensic import analyze

        return analyze
    except Exception:  # the parent package may be absent or need extras
        path = ROOT / "grounddefake" / "forensic" / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            "grounddefake_forensic", path, submodule_search_locations=[str(path.parent)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module.analyze


def box_mask(shape: tuple[int, int], boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x1, y1, x2, y2 in boxes:
        mask[round(y1) : round(y2), round(x1) : round(x2)] = True
    return mask


def detect_peak_rss(folder: Path) -> dict[str, float]:
    """Peak RSS (MB) of ``grounddefake detect`` on generated large photos, each in its own process."""
    images = {
        "4000x3000_jpeg": (photo(4000, 3000), ".jpg"),
        "4000x3000_png": (photo(4000, 3000, 1), ".png"),
        "12000x12000_png": (np.tile(photo(1000, 1000, 2), (12, 12, 1)), ".png"),
    }
    peaks = {}
    for name, (pixels, suffix) in images.items():
        path = folder / f"{name}{suffix}"
        cv2.imwrite(str(path), pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90] if suffix == ".jpg" else [])
        del pixels
        command = [sys.executable, "-m", "grounddefake.cli", "detect", str(path)]
        peaks[name] = run_measured(command).peak_rss_mb
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--per-sample", action="store_true", help="print one line per sample")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats per image (best kept)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the peak-RSS runs on large photos")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    sys.path.insert(0, str(ROOT))
    analyze = _load_forensic()

    records = [json.loads(line) for line in (args.data / "manifest.jsonl").read_text().splitlines() if line.strip()]
    seconds = megapixels = 0.0
    correct = real_correct = reals = fake_correct = 0
    ious: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    for record in records:
        bgr = cv2.imread(str(args.data / record["image"]), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        best = float("inf")
        for _ in range(max(1, args.repeats)):
            start = time.perf_counter()
            analysis = analyze(rgb)
            best = min(best, time.perf_counter() - start)
        seconds += best
        megapixels += rgb.shape[0] * rgb.shape[1] / 1e6
        truth = record["label"]
        correct += analysis.label == truth
        line = f"{record['id']:28s} {truth:4s} -> {analysis.label:4s} {analysis.score:.2f}"
        if truth == "real":
            reals += 1
            real_correct += analysis.label == "real"
        else:
            fake_correct += analysis.label == "fake"
            gt = cv2.imread(str(args.data / record["mask"]), cv2.IMREAD_GRAYSCALE) > 127
            pred = box_mask(gt.shape, [f.box for f in analysis.findings])
            union = np.logical_or(gt, pred).sum()
            iou = float(np.logical_and(gt, pred).sum() / union) if union else 0.0
            ious.append(iou)
            kind = record.get("meta", {}).get("manipulation", "?")
            by_kind[kind].append(iou)
            line += f" IoU {iou:.2f} " + " ".join(f"{f.cue}:{f.score:.2f}" for f in analysis.findings)
        if args.per_sample:
            print(line)
    fakes = len(records) - reals
    spm = seconds / max(megapixels, 1e-9)
    print(f"forensic_seconds_per_megapixel: {spm:.3f}")
    print(
        f"forensic_budget_ratio: {spm / BUDGET_SECONDS_PER_MP:.2f}  "
        f"(measured / {BUDGET_SECONDS_PER_MP} s per MP budget; <= 1 passes)"
    )
    print(f"forensic_demo_accuracy: {correct / len(records):.3f}  ({correct}/{len(records)})")
    print(f"forensic_demo_real_accuracy: {real_correct / max(reals, 1):.3f}  ({real_correct}/{reals})")
    print(f"forensic_demo_fake_accuracy: {fake_correct / max(fakes, 1):.3f}  ({fake_correct}/{fakes})")
    print(f"forensic_demo_mean_iou: {float(np.mean(ious)) if ious else 0.0:.3f}")
    for kind in sorted(by_kind):
        print(f"forensic_demo_iou_{kind}: {float(np.mean(by_kind[kind])):.3f}  (n={len(by_kind[kind])})")
    if not args.skip_memory:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            for name, peak in detect_peak_rss(Path(tmp)).items():
                print(f"forensic_detect_peak_rss_mb_{name}: {peak:.0f}  (goal <= 1000)")


if __name__ == "__main__":
    main()
