"""Load images as displayed RGB pixels, and prepare them for a model with an invertible Transform.

Loading applies the EXIF orientation, turns every mode (palette, RGBA, 16-bit, grey, CMYK) into 8-bit RGB and keeps
Pillow's decompression-bomb guard on. Any failure raises :class:`ImageError` naming the file.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from grounddefake.types import Size, Transform

ImageInput = Any
"""A path (str or Path), raw bytes, a PIL image, or an (H, W, 3) / (H, W) uint8 numpy array."""

_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
_ORIENTATION = 0x0112
_TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that swap width and height
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_LATE_METADATA = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")  # chunks after IDAT that Pillow only reads on load
_HASH_BLOCK = 1 << 20
_TRIM_PIXELS = 1 << 22  # after decoding this many pixels, freed memory goes back to the system


class ImageError(ValueError):
    """An image could not be read; the message names the file."""


@dataclass(frozen=True)
class LoadedImage:
    """Decoded pixels plus, when they are byte-for-byte what the file shows, the original file.

    Attributes:
        pixels: (H, W, 3) uint8 RGB, EXIF orientation applied (reduced when loaded with ``max_side``).
        source: where it came from (a path, or "<array>", "<PIL image>", "<bytes>").
        data: the original encoded bytes when they decode to exactly ``pixels`` as displayed (RGB JPEG/PNG/WebP
            without an EXIF rotation, not reduced), so they can be sent untouched; else None.
        media_type: MIME type of ``data``.
        source_sha256: hex digest of the encoded file the pixels came from (None for arrays and PIL images).
        original_size: (W, H) of the image as displayed before any reduction; None means ``size``.
    """

    pixels: np.ndarray = field(repr=False)
    source: str
    data: bytes | None = field(default=None, repr=False)
    media_type: str | None = None
    source_sha256: str | None = None
    original_size: Size | None = None

    @property
    def size(self) -> Size:
        """(W, H) of ``pixels``."""
        return (int(self.pixels.shape[1]), int(self.pixels.shape[0]))

    @property
    def displayed_size(self) -> Size:
        """(W, H) of the original image as displayed: boxes in its pixels scale to ``pixels`` by size / this."""
        return self.original_size or self.size


@dataclass(frozen=True)
class _Header:
    """What Pillow's header read tells about an encoded image, without decoding it."""

    format: str | None
    mode: str
    stored_size: Size
    orientation: int
    transparency: bool

    @property
    def size(self) -> Size:
        """(W, H) as displayed, EXIF rotation applied."""
        w, h = self.stored_size
        return (h, w) if self.orientation in _TRANSPOSED else (w, h)

    @property
    def sendable(self) -> bool:
        """Whether any decoder shows exactly the displayed pixels from the file's bytes: 8-bit RGB or grey, or a
        palette without transparency, with no EXIF rotation to apply."""
        plain = self.mode in ("RGB", "L") or (self.mode == "P" and not self.transparency)
        return plain and self.orientation in (1, None) and self.format in ("JPEG", "PNG", "WEBP")


@contextmanager
def _pillow_errors(source: str) -> Iterator[None]:
    """Turn Pillow's exceptions into :class:`ImageError` naming ``source``."""
    try:
        yield
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{source}: refused, too many pixels (decompression-bomb guard): {exc}") from None
    except UnidentifiedImageError:
        raise ImageError(f"{source}: not an image, or a format Pillow cannot read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{source}: corrupt or truncated image ({exc})") from None


def _open_file(path: Path) -> BinaryIO:
    try:
        fp = path.open("rb")
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if os.fstat(fp.fileno()).st_size == 0:
        fp.close()
        raise ImageError(f"{path}: empty file")
    return fp


@dataclass
class _Encoded:
    """An encoded image opened by Pillow (header read only), from a file or from bytes."""

    source: str
    fp: BinaryIO
    image: Image.Image
    header: _Header
    data: bytes | None = None

    def read(self) -> bytes:
        """The whole encoded file."""
        if self.data is None:
            self.fp.seek(0)
            try:
                self.data = self.fp.read()
            except OSError as exc:
                raise ImageError(f"{self.source}: cannot read ({exc.strerror or exc})") from None
        return self.data

    def sha256(self) -> str:
        """Digest of the encoded file, read in blocks when it is not in memory."""
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        digest = hashlib.sha256()
        self.fp.seek(0)
        while block := self.fp.read(_HASH_BLOCK):
            digest.update(block)
        return digest.hexdigest()


