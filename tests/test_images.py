from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

import grounddefake
from grounddefake.images import ImageError, ImagePolicy, fit_size, image_size_of, load_image, prepare_image


def _rgb(w: int = 40, h: int = 30) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _save(img: Image.Image, path: Path, fmt: str, **kw) -> Path:
    img.save(path, format=fmt, **kw)
    return path


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("P", "PNG"),
        ("RGBA", "PNG"),
        ("LA", "PNG"),
        ("L", "PNG"),
        ("1", "PNG"),
        ("CMYK", "JPEG"),
        ("I;16", "PNG"),
        ("RGB", "WEBP"),
        ("RGB", "GIF"),
        ("RGB", "TIFF"),
        ("RGB", "BMP"),
    ],
)
def test_every_mode_becomes_8bit_rgb(tmp_path: Path, mode: str, fmt: str) -> None:
    base = Image.fromarray(_rgb())
    img = (
        base.convert(mode)
        if mode != "I;16"
        else Image.fromarray((np.arange(1200).reshape(30, 40) * 50).astype(np.uint16))
    )
    loaded = load_image(_save(img, tmp_path / f"x.{fmt.lower()}", fmt))
    assert loaded.pixels.shape == (30, 40, 3)
    assert loaded.pixels.dtype == np.uint8


def test_16bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    loaded = load_image(_save(Image.fromarray(values), tmp_path / "g16.png", "PNG"))
    assert loaded.pixels[0, :, 0].tolist() == [0, 128, 255]


