"""Manipulations generated on the fly to train the ``forensic`` model's learned localizer.

Independent of ``data/build_demo.py`` (which builds the demo set the model is evaluated on) and broader than it:
every kind has several algorithms, shapes, sizes and strengths, and the final image goes through a mixed JPEG
pipeline. Each call draws everything from the generator it is given, so a seed fixes the whole training set.

Kinds (``KINDS``), each returning the changed image and the exact mask of the pixels it was allowed to change:

* ``inpaint``: object removal by OpenCV's Telea or Navier-Stokes inpainting (radius 3–9), or a smooth fill
  (normalised-convolution blur of the surroundings, or the ring's mean colour with faint noise);
* ``splice``: a region of another photo, rescaled ×0.4–2.2 with a random interpolation, optionally colour-matched
  to the destination (per-channel mean and spread), optionally JPEG-compressed first, pasted with a hard or
  feathered edge;
* ``copymove``: a region of the same photo moved elsewhere, optionally rescaled ×0.85–1.15;
* ``resample``: a patch replaced by its own centre enlarged ×1.2–2 or shrunk and re-enlarged;
* ``blur``: Gaussian (σ 1–3.5) or median smoothing, or unsharp-mask sharpening of a region.

Shapes: rectangles, ellipses, star-shaped polygons and brush strokes, covering 1.5–12 % of the image. Real images get
the same history and global processing as fakes (a JPEG save, a JPEG save then a mild rescale, grey; sometimes a
global blur or sharpening; the final JPEG), so that a processed but unedited photograph is not evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

KINDS = ("inpaint", "splice", "copymove", "resample", "blur")
INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_AREA, cv2.INTER_LANCZOS4)


@dataclass(frozen=True)
class Generated:
    """One training image: RGB uint8, its (H, W) bool mask (empty for real) and what was done."""

    image: np.ndarray
    mask: np.ndarray
    kind: str
    note: str


def resize_long(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` scaled (area filter) so its long side is ``side``."""
    scale = side / max(image.shape[:2])
    size = (max(16, round(image.shape[1] * scale)), max(16, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def jpeg(image: np.ndarray, quality: int, subsampling: int = 0x111111) -> np.ndarray:
    """``image`` through a JPEG encode and decode (``subsampling`` 0x111111: 4:4:4, 0x221111: 4:2:0)."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(
        ".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, subsampling]
    )
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _box(
    rng: np.random.Generator, shape: tuple[int, int], image: np.ndarray | None = None
) -> tuple[int, int, int, int]:
    """A box of 1.5–12 % of the image; with ``image``, twice in three at above-median texture."""
    h, w = shape
    best = None
    textured = image is not None and rng.random() < 0.67
    grad = None
    if textured:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        grad = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    candidates = []
    for _ in range(24 if textured else 1):
        area = rng.uniform(0.015, 0.12) * w * h
        aspect = float(np.exp(rng.uniform(-0.6, 0.6)))
        bw = int(np.clip(np.sqrt(area * aspect), 12, w - 8))
        bh = int(np.clip(area / bw, 12, h - 8))
        x1, y1 = int(rng.integers(2, w - bw - 2)), int(rng.integers(2, h - bh - 2))
        box = (x1, y1, x1 + bw, y1 + bh)
        texture = float(grad[y1 : y1 + bh, x1 : x1 + bw].mean()) if grad is not None else 0.0
        candidates.append((texture, box))
    if textured:
        median = float(np.median([t for t, _ in candidates]))
        pool = [b for t, b in candidates if t >= median]
        best = pool[int(rng.integers(len(pool)))]
    return best or candidates[0][1]


def shape_mask(rng: np.random.Generator, shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A rectangle, ellipse, star-shaped polygon or brush stroke inside ``box``, as an (H, W) bool mask."""
    h, w = shape
    x1, y1, x2, y2 = box
    mask = np.zeros((h, w), np.uint8)
    pick = rng.random()
    if pick < 0.25:
        mask[y1:y2, x1:x2] = 1
    elif pick < 0.5:
        cv2.ellipse(
            mask,
            ((x1 + x2) // 2, (y1 + y2) // 2),
            (max(2, (x2 - x1) // 2), max(2, (y2 - y1) // 2)),
            float(rng.uniform(0, 180)) if rng.random() < 0.3 else 0.0,
            0,
            360,
            1,
            -1,
        )
    elif pick < 0.8:
        n = int(rng.integers(6, 14))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radius = rng.uniform(0.5, 1.0, n)
        cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
        points = np.stack([cx + rx * radius * np.cos(angles), cy + ry * radius * np.sin(angles)], 1)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    else:
        thickness = max(4, int(min(x2 - x1, y2 - y1) * rng.uniform(0.15, 0.35)))
        points = np.stack([rng.uniform(x1, x2, 5), rng.uniform(y1, y2, 5)], 1).astype(np.int32)
        cv2.polylines(mask, [points], False, 1, thickness)
    if mask.sum() < 64:
        mask[y1:y2, x1:x2] = 1
    return mask.astype(bool)


def _inpaint(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, _: np.ndarray) -> tuple[np.ndarray, str]:
    pick = rng.random()
    m8 = mask.astype(np.uint8)
    if pick < 0.6:
        method = cv2.INPAINT_TELEA if rng.random() < 0.6 else cv2.INPAINT_NS
        radius = int(rng.integers(3, 10))
        return cv2.inpaint(image, m8, radius, method), f"opencv inpaint {method} r{radius}"
    out = image.copy()
    if pick < 0.85:  # normalised convolution: the surroundings' blur grows into the hole
        sigma = float(rng.uniform(4, 14))
        keep = (1 - m8).astype(np.float32)
        num = cv2.GaussianBlur(image.astype(np.float32) * keep[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(keep, (0, 0), sigma)[..., None]
        fill = num / np.maximum(den, 1e-3)
        out[mask] = np.clip(fill[mask], 0, 255).astype(np.uint8)
        return out, f"smooth fill sigma {sigma:.1f}"
    ring = cv2.dilate(m8, np.ones((9, 9), np.uint8)).astype(bool) & ~mask
    colour = image[ring].mean(axis=0) if ring.any() else image.reshape(-1, 3).mean(axis=0)
    noise = rng.normal(0, rng.uniform(0.3, 2.0), (int(mask.sum()), 3))
    out[mask] = np.clip(colour + noise, 0, 255).astype(np.uint8)
    return out, "flat fill"


def _splice(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, donor: np.ndarray) -> tuple[np.ndarray, str]:
    ys, xs = np.nonzero(mask)
    x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    bw, bh = x2 - x1, y2 - y1
    scale = float(np.exp(rng.uniform(np.log(0.4), np.log(2.2))))
    sw, sh = min(donor.shape[1], max(4, round(bw / scale))), min(donor.shape[0], max(4, round(bh / scale)))
    dx, dy = int(rng.integers(0, donor.shape[1] - sw + 1)), int(rng.integers(0, donor.shape[0] - sh + 1))
    source = donor[dy : dy + sh, dx : dx + sw]
    if rng.random() < 0.3:
        source = jpeg(source, int(rng.integers(60, 95)))
    patch = cv2.resize(source, (bw, bh), interpolation=INTERPOLATIONS[int(rng.integers(len(INTERPOLATIONS)))])
    patch = patch.astype(np.float32)
    if rng.random() < 0.5:  # colour matching: the patch takes the destination's per-channel mean and spread
        target = image[y1:y2, x1:x2].reshape(-1, 3).astype(np.float32)
        flat = patch.reshape(-1, 3)
        patch = ((patch - flat.mean(0)) / (flat.std(0) + 1e-3) * target.std(0) + target.mean(0)).clip(0, 255)
    alpha = mask[y1:y2, x1:x2].astype(np.float32)
    feather = rng.random() < 0.4
    if feather:
        alpha = cv2.GaussianBlur(alpha, (0, 0), float(rng.uniform(0.7, 2.0))) * alpha
    window = image[y1:y2, x1:x2].astype(np.float32)
    out = image.copy()
    out[y1:y2, x1:x2] = np.clip(window * (1 - alpha[..., None]) + patch * alpha[..., None], 0, 255).astype(np.uint8)
    return out, f"splice x{scale:.2f}{' feathered' if feather else ''}"


def _copymove(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, _: np.ndarray) -> tuple[np.ndarray, str]:
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    bw, bh = x2 - x1, y2 - y1
    scale = float(rng.uniform(0.85, 1.15)) if rng.random() < 0.3 else 1.0
    sw, sh = min(w, max(4, round(bw / scale))), min(h, max(4, round(bh / scale)))
    for _ in range(20):
        sx, sy = int(rng.integers(0, w - sw + 1)), int(rng.integers(0, h - sh + 1))
        if abs(sx - x1) > bw // 2 or abs(sy - y1) > bh // 2:
            break
    patch = image[sy : sy + sh, sx : sx + sw]
    if (sw, sh) != (bw, bh):
        patch = cv2.resize(patch, (bw, bh), interpolation=cv2.INTER_LINEAR)
    out = image.copy()
    sub = mask[y1:y2, x1:x2]
    out[y1:y2, x1:x2][sub] = patch[sub]
    return out, f"copy-move x{scale:.2f}"


def _resample(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, _: np.ndarray) -> tuple[np.ndarray, str]:
    ys, xs = np.nonzero(mask)
    x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    bw, bh = x2 - x1, y2 - y1
    interpolation = INTERPOLATIONS[1 + int(rng.integers(len(INTERPOLATIONS) - 1))]
    if rng.random() < 0.7:
        zoom = float(rng.uniform(1.2, 2.0))
        cw, ch = max(2, round(bw / zoom)), max(2, round(bh / zoom))
        cx, cy = x1 + (bw - cw) // 2, y1 + (bh - ch) // 2
        patch = cv2.resize(image[cy : cy + ch, cx : cx + cw], (bw, bh), interpolation=interpolation)
        note = f"enlarged x{zoom:.2f}"
    else:
        shrink = float(rng.uniform(0.45, 0.8))
        small = cv2.resize(
            image[y1:y2, x1:x2], (max(2, round(bw * shrink)), max(2, round(bh * shrink))), interpolation=cv2.INTER_AREA
        )
        patch = cv2.resize(small, (bw, bh), interpolation=interpolation)
        note = f"down-up x{shrink:.2f}"
    out = image.copy()
    sub = mask[y1:y2, x1:x2]
    out[y1:y2, x1:x2][sub] = patch[sub]
    return out, note


def _blur(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, _: np.ndarray) -> tuple[np.ndarray, str]:
    pick = rng.random()
    if pick < 0.6:
        sigma = float(rng.uniform(1.0, 3.5))
        changed, note = cv2.GaussianBlur(image, (0, 0), sigma), f"gaussian sigma {sigma:.1f}"
    elif pick < 0.8:
        k = int(rng.choice([3, 5, 7]))
        changed, note = cv2.medianBlur(image, k), f"median {k}"
    else:
        amount = float(rng.uniform(0.8, 2.5))
        soft = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(1.0, 2.5))).astype(np.float32)
        changed = np.clip(image + amount * (image - soft), 0, 255).astype(np.uint8)
        note = f"sharpened x{amount:.1f}"
    out = image.copy()
    out[mask] = changed[mask]
    return out, note


MANIPULATIONS: dict[str, Callable[..., tuple[np.ndarray, str]]] = {
    "inpaint": _inpaint,
    "splice": _splice,
    "copymove": _copymove,
    "resample": _resample,
    "blur": _blur,
}


def global_processing(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """What real photographs go through too: sometimes a light global blur or sharpening."""
    pick = rng.random()
    if pick < 0.1:
        return cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.4, 0.9)))
    if pick < 0.2:
        soft = cv2.GaussianBlur(image, (0, 0), 1.0).astype(np.float32)
        return np.clip(image + rng.uniform(0.3, 1.0) * (image - soft), 0, 255).astype(np.uint8)
    return image


def final_encoding(rng: np.random.Generator, image: np.ndarray) -> tuple[np.ndarray, str]:
    """The last save: JPEG at quality 75–98 (4:4:4 or 4:2:0), once in eight times a lossless file."""
    if rng.random() < 0.125:
        return image, "png"
    quality = int(rng.integers(75, 99))
    subsampling = 0x111111 if rng.random() < 0.6 else 0x221111
    return jpeg(image, quality, subsampling), f"jpeg q{quality}"


def history(rng: np.random.Generator, photo: np.ndarray, side: int) -> np.ndarray:
    """``photo`` at long side ``side`` with one of the pasts a photograph has before anyone edits it: none, a JPEG
    save, or a JPEG save then a mild rescale (whose blocks and interpolation both leave traces over the whole
    image); once in ten times it is turned grey."""
    pick = rng.random()
    if pick < 0.3:
        base = jpeg(resize_long(photo, side), int(rng.integers(60, 96)))
    elif pick < 0.6:
        larger = resize_long(photo, round(side * rng.uniform(0.7, 1.6)))
        saved = jpeg(larger, int(rng.integers(60, 96)), 0x111111 if rng.random() < 0.5 else 0x221111)
        scale = side / max(saved.shape[:2])
        size = (max(16, round(saved.shape[1] * scale)), max(16, round(saved.shape[0] * scale)))
        base = cv2.resize(saved, size, interpolation=INTERPOLATIONS[1 + int(rng.integers(len(INTERPOLATIONS) - 1))])
    else:
        base = resize_long(photo, side)
    if rng.random() < 0.1:
        base = np.repeat(cv2.cvtColor(base, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    return base


def generate(rng: np.random.Generator, photo: np.ndarray, donor: np.ndarray, kind: str | None, side: int) -> Generated:
    """One training image from ``photo`` at long side ``side``: ``kind`` None is a real image."""
    base = global_processing(rng, history(rng, photo, side))
    h, w = base.shape[:2]
    if kind is None:
        image, note = base, "real"
        mask = np.zeros((h, w), bool)
    else:
        mask = shape_mask(rng, (h, w), _box(rng, (h, w), base))
        donor = resize_long(donor, int(side * rng.uniform(0.6, 1.4)))
        if base[:, :, 0].tobytes() == base[:, :, 1].tobytes():  # a grey photo gets a grey donor
            donor = np.repeat(cv2.cvtColor(donor, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
        image, note = MANIPULATIONS[kind](rng, base, mask, donor)
    image, encoding = final_encoding(rng, image)
    return Generated(image, mask, kind or "real", f"{note}; {encoding}")
