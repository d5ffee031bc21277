"""Weight <-> conductance mapping: cutting a weight matrix into tiles and writing each as conductances.

Orientation: a layer's matrix is (inputs, outputs) = (word lines, bit lines), so that a tile's
output currents are I = V @ G. A stack of ``groups`` such matrices (grouped convolutions) is mapped
group by group. Tiles are indexed (group, row tile, column tile); the last row / column tile is
padded (zero weights, inputs held at 0 V).

Double-column (two crossbars G+ and G-): u = w / s clipped to [-1, 1], G+ = G_off + max(u, 0) dG,
G- = G_off + max(-u, 0) dG, read as I+ - I-. Single-column (one crossbar): G = G_m + u dG / 2 and a
reference column at G_m = (G_on + G_off) / 2 in the array's last column, read as I_j - I_ref.
dG = G_on - G_off (nominal). The scale s is a percentile of |w| per tile or per column.

Bit-sliced (seed 002, double-column): |u| becomes the integer q = round(|u| (2^b - 1)) (b =
``weight_bits``), written in base L = ``levels_per_cell`` as n = ``cfg.slices`` digits d_j in adjacent
columns (least significant first), in G+ for u > 0 and G- for u < 0; a digit d is written as the
level-d conductance G_0 + d dG_L of the level table (dG_L its mean step). The periphery shift-adds:
a weight column's signed current is sum_j L^j (I+_j - I-_j).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from cosim.nn.config import ArrayConfig
from cosim.nn.lut import level_table

__all__ = ["TileGrid", "map_weights", "differential", "output_gain"]


@dataclass(frozen=True)
class TileGrid:
    """How a (groups, n_in, n_out) stack of matrices is cut into tiles of a config's weight block."""

    groups: int
    n_in: int
    n_out: int
    block: tuple[int, int]   # (rows, cols) of weights per tile
    tile: tuple[int, int]    # (rows, cols) of a physical crossbar
    arrays: int              # physical crossbars per tile

    @classmethod
    def for_config(cls, groups: int, n_in: int, n_out: int, cfg: ArrayConfig) -> "TileGrid":
        return cls(groups, n_in, n_out, cfg.weight_block, cfg.tile, cfg.arrays_per_tile)

    @property
    def n_row_tiles(self) -> int:
        return math.ceil(self.n_in / self.block[0])

    @property
    def n_col_tiles(self) -> int:
        return math.ceil(self.n_out / self.block[1])

    @property
    def tiles_shape(self) -> tuple[int, int, int]:
        """(groups, row tiles, column tiles)."""
        return (self.groups, self.n_row_tiles, self.n_col_tiles)

    @property
    def cells_shape(self) -> tuple[int, ...]:
        """Shape of the stack of physical crossbars: (groups, row tiles, col tiles, arrays, rows, cols)."""
        return self.tiles_shape + (self.arrays,) + self.tile

    @property
    def padded(self) -> tuple[int, int]:
        """(inputs, outputs) after padding to whole tiles."""
        return (self.n_row_tiles * self.block[0], self.n_col_tiles * self.block[1])

    def blocks(self, w: np.ndarray) -> np.ndarray:
        """(groups, n_in, n_out) -> (groups, row tiles, col tiles, block rows, block cols), zero padded."""
        if w.shape != (self.groups, self.n_in, self.n_out):
            raise ValueError(f"weights must have shape {(self.groups, self.n_in, self.n_out)}; got {w.shape}")
        rows, cols = self.block
        full = np.zeros((self.groups,) + self.padded)
        full[:, : self.n_in, : self.n_out] = w
        full = full.reshape(self.groups, self.n_row_tiles, rows, self.n_col_tiles, cols)
        return full.transpose(0, 1, 3, 2, 4)

    def used(self) -> np.ndarray:
        """Boolean blocks, True where a tile cell holds a real weight."""
        return self.blocks(np.ones((self.groups, self.n_in, self.n_out))) > 0

    def columns(self, per_tile: np.ndarray) -> np.ndarray:
        """(groups, rt, ct, ..., block cols) -> (groups, rt, ..., ct * block cols): tiles side by side."""
        moved = np.moveaxis(per_tile, 2, -2)
        return moved.reshape(moved.shape[:-2] + (-1,))


def weight_scale(abs_w: np.ndarray, used: np.ndarray, cfg: ArrayConfig) -> np.ndarray:
    """Scale s (weight units, > 0) per tile column, shape (groups, rt, ct, block cols).

    s is the ``clip_percentile`` of |w| over the tile (``scale="tile"``) or over each of its columns
    (``scale="column"``); an all-zero tile or column gets s = 1.
    """
    axes = (-2, -1) if cfg.scale == "tile" else (-2,)
    if cfg.clip_percentile >= 100.0:
        s = np.max(np.where(used, abs_w, 0.0), axis=axes, keepdims=True)
    else:
        with warnings.catch_warnings():   # all-NaN slices (padding-only columns) are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            s = np.nanpercentile(np.where(used, abs_w, np.nan), cfg.clip_percentile, axis=axes, keepdims=True)
        s = np.nan_to_num(s, nan=0.0)
    s = np.broadcast_to(s, abs_w.shape[:-2] + (1, abs_w.shape[-1]))[..., 0, :]
    return np.where(s > 0, s, 1.0)


