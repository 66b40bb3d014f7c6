"""Train the ``forensic`` model's learned localizer and write ``grounddefake/forensic/localizer.onnx``.

    python data/forensic_photos.py          # once: the training photographs (Debian and PyPI packages)
    python data/train_forensic.py           # seeded; about 20 minutes on 2 CPU cores (make train-forensic)

Photographs come from ``data/forensic_photos.py`` (never the demo's scikit-image, scikit-learn or matplotlib
photos); ``HELD_OUT`` of them (by name hash) are kept for validation. Each training image is one photo rescaled,
manipulated by ``data/forensic_fakes.py`` (or left real) and saved as the last step; its inputs are computed by
``grounddefake.forensic.features`` on the whole image, then cut into aligned crops. The network is trained with
binary cross-entropy plus a soft Dice term on its 1/8 grid and a multiple-instance term on each crop's peak, exported
to ONNX, and run through ``cv2.dnn`` on the held-out images to choose the region threshold (the best mean box IoU
over held-out fakes) and to fit the image-level calibration (a logistic regression of the map's peak, top-1 % and
median logits). Writes the ONNX file, ``localizer.json`` and ``docs/forensic-model-card.md`` (data, architecture,
size, the training curve, held-out metrics).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "data"))

from forensic_fakes import KINDS, generate  # noqa: E402

from grounddefake.forensic.features import CUE_CHANNELS, OUTPUT_STRIDE, PIXEL_CHANNELS, STRIDE, features  # noqa: E402

PHOTOS = Path.home() / ".cache" / "grounddefake" / "forensic-photos"
OUT = ROOT / "grounddefake" / "forensic"
CARD = ROOT / "docs" / "forensic-model-card.md"
SEED = 20261207
HELD_OUT = 0.12
CROP = 256
REAL_SHARE = 0.5
FALSE_ALARMS = 0.05
"""The verdict's operating point: this share of held-out real photographs scores above it (the 1 - FALSE_ALARMS
quantile of their scores, interpolated, so a small sample can exceed it by one photo)."""
SIDES = (400, 900)
WIDTHS = (24, 32, 48)
DILATIONS = (1, 2, 4, 8, 1)
PEAK_WEIGHT = 1.0


def held_out(name: str) -> bool:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 2**32 < HELD_OUT


def load_photos(folder: Path) -> tuple[list[Path], list[Path], list[dict]]:
    sources = json.loads((folder / "sources.json").read_text())
    files = sorted(folder / entry["file"] for entry in sources)
    return [f for f in files if not held_out(f.name)], [f for f in files if held_out(f.name)], sources


def read(path: Path) -> np.ndarray:
    import cv2

    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def draw(index: int, files: list[Path], seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Training image ``index``: (RGB, mask, kind), a function of the seed and the index only."""
    rng = np.random.default_rng([seed, index])
    photo = read(files[int(rng.integers(len(files)))])
    donor = read(files[int(rng.integers(len(files)))])
    kind = None if rng.random() < REAL_SHARE else KINDS[int(rng.integers(len(KINDS)))]
    side = int(rng.integers(SIDES[0], SIDES[1] + 1))
    made = generate(rng, photo, donor, kind, side)
    return made.image, made.mask, made.kind


