"""Copy-move cue: a region duplicated elsewhere in the same image.

Candidates come from two independent proposals: the autocorrelation of the contrast-normalised high-pass image (one
FFT: a block copied by a shift d adds a sharp peak at d, whatever the content) and ORB keypoints matched against
the image itself (robust where periodic structures crowd the autocorrelation). Each candidate shift is then
verified densely: a pixel is duplicated when, over a JPEG block (8×8), the two copies differ by less than
``MATCH_RATIO`` of how much the content differs from itself one pixel away (a texture-relative test, so flat areas,
where everything matches everything, never qualify), and the duplicated area must be a connected region of at least
``MIN_AREA`` pixels.

Which side is the pasted copy is decided from the seam: pasting leaves a discontinuity along the border of the
destination that the source, embedded in its own surroundings, does not have. The side whose border step is at
least ``SEAM_RATIO`` times the other's is called the copy; otherwise both are reported as ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._grid import CELL

BLOCK = 8
MATCH_RATIO = 0.5
GROW_RATIO = 1.0  # closer than the content is to its own neighbour: grows a seed through low-texture blocks
MIN_SELF_DIFF = 1.0  # grey levels: below this the content is flat and matching is meaningless
MIN_AREA = 4 * CELL * CELL  # same minimum as the other cues: 2×2 cells
MIN_SHIFT = CELL
CANDIDATES = 6
KEYPOINTS = 1000  # ORB keypoints per image at most
G2NN_RATIO = 0.5  # Amerini et al.'s g2NN threshold
KEYPOINT_SUPPORT = 2  # matches agreeing on a shift: one match alone can be a coincidence
SNAP = 3  # px: how far a keypoint shift may be from the exact one
SEAM_RATIO = 1.5
SEAM_REACH = 3  # px: how far the box edge may sit from the true paste border


@dataclass(frozen=True)
class CopyMove:
    """A verified duplicated pair.

    Attributes:
        copy_box: (x1, y1, x2, y2) of the side judged to be the pasted copy (or the first side if ambiguous).
        source_box: (x1, y1, x2, y2) of the other side.
        shift: (dx, dy) from the copy to the source, pixels.
        area: duplicated pixels (one side).
        match_ratio: median over the region of copy difference / one-pixel self difference.
        seam_ratio: border step of the copy side over that of the source side (>= 1).
        decided: whether the seams tell the two sides apart.
    """

    copy_box: tuple[float, float, float, float]
    source_box: tuple[float, float, float, float]
    shift: tuple[int, int]
    area: int
    match_ratio: float
    seam_ratio: float
    decided: bool


def _highpass(grey: np.ndarray) -> np.ndarray:
    detail = grey - cv2.GaussianBlur(grey, (0, 0), 1.5)
    energy = cv2.GaussianBlur(detail * detail, (0, 0), 4.0)
    # Equalise contrast so every textured pixel votes alike; the median energy keeps flat areas from being amplified.
    return detail / np.sqrt(energy + float(np.median(energy)) + 1e-6)


def _autocorrelation(grey: np.ndarray) -> np.ndarray:
    """The circular autocorrelation of the contrast-normalised high-pass image, zero shift at the centre."""
    spectrum = cv2.dft(_highpass(grey), flags=cv2.DFT_COMPLEX_OUTPUT)
    power = cv2.mulSpectrums(spectrum, spectrum, 0, conjB=True)
    return np.fft.fftshift(cv2.idft(power, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE))


def _candidate_shifts(corr: np.ndarray) -> list[tuple[int, int]]:
    """Shifts (dy, dx) of the strongest isolated autocorrelation peaks, both aliases of the circular correlation."""
    h, w = corr.shape
    # Peaks must stand out from their neighbourhood: straight edges give ridges, texture a smooth hump.
    # Axis-parallel ridges come from straight horizontal/vertical structures; a 1-D mean along each axis removes them.
    sharp = corr - np.maximum(cv2.blur(corr, (15, 1)), cv2.blur(corr, (1, 15)))
    cy, cx = h // 2, w // 2
    sharp[max(0, cy - MIN_SHIFT) : cy + MIN_SHIFT + 1, max(0, cx - MIN_SHIFT) : cx + MIN_SHIFT + 1] = -np.inf
    local_max = sharp >= cv2.dilate(sharp, np.ones((5, 5), np.uint8))
    ys, xs = np.nonzero(local_max & np.isfinite(sharp))
    order = np.argsort(sharp[ys, xs])[::-1]
    shifts: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    for i in order:
        dy, dx = int(ys[i]) - cy, int(xs[i]) - cx
        key = (abs(dy), abs(dx)) if dy * dx >= 0 else (abs(dy), -abs(dx))  # d and -d are the same pair
        if key in seen:
            continue
        seen.add(key)
        for ay in {dy, dy - h if dy > 0 else dy + h}:
            for ax in {dx, dx - w if dx > 0 else dx + w}:
                if abs(ay) < h and abs(ax) < w:
                    shifts.append((ay, ax))
        if len(seen) >= CANDIDATES:
            break
    return shifts


def _keypoint_shifts(grey: np.ndarray) -> list[tuple[int, int]]:
    """Shifts (dy, dx) supported by at least ``KEYPOINT_SUPPORT`` ORB matches of the image against itself.

    A second, independent proposal (Amerini et al., 2011, with SIFT; ORB's binary descriptors, compared by Hamming
    distance, take a quarter of SIFT's time and verified the same copies on the demo sets, 28 of SIFT's 30 on
    generated held-out ones): a keypoint's best match other than itself is kept when it is clearly better than the
    next one (the g2NN test, distance ratio < ``G2NN_RATIO``), so repetitive texture, where many matches are equally
    good, proposes nothing. Matches closer than ``MIN_SHIFT`` are the same structure seen twice by the detector, not
    a moved block. Keypoint positions are estimates to a pixel or
    so of a pyramid level; the exact shift, within ``SNAP`` pixels, is where the neighbourhoods of the matched
    keypoints and their copies differ least.
    """
    image = np.clip(grey, 0, 255).astype(np.uint8)
    keypoints, descriptors = cv2.ORB_create(nfeatures=KEYPOINTS, fastThreshold=5).detectAndCompute(image, None)
    if descriptors is None or len(keypoints) < 3:
        return []
    votes: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for matches in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(descriptors, descriptors, k=3):
        others = [m for m in matches if m.trainIdx != m.queryIdx][:2]
        if len(others) < 2:
            continue
        best, second = others
        if best.distance >= G2NN_RATIO * max(second.distance, 1e-6):
            continue
        (x0, y0), (x1, y1) = keypoints[best.queryIdx].pt, keypoints[best.trainIdx].pt
        dy, dx = round(y1 - y0), round(x1 - x0)
        if max(abs(dy), abs(dx)) < MIN_SHIFT:
            continue
        # d and -d are the same pair seen from either keypoint: both vote, so a shift whose rounded dy is ±1 pools
        # with its neighbours whichever way it was measured
        votes.setdefault((dy, dx), []).append((x0, y0))
        votes.setdefault((-dy, -dx), []).append((x1, y1))
    # Pool the votes of shifts up to SNAP pixels apart, then find each pooled shift's exact value.
    reach = range(-SNAP, SNAP + 1)
    pooled = {
        shift: [p for a in reach for b in reach for p in votes.get((shift[0] + a, shift[1] + b), [])]
        for shift in votes
        if _canonical(shift) == shift
    }
    ranked = sorted((s for s, p in pooled.items() if len(p) >= KEYPOINT_SUPPORT), key=lambda s: -len(pooled[s]))
    exact: list[tuple[int, int]] = []
    for shift in ranked:
        found = _refine(grey, shift, pooled[shift])
        if found is not None and _canonical(found) not in exact:
            exact.append(_canonical(found))
        if len(exact) >= CANDIDATES:
            break
    return exact


def _canonical(shift: tuple[int, int]) -> tuple[int, int]:
    """One of d and -d (the same pair of blocks): dy > 0, or dy = 0 and dx > 0."""
    dy, dx = shift
    return shift if dy > 0 or (dy == 0 and dx > 0) else (-dy, -dx)


def _refine(grey: np.ndarray, shift: tuple[int, int], anchors: list[tuple[float, float]]) -> tuple[int, int] | None:
    """The shift within ``SNAP`` px of ``shift`` whose copies of the anchors' 17×17 neighbourhoods differ least (the
    mean absolute difference over up to eight anchors); None when no neighbourhood fits in the image."""
    h, w = grey.shape
    r = 8 + SNAP
    dy, dx = shift
    patches = []
    for x, y in anchors[:8]:
        cx, cy = round(x), round(y)
        if r <= cx < w - r and r <= cy < h - r and r <= cx + dx < w - r and r <= cy + dy < h - r:
            near = grey[cy - 8 : cy + 9, cx - 8 : cx + 9]
            far = grey[cy + dy - r : cy + dy + r + 1, cx + dx - r : cx + dx + r + 1]
            patches.append((near, far))
    if not patches:
        return None
    size = 2 * SNAP + 1
    cost = np.zeros((size, size))
    for near, far in patches:
        for a in range(size):
            for b in range(size):
                cost[a, b] += float(np.abs(far[a : a + 17, b : b + 17] - near).mean())
    a, b = np.unravel_index(int(np.argmin(cost)), cost.shape)
    return (dy + int(a) - SNAP, dx + int(b) - SNAP)


def _duplicated(grey: np.ndarray, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    """Mask (H, W) bool of pixels p whose block matches the block at p + (dy, dx), and the ratio map."""
    h, w = grey.shape
    mask = np.zeros((h, w), bool)
    ratio = np.full((h, w), np.inf, np.float32)
    ys, yd = slice(max(0, -dy), min(h, h - dy)), slice(max(0, dy), min(h, h + dy))
    xs, xd = slice(max(0, -dx), min(w, w - dx)), slice(max(0, dx), min(w, w + dx))
    a, b = grey[ys, xs], grey[yd, xd]
    if a.shape[0] < BLOCK or a.shape[1] < BLOCK:
        return mask, ratio
    diff = cv2.blur(np.abs(a - b), (BLOCK, BLOCK))
    self_x = np.abs(np.diff(a, axis=1, append=a[:, -1:]))
    self_y = np.abs(np.diff(a, axis=0, append=a[-1:, :]))
    self_diff = cv2.blur(0.5 * (self_x + self_y), (BLOCK, BLOCK))
    r = diff / np.maximum(self_diff, 1e-6)
    ratio[ys, xs] = r
    mask[ys, xs] = (r < MATCH_RATIO) & (self_diff >= MIN_SELF_DIFF)
    return mask, ratio


def _region(mask: np.ndarray, ratio: np.ndarray) -> np.ndarray | None:
    """Largest hysteresis region: seeds of ``mask`` grown through ``ratio < GROW_RATIO``; None if too small."""
    if np.count_nonzero(mask) < CELL * CELL:  # too few seeds in all: no component can hold enough of them
        return None
    grown = (ratio < GROW_RATIO).astype(np.uint8)
    count, labels = cv2.connectedComponents(grown, connectivity=8)
    if count <= 1:
        return None
    seeds = np.bincount(labels[mask], minlength=count)
    seeds[0] = 0
    best = int(np.argmax(seeds))
    if seeds[best] < CELL * CELL:
        return None
    region = labels == best
    return region if region.sum() >= MIN_AREA else None


def _edge_steps(grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """(4, 2*SEAM_REACH+1) mean |step| across lines parallel to each box edge, offsets -SEAM_REACH..SEAM_REACH."""
    x1, y1, x2, y2 = box
    h, w = grey.shape
    r = SEAM_REACH
    if x1 < r + 1 or y1 < r + 1 or x2 > w - r - 1 or y2 > h - r - 1 or x2 - x1 < 4 * r or y2 - y1 < 4 * r:
        return None
    gx = np.abs(np.diff(grey[y1:y2, :], axis=1))  # gx[:, k] = step between columns k and k+1
    gy = np.abs(np.diff(grey[:, x1:x2], axis=0))
    offsets = np.arange(-r, r + 1)
    return np.stack(
        [
            gx[:, x1 - 1 + offsets].mean(axis=0),
            gx[:, x2 - 1 + offsets].mean(axis=0),
            gy[y1 - 1 + offsets].mean(axis=1),
            gy[y2 - 1 + offsets].mean(axis=1),
        ]
    )


def _seam_log_ratio(grey: np.ndarray, a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Mean over the four edges of the most extreme log(step at a / step at b) within SEAM_REACH px of the edge.

    Inside, the two sides hold the same pixels, so their steps agree; across the border the pasted side meets
    foreign surroundings and steps more. Positive = ``a`` is the pasted copy.
    """
    sa, sb = _edge_steps(grey, a), _edge_steps(grey, b)
    if sa is None or sb is None:
        return 0.0
    logs = np.log((sa + 0.5) / (sb + 0.5))
    pick = np.abs(logs).argmax(axis=1)
    return float(logs[np.arange(4), pick].mean())


