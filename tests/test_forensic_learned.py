"""The learned localizer: its inputs, the shipped network run by cv2.dnn, tiling, calibration and regions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from grounddefake.forensic import features as features_module
from grounddefake.forensic import learned
from grounddefake.forensic.features import CUE_CHANNELS, OUTPUT_STRIDE, PIXEL_CHANNELS, STRIDE, features

ROOT = Path(__file__).resolve().parent.parent


def _photo_like(seed: int, h: int, w: int) -> np.ndarray:
    """A colour 1/f texture with fine noise, (h, w, 3) uint8."""
    rng = np.random.default_rng(seed)
    out = np.zeros((h, w, 3), np.float32)
    for scale in (1, 2, 4, 8, 16, 32):
        octave = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 3)).astype(np.float32), (0, 0), 0.6 * scale)
        out += scale * octave / octave.std()
    out = 128 + 55 * out / out.std() + rng.normal(0, 2, (h, w, 3))
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("h", "w"), [(64, 64), (100, 150), (257, 31), (480, 640), (17, 300)])
def test_features_have_the_network_shapes(h: int, w: int) -> None:
    found = features(_photo_like(0, h, w))
    _, ph, pw = found.pixels.shape
    assert found.pixels.shape[0] == PIXEL_CHANNELS and found.pixels.dtype == np.float32
    assert ph % STRIDE == 0 and pw % STRIDE == 0 and ph >= max(h, 4 * STRIDE) and pw >= max(w, 4 * STRIDE)
    assert found.cues.shape == (CUE_CHANNELS, ph // OUTPUT_STRIDE, pw // OUTPUT_STRIDE)
    assert found.size == (w, h)
    assert np.isfinite(found.pixels).all() and np.isfinite(found.cues).all()
    assert np.abs(found.pixels[3:]).max() <= 1.0  # residuals truncated and scaled to [-1, 1]


@pytest.mark.parametrize("noise", [1.0, 3.0, 8.0])
def test_residuals_are_judged_against_the_image_itself(noise: float) -> None:
    """Each residual channel is divided by its image's own median |residual|: a noisier photo is not a louder one."""
    rng = np.random.default_rng(1)
    flat = np.clip(128 + rng.normal(0, noise, (128, 128, 3)), 0, 255).astype(np.uint8)
    channels = features(flat).pixels[3:7]
    medians = np.median(np.abs(channels), axis=(1, 2)) * features_module.TRUNCATE
    assert medians == pytest.approx(np.ones(4), abs=0.25 if noise > 1 else 0.45)


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        (np.array([[0.0, 1.0], [2.0, 3.0]]), (3.0, 3.0, 1.5)),
        (np.full((10, 10), -2.0), (-2.0, -2.0, -2.0)),
        (np.arange(200.0).reshape(10, 20), (199.0, 198.5, 99.5)),
        (np.zeros((0, 0)), (-50.0, -50.0, -50.0)),
    ],
    ids=["four", "flat", "two-hundred", "empty"],
)
def test_map_statistics(grid: np.ndarray, expected: tuple[float, float, float]) -> None:
    assert learned.map_statistics(grid) == pytest.approx(expected)


def test_a_region_is_judged_against_its_image_median() -> None:
    grid = np.full((20, 20), -3.0)
    grid[5:8, 5:8] = 4.0
    peak, top, median = learned.map_statistics(grid[5:8, 5:8], grid)
    assert (peak, top, median) == pytest.approx((4.0, 4.0, -3.0))


@pytest.mark.parametrize(
    ("peak", "top", "median", "expected"),
    [(0.0, 0.0, 0.0, 0.5), (1e6, 0.0, 0.0, 1.0), (-1e6, 0.0, 0.0, 0.0)],
)
def test_settings_p_fake_is_a_bounded_logistic(peak: float, top: float, median: float, expected: float) -> None:
    chosen = learned.Settings(0.5, 1.0, 1.0, -1.0, 0.0)
    assert chosen.p_fake(peak, top, median) == pytest.approx(expected)


def test_shipped_settings_are_complete() -> None:
    data = json.loads(learned.SETTINGS.read_text(encoding="utf-8"))
    chosen = learned.settings()
    assert 0.0 < chosen.threshold < 1.0
    assert set(data["calibration"]) == {"peak", "top", "median", "intercept"}
    assert learned.WEIGHTS.stat().st_size < 5_000_000


def test_regions_are_the_connected_parts_above_the_threshold() -> None:
    grid = np.full((40, 60), -5.0, np.float32)
    grid[4:10, 6:20] = 3.0  # 84 cells
    grid[30:33, 40:43] = 1.0  # 9 cells, weaker
    grid[20, 20] = 6.0  # one cell: speckle, under MIN_REGION_CELLS
    regions = learned._regions(grid, 0.5, (475, 320))
    assert [r.box for r in regions] == [(48.0, 32.0, 160.0, 80.0), (320.0, 240.0, 344.0, 264.0)]
    assert regions[0].score == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert regions[0].area_fraction == pytest.approx(84 * 64 / (475 * 320))


