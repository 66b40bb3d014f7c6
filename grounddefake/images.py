"""Load images as displayed RGB pixels, and prepare them for a model with an invertible Transform.

Loading applies the EXIF orientation, turns every mode (palette, RGBA, 16-bit, grey, CMYK) into 8-bit RGB and keeps
Pillow's decompression-bomb guard on. Any failure raises :class:`ImageError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from grounddefake.types import PreparedImage, Size, Transform

ImageInput = Any
"""A path (str or Path), raw bytes, a PIL image, or an (H, W, 3) / (H, W) uint8 numpy array."""

_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


class ImageError(ValueError):
    """An image could not be read; the message names the file."""


@dataclass(frozen=True)
class LoadedImage:
    """Decoded pixels plus, when they are byte-for-byte what the file shows, the original file.

    Attributes:
        pixels: (H, W, 3) uint8 RGB, EXIF orientation applied.
        source: where it came from (a path, or "<array>", "<PIL image>", "<bytes>").
        data: the original encoded bytes when they decode to exactly ``pixels`` as displayed (RGB JPEG/PNG/WebP
            without an EXIF rotation), so they can be sent untouched; else None.
        media_type: MIME type of ``data``.
        source_sha256: hex digest of the encoded file the pixels came from (None for arrays and PIL images).
    """

    pixels: np.ndarray = field(repr=False)
    source: str
    data: bytes | None = field(default=None, repr=False)
    media_type: str | None = None
    source_sha256: str | None = None

    @property
    def size(self) -> Size:
        return (int(self.pixels.shape[1]), int(self.pixels.shape[0]))


def load_image(image: ImageInput) -> LoadedImage:
    """Decode ``image`` into displayed RGB pixels.

    Raises:
        ImageError: the file is missing, empty, corrupt, not an image, or a decompression bomb.
    """
    if isinstance(image, LoadedImage):
        return image
    if isinstance(image, np.ndarray):
        return LoadedImage(_array_to_rgb(image), "<array>")
    if isinstance(image, Image.Image):
        return LoadedImage(_pil_to_rgb(image, "<PIL image>"), "<PIL image>")
    if isinstance(image, (bytes, bytearray)):
        return _decode(bytes(image), "<bytes>")
    if isinstance(image, (str, Path)):
        path = Path(image)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ImageError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ImageError(f"{path}: is a directory, not an image") from None
        except OSError as exc:
            raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
        return _decode(data, str(path))
    raise TypeError(f"expected a path, bytes, a PIL image or a numpy array, got {type(image).__name__}")


def _decode(data: bytes, source: str) -> LoadedImage:
    if not data:
        raise ImageError(f"{source}: empty file")
    digest = hashlib.sha256(data).hexdigest()
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            fmt = img.format
            orientation = img.getexif().get(0x0112, 1)
            pixels = _pil_to_rgb(img, source)
            # The file can go out as it is when any decoder shows exactly these pixels: 8-bit RGB or grey, or a
            # palette without transparency, with no EXIF rotation to apply.
            opaque_palette = img.mode == "P" and "transparency" not in img.info
            plain = img.mode in ("RGB", "L") or opaque_palette
            untouched = plain and orientation in (1, None) and fmt in ("JPEG", "PNG", "WEBP")
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{source}: refused, too many pixels (decompression-bomb guard): {exc}") from None
    except UnidentifiedImageError:
        raise ImageError(f"{source}: not an image, or a format Pillow cannot read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{source}: corrupt or truncated image ({exc})") from None
    if untouched:
        return LoadedImage(pixels, source, data, _MEDIA_TYPES[fmt], digest)
    return LoadedImage(pixels, source, source_sha256=digest)


def _pil_to_rgb(img: Image.Image, source: str) -> np.ndarray:
    """EXIF-transpose and convert any Pillow mode to (H, W, 3) uint8 RGB."""
    img = ImageOps.exif_transpose(img) or img
    if img.width == 0 or img.height == 0:
        raise ImageError(f"{source}: image has no pixels")
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and 32-bit grey: scale the 16-bit range to 8 bits instead of clipping at 255.
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        grey = np.clip(np.round(arr * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        if alpha.min(initial=255) == 255:
            return np.asarray(rgba.convert("RGB"))
        # Transparent pixels have no defined colour: composite on white, as viewers show them.
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img)


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ImageError(f"<array>: expected (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError("<array>: image has no pixels")
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.max(initial=0) <= 1.0:
            array = array * 255.0
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array[:, :, :3])


# --------------------------------------------------------------------------------------------------------------------
# Preparation for a model


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


def prepare_image(image: ImageInput, policy: ImagePolicy | None = None) -> PreparedImage:
    """Encode ``image`` for a model under ``policy`` and record the Transform back to the original pixels.

    When no resize is needed and the original file bytes show exactly the displayed pixels, those bytes are sent
    untouched (forensic evidence such as JPEG traces survives); otherwise the pixels are encoded losslessly (PNG),
    or as JPEG when the policy asks for it.
    """
    import cv2

    policy = policy or ImagePolicy()
    loaded = load_image(image)
    size = loaded.size
    target = fit_size(size, policy)
    if target == size and loaded.data is not None and loaded.media_type is not None:
        payload, media_type, pixels = loaded.data, loaded.media_type, loaded.pixels
    else:
        pixels = loaded.pixels
        if target != size:
            shrink = target[0] * target[1] < size[0] * size[1]
            pixels = cv2.resize(pixels, target, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
        if policy.format == "raw":
            pixels = np.ascontiguousarray(pixels)
            payload, media_type = pixels.tobytes(), f"image/x-raw-rgb; size={pixels.shape[1]}x{pixels.shape[0]}"
        else:
            payload, media_type = encode(pixels, policy.format, policy.jpeg_quality)
    transform = Transform.identity(size) if target == size else Transform.resize(size, target)
    digest = hashlib.sha256(payload).hexdigest()
    if policy.format == "raw" and media_type.startswith("image/x-raw"):  # raw bytes alone do not say the shape
        digest = hashlib.sha256(media_type.encode() + b"\n" + payload).hexdigest()
    return PreparedImage(payload, media_type, transform, pixels, digest, loaded.source_sha256)


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


def decode_payload(payload: bytes) -> np.ndarray:
    """Decode encoded image bytes to (H, W, 3) uint8 RGB (no EXIF handling: payloads carry none that matters)."""
    return load_image(payload).pixels


# --------------------------------------------------------------------------------------------------------------------
# Header reads and reduced decoding (TEMPORARY: replaced by the images branch)


def image_size_of(path: str | Path) -> Size | None:
    """(W, H) of an image as displayed (EXIF rotation applied), from its header; None when unreadable."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            try:
                orientation = img.getexif().get(0x0112, 1)
            except (OSError, ValueError, SyntaxError):  # EXIF past the end of a damaged file: the header still holds
                orientation = 1
    except (OSError, ValueError):
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


@dataclass(frozen=True)
class ReducedImage:
    pixels: np.ndarray = field(repr=False)
    original_size: Size


def load_reduced(image: ImageInput, max_side: int) -> ReducedImage:
    """Displayed RGB pixels with the long side at most ``max_side`` (JPEG draft decoding), and the original size."""
    path = Path(image)
    try:
        with Image.open(path) as img:
            orientation = img.getexif().get(0x0112, 1)
            full = img.size
            scale = max_side / max(full)
            if scale < 1 and img.format == "JPEG":
                img.draft("RGB", (max(1, int(full[0] * scale)), max(1, int(full[1] * scale))))
            img.load()
            if max(img.size) > max_side:
                img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
            pixels = _pil_to_rgb(img, str(path))
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: refused, too many pixels (decompression-bomb guard): {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: unreadable image ({exc})") from None
    original = (full[1], full[0]) if orientation in (5, 6, 7, 8) else full
    return ReducedImage(pixels, original)


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