def find_copy_move(grey: np.ndarray) -> list[CopyMove]:
    """Verified duplicated regions in a (H, W) float32 grey image, largest first."""
    h, w = grey.shape
    if min(h, w) < 4 * CELL:
        return []
    found: list[CopyMove] = []
    claimed = np.zeros((h, w), bool)
    corr = _autocorrelation(grey)
    candidates = _candidate_shifts(corr)
    candidates += [shift for shift in _keypoint_shifts(grey) if shift not in candidates]
    for dy, dx in candidates:
        mask, ratio = _duplicated(grey, dy, dx)
        region = _region(mask, ratio)
        if region is None:
            continue
        ys, xs = np.nonzero(region)
        area = int(ys.size)
        x, y, bw, bh = (
            int(xs.min()),
            int(ys.min()),
            int(xs.max()) - int(xs.min()) + 1,
            int(ys.max()) - int(ys.min()) + 1,
        )
        # Overlapping sides are self-similar texture (periodic or interpolated), not a moved block; the growth may
        # overshoot by half a block on each side, hence the BLOCK tolerance.
        if abs(dx) < bw - BLOCK and abs(dy) < bh - BLOCK:
            continue
        if claimed[y + bh // 2, x + bw // 2]:
            continue
        # The block test blurs over BLOCK px, so the component is grown back by half a block on each side.
        m = BLOCK // 2
        a = (max(0, x - m), max(0, y - m), min(w, x + bw + m), min(h, y + bh + m))
        b = (max(0, a[0] + dx), max(0, a[1] + dy), min(w, a[2] + dx), min(h, a[3] + dy))
        seam = _seam_log_ratio(grey, a, b)
        decided = abs(seam) >= np.log(SEAM_RATIO)
        copy, source = (a, b) if seam >= 0 else (b, a)
        shift = (dx, dy) if copy == a else (-dx, -dy)
        claimed[a[1] : a[3], a[0] : a[2]] = True
        claimed[b[1] : b[3], b[0] : b[2]] = True
        found.append(
            CopyMove(
                tuple(float(v) for v in copy),
                tuple(float(v) for v in source),
                shift,
                area,
                float(np.median(ratio[region])),
                float(np.exp(abs(seam))),
                decided,
            )
        )
    return sorted(found, key=lambda c: c.area, reverse=True)
