"""Ground regions (boxes and polygons) into pixel masks and heatmaps; read ground-truth masks.

One rule for every shape: pixel (i, j) belongs to a region when its centre (i + 0.5, j + 0.5) lies inside it.
Coordinates are continuous, pixel edges at integers: a box with integer corners covers exactly (x2 - x1) × (y2 - y1)
pixels, and a polygon is filled by an exact scanline rule (pycocotools approximates the same rule to within a pixel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from grounddefake.image_files import ImageError, open_image
from grounddefake.types import Box, Region, Sample, Size


def box_pixel_range(box: Box, size: Size) -> tuple[int, int, int, int]:
    """Index range (c0, r0, c1, r1), end exclusive, of the pixels whose centres lie in ``box``, clipped."""
    w, h = size
    x1, y1, x2, y2 = box
    c0, c1 = max(0, math.ceil(x1 - 0.5)), min(w, math.ceil(x2 - 0.5))
    r0, r1 = max(0, math.ceil(y1 - 0.5)), min(h, math.ceil(y2 - 0.5))
    return c0, r0, c1, r1


def polygon_mask(polygon: Sequence[tuple[float, float]], size: Size) -> np.ndarray:
    """(H, W) bool mask of the pixels whose centres lie inside ``polygon`` (vertices (x, y), edges at integers).

    Exact even-odd scanline fill: for each pixel row, the polygon's edges are cut at the row's centre line
    (half-open in y, so a vertex on the line is counted once) and the pixels whose centres fall between
    successive crossings are set.
    """
    w, h = size
    mask = np.zeros((h, w), bool)
    points = np.asarray(polygon, np.float64)
    if len(points) < 3 or not np.isfinite(points).all():
        return mask
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    rows = np.arange(max(0, math.floor(y0.min())), min(h, math.ceil(y0.max())))
    if rows.size == 0:
        return mask
    yc = rows[:, None] + 0.5  # (rows, 1) against (edges,)
    crosses = (y0 <= yc) != (y1 <= yc)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = x0 + (yc - y0) * (x1 - x0) / (y1 - y0)
    xs = np.where(crosses, xs, np.inf)
    xs.sort(axis=1)
    for row, cuts in zip(rows, xs, strict=True):
        cuts = cuts[np.isfinite(cuts)]
        for left, right in zip(cuts[0::2], cuts[1::2], strict=False):
            c0, c1 = max(0, math.ceil(left - 0.5)), min(w, math.ceil(right - 0.5))
            if c1 > c0:
                mask[row, c0:c1] = True
    return mask


def region_mask(region: Region, size: Size) -> np.ndarray:
    """(H, W) bool mask of one region: its polygon when it has one, else its box."""
    w, h = size
    if region.polygon is not None:
        return polygon_mask(region.polygon, size)
    mask = np.zeros((h, w), bool)
    c0, r0, c1, r1 = box_pixel_range(region.box, size)
    if c1 > c0 and r1 > r0:
        mask[r0:r1, c0:c1] = True
    return mask


def regions_to_mask(regions: Sequence[Region], size: Size) -> np.ndarray:
    """(H, W) bool union of ``regions`` at ``size`` = (W, H)."""
    w, h = size
    mask = np.zeros((h, w), bool)
    for region in regions:
        mask |= region_mask(region, size)
    return mask


def clip_box(box: Box, size: Size) -> Box:
    """``box`` with each coordinate clamped into a ``size`` = (W, H) image (it may be left without area).

    >>> clip_box((-5.0, 10.0, 1e10, 20.0), (100, 50))
    (0.0, 10.0, 100, 20.0)
    """
    w, h = size
    x1, y1, x2, y2 = box
    return (min(max(x1, 0.0), w), min(max(y1, 0.0), h), min(max(x2, 0.0), w), min(max(y2, 0.0), h))


def clip_regions(regions: Sequence[Region], size: Size, what: str = "region") -> tuple[tuple[Region, ...], list[str]]:
    """``regions`` inside a ``size`` = (W, H) image: boxes clipped, polygon vertices clamped to the border, regions
    left without area dropped; one note per fix (ground truth gets the sanitising predictions get from the parser).

    >>> kept, notes = clip_regions([Region((-5, 10, 1e10, 20)), Region((200, 200, 300, 300))], (100, 50))
    >>> kept[0].box, notes
    ((0.0, 10.0, 100.0, 20.0), ['region 0: clipped to the image 100x50', 'region 1: dropped, no area inside the image'])
    """
    w, h = size
    kept, notes = [], []
    for i, region in enumerate(regions):
        box = tuple(float(v) for v in clip_box(region.box, size))
        polygon = region.polygon
        if polygon is not None:
            polygon = tuple((float(min(max(x, 0.0), w)), float(min(max(y, 0.0), h))) for x, y in polygon)
        if not (box[2] > box[0] and box[3] > box[1]):
            notes.append(f"{what} {i}: dropped, no area inside the image")
            continue
        if box != tuple(map(float, region.box)) or polygon != region.polygon:
            notes.append(f"{what} {i}: clipped to the image {w}x{h}")
            region = Region(box, polygon, region.label, region.score, region.point)
        kept.append(region)
    return tuple(kept), notes


def region_level(region: Region) -> float:
    """A region's heatmap value: its score clipped to [0, 1]; 1 without a score or with a non-finite one."""
    score = region.score
    if score is None or not math.isfinite(score):
        return 1.0
    return min(max(float(score), 0.0), 1.0)


