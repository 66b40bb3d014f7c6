"""Build the grounddefake demo set: real photographs and locally manipulated copies with exact masks.

Run from the repository root (needs scikit-image, scikit-learn and matplotlib, which ship the photos)::

    python data/build_demo.py            # writes data/demo/ (with grounddefake importable, for its raster rule)
    python data/build_demo.py --seed 7 --out /tmp/demo-7   # the same photos and kinds, other draws

The build is deterministic (one seeded generator, fixed source order). Every image, real or manipulated, goes through
the same final encoder (JPEG, quality 95, 4:4:4), so neither the format nor the encoder can tell the classes apart.

Manipulations (two per photograph, cycling through the five kinds):

* ``inpaint``  object removal: an irregular blob is filled by OpenCV's Telea inpainting;
* ``copymove`` a rectangular block of the same photo is pasted elsewhere (ground truth: the pasted block only);
* ``splice``   a polygon from another photo, rescaled by 0.5–0.8× or 1.25–2×, is pasted in;
* ``resample`` a patch is replaced by an enlarged (×1.3–2, bicubic) crop of its own centre;
* ``smooth``   an elliptical patch is blurred with a Gaussian (σ 1.5–3).

Regions cover 2–10 % of the image, are placed at random among positions with at least median texture (a
manipulation of a flat sky is invisible by construction, and says nothing about a detector), and their ground-truth
mask is the exact set of pixels that changed by construction.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parent / "demo"
SEED = 20261121
JPEG_QUALITY = 95
MAX_SIDE = 800
KINDS = ("inpaint", "copymove", "splice", "resample", "smooth")
LABELS = {
    "inpaint": "object removed by inpainting",
    "copymove": "copy-moved block",
    "splice": "spliced from another photo",
    "resample": "resampled patch",
    "smooth": "smoothed patch",
}


@dataclass(frozen=True)
class Photo:
    """A real photograph and where it comes from."""

    name: str
    load: Callable[[], np.ndarray]
    credit: str


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        image = getattr(skimage.data, name)()
        return image[0] if isinstance(image, tuple) else image

    return load


def _sklearn(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(name)

    return load


def _grace_hopper() -> np.ndarray:
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


PHOTOS = (
    Photo("astronaut", _skimage("astronaut"), "scikit-image `astronaut`: NASA, public domain"),
    Photo("camera", _skimage("camera"), "scikit-image `camera`: Lav Varshney, CC0"),
    Photo("chelsea", _skimage("chelsea"), "scikit-image `chelsea`: Stefan van der Walt, CC0"),
    Photo("coffee", _skimage("coffee"), "scikit-image `coffee`: Rachel Michetti, CC0"),
    Photo("coins", _skimage("coins"), "scikit-image `coins`: Brooklyn Museum, no known copyright restrictions"),
    Photo("rocket", _skimage("rocket"), "scikit-image `rocket`: SpaceX, public domain"),
    Photo(
        "ihc",
        _skimage("immunohistochemistry"),
        "scikit-image `immunohistochemistry`: CMMI, no known copyright restrictions",
    ),
    Photo(
        "motorcycle",
        _skimage("stereo_motorcycle"),
        "scikit-image `stereo_motorcycle` (left view): Middlebury 2014 stereo benchmark (Scharstein et al.)",
    ),
    Photo("retina", _skimage("retina"), "scikit-image `retina`: Mikael Häggström, CC0 (downscaled ×0.5)"),
    Photo("china", _sklearn("china.jpg"), "scikit-learn `china.jpg`: danielbuechele (Flickr), CC BY 2.0"),
    Photo("flower", _sklearn("flower.jpg"), "scikit-learn `flower.jpg`: vultilion (Flickr), CC BY 2.0"),
    Photo("grace_hopper", _grace_hopper, "matplotlib `grace_hopper.jpg`: US Navy, public domain"),
)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Return an (H, W, 3) uint8 copy, downscaled (area filter) so the long side is at most MAX_SIDE."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3].astype(np.uint8)
    scale = MAX_SIDE / max(image.shape[:2])
    if scale < 1:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


def texture(image: np.ndarray) -> np.ndarray:
    """Per-pixel gradient magnitude of the grey image, (H, W) float32."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))