@contextmanager
def _open_encoded(image: str | Path | bytes | bytearray) -> Iterator[_Encoded]:
    """Open a path or bytes with Pillow, reading the header only (size, mode, format, EXIF orientation).

    The decompression-bomb guard already applies here: Pillow checks the size when it reads the header.
    """
    data: bytes | None = None
    if isinstance(image, (bytes, bytearray)):
        data, source = bytes(image), "<bytes>"
        if not data:
            raise ImageError(f"{source}: empty file")
        fp: BinaryIO = io.BytesIO(data)
    else:
        source = str(image)
        fp = _open_file(Path(image))
    try:
        with _pillow_errors(source):
            img = Image.open(fp)
            header = _Header(img.format, img.mode, img.size, _orientation(img, fp), "transparency" in img.info)
        if header.stored_size[0] == 0 or header.stored_size[1] == 0:
            raise ImageError(f"{source}: image has no pixels")
        yield _Encoded(source, fp, img, header, data)
    finally:
        fp.close()


def _orientation(img: Image.Image, fp: BinaryIO) -> int:
    """EXIF orientation from the header. A PNG keeps metadata after its pixels only when a late chunk says so."""
    if img.format == "PNG" and "exif" not in img.info:
        late = _png_chunks(fp)[1]
        exif = img.getexif() if late else Image.Image.getexif(img)  # PNG's own getexif decodes the whole image
    else:
        exif = img.getexif()
    value = exif.get(_ORIENTATION, 1)
    return value if isinstance(value, int) else 1


def _png_chunks(fp: BinaryIO) -> tuple[bool, bool]:
    """Walk a PNG's chunk headers (no data read but IHDR's): (well formed, metadata chunk after the pixels).

    Well formed: the signature, an IHDR whose CRC matches, every chunk complete, and IEND at the very end.
    """
    fp.seek(0, io.SEEK_END)
    end = fp.tell()
    fp.seek(0)
    if fp.read(8) != _PNG_SIGNATURE:
        return False, False
    ihdr = fp.read(25)
    if len(ihdr) < 25 or ihdr[4:8] != b"IHDR" or zlib.crc32(ihdr[4:21]) != int.from_bytes(ihdr[21:25], "big"):
        return False, False
    pos, seen_pixels, late = 33, False, False
    while pos + 12 <= end:
        fp.seek(pos)
        head = fp.read(8)
        length, kind = int.from_bytes(head[:4], "big"), head[4:8]
        pos += 12 + length
        if kind == b"IDAT":
            seen_pixels = True
        elif seen_pixels and kind in _PNG_LATE_METADATA:
            late = True
        elif kind == b"IEND":
            return pos == end, late
    return False, late


def _well_formed(encoded: _Encoded, data: bytes) -> bool:
    """A cheap structural check of a file sent untouched: complete, not cut short (no decoding)."""
    fmt = encoded.header.format
    if fmt == "JPEG":
        return data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    if fmt == "PNG":
        return _png_chunks(io.BytesIO(data))[0]
    if fmt == "WEBP":
        size = int.from_bytes(data[4:8], "little") + 8
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP" and size == len(data)
    return False


def load_image(image: ImageInput, max_side: int | None = None) -> LoadedImage:
    """Decode ``image`` into displayed RGB pixels, reduced so that the long side is at most ``max_side``.

    With ``max_side``, the decode itself is bounded: JPEGs are decoded at 1/2, 1/4 or 1/8 scale (DCT scaling), other
    formats are box-reduced right after decoding, before any mode conversion, so no full-size RGB copy is made.
    ``original_size`` then holds the displayed size, so boxes in original pixels scale to ``pixels``.

    Raises:
        ImageError: the file is missing, empty, corrupt, not an image, or a decompression bomb.
    """
    if isinstance(image, LoadedImage) and max_side is None:
        return image
    if isinstance(image, (str, Path, bytes, bytearray)):
        with _open_encoded(image) as encoded:
            size = encoded.header.size
            target = size if max_side is None else fit_size(size, ImagePolicy(max_side=max_side))
            pixels = _decode_at(encoded, target)
            digest = encoded.sha256()
            if target == size and encoded.header.sendable:
                fmt = encoded.header.format or ""
                return LoadedImage(pixels, encoded.source, encoded.read(), _MEDIA_TYPES[fmt], digest)
            return LoadedImage(pixels, encoded.source, source_sha256=digest, original_size=size)
    if isinstance(image, LoadedImage):
        loaded = image
    elif isinstance(image, np.ndarray):
        loaded = LoadedImage(_array_to_rgb(image), "<array>")
    elif isinstance(image, Image.Image):
        loaded = LoadedImage(_pil_to_rgb(image, "<PIL image>"), "<PIL image>")
    else:
        raise TypeError(f"expected a path, bytes, a PIL image or a numpy array, got {type(image).__name__}")
    if max_side is None:
        return loaded
    target = fit_size(loaded.displayed_size, ImagePolicy(max_side=max_side))
    return LoadedImage(
        _resize(loaded.pixels, target), loaded.source, None, None, loaded.source_sha256, loaded.displayed_size
    )