def target_grid(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The share of each 8×8 cell of a padded (H, W) that the mask covers."""
    import cv2

    full = np.zeros(shape, np.float32)
    full[: mask.shape[0], : mask.shape[1]] = mask
    return cv2.resize(full, (shape[1] // OUTPUT_STRIDE, shape[0] // OUTPUT_STRIDE), interpolation=cv2.INTER_AREA)


def crops(args: tuple[int, list[Path], int]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """Two aligned crops of training image ``index``'s inputs and target (one on the region for a fake)."""
    index, files, seed = args
    image, mask, kind = draw(index, files, seed)
    found = features(image)
    _, h, w = found.pixels.shape
    target = target_grid(mask, (h, w))
    rng = np.random.default_rng([seed, index, 1])
    out = []
    for k in range(2):
        if kind != "real" and k == 0:
            ys, xs = np.nonzero(mask)
            cy = (ys.min() + ys.max()) / 2 + rng.uniform(-80, 80)
            cx = (xs.min() + xs.max()) / 2 + rng.uniform(-80, 80)
        else:
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        size_y, size_x = min(CROP, h), min(CROP, w)
        y = int(np.clip(cy - size_y / 2, 0, h - size_y)) // STRIDE * STRIDE
        x = int(np.clip(cx - size_x / 2, 0, w - size_x)) // STRIDE * STRIDE
        s = OUTPUT_STRIDE
        out.append(
            (
                _fit(found.pixels[:, y : y + size_y, x : x + size_x]).astype(np.float16),
                _fit(found.cues[:, y // s : (y + size_y) // s, x // s : (x + size_x) // s], s).astype(np.float16),
                _fit(target[None, y // s : (y + size_y) // s, x // s : (x + size_x) // s], s)[0].astype(np.float16),
                kind,
            )
        )
    return out


def _fit(array: np.ndarray, stride: int = 1) -> np.ndarray:
    """Pad a crop of a small image (reflect) up to CROP."""
    size = CROP // stride
    _, h, w = array.shape
    if h == size and w == size:
        return array
    return np.pad(array, ((0, 0), (0, size - h), (0, size - w)), mode="reflect")


def network():  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    class Localizer(nn.Module):
        """Three stride-2 convolutions to the 1/8 grid, the cue maps joined there, dilated context, a 1×1 head."""

        def __init__(self) -> None:
            super().__init__()
            a, b, c = WIDTHS
            self.down = nn.Sequential(*_block(PIXEL_CHANNELS, a, 2), *_block(a, b, 2), *_block(b, c, 2))
            layers, width = [], c + CUE_CHANNELS
            for d in DILATIONS:
                layers += _block(width, c, 1, d)
                width = c
            self.context = nn.Sequential(*layers)
            self.head = nn.Conv2d(c, 1, 1)

        def forward(self, pixels: torch.Tensor, cues: torch.Tensor) -> torch.Tensor:
            return self.head(self.context(torch.cat([self.down(pixels), cues], 1)))

    def _block(cin: int, cout: int, stride: int, dilation: int = 1) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]

    return Localizer()


def loss_of(logits, target):  # type: ignore[no-untyped-def]
    import torch

    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], target)
    p = torch.sigmoid(logits[:, 0])
    inter = (p * target).sum((1, 2))
    dice = 1 - (2 * inter + 1) / (p.sum((1, 2)) + target.sum((1, 2)) + 1)
    has = (target.sum((1, 2)) > 0).float()
    # multiple-instance term: the crop's strongest cell says whether it holds an edit, so that the map's peak, which
    # the image-level head reads, stays low on real photographs and high on edited ones
    peak = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0].amax((1, 2)), has)
    return bce + 0.5 * (dice * has).sum() / has.sum().clamp(min=1) + PEAK_WEIGHT * peak


