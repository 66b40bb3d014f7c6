"""Region ablation: the image with boxes blanked in its mean colour, ready to be asked about again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from grounddefake.images import ImagePolicy, PreparedImage, prepare_image
from grounddefake.types import Box

Rect = tuple[int, int, int, int]
"""(left, top, right, bottom) in whole pixels of the prepared image, right and bottom exclusive."""


def input_rect(prepared: PreparedImage, box: Box) -> Rect | None:
    """The pixels of the prepared image that ``box`` (original pixels) touches, clipped to it; None when none.

    >>> from grounddefake.images import prepare_image
    >>> input_rect(prepare_image(np.zeros((10, 20, 3), np.uint8)), (-5, 2.5, 10.2, 4))
    (0, 2, 11, 4)
    """
    h, w = prepared.transform.input_size[1], prepared.transform.input_size[0]
    x1, y1, x2, y2 = prepared.transform.box_to_input(box)
    left, top = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
    right, bottom = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
    return (left, top, right, bottom) if right > left and bottom > top else None


def blank_rects(prepared: PreparedImage, rects: Sequence[Rect], policy: ImagePolicy | None = None) -> PreparedImage:
    """``prepared`` with each rect (prepared-image pixels) filled with the mean colour of the whole image before any
    blanking, encoded as the model gets images; the Transform stays the original one."""
    pixels = prepared.pixels.copy()
    mean = pixels.reshape(-1, pixels.shape[-1]).mean(axis=0).round().astype(np.uint8)
    for left, top, right, bottom in rects:
        pixels[top:bottom, left:right] = mean
    return replace(prepare_image(pixels, policy or ImagePolicy()), transform=prepared.transform)


def blank_boxes(prepared: PreparedImage, boxes: Sequence[Box], policy: ImagePolicy | None = None) -> PreparedImage:
    """``prepared`` with every box (original pixels) filled with the image's mean colour (:func:`blank_rects`)."""
    rects = [rect for box in boxes if (rect := input_rect(prepared, box)) is not None]
    return blank_rects(prepared, rects, policy)


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
    return blank_boxes(prepared, [box], policy)
