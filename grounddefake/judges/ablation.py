"""Region ablation: the image with one box blanked in its mean colour, ready to be asked about again."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from grounddefake.images import ImagePolicy, PreparedImage, prepare_image
from grounddefake.types import Box


def blank_box(prepared: PreparedImage, box: Box, policy: ImagePolicy | None = None) -> PreparedImage:
    """``prepared`` with ``box`` (original pixels) filled with the image's mean colour, encoded as the model gets
    images; the Transform stays the original one (the blanked image has the same size as the prepared one).

    >>> from grounddefake.images import prepare_image
    >>> pixels = np.zeros((10, 20, 3), np.uint8)
    >>> pixels[:, 10:] = 200  # left half black, right half grey: the mean colour is 100
    >>> blanked = blank_box(prepare_image(pixels), (0, 0, 10, 10))
    >>> int(blanked.pixels[5, 5, 0]), int(blanked.pixels[5, 15, 0]), blanked.transform.input_size
    (100, 200, (20, 10))
    """
    pixels = prepared.pixels.copy()
    h, w = pixels.shape[:2]
    x1, y1, x2, y2 = prepared.transform.box_to_input(box)
    left, top = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
    right, bottom = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
    mean = pixels.reshape(-1, pixels.shape[-1]).mean(axis=0).round().astype(np.uint8)
    if right > left and bottom > top:
        pixels[top:bottom, left:right] = mean
    policy = policy or ImagePolicy()
    return replace(prepare_image(pixels, policy), transform=prepared.transform)
