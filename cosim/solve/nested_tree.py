"""Geometric nested-dissection tree of a regular M x N crossbar grid (the symbolic half of the solver).

The grid has two unknowns per crossing (i, j): the word-line node ``u[i, j]`` and the bit-line node
``b[i, j]``. Across a column boundary only word-line segments (u-u) couple, across a row boundary only
bit-line segments (b-b). Hence

- a **vertical cut** at column ``c`` of a rectangle separates it with the u-nodes of that column alone
  (the separator); the b-nodes of the column are then an isolated chain touching only the separator
  and the two bit-line nodes just above and below the rectangle;
- a **horizontal cut** at row ``r`` separates it with the b-nodes of that row; the u-nodes of the row
  form the chain, touching the separator and the word-line nodes just left and right of the rectangle;
- a **leaf** rectangle is eliminated densely (all its 2 h w nodes are pivots).

The boundary of a rectangle rows [r0, r1) x cols [c0, c1) is, in front order, its left side
``u[r0:r1, c0-1]``, right side ``u[r0:r1, c1]``, top side ``b[r0-1, c0:c1]`` and bottom side
``b[r1, c0:c1]`` (each present only inside the grid). Every boundary node lies on an ancestor's
separator, so the update matrix of a rectangle extends into its parent's front.

All rectangles of one tree level share the cut direction and differ in size by at most one row or
column, so a level is described by a few arrays; the tree is a list of levels (root first) and the
children of node ``k`` of a cut level are nodes ``2k`` and ``2k + 1`` of the next level.
Node numbering of the unknowns: ``u[i, j] -> i N + j``, ``b[i, j] -> M N + i N + j``.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

import numpy as np


class Cut(IntEnum):
    """How the rectangles of a level are eliminated (the codes are shared with the Cython kernel)."""

    LEAF = 0        # all 2 h w nodes are pivots of one dense front
    VERTICAL = 1    # separator: u[r0:r1, cut]; chain: b[r0:r1, cut]
    HORIZONTAL = 2  # separator: b[cut, c0:c1]; chain: u[cut, c0:c1]


#: smallest extent a rectangle needs along the cut direction (both halves keep at least one line)
MIN_CUT_EXTENT = 3


@dataclass(frozen=True)
class Level:
    """All rectangles of one tree level and the sizes of their fronts.

    Attributes:
        cut: how this level's rectangles are eliminated.
        r0, r1, c0, c1: (n,) int64 row / column ranges [r0, r1) x [c0, c1) of each rectangle.
        line: (n,) int64 column (vertical cut) or row (horizontal cut) of the separator; unused for leaves.
        pivots: (n,) number of nodes eliminated by each front (separator, or the whole leaf).
        boundary: (n,) number of boundary nodes of each front.
        panel_offset: (n + 1,) start of each node's factor panel (front x pivots doubles) in the
            level's panel buffer; ``panel_offset[-1]`` is the buffer length.
        chain_offset: (n + 1,) start of each node's chain (length = pivots for cut levels, 0 for leaves).
        update_offset: (n + 1,) start of each node's update matrix (its packed lower triangle,
            boundary (boundary + 1) / 2 doubles).
        boundary_offset: (n + 1,) start of each node's boundary rows in a level-wide stack (the
            update vectors of the forward substitution, times the number of right-hand sides).
    """

    cut: Cut
    r0: np.ndarray
    r1: np.ndarray
    c0: np.ndarray
    c1: np.ndarray
    line: np.ndarray
    pivots: np.ndarray
    boundary: np.ndarray
    panel_offset: np.ndarray
    chain_offset: np.ndarray
    update_offset: np.ndarray
    boundary_offset: np.ndarray

    @property
    def size(self) -> int:
        """Number of rectangles (tree nodes) in the level."""
        return int(self.r0.size)

    @property
    def front(self) -> np.ndarray:
        """(n,) front size (pivots + boundary) of each node."""
        return self.pivots + self.boundary


def _offsets(sizes: np.ndarray) -> np.ndarray:
    out = np.zeros(sizes.size + 1, np.int64)
    np.cumsum(sizes, out=out[1:])
    return out


def _choose_cut(h: np.ndarray, w: np.ndarray, max_leaf_nodes: int) -> Cut:
    """One cut direction for a whole level: across the longer side, if every rectangle allows it."""
    if 2 * int(h.max()) * int(w.max()) <= max_leaf_nodes:
        return Cut.LEAF
    can_v = int(w.min()) >= MIN_CUT_EXTENT
    can_h = int(h.min()) >= MIN_CUT_EXTENT
    if can_v and (int(w.max()) >= int(h.max()) or not can_h):
        return Cut.VERTICAL
    if can_h:
        return Cut.HORIZONTAL
    return Cut.LEAF


def _make_level(cut: Cut, r0, r1, c0, c1, rows: int, cols: int) -> Level:
    h, w = r1 - r0, c1 - c0
    if cut is Cut.VERTICAL:
        line, pivots = c0 + (w - 1) // 2, h
    elif cut is Cut.HORIZONTAL:
        line, pivots = r0 + (h - 1) // 2, w
    else:
        line, pivots = np.zeros_like(r0), 2 * h * w
    boundary = h * (c0 > 0) + h * (c1 < cols) + w * (r0 > 0) + w * (r1 < rows)
    chain = pivots if cut is not Cut.LEAF else np.zeros_like(pivots)
    return Level(cut, r0, r1, c0, c1, line, pivots, boundary, _offsets((pivots + boundary) * pivots),
                 _offsets(chain), _offsets(boundary * (boundary + 1) // 2), _offsets(boundary))


def _children(level: Level):
    """Rectangles of the next level: the two halves left by each separator, interleaved (2k, 2k+1)."""
    r0, r1, c0, c1, line = level.r0, level.r1, level.c0, level.c1, level.line
    if level.cut is Cut.VERTICAL:
        parts = ((r0, r1, c0, line), (r0, r1, line + 1, c1))
    else:
        parts = ((r0, line, c0, c1), (line + 1, r1, c0, c1))
    return tuple(np.stack([a, b], axis=1).ravel() for a, b in zip(*parts))


def build_levels(rows: int, cols: int, max_leaf_nodes: int = 8) -> list[Level]:
    """Nested-dissection levels of a ``rows`` x ``cols`` crossbar, root first.

    Args:
        rows, cols: grid size M, N (>= 1).
        max_leaf_nodes: a level becomes the leaf level once every rectangle has at most this many
            unknowns (2 h w); rectangles too thin to cut become leaves regardless.

    The tree depends on the sizes only; it is built once per size (a cold operating point at 256 x 256
    would otherwise spend a tenth of its time here). The levels' arrays are shared: do not modify them.
    """
    return list(_cached_levels(int(rows), int(cols), int(max_leaf_nodes)))


@lru_cache(maxsize=32)
def _cached_levels(rows: int, cols: int, max_leaf_nodes: int) -> tuple[Level, ...]:
    levels = _levels(rows, cols, max_leaf_nodes)
    for level in levels:                 # shared between solvers: make accidental edits fail loudly
        for arr in vars(level).values():
            if isinstance(arr, np.ndarray):
                arr.flags.writeable = False
    return tuple(levels)


def _levels(rows: int, cols: int, max_leaf_nodes: int) -> list[Level]:
    r0, r1 = np.array([0], np.int64), np.array([rows], np.int64)
    c0, c1 = np.array([0], np.int64), np.array([cols], np.int64)
    levels = []
    while True:
        cut = _choose_cut(r1 - r0, c1 - c0, max_leaf_nodes)
        level = _make_level(cut, r0, r1, c0, c1, rows, cols)
        levels.append(level)
        if cut is Cut.LEAF:
            return levels
        r0, r1, c0, c1 = _children(level)


def split_level(levels: list[Level], n_threads: int) -> int:
    """First level with at least ``n_threads`` rectangles (the last level if none has).

    The subtrees hanging from its rectangles are independent and are processed in parallel; the
    levels above it, serially.
    """
    for depth, lev in enumerate(levels):
        if lev.size >= n_threads:
            return depth
    return len(levels) - 1


def factor_cost(levels: list[Level]) -> dict[str, float]:
    """Size of the factorisation: dense flops (multiply-adds of the fronts), factor doubles, tree nodes."""
    flops = 0.0
    for lev in levels:
        p, b = lev.pivots.astype(float), lev.boundary.astype(float)
        flops += float(np.sum(p ** 3 / 3 + p * p * b + p * b * b))
    return {"flops": flops,
            "panel_doubles": float(sum(lev.panel_offset[-1] for lev in levels)),
            "nodes": float(sum(lev.size for lev in levels))}