def test_transparent_pixels_composite_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 0
    rgba[0, 0] = (10, 20, 30, 255)
    loaded = load_image(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png", "PNG"))
    assert loaded.pixels[0, 0].tolist() == [10, 20, 30]
    assert loaded.pixels[3, 3].tolist() == [255, 255, 255]


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = _rgb(60, 40)
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    path = _save(img, tmp_path / "rot.jpg", "JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.size == (40, 60)
    assert loaded.data is None, "rotated files must be re-encoded, their bytes do not show the displayed pixels"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.png", b"", "empty file"),
        ("notes.png", b"this is not an image at all", "not an image"),
        ("trunc.jpg", None, "corrupt or truncated"),
        ("missing.png", "MISSING", "no such file"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: bytes | str | None, message: str) -> None:
    path = tmp_path / name
    if content is None:
        buf = io.BytesIO()
        Image.fromarray(_rgb(200, 200)).save(buf, "JPEG")
        path.write_bytes(buf.getvalue()[:300])
    elif content != "MISSING":
        path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_directory_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="directory"):
        load_image(tmp_path)


def test_decompression_bomb_guard_stays_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Image.MAX_IMAGE_PIXELS is not None, "importing grounddefake must not disable Pillow's guard"
    path = _save(Image.fromarray(_rgb(100, 100)), tmp_path / "bomb.png", "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # 10,000 px > 2 × 2,000: a "bomb" at this limit
    with pytest.raises(ImageError, match="decompression-bomb") as info:
        load_image(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "make",
    [lambda p: p, lambda p: Image.fromarray(p), lambda p: p[:, :, 0], lambda p: p.astype(np.float32) / 255.0],
    ids=["rgb-array", "pil", "grey-array", "float-array"],
)
def test_in_memory_inputs(make) -> None:
    pixels = _rgb()
    loaded = load_image(make(pixels))
    assert loaded.pixels.shape == (30, 40, 3)


def test_unsupported_type() -> None:
    with pytest.raises(TypeError):
        load_image(12)


@pytest.mark.parametrize(
    ("make", "name", "fmt", "untouched"),
    [
        (lambda: Image.fromarray(_rgb()), "x.jpg", "JPEG", True),
        (lambda: Image.fromarray(_rgb()[:, :, 0]), "grey.jpg", "JPEG", True),  # JPEG traces of grey photos too
        (lambda: Image.fromarray(_rgb()[:, :, 0]), "grey.png", "PNG", True),
        (lambda: Image.fromarray(_rgb()).convert("P"), "palette.png", "PNG", True),
        (lambda: Image.fromarray(_rgb()).convert("RGBA"), "alpha.png", "PNG", False),  # composited on white
        (lambda: Image.fromarray(_rgb()).convert("CMYK"), "cmyk.jpg", "JPEG", False),
    ],
)
def test_prepare_sends_original_bytes_when_nothing_changes(tmp_path: Path, make, name, fmt, untouched) -> None:
    path = _save(make(), tmp_path / name, fmt)
    prepared = prepare_image(path)
    assert (prepared.payload == path.read_bytes()) is untouched
    assert prepared.transform.scale == (1.0, 1.0)
    if untouched:
        assert prepared.media_type == f"image/{fmt.lower()}"
        assert (load_image(prepared.payload).pixels == prepared.pixels).all()


def test_prepare_resizes_losslessly_and_records_transform(tmp_path: Path) -> None:
    path = _save(Image.fromarray(_rgb(400, 100)), tmp_path / "wide.jpg", "JPEG")
    prepared = prepare_image(path, ImagePolicy(max_side=200))
    assert prepared.media_type == "image/png"
    assert prepared.transform.input_size == (200, 50)
    assert prepared.pixels.shape == (50, 200, 3)
    assert prepared.transform.box_to_original((100, 25, 200, 50)) == (200.0, 50.0, 400.0, 100.0)
    assert load_image(prepared.payload).size == (200, 50)


def test_raw_policy_hands_resized_pixels_over_unencoded(tmp_path: Path) -> None:
    """In-process models skip the encoding: the payload is the resized RGB bytes, and their hash keys the cache."""
    path = _save(Image.fromarray(_rgb(400, 100)), tmp_path / "wide.jpg", "JPEG")
    prepared = prepare_image(path, ImagePolicy(max_side=200, format="raw"))
    assert prepared.payload == prepared.pixels.tobytes() and prepared.pixels.shape == (50, 200, 3)
    assert prepared.media_type == "image/x-raw-rgb; size=200x50"
    assert prepared.sha256 != prepare_image(path, ImagePolicy(max_side=100, format="raw")).sha256
    untouched = prepare_image(path, ImagePolicy(format="raw"))  # nothing to resize: the original bytes
    assert untouched.payload == path.read_bytes()


def test_raw_images_of_the_same_bytes_but_another_shape_never_share_a_hash() -> None:
    wide, tall = np.full((200, 400, 3), 90, np.uint8), np.full((400, 200, 3), 90, np.uint8)
    policy = ImagePolicy(max_side=100, format="raw")
    first, second = prepare_image(wide, policy), prepare_image(tall, policy)
    assert first.payload == second.payload  # 100 x 50 and 50 x 100 pixels of one colour: the same bytes ...
    assert first.sha256 != second.sha256  # ... but never the same cache key


@pytest.mark.parametrize(
    ("size", "policy", "expected"),
    [
        ((640, 480), ImagePolicy(), (640, 480)),
        ((640, 480), ImagePolicy(max_side=320), (320, 240)),
        ((1000, 1000), ImagePolicy(max_pixels=250_000), (500, 500)),
        ((400, 100), ImagePolicy(max_side=300, max_pixels=10_000), (200, 50)),
        ((100, 50), ImagePolicy(max_side=200, max_pixels=10_000), (100, 50)),
    ],
)
def test_fit_size(size, policy, expected) -> None:
    assert fit_size(size, policy) == expected


def test_public_load_image_is_exported() -> None:
    assert grounddefake.load_image is load_image


def test_palette_with_transparency_and_cmyk_keep_their_colours(tmp_path: Path) -> None:
    palette = Image.new("P", (2, 1))
    palette.putpalette([200, 10, 20] + [0, 0, 0] * 255)
    palette.putpixel((0, 0), 0)
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 1
    palette.save(tmp_path / "p.png", transparency=1)
    loaded = load_image(tmp_path / "p.png").pixels
    assert loaded[0, 0].tolist() == [200, 10, 20] and loaded[0, 1].tolist() == [255, 255, 255]
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red in CMYK
    cmyk.save(tmp_path / "c.jpg", quality=100)
    red = load_image(tmp_path / "c.jpg").pixels.reshape(-1, 3).mean(axis=0)
    assert red[0] > 230 and red[1] < 25 and red[2] < 25


@pytest.mark.parametrize(
    ("size", "policy", "target"),
    [
        ((4000, 3000), ImagePolicy(max_side=2048, max_short_side=768), (1024, 768)),  # OpenAI high detail
        ((1000, 700), ImagePolicy(max_side=2048, max_short_side=768), (1000, 700)),
        ((1080, 1920), ImagePolicy(resize="smart-resize"), (1092, 1932)),
        ((1080, 1920), ImagePolicy(resize="smart-resize", max_pixels=1_003_520), (728, 1316)),
        ((20, 20), ImagePolicy(resize="smart-resize"), (56, 56)),  # below min_pixels: enlarged, as Qwen does
    ],
)
def test_policies_fit_what_the_server_would_do(size, policy, target) -> None:
    assert fit_size(size, policy) == target


def test_smart_resized_payload_maps_boxes_back() -> None:
    pixels = np.zeros((1920, 1080, 3), np.uint8)
    prepared = prepare_image(pixels, ImagePolicy(resize="smart-resize", max_pixels=1_003_520))
    assert prepared.transform.input_size == (728, 1316)
    assert prepared.transform.box_to_original((0, 0, 728, 1316)) == pytest.approx((0, 0, 1080, 1920))


def test_smart_resize_refuses_extreme_aspect_ratio_as_image_error() -> None:
    with pytest.raises(ImageError, match="aspect ratio"):
        prepare_image(np.zeros((10, 3000, 3), np.uint8), ImagePolicy(resize="smart-resize"))


# --------------------------------------------------------------------------------------------------------------------
# Untouched files are not decoded; reduced decoding


def _photo(w: int, h: int, seed: int = 0) -> np.ndarray:
    """Smooth, photo-like content (JPEG and area averaging behave as on photographs)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, h // 32), max(2, w // 32), 3)).astype(np.float32)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self, *args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize(("name", "fmt"), [("x.jpg", "JPEG"), ("x.png", "PNG"), ("x.webp", "WEBP")])
def test_untouched_file_is_not_decoded_until_its_pixels_are_asked_for(tmp_path: Path, monkeypatch, name, fmt) -> None:
    path = _save(Image.fromarray(_photo(64, 48)), tmp_path / name, fmt)
    expected = load_image(path).pixels
    with monkeypatch.context() as patch:
        _no_decoding(patch)
        prepared = prepare_image(path)
    assert prepared.payload == path.read_bytes() and prepared.decoded is None
    assert prepared.transform.original_size == (64, 48)
    assert (prepared.pixels == expected).all() and prepared.decoded is prepared.pixels  # decoded once, then kept


def test_untouched_bytes_are_not_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _save(Image.fromarray(_photo(64, 48)), tmp_path / "x.jpg", "JPEG").read_bytes()
    _no_decoding(monkeypatch)
    prepared = prepare_image(data)
    assert prepared.payload == data and prepared.media_type == "image/jpeg" and prepared.decoded is None


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_untouched_files_are_refused_with_the_reason(tmp_path: Path, fmt: str, keep: float) -> None:
    buf = io.BytesIO()
    Image.fromarray(_rgb(200, 150)).save(buf, fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buf.getvalue()[: int(len(buf.getvalue()) * keep)])
    with pytest.raises(ImageError, match="corrupt or truncated") as info:
        prepare_image(path)
    assert str(path) in str(info.value)


def test_jpeg_with_bytes_after_its_end_marker_is_still_sent(tmp_path: Path) -> None:
    """Cameras append trailers after EOI: the structural check is unsure, so a full decode decides."""
    path = _save(Image.fromarray(_photo(64, 48)), tmp_path / "x.jpg", "JPEG")
    path.write_bytes(path.read_bytes() + b"trailer")
    prepared = prepare_image(path)
    assert prepared.payload == path.read_bytes() and prepared.pixels.shape == (48, 64, 3)


@pytest.mark.parametrize("name", ["empty.jpg", "notes.png"])
def test_prepare_names_unreadable_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"" if name == "empty.jpg" else b"not an image")
    with pytest.raises(ImageError, match="empty file" if name == "empty.jpg" else "not an image") as info:
        prepare_image(path)
    assert str(path) in str(info.value)


def test_prepare_keeps_the_decompression_bomb_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(Image.fromarray(_rgb(100, 100)), tmp_path / "bomb.jpg", "JPEG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    with pytest.raises(ImageError, match="decompression-bomb"):
        prepare_image(path)
    assert image_size_of(path) is None


def test_png_orientation_is_read_without_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    img = Image.fromarray(_photo(60, 40))
    exif = img.getexif()
    exif[0x0112] = 6
    path = _save(img, tmp_path / "rot.png", "PNG", exif=exif.tobytes())
    with monkeypatch.context() as patch:
        _no_decoding(patch)
        assert image_size_of(path) == (40, 60)
    prepared = prepare_image(path)
    assert prepared.transform.original_size == (40, 60) and prepared.payload != path.read_bytes()


def test_image_size_of_reads_displayed_size(tmp_path: Path) -> None:
    img = Image.fromarray(_photo(60, 40))
    exif = img.getexif()
    exif[0x0112] = 8
    assert image_size_of(_save(img, tmp_path / "r.jpg", "JPEG", exif=exif.tobytes())) == (40, 60)
    assert image_size_of(_save(img, tmp_path / "p.png", "PNG")) == (60, 40)
    assert image_size_of(tmp_path / "missing.png") is None
    (tmp_path / "bad.png").write_bytes(b"junk")
    assert image_size_of(tmp_path / "bad.png") is None


def test_reduced_load_never_decodes_a_large_jpeg_at_full_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    pixels = _photo(4000, 3000)
    path = _save(Image.fromarray(pixels), tmp_path / "big.jpg", "JPEG", quality=95)
    decoded_sizes: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def spy(self):
        decoded_sizes.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    reduced = load_image(path, max_side=1024)
    assert reduced.size == (1024, 768) and reduced.original_size == (4000, 3000) and reduced.data is None
    assert decoded_sizes and max(w * h for w, h in decoded_sizes) <= 2000 * 1500
    expected = cv2.resize(pixels, (1024, 768), interpolation=cv2.INTER_AREA).astype(np.int16)
    assert np.abs(reduced.pixels.astype(np.int16) - expected).mean() < 2.0


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_reduced_load_of_other_formats_applies_exif_rotation(tmp_path: Path, fmt: str) -> None:
    img = Image.fromarray(_photo(600, 300))
    exif = img.getexif()
    exif[0x0112] = 6
    path = _save(
        img, tmp_path / f"r.{fmt.lower()}", fmt, exif=exif.tobytes(), **({"lossless": True} if fmt == "WEBP" else {})
    )
    full = load_image(path)
    reduced = load_image(path, max_side=150)
    assert full.size == (300, 600) and reduced.size == (75, 150) and reduced.displayed_size == (300, 600)
    coarse = full.pixels.reshape(150, 4, 75, 4, 3).mean(axis=(1, 3))
    assert np.abs(reduced.pixels.astype(float) - coarse).mean() < 2.0


def test_reduced_load_of_small_images_and_arrays() -> None:
    pixels = _photo(200, 100)
    assert load_image(pixels, max_side=400).size == (200, 100)
    reduced = load_image(pixels, max_side=100)
    assert reduced.size == (100, 50) and reduced.original_size == (200, 100)


def test_resized_prepare_decodes_reduced_and_maps_boxes_back(tmp_path: Path) -> None:
    path = _save(Image.fromarray(_photo(4000, 3000)), tmp_path / "big.jpg", "JPEG")
    prepared = prepare_image(path, ImagePolicy(max_pixels=1_000_000, format="raw"))
    assert prepared.transform.input_size == (1155, 866) and prepared.pixels.shape == (866, 1155, 3)
    assert prepared.transform.box_to_original((0, 0, 1155, 866)) == pytest.approx((0, 0, 4000, 3000))
    assert prepared.source_sha256 == __import__("hashlib").sha256(path.read_bytes()).hexdigest()


def test_prepared_pixels_of_a_raw_payload_are_rebuilt_from_its_bytes() -> None:
    from grounddefake.images import PreparedImage

    prepared = prepare_image(_photo(80, 40), ImagePolicy(max_side=40, format="raw"))
    bare = PreparedImage(prepared.payload, prepared.media_type, prepared.transform, None, prepared.sha256)
    assert bare.pixels.shape == (20, 40, 3) and (bare.pixels == prepared.pixels).all()