def map_weights(w: np.ndarray, grid: TileGrid, cfg: ArrayConfig) -> tuple[np.ndarray, np.ndarray]:
    """Target conductances and scales for weights ``w`` (groups, n_in, n_out).

    Returns ``(target_g, scale)``: target_g in S with shape ``grid.cells_shape`` (cells outside the
    layer at G_off, the single-column reference column at G_m); scale (groups, rt, ct, block cols)
    in weight units (weight s maps to the full conductance swing).
    """
    blocks = grid.blocks(np.asarray(w, dtype=np.float64))
    used = grid.used()
    scale = weight_scale(np.abs(blocks), used, cfg)
    u = np.clip(blocks / scale[..., None, :], -1.0, 1.0)
    if cfg.encoding == "bit-sliced":
        return _bit_sliced_targets(u, cfg), scale
    g_on, g_off = cfg.g_on, cfg.g_off
    d_g = g_on - g_off
    if cfg.scheme == "double-column":
        target = np.stack([g_off + np.maximum(u, 0.0) * d_g, g_off + np.maximum(-u, 0.0) * d_g], axis=-3)
    else:
        g_mid = 0.5 * (g_on + g_off)
        g = np.where(used, g_mid + 0.5 * d_g * u, g_off)
        ref = np.full(g.shape[:-1] + (1,), g_mid)
        target = np.concatenate([g, ref], axis=-1)[..., None, :, :]
    return target, scale


def _bit_sliced_targets(u: np.ndarray, cfg: ArrayConfig) -> np.ndarray:
    """Level conductances (S) of the digits of |u| (..., block rows, block cols) -> (..., 2, rows, cols)."""
    levels, n = cfg.levels_per_cell, cfg.slices
    q = np.rint(np.abs(u) * (2 ** cfg.weight_bits - 1)).astype(np.int64)
    digits = (q[..., None] // levels ** np.arange(n)) % levels              # (..., rows, block cols, n)
    digits = digits.reshape(q.shape[:-1] + (-1,))
    pad = cfg.tile[1] - digits.shape[-1]
    digits = np.pad(digits, [(0, 0)] * (digits.ndim - 1) + [(0, pad)])
    table = level_table(cfg)
    plus, minus = np.where(u > 0, 1, 0), np.where(u < 0, 1, 0)
    spread = lambda mask: np.pad(np.repeat(mask, n, axis=-1), [(0, 0)] * (mask.ndim - 1) + [(0, pad)])
    g = lambda d: table.g_mean[0] + d * table.g_step
    return np.stack([g(digits * spread(plus)), g(digits * spread(minus))], axis=-3)


def differential(m: np.ndarray, cfg: ArrayConfig) -> np.ndarray:
    """Signed per-tile matrices (A/V) from a stack of per-array matrices ``m`` (conductances or T).

    ``m`` has shape (..., arrays, rows, cols); the result (..., rows, block cols) is G+ - G-
    (double-column) or each column minus the reference column (single-column).
    """
    if cfg.encoding == "bit-sliced":
        cols, n = cfg.weight_block[1], cfg.slices
        d = m[..., 0, :, : cols * n] - m[..., 1, :, : cols * n]
        shifts = (float(cfg.levels_per_cell) ** np.arange(n))
        return d.reshape(d.shape[:-1] + (cols, n)) @ shifts
    if cfg.scheme == "double-column":
        return m[..., 0, :, :] - m[..., 1, :, :]
    cols = cfg.weight_block[1]
    return m[..., 0, :, :cols] - m[..., 0, :, cols:cols + 1]


def output_gain(scale: np.ndarray, cfg: ArrayConfig) -> np.ndarray:
    """Factor (weight units per A, per unit input) turning a tile's differential current into weights.

    For input voltages V = u * v_read and differential current I, ``I * output_gain`` equals
    ``u @ w``: gain = s / (dG_map * v_read), dG_map = dG (double) or dG / 2 (single-column).
    """
    if cfg.encoding == "bit-sliced":     # full scale: q = 2^b - 1 levels of dG_L
        return scale / ((2 ** cfg.weight_bits - 1) * level_table(cfg).g_step * cfg.v_read)
    d_g = cfg.g_on - cfg.g_off
    d_map = d_g if cfg.scheme == "double-column" else 0.5 * d_g
    return scale / (d_map * cfg.v_read)
