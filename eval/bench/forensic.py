"""Benchmark the built-in forensic model: per manipulation kind, on the demo and on the demo rebuilt with three other
seeds; speed on one core, the weight file's size and peak memory.

Run from the repository root (the rebuilt demos need scikit-image and matplotlib, as ``data/build_demo.py``)::

    .venv/bin/python eval/bench/forensic.py [--seeds 1 2 3] [--data DIR] [--per-sample] [--skip-memory]

Protocol: predicted label = ``analysis.label``; predicted mask = union of the findings' boxes rasterised at image
size; IoU against the ground-truth mask (> 127) averaged over the fakes, a fake with no findings scoring 0. The
rebuilt demos are the same twelve photographs and kinds with other draws of places, shapes and strengths
(``build_demo.build(out, seed)``); none of them, nor the demo, is used to train or tune the model.

Speed: one core, ``analyze()`` on the demo's photos and on a photo at the working size (1672×1254). Goal: ≤ 0.5 s
per megapixel. Memory and the time a user waits: peak RSS and wall time of a whole ``grounddefake detect`` process
(built-in model) on generated photos: 4000×3000 JPEG and PNG, and a 12000×12000 PNG (tiled, under Pillow's
decompression-bomb limit). Goal: ≤ 1000 MB each.
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


def detect_processes(folder: Path) -> dict[str, tuple[float, float]]:
    """(peak RSS in MB, wall seconds from start to exit) of ``grounddefake detect`` on generated large photos, each
    in its own process."""
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
        measured = run_measured(command)
        peaks[name] = (measured.peak_rss_mb, measured.seconds)
    return peaks


def large_photo_seconds_per_mp(analyze, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """One core, ``analyze()`` on a photo at the built-in model's working size (1672×1254, what a 4000×3000 photo is
    analysed at), best of ``repeats``."""
    rgb = photo(1672, 1254, 3)
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        analyze(rgb)
        best = min(best, time.perf_counter() - start)
    return best / (rgb.shape[0] * rgb.shape[1] / 1e6)


def evaluate(analyze, folder: Path, repeats: int, per_sample: bool) -> dict:  # type: ignore[no-untyped-def]
    """Accuracy, per-kind IoU and seconds per megapixel of ``analyze`` on the manifest in ``folder``."""
    records = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines() if line.strip()]
    seconds = megapixels = 0.0
    kinds: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"correct": [], "iou": []})
    for record in records:
        rgb = cv2.cvtColor(cv2.imread(str(folder / record["image"]), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        best = float("inf")
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            analysis = analyze(rgb)
            best = min(best, time.perf_counter() - start)
        seconds += best
        megapixels += rgb.shape[0] * rgb.shape[1] / 1e6
        truth = record["label"]
        kind = "real" if truth == "real" else record.get("meta", {}).get("manipulation", "?")
        kinds[kind]["correct"].append(float(analysis.label == truth))
        line = f"{record['id']:28s} {truth:4s} -> {analysis.label:4s} {analysis.score:.2f}"
        if truth != "real":
            gt = cv2.imread(str(folder / record["mask"]), cv2.IMREAD_GRAYSCALE) > 127
            pred = box_mask(gt.shape, [f.box for f in analysis.findings])
            union = np.logical_or(gt, pred).sum()
            iou = float(np.logical_and(gt, pred).sum() / union) if union else 0.0
            kinds[kind]["iou"].append(iou)
            line += f" IoU {iou:.2f} " + " ".join(f"{f.cue}:{f.score:.2f}" for f in analysis.findings)
        if per_sample:
            print(line)
    correct = [c for k in kinds.values() for c in k["correct"]]
    ious = [i for k in kinds.values() for i in k["iou"]]
    return {
        "accuracy": float(np.mean(correct)),
        "real_accuracy": float(np.mean(kinds["real"]["correct"])) if kinds["real"]["correct"] else float("nan"),
        "mean_iou": float(np.mean(ious)) if ious else 0.0,
        "kinds": {
            k: {
                "accuracy": float(np.mean(v["correct"])),
                "iou": float(np.mean(v["iou"])) if v["iou"] else None,
                "n": len(v["correct"]),
            }
            for k, v in sorted(kinds.items())
        },
        "seconds_per_mp": seconds / max(megapixels, 1e-9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3], help="demo rebuilt with these seeds")
    parser.add_argument("--per-sample", action="store_true", help="print one line per sample")
    parser.add_argument("--repeats", type=int, default=2, help="timing repeats per image on the demo (best kept)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the peak-RSS runs on large photos")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    sys.path.insert(0, str(ROOT))
    analyze = _load_forensic()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sets = {"demo": args.data}
        if args.seeds:
            sys.path.insert(0, str(ROOT / "data"))
            from build_demo import build

            for seed in args.seeds:
                build(Path(tmp) / f"seed{seed}", seed)
                sets[f"seed {seed}"] = Path(tmp) / f"seed{seed}"
        results = {
            name: evaluate(analyze, folder, args.repeats if name == "demo" else 1, args.per_sample)
            for name, folder in sets.items()
        }
    kinds = sorted({k for r in results.values() for k in r["kinds"]})
    print("per kind: accuracy / mean box-mask IoU")
    print(" | ".join(["set", *kinds, "accuracy", "real acc", "mean IoU"]))
    for name, r in results.items():
        cells = []
        for kind in kinds:
            k = r["kinds"].get(kind)
            cells.append(
                "—" if k is None else f"{k['accuracy']:.2f}" + ("" if k["iou"] is None else f" / {k['iou']:.2f}")
            )
        print(" | ".join([name, *cells, f"{r['accuracy']:.3f}", f"{r['real_accuracy']:.3f}", f"{r['mean_iou']:.3f}"]))
    if len(results) > 1:
        mean = {
            key: float(np.mean([r[key] for r in results.values()])) for key in ("accuracy", "real_accuracy", "mean_iou")
        }
        print(
            f"mean over the {len(results)} sets: accuracy {mean['accuracy']:.3f}, real accuracy "
            f"{mean['real_accuracy']:.3f}, mean IoU {mean['mean_iou']:.3f}"
        )
    spm = results["demo"]["seconds_per_mp"]
    print(f"forensic_seconds_per_megapixel: {spm:.3f}  (one core, analyze() on the demo, best of {args.repeats})")
    print(f"forensic_budget_ratio: {spm / BUDGET_SECONDS_PER_MP:.2f}  (measured / {BUDGET_SECONDS_PER_MP} s per MP)")
    large = large_photo_seconds_per_mp(analyze, args.repeats)
    print(f"forensic_seconds_per_megapixel_large: {large:.3f}  (one core, analyze() on a 1672×1254 photo)")
    print(f"forensic_budget_ratio_large: {large / BUDGET_SECONDS_PER_MP:.2f}")
    weights = ROOT / "grounddefake" / "forensic" / "localizer.onnx"
    if weights.is_file():  # the learned localizer, once it ships
        print(f"forensic_weights_kb: {weights.stat().st_size / 1e3:.0f}  ({weights.name})")
    if not args.skip_memory:
        with tempfile.TemporaryDirectory() as tmp:
            for name, (peak, seconds) in detect_processes(Path(tmp)).items():
                print(f"forensic_detect_peak_rss_mb_{name}: {peak:.0f}  (goal <= 1000)")
                print(f"forensic_detect_seconds_{name}: {seconds:.2f}  (the whole process, start to exit)")


if __name__ == "__main__":
    main()
