"""``TiledMatrix``: one layer's weight matrices held as conductances in a stack of physical crossbars.

The conductances (S) of every cell of every tile live in one array, ``g``, of shape
``grid.cells_shape`` = (groups, row tiles, column tiles, arrays, rows, cols); everything the
forward pass uses is derived from it and cached until it changes:

* ideal mode: the signed matrix of each tile is G+ - G- (or G - G_ref);
* circuit mode: the same difference of the arrays' exact transfer matrices
  (:meth:`cosim.solve.crossbar.Crossbar.transfer_matrix`, float64; IR drop and sneak paths);
* nonlinear mode: every array solves the whole batch of input vectors at once (sinh cells: batched
  Newton-CG on one factorisation per array, :mod:`cosim.solve.nonlinear_batch`).

A forward pass turns activations into word-line voltages (DAC), computes each tile's column
currents, adds per-read noise (``cfg.read_noise``), digitises them per tile (ADC) and accumulates
the partial sums digitally.

Read noise: every read of every cell sees its conductance times (1 + read_noise * z), z ~ N(0, 1)
independent per cell and per input vector. A column current is then Gaussian with variance
read_noise^2 sum_i v_i^2 (G+_ij^2 + G-_ij^2) (the reference cell's G_ref^2 for single-column), so it is
drawn in output space: no per-vector matrices. Circuit mode applies the same law to the transfer
matrices' entries (first order in the wire resistance); nonlinear mode to the conductances. Without an ADC
the linear modes collapse all tiles into one matmul (exact, since the readout is linear).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cosim.nn import periphery
from cosim.nn.config import ArrayConfig
from cosim.nn.mapping import TileGrid, differential, map_weights, output_gain
from cosim.nn.programming import CellArray, Programmer
from cosim.solve.crossbar import Crossbar

__all__ = ["TiledMatrix"]


def _read_variance(m: np.ndarray, cfg: ArrayConfig) -> np.ndarray:
    """Per-tile sum of the squared per-array matrices that a differential read adds: (G+)^2 + (G-)^2, or
    G^2 + G_ref^2 (single-column); ``m`` (..., arrays, rows, cols) -> (..., rows, block cols)."""
    if cfg.scheme == "double-column":
        return m[..., 0, :, :] ** 2 + m[..., 1, :, :] ** 2
    cols = cfg.weight_block[1]
    return m[..., 0, :, :cols] ** 2 + m[..., 0, :, cols:cols + 1] ** 2


@dataclass
class _DeviceTiles:
    """Torch views of the derived matrices for one (mode, dtype, device)."""

    signed: torch.Tensor          # (groups, rt, rows, out_pad) A/V, per-tile signed matrices side by side
    gain: torch.Tensor            # (groups, rt, 1, out_pad) weight units per A (see mapping.output_gain)
    adc_range: torch.Tensor | None  # (groups, rt, 1, out_pad) A, per tile, repeated over its columns
    collapsed: torch.Tensor       # (groups, rt * rows, out_pad): signed * gain, all tiles in one matrix
    square: torch.Tensor | None = None            # (groups, rt, rows, out_pad) A^2/V^2: read-noise variance per v^2
    collapsed_square: torch.Tensor | None = None  # (groups, rt * rows, out_pad): square * gain^2


class TiledMatrix:
    """A (groups, n_in, n_out) stack of weight matrices programmed into crossbar tiles.

    Args:
        grid: the tiling. cfg: the array config. cells: the fabricated cells (``grid.cells_shape``).
    """

    def __init__(self, grid: TileGrid, cfg: ArrayConfig, cells: CellArray, read_seed: int = 0):
        if cells.shape != grid.cells_shape:
            raise ValueError(f"cells must have shape {grid.cells_shape}; got {cells.shape}")
        self.grid = grid
        self.cfg = cfg
        self.cells = cells
        self.g = cells.hold_faults(np.full(grid.cells_shape, cfg.g_off))
        self.g_programmed = self.g.copy()
        self.scale = np.ones(grid.tiles_shape + (grid.block[1],))
        self.adc_calibrated: np.ndarray | None = None
        self._crossbar: Crossbar | None = None
        self.read_seed = int(read_seed)     # seeds the read-noise generator (with cfg.seed)
        self._read_gen: torch.Generator | None = None
        self._invalidate()

    # ---- state ---------------------------------------------------------------------------------
    def _invalidate(self) -> None:
        self._transfer: np.ndarray | None = None
        self._signed: dict[str, np.ndarray] = {}
        self._device: dict[tuple, _DeviceTiles] = {}

    def program(self, w: np.ndarray, programmer: Programmer, rng: np.random.Generator) -> None:
        """Map weights ``w`` (groups, n_in, n_out) to targets and write them with ``programmer``."""
        target, scale = map_weights(w, self.grid, self.cfg)
        achieved = np.asarray(programmer.program(target, self.cells, rng), dtype=np.float64)
        self._check_g(achieved, "programmer output")
        self.scale = scale
        self.g_programmed = achieved.copy()
        self.g = achieved
        self.adc_calibrated = None
        self._invalidate()

    def set_conductances(self, g: np.ndarray) -> None:
        """Replace the present conductances (S, ``grid.cells_shape``), e.g. after aging."""
        g = np.asarray(g, dtype=np.float64)
        self._check_g(g, "g")
        self.g = g.copy()
        self._invalidate()

    def _check_g(self, g: np.ndarray, name: str) -> None:
        if g.shape != self.grid.cells_shape:
            raise ValueError(f"{name} must have shape {self.grid.cells_shape}; got {g.shape}")
        if not np.all(np.isfinite(g)) or np.any(g <= 0):
            raise ValueError(f"{name} must be finite and > 0 siemens")

    # ---- derived matrices ------------------------------------------------------------------------
    def crossbar(self) -> Crossbar:
        """The circuit of one physical array (shared by all arrays of this matrix: same layout)."""
        if self._crossbar is None:
            cfg = self.cfg
            self._crossbar = Crossbar(*cfg.tile, cell=cfg.cell, r_wl=cfg.r_wl, r_bl=cfg.r_bl,
                                      r_source=cfg.r_source, r_sense=cfg.r_sense,
                                      r_on_transistor=cfg.r_transistor, conductance=cfg.g_off)
        return self._crossbar

    def transfer_matrices(self) -> np.ndarray:
        """Exact transfer matrix (A/V, float64) of every physical array, shape ``grid.cells_shape``."""
        if self._transfer is None:
            xb = self.crossbar()
            xb.set_nonlinearity(0.0)
            rows, cols = self.cfg.tile
            flat_g = self.g.reshape(-1, rows, cols)
            out = np.empty_like(flat_g)
            for k in range(flat_g.shape[0]):          # a loop over arrays, not cells
                xb.set_conductances(flat_g[k])
                out[k] = xb.transfer_matrix()
            self._transfer = out.reshape(self.g.shape)
        return self._transfer

    def signed_matrices(self, mode: str | None = None) -> np.ndarray:
        """Per-tile signed matrices (A/V), shape (groups, rt, ct, rows, block cols).

        ``mode`` "ideal": conductance differences; "circuit": transfer-matrix differences. The
        default is the config's mode ("nonlinear" has no matrix and uses "ideal" here).
        """
        mode = mode or self.cfg.mode
        mode = "ideal" if mode == "nonlinear" else mode
        if mode not in self._signed:
            per_array = self.g if mode == "ideal" else self.transfer_matrices()
            self._signed[mode] = differential(per_array, self.cfg)
        return self._signed[mode]

    def adc_ranges(self) -> np.ndarray:
        """ADC full scale (A) per tile, shape (groups, rt, ct).

        Fixed (``cfg.adc_range``), measured (:meth:`calibrate_adc`), or by default the tile's
        worst case: v_read times the largest column sum of |signed matrix| over its used rows.
        """
        if self.cfg.adc_range is not None:
            return np.full(self.grid.tiles_shape, self.cfg.adc_range)
        if self.adc_calibrated is not None:
            return self.adc_calibrated
        signed = np.abs(self.signed_matrices())
        rows_used = self.grid.used()[..., :, :1]       # (groups, rt, ct, rows, 1)
        worst = self.cfg.v_read * np.max(np.sum(signed * rows_used, axis=-2), axis=-1)
        return np.where(worst > 0, worst, 1.0)

    def _on_device(self, dtype: torch.dtype, device: torch.device) -> _DeviceTiles:
        key = (self.cfg.mode, dtype, str(device))
        if key not in self._device:
            grid, cfg = self.grid, self.cfg
            as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
            signed = as_t(grid.columns(self.signed_matrices()))                      # (g, rt, rows, out_pad)
            gain = as_t(grid.columns(output_gain(self.scale, cfg)))[:, :, None, :]  # (g, rt, 1, out_pad)
            adc_range = None
            if cfg.adc_bits is not None:
                per_col = np.repeat(self.adc_ranges()[..., None], grid.block[1], axis=-1)
                adc_range = as_t(grid.columns(per_col))[:, :, None, :]
            collapsed = (signed * gain).reshape(grid.groups, -1, signed.shape[-1])
            square = collapsed_square = None
            if cfg.read_noise > 0:
                square = as_t(grid.columns(_read_variance(self.g if cfg.mode != "circuit" else self.transfer_matrices(),
                                                          cfg)))
                collapsed_square = (square * gain * gain).reshape(collapsed.shape)
            self._device[key] = _DeviceTiles(signed, gain, adc_range, collapsed, square, collapsed_square)
        return self._device[key]

    # ---- forward -------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Hardware product: x (groups, N, n_in) -> (groups, N, n_out), ~ x @ w (weight units).

        x must be finite (ValueError); an empty batch (N = 0) gives an empty output; an output that
        overflows (e.g. an enormous v_read) raises OverflowError instead of returning inf / NaN.
        """
        self._check_rows(x)
        if x.shape[1] == 0:
            return x.new_zeros((x.shape[0], 0, self.grid.n_out))
        scale = periphery.input_scale(x, self.cfg)
        out = None
        for sign, volts in periphery.encode_inputs(x, scale, self.cfg):
            if not bool(torch.isfinite(volts).all()):
                raise OverflowError(f"the word-line voltages overflowed {volts.dtype} (v_read = {self.cfg.v_read:g} V); "
                                    "use a smaller v_read or a float64 model")
            part = self._read_phase(volts)
            out = part if out is None else out + sign * part
        out = out[..., : self.grid.n_out] * scale
        if not bool(torch.isfinite(out).all()):
            raise OverflowError("the hardware output overflowed (inf or NaN from finite inputs); scale v_read, "
                                "the conductances or the inputs into a finite range")
        return out

    def _check_rows(self, x: torch.Tensor) -> None:
        """x must be a finite (groups, N, n_in) tensor."""
        if x.dim() != 3 or x.shape[0] != self.grid.groups or x.shape[2] != self.grid.n_in:
            raise ValueError(f"input must have shape ({self.grid.groups}, N, {self.grid.n_in}); got {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"input must be finite (a DAC cannot encode NaN or inf); found "
                             f"{int((~torch.isfinite(x)).sum())} non-finite values")

    def _read_phase(self, volts: torch.Tensor) -> torch.Tensor:
        """(groups, N, n_in) volts -> (groups, N, out_pad) in weight units per unit input."""
        dev = self._on_device(volts.dtype, volts.device)
        if self.cfg.adc_bits is None and self.cfg.mode != "nonlinear":
            v = self._pad_inputs(volts)
            out = v @ dev.collapsed
            return out if dev.collapsed_square is None else out + self._read_noise(v, dev.collapsed_square)
        currents = self.tile_currents(volts)
        if dev.square is not None:
            grid = self.grid
            v = self._pad_inputs(volts)
            v = v.reshape(grid.groups, v.shape[1], grid.n_row_tiles, grid.block[0]).transpose(1, 2)
            currents = currents + self._read_noise(v, dev.square)
        if dev.adc_range is not None:
            currents = periphery.adc(currents, dev.adc_range, self.cfg.adc_bits)
        return (currents * dev.gain).sum(dim=1)

    def _read_noise(self, v: torch.Tensor, square: torch.Tensor) -> torch.Tensor:
        """Gaussian read noise of the outputs v @ M: std read_noise * sqrt(v^2 @ square), fresh per call."""
        if self._read_gen is None or self._read_gen.device != v.device:
            self._read_gen = torch.Generator(device=v.device)
            self._read_gen.manual_seed(int(np.random.SeedSequence([self.cfg.seed, self.read_seed, 3]).generate_state(1)[0]))
        std = torch.sqrt((v * v) @ square) * self.cfg.read_noise
        return std * torch.randn(std.shape, generator=self._read_gen, device=v.device, dtype=v.dtype)

    def _pad_inputs(self, volts: torch.Tensor) -> torch.Tensor:
        extra = self.grid.padded[0] - self.grid.n_in
        return torch.nn.functional.pad(volts, (0, extra)) if extra else volts

    def tile_currents(self, volts: torch.Tensor) -> torch.Tensor:
        """Signed column currents (A) of every tile: (groups, N, n_in) volts -> (groups, rt, N, out_pad)."""
        grid = self.grid
        v = self._pad_inputs(volts)
        v = v.reshape(grid.groups, v.shape[1], grid.n_row_tiles, grid.block[0]).transpose(1, 2)
        if self.cfg.mode != "nonlinear":
            return v @ self._on_device(volts.dtype, volts.device).signed
        return torch.as_tensor(self._solve_nonlinear(v.detach().cpu().double().numpy()),
                               dtype=volts.dtype, device=volts.device)

    def _solve_nonlinear(self, v: np.ndarray) -> np.ndarray:
        """Solve every array for the whole batch (sinh cells, batched); v (groups, rt, N, rows) volts.

        The loop runs over arrays; each array's inputs are solved together by ``Crossbar.read``.
        """
        grid, cfg = self.grid, self.cfg
        xb = self.crossbar()
        xb.set_nonlinearity(cfg.nonlinearity)
        groups, n_rt, n_ct = grid.tiles_shape
        n = v.shape[2]
        per_array = np.empty((groups, n_rt, n_ct, grid.arrays, n) + (cfg.tile[1],))
        for idx in np.ndindex(groups, n_rt, n_ct, grid.arrays):
            xb.set_conductances(self.g[idx])
            per_array[idx] = xb.read(v[idx[0], idx[1]]) if n else 0.0
        xb.set_nonlinearity(0.0)
        currents = differential(per_array, cfg)                  # (groups, rt, ct, N, block cols)
        return grid.columns(currents)                            # (groups, rt, N, out_pad)

    def calibrate_adc(self, x: torch.Tensor) -> None:
        """Set each tile's ADC full scale to the largest |current| it carries for inputs x (groups, N, n_in).

        x must be finite and hold at least one input vector (ValueError, nothing changed)."""
        self._check_rows(x)
        if x.shape[1] == 0:
            raise ValueError("calibrate_adc needs at least one input vector; got an empty batch")
        grid = self.grid
        scale = periphery.input_scale(x, self.cfg)
        peak = np.zeros(grid.tiles_shape)
        for _, volts in periphery.encode_inputs(x, scale, self.cfg):
            cur = self.tile_currents(volts).detach().abs().cpu().double().numpy()   # (g, rt, N, out_pad)
            cur = cur.reshape(cur.shape[:3] + (grid.n_col_tiles, grid.block[1]))
            peak = np.maximum(peak, cur.max(axis=(2, 4), initial=0.0))
        if not np.all(np.isfinite(peak)):
            raise OverflowError("calibrate_adc: a tile current overflowed; scale v_read or the inputs")
        self.adc_calibrated = np.where(peak > 0, peak, 1.0)
        self._device.clear()

    def restore_adc(self, ranges: np.ndarray | None) -> None:
        """Put back ADC ranges saved from ``adc_calibrated`` (undoing a calibration that failed elsewhere)."""
        self.adc_calibrated = ranges
        self._device.clear()

    # ---- serialisation -------------------------------------------------------------------------
    def state(self) -> dict:
        """Conductances and device state as CPU tensors (for ``state_dict``)."""
        t = lambda a: torch.tensor(a)
        return {"g": t(self.g), "g_programmed": t(self.g_programmed), "g_on": t(self.cells.g_on),
                "g_off": t(self.cells.g_off), "stuck": t(self.cells.stuck), "scale": t(self.scale),
                "adc_calibrated": None if self.adc_calibrated is None else t(self.adc_calibrated)}

    @classmethod
    def from_state(cls, grid: TileGrid, cfg: ArrayConfig, state: dict) -> "TiledMatrix":
        """Inverse of :meth:`state`; shapes are checked against ``grid``."""
        arr = lambda k: state[k].detach().cpu().numpy().copy()
        cells = CellArray(arr("g_on").astype(np.float64), arr("g_off").astype(np.float64), arr("stuck").astype(np.int8))
        tm = cls(grid, cfg, cells)
        tm.set_conductances(arr("g"))
        programmed = arr("g_programmed")
        tm._check_g(programmed, "g_programmed")
        tm.g_programmed = programmed
        scale = arr("scale")
        if scale.shape != tm.scale.shape:
            raise ValueError(f"scale must have shape {tm.scale.shape}; got {scale.shape}")
        tm.scale = scale
        if state.get("adc_calibrated") is not None:
            tm.adc_calibrated = arr("adc_calibrated")
        return tm
