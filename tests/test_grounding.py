from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image
from shapely.geometry import Polygon, box

from grounddefake.grounding import load_mask, region_mask, regions_to_heatmap, regions_to_mask, truth_mask
from grounddefake.images import ImageError
from grounddefake.types import Region, Sample


def _brute_force_box(b, size) -> np.ndarray:
    """Pixel centres inside [x1, x2) × [y1, y2), one pixel at a time."""
    w, h = size
    out = np.zeros((h, w), bool)
    for r in range(h):
        for c in range(w):
            out[r, c] = b[0] <= c + 0.5 < b[2] and b[1] <= r + 0.5 < b[3]
    return out


@pytest.mark.parametrize(
    "b", [(2, 3, 10, 7), (0.4, 0.6, 5.5, 9.49), (-5, -5, 3, 3), (15, 2, 40, 30), (3.5, 3.5, 4.5, 4.5), (1, 1, 1.2, 1.2)]
)
def test_box_mask_matches_pixel_centre_rule(b) -> None:
    size = (20, 12)
    assert (region_mask(Region(b), size) == _brute_force_box(b, size)).all()


def test_integer_box_area_is_exact() -> None:
    assert region_mask(Region((10, 20, 40, 60)), (100, 100)).sum() == 30 * 40


def _random_polygon(rng: np.random.Generator, rounded: bool) -> np.ndarray:
    n = int(rng.integers(3, 12))
    centre, radius = rng.uniform(10, 90, 2), rng.uniform(3, 40)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.4, 1.0, n)
    points = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], axis=1)
    return np.round(points) if rounded else points


@pytest.mark.parametrize("seed", range(40))
def test_polygon_mask_is_the_exact_pixel_centre_rule(seed: int) -> None:
    """Independent reference: shapely point-in-polygon at every pixel centre (centres on the outline excepted)."""
    rng = np.random.default_rng(seed)
    points = _random_polygon(rng, rounded=seed % 2 == 0)
    mask = region_mask(Region((0, 0, 1, 1), polygon=tuple(map(tuple, points))), (100, 100))
    ys, xs = np.mgrid[0:100, 0:100] + 0.5
    polygon = Polygon(points)
    reference = shapely.contains_xy(polygon, xs, ys)
    on_outline = shapely.intersects_xy(polygon.exterior, xs, ys)
    assert ((mask == reference) | on_outline).all()


def test_axis_aligned_polygon_equals_its_box() -> None:
    square = ((2, 2), (5, 2), (5, 5), (2, 5))
    assert (
        region_mask(Region((0, 0, 1, 1), polygon=square), (10, 10)) == region_mask(Region((2, 2, 5, 5)), (10, 10))
    ).all()
    assert region_mask(Region((0, 0, 1, 1), polygon=square), (10, 10)).sum() == 9


def test_union_of_boxes_and_polygons() -> None:
    regions = [
        Region((0, 0, 10, 10)),
        Region((5, 5, 15, 15)),
        Region((0, 0, 1, 1), polygon=((20, 0), (30, 0), (30, 10), (20, 10))),
    ]
    mask = regions_to_mask(regions, (40, 20))
    expected = box(0, 0, 10, 10).union(box(5, 5, 15, 15)).area + 100
    assert mask.sum() == pytest.approx(expected, abs=25)
    assert mask.sum() == 100 + 100 - 25 + mask[:, 20:].sum()


def test_heatmap_takes_highest_score() -> None:
    heat = regions_to_heatmap(
        [Region((0, 0, 10, 10), score=0.3), Region((5, 5, 15, 15), score=0.8), Region((18, 0, 20, 2))], (20, 20)
    )
    assert heat.dtype == np.float32
    assert heat[2, 2] == pytest.approx(0.3)
    assert heat[7, 7] == pytest.approx(0.8)
    assert heat[1, 19] == pytest.approx(1.0)
    assert heat[19, 0] == 0


def test_truth_mask_prefers_file_and_checks_size(tmp_path: Path) -> None:
    mask = np.zeros((10, 20), np.uint8)
    mask[2:5, 3:9] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    sample = Sample("a", tmp_path / "i.png", "fake", (Region((0, 0, 20, 10)),), mask=tmp_path / "m.png")
    assert truth_mask(sample, (20, 10)).sum() == 18
    assert truth_mask(Sample("b", tmp_path / "i.png", "fake", (Region((0, 0, 2, 2)),)), (20, 10)).sum() == 4
    assert truth_mask(Sample("c", tmp_path / "i.png", "real"), (20, 10)) is None
    with pytest.raises(ImageError, match="mask is 20x10"):
        load_mask(tmp_path / "m.png", (30, 10))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda m: Image.fromarray(m * 255), 6),
        (lambda m: Image.fromarray(m), 6),  # stored as 0/1
        (lambda m: Image.fromarray(m.astype(np.uint16) * 65535), 6),
        (lambda m: Image.fromarray(np.dstack([np.full((*m.shape, 3), 255, np.uint8), m * 255])), 6),  # alpha
        (lambda m: Image.fromarray(np.dstack([m * 255] * 3)), 6),
    ],
    ids=["8-bit", "zero-one", "16-bit", "white-with-alpha", "rgb"],
)
def test_mask_encodings(tmp_path: Path, make, expected: int) -> None:
    m = np.zeros((4, 5), np.uint8)
    m[1:3, 1:4] = 1
    make(m).save(tmp_path / "m.png")
    assert load_mask(tmp_path / "m.png", (5, 4)).sum() == expected


def test_unreadable_mask_names_file(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ImageError, match=r"bad\.png"):
        load_mask(tmp_path / "bad.png")