def _decode_at(encoded: _Encoded, target: Size) -> np.ndarray:
    """Decode to displayed RGB pixels of exactly ``target`` (W, H), never holding more than the stored size needs.

    Shrinking JPEGs use DCT scaling (``Image.draft``); 8-bit RGB / grey images of other formats are box-reduced
    (``Image.reduce``) straight after decoding. Other modes are converted at full size, then resized.
    """
    img, header = encoded.image, encoded.header
    stored_target = (target[1], target[0]) if header.orientation in _TRANSPOSED else target
    with _pillow_errors(encoded.source):
        if header.format in ("JPEG", "MPO") and stored_target[0] < img.width and stored_target[1] < img.height:
            img.draft(None, stored_target)
        img.load()
        decoded = img.width * img.height
        factor = min(img.width // stored_target[0], img.height // stored_target[1])
        if factor >= 2 and img.mode in ("RGB", "L"):
            img = img.reduce(factor)
        pixels = _pil_to_rgb(img, encoded.source)
    del img
    Image.Image.close(encoded.image)  # drop the decoded core now (the file stays open: ImageFile.close would shut it)
    if decoded >= _TRIM_PIXELS:
        release_free_memory()
    return _resize(pixels, target)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release_free_memory() -> None:
    """Hand memory freed after a large decode or analysis back to the system (glibc; elsewhere a no-op).

    glibc keeps freed memory in the arena of the thread that allocated it, and its adaptive mmap threshold moves
    buffers of up to 32 MB into those arenas: large images handled in several worker threads would each leave
    their peak behind.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _resize(pixels: np.ndarray, target: Size) -> np.ndarray:
    """Resize (H, W, 3) pixels to ``target`` (W, H): area averaging to shrink, bicubic to enlarge."""
    import cv2

    h, w = pixels.shape[:2]
    if (w, h) == target:
        return pixels
    shrink = target[0] * target[1] < w * h
    return cv2.resize(pixels, target, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def image_size_of(path: str | Path) -> Size | None:
    """(W, H) of an image as displayed (EXIF rotation applied), from its header; None when unreadable."""
    try:
        with _open_encoded(Path(path)) as encoded:
            return encoded.header.size
    except ImageError:
        return None


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
        with _open_encoded(image) as encoded:
            size = encoded.header.size
            target = fit_size(size, policy)
            if target == size and encoded.header.sendable:
                data = encoded.read()
                pixels = None if _well_formed(encoded, data) else _decode_at(encoded, size)  # decoding decides
                fmt = encoded.header.format or ""
                return _prepared(data, _MEDIA_TYPES[fmt], Transform.identity(size), pixels, encoded.sha256())
            pixels = _decode_at(encoded, target)
            source_sha256 = encoded.sha256()
    else:
        loaded = load_image(image)
        size = loaded.size
        target = fit_size(size, policy)
        source_sha256 = loaded.source_sha256
        if target == size and loaded.data is not None and loaded.media_type is not None:
            return _prepared(loaded.data, loaded.media_type, Transform.identity(size), loaded.pixels, source_sha256)
        pixels = _resize(loaded.pixels, target)
    transform = Transform.identity(size) if target == size else Transform.resize(size, target)
    if policy.format == "raw":
        pixels = np.ascontiguousarray(pixels)
        media_type = f"image/x-raw-rgb; size={pixels.shape[1]}x{pixels.shape[0]}"
        return _prepared(pixels.tobytes(), media_type, transform, pixels, source_sha256)
    payload, media_type = encode(pixels, policy.format, policy.jpeg_quality)
    return _prepared(payload, media_type, transform, pixels, source_sha256)


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