def place_box(
    rng: np.random.Generator, image: np.ndarray, avoid: tuple[int, int, int, int] | None = None
) -> tuple[int, int, int, int]:
    """A random (x1, y1, x2, y2) box of 2–10 % of the image, with at least median texture among candidates."""
    h, w = image.shape[:2]
    grad = texture(image)
    candidates = []
    for _ in range(64):
        area = rng.uniform(0.02, 0.10) * w * h
        aspect = rng.uniform(0.6, 1.6)
        bw = int(min(w - 16, np.sqrt(area * aspect)))
        bh = int(min(h - 16, area / max(bw, 1)))
        x1 = int(rng.integers(8, w - bw - 8))
        y1 = int(rng.integers(8, h - bh - 8))
        box = (x1, y1, x1 + bw, y1 + bh)
        if avoid is not None and _overlap(box, avoid, margin=8):
            continue
        candidates.append((float(grad[y1 : y1 + bh, x1 : x1 + bw].mean()), box))
    median = float(np.median([t for t, _ in candidates]))
    textured = [box for t, box in candidates if t >= median]
    return textured[int(rng.integers(len(textured)))]


def _overlap(a: tuple[int, ...], b: tuple[int, ...], margin: int) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def ellipse_mask(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """(H, W) bool mask of the ellipse inscribed in ``box``."""
    mask = np.zeros(shape, np.uint8)
    x1, y1, x2, y2 = box
    center = ((x1 + x2) // 2, (y1 + y2) // 2)
    axes = (max(1, (x2 - x1) // 2 - 1), max(1, (y2 - y1) // 2 - 1))
    cv2.ellipse(mask, center, axes, 0, 0, 360, 1, thickness=-1)
    return mask.astype(bool)


def blob_polygon(rng: np.random.Generator, box: tuple[int, int, int, int], n: int = 10) -> np.ndarray:
    """An irregular star-shaped polygon inside ``box``: (n, 2) float vertices, pixel edges at integers."""
    x1, y1, x2, y2 = box
    cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = rng.uniform(0.65, 1.0, n)
    xs = np.clip(cx + rx * radius * np.cos(angles), x1, x2)
    ys = np.clip(cy + ry * radius * np.sin(angles), y1, y2)
    return np.stack([xs, ys], axis=1).round(2)


def polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels whose centres lie inside ``polygon``, the rule grounddefake scores with."""
    from grounddefake.grounding import polygon_mask as rasterise

    return rasterise([tuple(p) for p in polygon], (shape[1], shape[0]))


def manipulate(
    kind: str, rng: np.random.Generator, image: np.ndarray, donor: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """Apply one manipulation. Returns (image, mask (H, W) bool, region for the manifest, parameters)."""
    out = image.copy()
    h, w = image.shape[:2]
    box = place_box(rng, image)
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    polygon = None
    params: dict = {}
    if kind == "inpaint":
        polygon = blob_polygon(rng, box)
        mask = polygon_mask((h, w), polygon)
        out = cv2.inpaint(image, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    elif kind == "copymove":
        src = place_box(rng, image, avoid=box)
        sx, sy = src[0], src[1]
        bw, bh = min(bw, src[2] - sx), min(bh, src[3] - sy)
        box = (x1, y1, x1 + bw, y1 + bh)
        out[y1 : y1 + bh, x1 : x1 + bw] = image[sy : sy + bh, sx : sx + bw]
        mask = np.zeros((h, w), bool)
        mask[y1 : y1 + bh, x1 : x1 + bw] = True
        params["source_box"] = [sx, sy, sx + bw, sy + bh]
    elif kind == "splice":
        scale = float(rng.choice([rng.uniform(0.5, 0.8), rng.uniform(1.25, 2.0)]))
        sw, sh = max(2, round(bw / scale)), max(2, round(bh / scale))
        dh, dw = donor.shape[:2]
        sw, sh = min(sw, dw), min(sh, dh)
        dx, dy = int(rng.integers(0, dw - sw + 1)), int(rng.integers(0, dh - sh + 1))
        patch = cv2.resize(donor[dy : dy + sh, dx : dx + sw], (bw, bh), interpolation=cv2.INTER_LINEAR)
        polygon = blob_polygon(rng, box)
        mask = polygon_mask((h, w), polygon)
        window = out[y1:y2, x1:x2]
        window[mask[y1:y2, x1:x2]] = patch[mask[y1:y2, x1:x2]]
        params["scale"] = round(scale, 3)
    elif kind == "resample":
        zoom = float(rng.uniform(1.3, 2.0))
        cw, ch = max(2, round(bw / zoom)), max(2, round(bh / zoom))
        cx, cy = x1 + (bw - cw) // 2, y1 + (bh - ch) // 2
        out[y1:y2, x1:x2] = cv2.resize(image[cy : cy + ch, cx : cx + cw], (bw, bh), interpolation=cv2.INTER_CUBIC)
        mask = np.zeros((h, w), bool)
        mask[y1:y2, x1:x2] = True
        params["zoom"] = round(zoom, 3)
    elif kind == "smooth":
        sigma = float(rng.uniform(1.5, 3.0))
        mask = ellipse_mask((h, w), box)
        blurred = cv2.GaussianBlur(image, (0, 0), sigma)
        out[mask] = blurred[mask]
        params["sigma"] = round(sigma, 3)
    else:
        raise ValueError(kind)
    # The ground truth is exactly the set of pixels the manipulation was allowed to change.
    ys, xs = np.nonzero(mask)
    tight = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    region: dict = {"box": tight, "label": LABELS[kind]}
    if polygon is not None:
        region["polygon"] = polygon.tolist()
    return out, mask, region, params


def write_jpeg(path: Path, image: np.ndarray) -> None:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(
        ".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, 0x111111]
    )
    assert ok
    path.write_bytes(data.tobytes())


def write_mask(path: Path, mask: np.ndarray) -> None:
    cv2.imwrite(str(path), mask.astype(np.uint8) * 255, [cv2.IMWRITE_PNG_BILEVEL, 1])


def build(out: Path = OUT, seed: int = SEED) -> list[dict]:
    """Write images, masks, manifest.jsonl and ATTRIBUTION.md under ``out``; return the manifest records.

    ``seed`` draws the regions and parameters (the demo's is ``SEED``); the photos and the kinds are the same."""
    rng = np.random.default_rng(seed)
    for sub in ("images", "masks"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    photos = [(p, as_rgb(p.load())) for p in PHOTOS]
    records = []
    for i, (photo, image) in enumerate(photos):
        grey = bool(np.all(image[:, :, 0] == image[:, :, 1]) and np.all(image[:, :, 1] == image[:, :, 2]))
        write_jpeg(out / "images" / f"{photo.name}.jpg", image)
        records.append(
            {
                "id": photo.name,
                "image": f"images/{photo.name}.jpg",
                "label": "real",
                "regions": [],
                "meta": {"source": photo.name, "manipulation": "none"},
            }
        )
        donor = photos[(i + 1) % len(photos)][1]
        if grey:
            donor = np.repeat(cv2.cvtColor(donor, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
        for k in range(2):
            kind = KINDS[(2 * i + k) % len(KINDS)]
            fake, mask, region, params = manipulate(kind, rng, image, donor)
            sample_id = f"{photo.name}-{kind}"
            write_jpeg(out / "images" / f"{sample_id}.jpg", fake)
            write_mask(out / "masks" / f"{sample_id}.png", mask)
            records.append(
                {
                    "id": sample_id,
                    "image": f"images/{sample_id}.jpg",
                    "label": "fake",
                    "regions": [region],
                    "mask": f"masks/{sample_id}.png",
                    "meta": {"source": photo.name, "manipulation": kind, **params},
                }
            )
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    credits = "\n".join(f"- `{p.name}`: {p.credit}" for p, _ in photos)
    (out / "ATTRIBUTION.md").write_text(
        "# Demo set: sources and licences\n\n"
        "Real photographs are taken from images that ship inside the scikit-image 0.26, scikit-learn 1.9 and\n"
        "matplotlib 3.11 wheels. Every manipulated image (`<name>-<kind>.jpg`) is a derivative of the photograph of\n"
        "the same name (and, for `splice`, of the next photograph in this list), made by `data/build_demo.py`.\n"
        "Derivatives of CC BY 2.0 photographs are shared under the same licence with the attribution below.\n\n"
        f"{credits}\n",
        encoding="utf-8",
    )
    return records


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    records = build(args.out, args.seed)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    fakes = sum(r["label"] == "fake" for r in records)
    real = len(records) - fakes
    print(f"wrote {len(records)} samples ({real} real, {fakes} fake), {size / 1e6:.1f} MB -> {args.out}")