def test_regions_are_clipped_to_the_image() -> None:
    grid = np.full((10, 10), -5.0, np.float32)
    grid[6:, 6:] = 5.0
    (region,) = learned._regions(grid, 0.5, (75, 77))
    assert region.box == (48.0, 48.0, 75.0, 77.0)


@pytest.mark.parametrize("tile", [320, 512, 1024])
def test_tiled_logits_agree_with_one_pass(tile: int) -> None:
    """Each tile keeps only the cells a margin away from its inner borders: the tiled map is the one-pass map, up to
    the little context beyond the margin."""
    found = features(_photo_like(2, 700, 1100))
    whole = learned.logits(found.pixels, found.cues, tile=4096)
    tiled = learned.logits(found.pixels, found.cues, tile=tile)
    assert tiled.shape == whole.shape
    assert np.corrcoef(whole.ravel(), tiled.ravel())[0, 1] > 0.999
    assert np.abs(whole - tiled).max() < 0.2 * whole.std()


@pytest.mark.parametrize(("h", "w", "tile"), [(720, 1104, 320), (2064, 400, 512), (4112, 4096, 2048), (272, 272, 272)])
def test_every_cell_comes_from_a_tile_that_keeps_it(monkeypatch: pytest.MonkeyPatch, h: int, w: int, tile: int) -> None:
    """With a network that writes each cell's own (row, column), the tiled map is exactly the grid of coordinates
    (so every cell is written from a tile that keeps it), and a kept cell is at least MARGIN from any inner border."""
    s = OUTPUT_STRIDE

    def coordinates(pixels: np.ndarray, cues: np.ndarray) -> np.ndarray:
        origin_y, origin_x = cues[0, 0, 0], cues[1, 0, 0]
        rows, cols = pixels.shape[1] // s, pixels.shape[2] // s
        return (origin_y + np.arange(rows)[:, None]) * 10_000 + origin_x + np.arange(cols)[None, :]

    monkeypatch.setattr(learned, "_run", coordinates)
    pixels = np.zeros((PIXEL_CHANNELS, h, w), np.float32)
    cues = np.stack(np.meshgrid(np.arange(h // s), np.arange(w // s), indexing="ij")).astype(np.float64)
    got = learned.logits(pixels, cues, tile=tile)
    want = np.arange(h // s)[:, None] * 10_000 + np.arange(w // s)[None, :]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("tile", [256, 300, 100])
def test_a_tile_that_cannot_keep_its_cells_is_refused(tile: int) -> None:
    found = features(_photo_like(0, 64, 64))
    with pytest.raises(ValueError, match="multiple of 16"):
        learned.logits(found.pixels, found.cues, tile=tile)


@pytest.mark.parametrize(("h", "w"), [(64, 64), (300, 200), (333, 517)])
def test_localize_maps_every_pixel(h: int, w: int) -> None:
    result = learned.localize(_photo_like(3, h, w))
    assert result.heatmap.shape == (h, w) and result.heatmap.dtype == np.float32
    assert result.heatmap.min() >= 0.0 and result.heatmap.max() <= 1.0
    assert 0.0 <= result.p_fake <= 1.0
    assert result.peak == pytest.approx(float(result.heatmap.max()), abs=0.05)
    for region in result.regions:
        x1, y1, x2, y2 = region.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h


def test_network_runs_in_threads_with_one_net_each() -> None:
    from concurrent.futures import ThreadPoolExecutor

    image = _photo_like(4, 200, 200)
    expected = learned.localize(image).heatmap
    with ThreadPoolExecutor(3) as pool:
        maps = list(pool.map(lambda _: learned.localize(image).heatmap, range(6)))
    for heatmap in maps:
        np.testing.assert_array_equal(heatmap, expected)


def test_cv2_dnn_runs_the_exported_network_as_torch_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The training script's network, exported to ONNX as it exports it, gives torch's logits through cv2.dnn."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    sys.path.insert(0, str(ROOT / "data"))
    try:
        import train_forensic
    finally:
        sys.path.remove(str(ROOT / "data"))
    torch.manual_seed(0)
    model = train_forensic.network().eval()
    weights = tmp_path / "localizer.onnx"
    train_forensic.export(model, weights)
    found = features(_photo_like(5, 160, 224))
    with torch.no_grad():
        expected = model(torch.from_numpy(found.pixels[None]), torch.from_numpy(found.cues[None]))[0, 0].numpy()
    monkeypatch.setattr(learned, "WEIGHTS", weights)
    monkeypatch.setattr(learned, "_local", type(learned._local)())
    got = learned.logits(found.pixels, found.cues)
    np.testing.assert_allclose(got, expected, atol=1e-4 * max(1.0, float(np.abs(expected).max())))
