"""Heatmaps in the run directory: ``heatmaps/<id>.png``, 8-bit, at most 512 px on the long side, referenced from
the prediction line and mapped back to the original pixels (or a ground truth's) on scoring."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from grounddefake.grounding import load_heatmap
from grounddefake.images import ImageError
from grounddefake.rundir import overlay_name
from grounddefake.types import Size

HEATMAPS = "heatmaps"
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,140}\.png")
MAX_SIDE = 512


def stored_size(size: Size, max_side: int = MAX_SIDE) -> Size:
    """The (W, H) a map of a ``size`` image is stored at: the same aspect, the long side at most ``max_side``.

    >>> stored_size((4000, 3000)), stored_size((300, 200))
    ((512, 384), (300, 200))
    """
    w, h = size
    scale = min(1.0, max_side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def write_heatmap_png(path: Path, heatmap: np.ndarray) -> None:
    """``heatmap`` ((H, W) in [0, 1] over the original image, at its size or smaller) as an 8-bit grey PNG at
    :func:`stored_size`."""
    import cv2
    from PIL import Image

    h, w = heatmap.shape
    target = stored_size((w, h))
    values = np.clip(np.nan_to_num(heatmap.astype(np.float32)), 0.0, 1.0)
    if target != (w, h):
        values = cv2.resize(values, target, interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(values * 255).astype(np.uint8), "L").save(path)


def save_heatmap(run_dir: Path, sample_id: str, heatmap: np.ndarray) -> str:
    """Write ``heatmap`` as ``heatmaps/<id>.png`` under ``run_dir``; the path relative to it."""
    relative = f"{HEATMAPS}/{overlay_name(sample_id, '.png')}"
    write_heatmap_png(run_dir / relative, heatmap)
    return relative


def load_stored_heatmap(run_dir: Path, relative: str, size: Size) -> np.ndarray:
    """A stored map at ``size`` = (W, H) (bilinear), values in [0, 1].

    Raises:
        ImageError: missing or unreadable, or ``relative`` is not a file of the run's ``heatmaps/`` folder (a
            prediction line names it: it may not point anywhere else).
    """
    if not is_stored_heatmap(relative):
        raise ImageError(f"heatmap {relative!r}: not a file of the run's {HEATMAPS}/ folder")
    return load_heatmap(run_dir / relative, size)


def is_stored_heatmap(relative: object) -> bool:
    """Whether a prediction line's ``heatmap`` names a file of the run's ``heatmaps/`` folder, and nothing else.

    >>> is_stored_heatmap("heatmaps/a.png"), is_stored_heatmap("heatmaps/../x.png"), is_stored_heatmap("/etc/x.png")
    (True, False, False)
    """
    name = relative.removeprefix(f"{HEATMAPS}/") if isinstance(relative, str) else ""
    return name != relative and bool(_SAFE_NAME.fullmatch(name))
