"""Prepare images for a model with an invertible Transform, under the model's image policy (Qwen's smart resize
included); reading files is :mod:`grounddefake.image_files`, whose public names are re-exported here.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from grounddefake.image_files import (
    MEDIA_TYPES,
    ImageError,
    ImageInput,
    LoadedImage,
    decode_at,
    fit_long_side,
    image_size_of,
    load_image,
    open_encoded,
    read_size,
    release_free_memory,
    resize_pixels,
    well_formed,
)
from grounddefake.types import Size, Transform

__all__ = [
    "QWEN_MAX_PIXELS",
    "QWEN_MAX_RATIO",
    "QWEN_MIN_PIXELS",
    "QWEN_PATCH_FACTOR",
    "ImageError",
    "ImageInput",
    "ImagePolicy",
    "LoadedImage",
    "PreparedImage",
    "decode_payload",
    "encode",
    "fit_long_side",
    "fit_size",
    "image_size_of",
    "load_image",
    "prepare_image",
    "read_size",
    "release_free_memory",
    "smart_resize",
]


@dataclass(frozen=True)
class ImagePolicy:
    """How to prepare an image for a model, so that the server does not resize it again.

    Attributes:
        resize: ``fit`` (downscale, aspect kept, to satisfy the limits below) or ``smart-resize`` (Qwen2-VL /
            Qwen2.5-VL: sides on a ``factor`` grid, area within [min_pixels, max_pixels], as their processor does).
        max_side: longest side allowed (``fit``).
        max_short_side: shortest side allowed (``fit``; OpenAI's high-detail rule scales the short side to 768).
        max_pixels: largest pixel count allowed (both rules).
        min_pixels: smallest pixel count (``smart-resize``).
        factor: the grid of ``smart-resize`` (28 for Qwen2-VL / Qwen2.5-VL).
        format: "png" (lossless) or "jpeg" for resized images; originals that need no change are sent as they are.
            "raw" is for models in this process (local transformers models): resized pixels are handed over as
            they are, with no encoding, and ``payload`` holds their RGB bytes.
        jpeg_quality: quality when ``format`` is "jpeg".
    """

    resize: Literal["fit", "smart-resize"] = "fit"
    max_side: int | None = None
    max_short_side: int | None = None
    max_pixels: int | None = None
    min_pixels: int | None = None
    factor: int = 28
    format: Literal["png", "jpeg", "raw"] = "png"
    jpeg_quality: int = 95


def fit_size(size: Size, policy: ImagePolicy) -> Size:
    """The (w, h) an image of ``size`` is resized to under ``policy`` (itself when it fits)."""
    if policy.resize == "smart-resize":
        try:
            return smart_resize(
                size, policy.factor, policy.min_pixels or QWEN_MIN_PIXELS, policy.max_pixels or QWEN_MAX_PIXELS
            )
        except ValueError as exc:
            raise ImageError(f"cannot prepare a {size[0]}x{size[1]} image for this model: {exc}") from None
    w, h = size
    scale = 1.0
    if policy.max_side is not None and max(w, h) > policy.max_side:
        scale = min(scale, policy.max_side / max(w, h))
    if policy.max_short_side is not None and min(w, h) * scale > policy.max_short_side:
        scale = min(scale, policy.max_short_side / min(w, h))
    if policy.max_pixels is not None and w * h > policy.max_pixels:
        scale = min(scale, (policy.max_pixels / (w * h)) ** 0.5)
    if scale >= 1.0:
        return size
    return (max(1, round(w * scale)), max(1, round(h * scale)))


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send to a model.

    Attributes:
        payload: encoded bytes, exactly what is sent.
        media_type: MIME type of ``payload`` ("image/png", "image/jpeg", ...).
        transform: maps model-space pixels back to the original image.
        decoded: (h, w, 3) uint8 RGB array of the image the model sees, or None when ``payload`` is the original
            file sent untouched and was never decoded; read :attr:`pixels`, which decodes it on demand.
        sha256: hex digest of ``payload``.
        source_sha256: hex digest of the original file, when the image came from one.
    """

    payload: bytes
    media_type: str
    transform: Transform
    decoded: np.ndarray | None = field(default=None, repr=False, compare=False)
    sha256: str = ""
    source_sha256: str | None = None

    @property
    def pixels(self) -> np.ndarray:
        """(h, w, 3) uint8 RGB of the image the model sees; an untouched payload is decoded on first use, then kept."""
        if self.decoded is None:
            object.__setattr__(self, "decoded", decode_payload(self.payload, self.media_type))
        assert self.decoded is not None
        return self.decoded


def decode_payload(payload: bytes, media_type: str) -> np.ndarray:
    """Pixels of a prepared payload: an untouched JPEG / PNG / WebP file, an encoded resize, or raw RGB bytes."""
    if media_type.startswith("image/x-raw-rgb"):
        w, h = (int(v) for v in media_type.rpartition("size=")[2].split("x"))
        return np.frombuffer(payload, np.uint8).reshape(h, w, 3)
    return load_image(payload).pixels


def prepare_image(image: ImageInput, policy: ImagePolicy | None = None) -> PreparedImage:
    """Encode ``image`` for a model under ``policy`` and record the Transform back to the original pixels.

    When no resize is needed and the original file bytes show exactly the displayed pixels, those bytes are sent
    untouched (forensic evidence such as JPEG traces survives) and nothing is decoded: the header and a structural
    check (complete file, not cut short) vouch for them, and ``pixels`` decodes them on first use. Otherwise the
    image is decoded at the size it is sent at (see :func:`load_image`) and encoded losslessly (PNG), as JPEG when
    the policy asks for it, or handed over as raw RGB bytes.
    """
    policy = policy or ImagePolicy()
    if isinstance(image, (str, Path, bytes, bytearray)):
        with open_encoded(image) as encoded:
            size = encoded.header.size
            target = fit_size(size, policy)
            if target == size and encoded.header.sendable:
                data = encoded.read()
                pixels = None if well_formed(encoded, data) else decode_at(encoded, size)  # decoding decides
                fmt = encoded.header.format or ""
                return _prepared(data, MEDIA_TYPES[fmt], Transform.identity(size), pixels, encoded.sha256())
            pixels = decode_at(encoded, target)
            source_sha256 = encoded.sha256()
    else:
        loaded = load_image(image)
        size = loaded.size
        target = fit_size(size, policy)
        source_sha256 = loaded.source_sha256
        if target == size and loaded.data is not None and loaded.media_type is not None:
            return _prepared(loaded.data, loaded.media_type, Transform.identity(size), loaded.pixels, source_sha256)
        pixels = resize_pixels(loaded.pixels, target)
    transform = Transform.identity(size) if target == size else Transform.resize(size, target)
    if policy.format == "raw":
        pixels = np.ascontiguousarray(pixels)
        media_type = f"image/x-raw-rgb; size={pixels.shape[1]}x{pixels.shape[0]}"
        return _prepared(pixels.tobytes(), media_type, transform, pixels, source_sha256)
    payload, media_type = encode(pixels, policy.format, policy.jpeg_quality)
    # Only models in this process (raw format) read pixels; an encoded image in flight keeps just its payload, and
    # ``pixels`` decodes it if anyone asks. Sixty-four 2048-px requests in flight would otherwise hold 600 MB.
    return _prepared(payload, media_type, transform, None, source_sha256)


def _prepared(
    payload: bytes, media_type: str, transform: Transform, pixels: np.ndarray | None, source_sha256: str | None
) -> PreparedImage:
    digest = hashlib.sha256(payload).hexdigest()
    if media_type.startswith("image/x-raw"):  # raw bytes alone do not say the shape
        digest = hashlib.sha256(media_type.encode() + b"\n" + payload).hexdigest()
    return PreparedImage(payload, media_type, transform, pixels, digest, source_sha256)


def encode(pixels: np.ndarray, fmt: str = "png", jpeg_quality: int = 95) -> tuple[bytes, str]:
    """Encode (H, W, 3) uint8 RGB pixels as PNG or JPEG bytes; returns (bytes, media type)."""
    import cv2

    bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    if fmt == "jpeg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        media_type = "image/jpeg"
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        media_type = "image/png"
    else:
        raise ValueError(f"unknown image format {fmt!r} (expected 'png' or 'jpeg')")
    if not ok:
        raise ImageError(f"could not encode image as {fmt}")
    return buf.tobytes(), media_type


# ----------------------------------------------------------------------------------------------------------------
# Qwen2-VL / Qwen2.5-VL's smart resize: the image size their processor feeds the model

QWEN_PATCH_FACTOR = 28
"""Qwen2-VL / Qwen2.5-VL: ViT patch 14 × spatial merge 2; the smart-resized sides are multiples of it."""
QWEN_MIN_PIXELS = 4 * 28 * 28
"""Qwen2.5-VL's ``preprocessor_config.json`` lower area limit (3,136 pixels)."""
QWEN_MAX_PIXELS = 16384 * 28 * 28
"""Qwen2.5-VL's ``preprocessor_config.json`` upper area limit (12,845,056 pixels)."""
QWEN_MAX_RATIO = 200
"""The largest aspect ratio Qwen's processor accepts."""


def smart_resize(
    size: Size,
    factor: int = QWEN_PATCH_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> Size:
    """The (w̄, h̄) Qwen2-VL / Qwen2.5-VL's processor resizes a (W, H) image to (``qwen_vl_utils.smart_resize``).

    Each side is rounded to a multiple of ``factor``; then the area is scaled into [min_pixels, max_pixels].

    >>> smart_resize((1920, 1080))
    (1932, 1092)
    >>> smart_resize((1920, 1080), max_pixels=1003520)  # a server limited to about 1 MP
    (1316, 728)
    >>> smart_resize((10, 10))  # scaled up to at least QWEN_MIN_PIXELS
    (56, 56)

    Raises:
        ValueError: an aspect ratio above 200, which the processor refuses.
    """
    width, height = size
    if width < 1 or height < 1 or max(width, height) / min(width, height) > QWEN_MAX_RATIO:
        raise ValueError(f"Qwen's processor refuses a {width}x{height} image (aspect ratio above {QWEN_MAX_RATIO})")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return (w_bar, h_bar)
