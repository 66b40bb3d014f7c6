"""Read image files: displayed RGB pixels (EXIF orientation applied, every mode turned into 8-bit RGB), header reads
that decode nothing, a structural check of a file's completeness, and decoding at reduced size.

Pillow's decompression-bomb guard stays on. Any failure raises :class:`ImageError` naming the file.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from grounddefake.types import Size

ImageInput = Any
"""A path (str or Path), raw bytes, a PIL image, or an (H, W, 3) / (H, W) uint8 numpy array."""

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
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
def open_encoded(image: str | Path | bytes | bytearray) -> Iterator[_Encoded]:
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


@contextmanager
def open_image(path: str | Path, what: str = "image") -> Iterator[Image.Image]:
    """The one way to open an image file for its pixels: a Pillow image (header read, decompression-bomb guard on)
    whose every failure, while opening or while decoding in the ``with`` body, is an :class:`ImageError`.

    ``what`` names the file in messages ("mask", "heatmap").
    """
    with open_encoded(Path(path)) as encoded, _pillow_errors(f"{path} ({what})" if what != "image" else str(path)):
        yield encoded.image


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


def well_formed(encoded: _Encoded, data: bytes) -> bool:
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
        with open_encoded(image) as encoded:
            size = encoded.header.size
            target = size if max_side is None else fit_long_side(size, max_side)
            pixels = decode_at(encoded, target)
            digest = encoded.sha256()
            if target == size and encoded.header.sendable:
                fmt = encoded.header.format or ""
                return LoadedImage(pixels, encoded.source, encoded.read(), MEDIA_TYPES[fmt], digest)
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
    target = fit_long_side(loaded.displayed_size, max_side)
    return LoadedImage(
        resize_pixels(loaded.pixels, target), loaded.source, None, None, loaded.source_sha256, loaded.displayed_size
    )


def fit_long_side(size: Size, max_side: int) -> Size:
    """(w, h) of ``size`` scaled down, aspect kept, so that its long side is at most ``max_side``.

    >>> fit_long_side((4000, 3000), 1024), fit_long_side((640, 480), 1024)
    ((1024, 768), (640, 480))
    """
    w, h = size
    if max(w, h) <= max_side:
        return size
    scale = max_side / max(w, h)
    return (max(1, round(w * scale)), max(1, round(h * scale)))


def decode_at(encoded: _Encoded, target: Size) -> np.ndarray:
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
    return resize_pixels(pixels, target)


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


def resize_pixels(pixels: np.ndarray, target: Size) -> np.ndarray:
    """Resize (H, W, 3) pixels to ``target`` (W, H): area averaging to shrink, bicubic to enlarge."""
    import cv2

    h, w = pixels.shape[:2]
    if (w, h) == target:
        return pixels
    shrink = target[0] * target[1] < w * h
    return cv2.resize(pixels, target, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def read_size(path: str | Path) -> Size:
    """(W, H) of an image as displayed (EXIF rotation applied), from its header.

    Raises:
        ImageError: missing, unreadable, not an image, or refused (with the reason).
    """
    with open_encoded(Path(path)) as encoded:
        return encoded.header.size


def image_size_of(path: str | Path) -> Size | None:
    """:func:`read_size`, None when the image is unreadable."""
    try:
        return read_size(path)
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