def box_iou_of(regions, mask: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    """Mask IoU of the union of region boxes against the ground-truth mask (the scorer's rule for boxes)."""
    predicted = np.zeros(mask.shape, bool)
    for region in regions:
        x1, y1, x2, y2 = (round(v) for v in region.box)
        predicted[y1:y2, x1:x2] = True
    union = (predicted | mask).sum()
    return float((predicted & mask).sum() / union) if union else 1.0


def design_of(x: np.ndarray) -> np.ndarray:
    """``x`` with a column of ones for the bias: the rows the logistic weights multiply."""
    return np.column_stack([x, np.ones(len(x))])


def fit_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights (one per column of ``x``, then the bias) of a logistic regression of y on x (Newton's method, a light
    ridge for stability)."""
    design = design_of(x)
    w = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ w))
        grad = design.T @ (p - y) + 1e-3 * w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + 1e-3 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def operating_point(x: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The logistic fit with its intercept lowered, if need be, to the ``1 - FALSE_ALARMS`` quantile of the real rows'
    scores (the same fit under a lower prior of edits: the slopes stay, the prior odds shift)."""
    w = fit_logistic(x, truth)
    real = design_of(x)[truth == 0] @ w
    w[-1] -= max(0.0, float(np.quantile(real, 1 - FALSE_ALARMS)))
    return w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--images", type=int, default=5000, help="training images (two crops each)")
    parser.add_argument("--val-images", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--card", type=Path, default=CARD)
    parser.add_argument("--dump", type=Path, help="also save the held-out maps and masks (npz) for analysis")
    args = parser.parse_args()
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    train_files, val_files, sources = load_photos(args.photos)
    print(f"{len(train_files)} training photos, {len(val_files)} held out", flush=True)
    # the crops go straight into preallocated float16 arrays (about 1 MB a crop): no second copy is ever held
    count = 2 * args.images
    s = OUTPUT_STRIDE
    pixels_np = np.empty((count, PIXEL_CHANNELS, CROP, CROP), np.float16)
    cues_np = np.empty((count, CUE_CHANNELS, CROP // s, CROP // s), np.float16)
    targets_np = np.empty((count, CROP // s, CROP // s), np.float16)
    with Pool(os.cpu_count() or 1) as pool:
        tasks = [(i, train_files, args.seed) for i in range(args.images)]
        for i, group in enumerate(pool.imap(crops, tasks, chunksize=8)):
            for j, (p, c, t, _) in enumerate(group):
                pixels_np[2 * i + j], cues_np[2 * i + j], targets_np[2 * i + j] = p, c, t
    pixels, cues, targets = map(torch.from_numpy, (pixels_np, cues_np, targets_np))
    generated = time.perf_counter() - start
    print(f"{count} crops in {generated:.0f} s", flush=True)

    model = network()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * math.ceil(count / args.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=steps, pct_start=0.1)
    curve = []
    order_rng = np.random.default_rng(args.seed)
    for epoch in range(args.epochs):
        model.train()
        order = order_rng.permutation(count)
        total, seen = 0.0, 0
        for i in range(0, len(order), args.batch):
            batch = torch.from_numpy(order[i : i + args.batch])
            logits = model(pixels[batch].float(), cues[batch].float())
            loss = loss_of(logits, targets[batch].float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total, seen = total + loss.item() * len(batch), seen + len(batch)
        curve.append({"epoch": epoch + 1, "loss": total / seen, "seconds": round(time.perf_counter() - start)})
        print(f"epoch {epoch + 1}: loss {total / seen:.4f} ({curve[-1]['seconds']} s)", flush=True)

    model.eval()
    weights = args.out / "localizer.onnx"
    export(model, weights)
    settings, metrics = calibrate(val_files, args, weights)
    (args.out / "localizer.json").write_text(json.dumps(settings, indent=2) + "\n")
    seconds = time.perf_counter() - start
    write_card(
        sources,
        train_files,
        val_files,
        args,
        curve,
        metrics,
        settings,
        weights,
        generated,
        seconds,
        sum(p.numel() for p in model.parameters()),
    )
    print(f"done in {seconds / 60:.1f} min: {weights} ({weights.stat().st_size / 1e3:.0f} kB); held out: {metrics}")


def export(model, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Write ``model`` as ONNX with dynamic height and width (what ``cv2.dnn`` runs at inference)."""
    import torch

    example = (torch.zeros(1, PIXEL_CHANNELS, CROP, CROP), torch.zeros(1, CUE_CHANNELS, CROP // 8, CROP // 8))
    dynamic = {"pixels": {2: "h", 3: "w"}, "cues": {2: "h8", 3: "w8"}, "logits": {2: "h8", 3: "w8"}}
    torch.onnx.export(
        model,
        example,
        str(path),
        input_names=["pixels", "cues"],
        output_names=["logits"],
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )


def calibrate(val_files: list[Path], args: argparse.Namespace, weights: Path) -> tuple[dict, dict]:
    """Threshold and calibration on held-out photos, through the exported network and ``cv2.dnn``."""
    import grounddefake.forensic.learned as learned

    learned.WEIGHTS = weights
    learned._local.__dict__.clear()
    rows = []
    for index in range(args.val_images):
        image, mask, kind = draw(10_000_000 + index, val_files, args.seed)
        found = features(image)
        grid = learned.logits(found.pixels, found.cues)
        h, w = image.shape[:2]
        grid = grid[: -(-h // OUTPUT_STRIDE), : -(-w // OUTPUT_STRIDE)]
        rows.append((kind, mask, grid, (w, h)))
    thresholds = [round(t, 2) for t in np.arange(0.3, 0.96, 0.05)]
    mean_iou = {}
    for t in thresholds:
        ious = [box_iou_of(learned.marked(g, t, size), m) for k, m, g, size in rows if k != "real"]
        mean_iou[t] = float(np.mean(ious))
    threshold = max(mean_iou, key=mean_iou.__getitem__)
    if args.dump:
        np.savez_compressed(
            args.dump,
            kinds=np.array([k for k, _, _, _ in rows]),
            **{f"grid{i}": g for i, (_, _, g, _) in enumerate(rows)},
            **{f"mask{i}": np.packbits(m) for i, (_, m, _, _) in enumerate(rows)},
            shapes=np.array([m.shape for _, m, _, _ in rows]),
        )
    x = np.array([learned.map_statistics(g) for _, _, g, _ in rows])
    truth = np.array([k != "real" for k, _, _, _ in rows], float)
    weights_all = operating_point(x, truth)
    settings = {
        "threshold": threshold,
        "calibration": {
            "peak": weights_all[0],
            "top": weights_all[1],
            "median": weights_all[2],
            "intercept": weights_all[3],
        },
        "seed": args.seed,
    }
    # the verdicts reported are cross-fitted: each half of the held-out images judged by the fit on the other half
    verdicts = np.zeros(len(rows), bool)
    halves = np.arange(len(rows)) % 2
    for half in (0, 1):
        w = operating_point(x[halves != half], truth[halves != half])
        verdicts[halves == half] = design_of(x[halves == half]) @ w >= 0
    per_kind = {}
    for kind in ("real", *KINDS):
        picked = [i for i, (k, _, _, _) in enumerate(rows) if k == kind]
        if not picked:
            continue
        accuracy = float(np.mean([verdicts[i] == (kind != "real") for i in picked]))
        entry = {"n": len(picked), "accuracy": round(accuracy, 3)}
        if kind != "real":
            ious = [
                box_iou_of(learned.marked(rows[i][2], threshold, rows[i][3]), rows[i][1]) if verdicts[i] else 0.0
                for i in picked
            ]
            entry["iou"] = round(float(np.mean(ious)), 3)
        per_kind[kind] = entry
    metrics = {
        "accuracy": round(float(np.mean(verdicts == truth.astype(bool))), 3),
        "threshold_mean_iou": {str(k): round(v, 3) for k, v in mean_iou.items()},
        "per_kind": per_kind,
    }
    return settings, metrics


def write_card(sources, train_files, val_files, args, curve, metrics, settings, weights, generated, seconds, params):  # type: ignore[no-untyped-def]
    by_source: dict[str, dict] = {}
    for entry in sources:
        key = f"{entry['package']} {entry['version']}"
        by_source.setdefault(key, {"licence": entry["licence"], "n": 0})["n"] += 1
    lines = [
        "# The `forensic` model's learned localizer: model card",
        "",
        "Written by `data/train_forensic.py`; do not edit by hand (rerun `make train-forensic`).",
        "",
        "## What it is",
        "",
        f"A fully convolutional network of {params:,} parameters ({weights.stat().st_size / 1e3:.0f} kB as ONNX), run "
        "by OpenCV's `cv2.dnn` on the CPU (no torch at inference). Inputs (`grounddefake/forensic/features.py`): luma "
        "and chroma, four SRM-style high-pass residuals normalised by the image's own median and truncated, a JPEG "
        "8×8 grid channel, and the training-free blur, noise and resampling z-maps joined at the 1/8 grid. Layers: "
        f"three 3×3 stride-2 convolutions ({', '.join(map(str, WIDTHS))} channels), five dilated 3×3 convolutions "
        f"(dilations {', '.join(map(str, DILATIONS))}), batch norm and ReLU, a 1×1 head: one logit per 8×8 cell.",
        "",
        "It finds **local** edits: inpainting and smooth fills, splices, copy-moves, resampled and blurred or "
        "sharpened patches. It cannot see an image generated in full, which has no inconsistency between its "
        "parts, and it was never shown one.",
        "",
        "## Data",
        "",
        f"{len(sources)} photographs from Debian and PyPI packages (`data/forensic_photos.py` fetches them), none from "
        "scikit-image, scikit-learn or matplotlib, whose sample photos build the demo set: "
        f"{len(train_files)} for training, {len(val_files)} held out (by name hash). `docs/forensic-photos.md` lists "
        "what was inspected, what was kept and why the rest was left out.",
        "",
        "| source | licence | photos |",
        "|---|---|---|",
        *[f"| {k} | {v['licence']} | {v['n']} |" for k, v in sorted(by_source.items())],
        "",
        f"{args.images} training images ({REAL_SHARE:.0%} real), each a photo rescaled to a long side of "
        f"{SIDES[0]}–{SIDES[1]} px with one of three pasts (none, a JPEG save, a JPEG save then a mild rescale; "
        "grey one time in ten), edited by `data/forensic_fakes.py` "
        f"({', '.join(KINDS)}) or left real, and saved as JPEG (quality 75–98, 4:4:4 or 4:2:0) or PNG; two aligned "
        "256-px crops each. Seed "
        f"{args.seed}; generation took {generated:.0f} s.",
        "",
        "## Training",
        "",
        "Binary cross-entropy plus half a soft Dice term on the 1/8 grid, plus "
        f"{PEAK_WEIGHT} × the cross-entropy of each crop's peak logit against whether the crop holds an edit; "
        f"AdamW (lr {args.lr}, one-cycle), batch "
        f"{args.batch}, {args.epochs} epochs; {seconds / 60:.1f} minutes in all on this machine's CPU.",
        "",
        "| epoch | loss | elapsed s |",
        "|---|---|---|",
        *[f"| {c['epoch']} | {c['loss']:.4f} | {c['seconds']} |" for c in curve],
        "",
        "## Held-out photos (chosen and measured through `cv2.dnn`)",
        "",
        f"Region threshold {settings['threshold']} (the best mean box IoU over held-out fakes); P(fake) = "
        f"σ({settings['calibration']['peak']:.3f} · peak logit + {settings['calibration']['top']:.3f} · mean of the "
        f"top 1 % of logits + {settings['calibration']['median']:.3f} · median logit + "
        f"{settings['calibration']['intercept']:.3f}), a logistic regression on the held-out "
        f"images whose intercept is lowered, if need be, to the {1 - FALSE_ALARMS:.0%} quantile of the held-out real "
        f"photographs' scores ({FALSE_ALARMS:.0%} of them above 0.5). Accuracy {metrics['accuracy']} over "
        f"{args.val_images} held-out images, each half judged by the fit on the other half (cross-fitted). "
        "These are the localizer alone (the built-in model also runs "
        "copy-move matching), on held-out edits drawn like the training ones: a third of them placed anywhere, flat "
        "areas included, and some saved at JPEG quality 75, where many edits leave no trace a detector could see.",
        "",
        "| kind | n | accuracy | mean box IoU |",
        "|---|---|---|---|",
        *[f"| {k} | {v['n']} | {v['accuracy']} | {v.get('iou', '—')} |" for k, v in metrics["per_kind"].items()],
        "",
    ]
    args.card.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
