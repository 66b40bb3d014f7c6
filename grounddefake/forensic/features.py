"""What the learned localizer sees: residuals that carry manipulation traces, and the signal cues' maps.

Two inputs, both computed here with NumPy and OpenCV, identically at training and at inference:

``pixels`` (``PIXEL_CHANNELS`` × H × W, the image padded to a multiple of ``STRIDE``):
  0. luma, 1–2. chroma (Cr, Cb): the content, so edges and colour breaks are visible;
  3–4. first-order horizontal and vertical differences, 5. the 3×3 second-order "KB" kernel, 6. the 5×5 "KV"
  kernel of SRM (Fridrich & Kodovský's spatial rich model): high-pass residuals where noise, interpolation and
  smoothing leave their traces. Each is divided by the image's own median absolute residual and truncated at
  ±``TRUNCATE`` (SRM's quantise-and-truncate), so the network judges a region against the rest of its image;
  7. JPEG grid: the first-order residual at the 8×8 block boundaries (x ≡ 7, y ≡ 7 mod 8) against inside the
  blocks, where an aligned compression leaves its steps and a pasted or re-saved region breaks them.

``cues`` (``CUE_CHANNELS`` × H/8 × W/8): the training-free cues' modified z-maps (:mod:`.blur`, :mod:`.noise`,
:mod:`.resampling`, 16-px cells) on the network's 1/8 grid, clipped at ±``CUE_CLIP`` and scaled to ±2.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._grid import CELL
from .blur import BlurMap, blur_map
from .noise import NoiseMap, noise_map
from .resampling import ResamplingMap, resampling_map

STRIDE = 16
"""Inputs are padded to a multiple of this (a cue cell; the network's output grid is 1/8)."""
OUTPUT_STRIDE = 8
PIXEL_CHANNELS = 8
CUE_CHANNELS = 3
TRUNCATE = 4.0
CUE_CLIP = 10.0
JPEG_BLOCK = 8

KB = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], np.float32) / 4.0
KV = (
    np.array(
        [[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2], [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]],
        np.float32,
    )
    / 12.0
)


@dataclass(frozen=True)
class Features:
    """One image's network inputs and the cue maps they came from.

    Attributes:
        pixels: (PIXEL_CHANNELS, H', W') float32, H' and W' the padded size.
        cues: (CUE_CHANNELS, H' / 8, W' / 8) float32.
        size: (W, H) of the image before padding.
        blur, noise, resampling: the cue maps (16-px cells), for the rationale.
    """

    pixels: np.ndarray
    cues: np.ndarray
    size: tuple[int, int]
    blur: BlurMap
    noise: NoiseMap
    resampling: ResamplingMap


def padded(image: np.ndarray) -> np.ndarray:
    """``image`` reflected at its bottom and right edges to a multiple of STRIDE (at least 4 cells each way)."""
    h, w = image.shape[:2]
    ph = max(-h % STRIDE, 4 * STRIDE - h)
    pw = max(-w % STRIDE, 4 * STRIDE - w)
    if ph == 0 and pw == 0:
        return image
    mode = cv2.BORDER_REFLECT_101 if min(h, w) > 1 else cv2.BORDER_REPLICATE
    return cv2.copyMakeBorder(image, 0, ph, 0, pw, mode)


def _scaled(residual: np.ndarray, out: np.ndarray) -> None:
    """``out`` = the residual over its image's median absolute value, truncated at ±TRUNCATE, scaled to [-1, 1]."""
    # the median over every third row and column (an exact median of 1/9 of the pixels: the same number to a few
    # per cent, ten times faster); a noise-free image keeps a floor, so nothing is divided by 0
    scale = float(np.median(np.abs(residual[1::3, 1::3]))) + 0.25
    np.divide(residual, scale, out=out)
    np.clip(out, -TRUNCATE, TRUNCATE, out=out)
    out /= TRUNCATE


def pixel_channels(image: np.ndarray) -> np.ndarray:
    """(PIXEL_CHANNELS, H, W) float32 from an (H, W, 3) uint8 RGB image (already padded); each channel is written
    into the result as it is made, so at most a few image-sized temporaries live beside it."""
    ycrcb = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2YCrCb).astype(np.float32)
    h, w = ycrcb.shape[:2]
    out = np.empty((PIXEL_CHANNELS, h, w), np.float32)
    for k in range(3):  # luma, Cr, Cb
        np.divide(ycrcb[:, :, k], 255.0, out=out[k])
        out[k] -= 0.5
    grey = np.ascontiguousarray(ycrcb[:, :, 0])
    del ycrcb
    for k, kernel in ((5, KB), (6, KV)):
        _scaled(cv2.filter2D(grey, -1, kernel, borderType=cv2.BORDER_REFLECT_101), out[k])
    dx = np.zeros_like(grey)
    dy = np.zeros_like(grey)
    dx[:, :-1] = grey[:, 1:] - grey[:, :-1]
    dy[:-1, :] = grey[1:, :] - grey[:-1, :]
    on_x = (np.arange(w) % JPEG_BLOCK == JPEG_BLOCK - 1)[None, :]
    on_y = (np.arange(h) % JPEG_BLOCK == JPEG_BLOCK - 1)[:, None]
    step = np.abs(dx) * np.where(on_x, 1.0, -1.0 / (JPEG_BLOCK - 1)) + np.abs(dy) * np.where(
        on_y, 1.0, -1.0 / (JPEG_BLOCK - 1)
    )
    _scaled(cv2.blur(step.astype(np.float32), (JPEG_BLOCK, JPEG_BLOCK)), out[7])
    del step
    _scaled(dx, out[3])
    _scaled(dy, out[4])
    return out


def cue_channels(blur: BlurMap, noise: NoiseMap, resampling: ResamplingMap, shape: tuple[int, int]) -> np.ndarray:
    """(CUE_CHANNELS, H / 8, W / 8) float32: the cue z-maps (16-px cells) on the 1/8 grid of a padded (H, W)."""
    rows, cols = shape[0] // OUTPUT_STRIDE, shape[1] // OUTPUT_STRIDE
    maps = []
    for z in (blur.z, noise.z, resampling.z):
        z = np.clip(np.nan_to_num(z, nan=0.0), -CUE_CLIP, CUE_CLIP) / (CUE_CLIP / 2)
        up = np.repeat(np.repeat(z, CELL // OUTPUT_STRIDE, axis=0), CELL // OUTPUT_STRIDE, axis=1)
        full = np.zeros((rows, cols), np.float32)
        full[: up.shape[0], : up.shape[1]] = up[:rows, :cols]
        maps.append(full)
    return np.stack(maps).astype(np.float32)


def features(image: np.ndarray) -> Features:
    """The network inputs of an (H, W, 3) uint8 RGB image."""
    h, w = image.shape[:2]
    image = padded(np.ascontiguousarray(image[:, :, :3]))
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    blur, noise, resampling = blur_map(grey), noise_map(grey), resampling_map(grey)
    cues = cue_channels(blur, noise, resampling, grey.shape)
    return Features(pixel_channels(image), cues, (w, h), blur, noise, resampling)