def regions_to_heatmap(regions: Sequence[Region], size: Size) -> np.ndarray:
    """(H, W) float32 in [0, 1]: per pixel, the highest level (:func:`region_level`) of the regions covering it."""
    w, h = size
    heat = np.zeros((h, w), np.float32)
    for region in sorted(regions, key=region_level):
        covered = region_mask(region, size)
        heat[covered] = np.maximum(heat[covered], region_level(region))
    return heat


def load_mask(path: str | Path, size: Size | None = None) -> np.ndarray:
    """Read a ground-truth mask as (H, W) bool.

    A pixel is set when its grey value is above half the range: > 127.5 for 8-bit masks (the IMDL-BenCo rule),
    > 0.5 for masks stored as 0/1, > 32767.5 for 16-bit masks. Where the mask has an alpha channel, transparent
    pixels are unset (no compositing: a transparent pixel is not "white").

    Raises:
        ImageError: unreadable, or its size differs from ``size`` (W, H).
    """
    with open_image(path, "mask") as img:
        img.load()
        if img.mode in ("L", "1"):  # the common case, without a float copy: 8-bit grey or 1-bit
            grey = np.asarray(img.convert("L") if img.mode == "1" else img)
            peak = int(grey.max(initial=0))
            mask = grey > (0 if peak <= 1 else 127)
            return _checked(mask, path, size)
        values, top = _mask_values(img)
    if values.size and values.max() <= 1:
        top = 1.0
    return _checked(values > top / 2, path, size)


def _checked(mask: np.ndarray, path: str | Path, size: Size | None) -> np.ndarray:
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        raise ImageError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]}, image is {size[0]}x{size[1]}")
    return mask


def _mask_values(img: Image.Image) -> tuple[np.ndarray, float]:
    """(H, W) float grey values of a mask image and the top of their range."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(img, np.float64)
        return values, 65535.0 if values.max(initial=0) > 255 else 255.0
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), np.float64)
        return rgba[..., :3].mean(axis=2) * (rgba[..., 3] > 127.5), 255.0
    return np.asarray(img.convert("RGB"), np.float64).mean(axis=2), 255.0


def truth_mask(sample: Sample, size: Size) -> np.ndarray | None:
    """The ground-truth mask of ``sample`` at image ``size``: its mask file, else its regions; None without either."""
    if sample.mask is not None:
        return load_mask(sample.mask, size)
    if sample.regions:
        return regions_to_mask(sample.regions, size)
    return None


def scale_regions(regions: Sequence[Region], source: Size, target: Size) -> tuple[Region, ...]:
    """Regions given in pixels of a ``source``-sized image, in pixels of the same image at ``target`` size.

    >>> scale_regions([Region((10, 20, 30, 40))], (100, 100), (50, 200))[0].box
    (5.0, 40.0, 15.0, 80.0)
    """
    if tuple(source) == tuple(target):
        return tuple(regions)
    sx, sy = target[0] / source[0], target[1] / source[1]
    scaled = []
    for r in regions:
        box = (r.box[0] * sx, r.box[1] * sy, r.box[2] * sx, r.box[3] * sy)
        polygon = None if r.polygon is None else tuple((x * sx, y * sy) for x, y in r.polygon)
        point = None if r.point is None else (r.point[0] * sx, r.point[1] * sy)
        scaled.append(Region(box, polygon, r.label, r.score, point))
    return tuple(scaled)


def load_heatmap(path: str | Path, size: Size | None = None) -> np.ndarray:
    """A ground-truth heatmap as (H, W) float in [0, 1] (8-bit /255, 16-bit /65535), resized to ``size`` if given.

    Raises:
        ImageError: unreadable.
    """
    with open_image(path, "heatmap") as img:
        img.load()
        if img.mode.startswith("I"):
            values = np.asarray(img, np.float64) / 65535.0
        else:
            values = np.asarray(img.convert("L"), np.float64) / 255.0
    if size is not None and (values.shape[1], values.shape[0]) != tuple(size):
        import cv2

        values = cv2.resize(values, tuple(size), interpolation=cv2.INTER_LINEAR)
    return np.clip(values, 0.0, 1.0)
