"""The control of a deletion test: the predicted regions' pixels moved elsewhere in the image, at random (seeded).

Rule: the predicted rects are grouped into clusters (rects that overlap, transitively); each cluster, largest first,
is moved rigidly — its shape and area kept — to a uniformly random position that keeps it inside the image, drawn
up to ``tries`` times until it overlaps neither the predicted regions nor the clusters already placed; when no draw
is free, the draw with the least such overlap is kept (and the overlap is counted). The control therefore covers
exactly the predicted area whenever the image has room for it, lies inside the image always, and is the same for the
same rects, bounds and key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grounddefake.judges.ablation import Rect

TRIES = 100
"""Random positions drawn per cluster before settling for the least overlapping one."""


@dataclass(frozen=True)
class ControlPlacement:
    """Where the control goes, in prepared-image pixels.

    Attributes:
        rects: the control rects (each predicted rect moved with its cluster).
        area: pixels the predicted rects cover (their union).
        control_area: pixels the control rects cover (their union); equal to ``area`` unless there was no room.
        overlap: control pixels inside the predicted regions (0 unless there was no room).
    """

    rects: tuple[Rect, ...]
    area: int
    control_area: int
    overlap: int


def clusters(rects: Sequence[Rect]) -> list[tuple[Rect, ...]]:
    """``rects`` grouped into clusters of rects that overlap each other, transitively, in input order.

    >>> clusters([(0, 0, 2, 2), (5, 5, 6, 6), (1, 1, 3, 3)])
    [((0, 0, 2, 2), (1, 1, 3, 3)), ((5, 5, 6, 6),)]
    """
    parent = list(range(len(rects)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, a in enumerate(rects):
        for j in range(i):
            b = rects[j]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                parent[root(i)] = root(j)
    groups: dict[int, list[Rect]] = {}
    for i, rect in enumerate(rects):
        groups.setdefault(root(i), []).append(rect)
    return [tuple(group) for group in groups.values()]


def seed_of(seed: int, key: str) -> np.random.Generator:
    """The generator of one sample's control: seeded by the run's ``seed`` and ``key`` (a hex digest of the image)."""
    return np.random.default_rng([seed, int(key[:16] or "0", 16)])


def control_rects(
    rects: Sequence[Rect], bounds: Rect, rng: np.random.Generator, tries: int = TRIES
) -> ControlPlacement:
    """The control placement of ``rects`` inside ``bounds`` (the image's pixels), by the rule of this module.

    >>> placed = control_rects([(0, 0, 10, 10)], (0, 0, 40, 20), seed_of(0, "ab"))
    >>> placed.area, placed.control_area, placed.overlap
    (100, 100, 0)
    """
    bx0, by0, bx1, by1 = bounds
    clipped = [
        (max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1))
        for x0, y0, x1, y1 in rects
        if min(bx1, x1) > max(bx0, x0) and min(by1, y1) > max(by0, y0)
    ]
    predicted = np.zeros((by1 - by0, bx1 - bx0), bool)
    for x0, y0, x1, y1 in clipped:
        predicted[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0] = True
    taken, control = predicted.copy(), np.zeros_like(predicted)
    groups = clusters(clipped)
    groups.sort(key=lambda g: -_bbox_area(g))
    placed: list[Rect] = []
    for group in groups:
        gx0, gy0 = min(r[0] for r in group), min(r[1] for r in group)
        gw, gh = max(r[2] for r in group) - gx0, max(r[3] for r in group) - gy0
        shape = np.zeros((gh, gw), bool)
        for x0, y0, x1, y1 in group:
            shape[y0 - gy0 : y1 - gy0, x0 - gx0 : x1 - gx0] = True
        best: tuple[int, int, int] | None = None
        for _ in range(tries):
            left = int(rng.integers(0, bx1 - bx0 - gw + 1))
            top = int(rng.integers(0, by1 - by0 - gh + 1))
            overlap = int((taken[top : top + gh, left : left + gw] & shape).sum())
            if best is None or overlap < best[0]:
                best = (overlap, left, top)
            if overlap == 0:
                break
        assert best is not None
        _, left, top = best
        taken[top : top + gh, left : left + gw] |= shape
        control[top : top + gh, left : left + gw] |= shape
        dx, dy = bx0 + left - gx0, by0 + top - gy0
        placed.extend((x0 + dx, y0 + dy, x1 + dx, y1 + dy) for x0, y0, x1, y1 in group)
    return ControlPlacement(tuple(placed), int(predicted.sum()), int(control.sum()), int((control & predicted).sum()))


def _bbox_area(group: Sequence[Rect]) -> int:
    return (max(r[2] for r in group) - min(r[0] for r in group)) * (max(r[3] for r in group) - min(r[1] for r in group))
