"""Memristive layers: ``MemristiveLinear``, ``MemristiveConv1d``, ``MemristiveConv2d``.

Each holds its digital weight and bias (``nn.Parameter``, trained as usual) and the crossbar tiles
they were programmed into (``tiles``, a :class:`~cosim.nn.tiles.TiledMatrix`). ``forward`` runs
through the hardware; with gradients enabled the output is straight-through: the hardware value,
with the gradient of the digital layer (hardware-aware training). ``forward_digital`` is the
original layer's computation, and ``digital = True`` makes ``forward`` use it (A/B comparison).
Convolutions are unrolled (im2col) into one matrix per group; a group's tiles see one patch per row.

After changing the weights (training), call :meth:`MemristiveLayer.program` to write them again.

Inputs: the hardware forward takes a real floating torch tensor whose values are all finite (a
DAC cannot encode NaN or inf); anything else raises TypeError / ValueError instead of flowing NaN
through (ideal and circuit modes) or failing inside the solver (nonlinear mode): all three modes
agree. With ``digital = True`` the layer is the torch layer and behaves as torch does. An empty
batch gives an empty output, as in torch.
The output is ``gain * hardware + offset + bias`` per output channel; ``gain`` / ``offset`` are
buffers set by :func:`cosim.nn.patch.tune`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosim.nn.aging import AgingHistory, AgingModel
from cosim.nn.config import ArrayConfig
from cosim.nn.engine_bridge import EngineCells
from cosim.nn.mapping import TileGrid
from cosim.nn.programming import Programmer, fabricate, programmer_for
from cosim.nn.tiles import TiledMatrix
from cosim.validate import check_memory, check_range, positive_int, real_scalar

CYCLES_MAX = 2 ** 63 - 1      # cycle counts are int64 on the engine; the replayed histories keep the same bound

__all__ = ["MemristiveLayer", "MemristiveLinear", "MemristiveConv1d", "MemristiveConv2d"]


def _rng(seed: int, key: tuple[int, ...], stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key) + (stream,)))


def check_input(x) -> None:
    """A layer input must be a real floating torch tensor (TypeError otherwise)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor; got {type(x).__name__} (convert with torch.as_tensor)")
    if not x.dtype.is_floating_point:
        raise TypeError(f"input must be a real floating tensor (float32 / float64); got {x.dtype}")


class MemristiveLayer(nn.Module):
    """Common machinery of the memristive layers (not used directly).

    Args:
        weight, bias: the digital parameters (taken over, not copied). groups: weight groups.
        n_in, n_out: rows and columns of one group's matrix. cfg: the array config.
        programmer: writes the tiles (default: implied by ``cfg``). aging: None (default) puts the
        cells on an engine clock (``clock``, a :class:`~cosim.nn.engine_bridge.EngineCells`): bakes and
        cycles are engine operations under the engine's laws, the same as for an
        :class:`~cosim.sim.array.Array`. An explicit ``AgingModel`` (e.g. ``DriftAging``, a power-law
        drift) replays a history instead. key: this layer's index in its model; with ``cfg.seed`` it seeds
        fabrication (stream 0), programming (1) and aging (2).
    """

    FABRICATE, PROGRAM, AGE, READ = 0, 1, 2, 3

    def __init__(self, weight: nn.Parameter, bias: nn.Parameter | None, groups: int, n_in: int, n_out: int,
                 cfg: ArrayConfig, programmer: Programmer | None = None, aging: AgingModel | None = None,
                 key: tuple[int, ...] = (0,)):
        super().__init__()
        if not isinstance(cfg, ArrayConfig):
            raise ValueError(f"cfg must be an ArrayConfig; got {type(cfg).__name__}")
        if programmer is not None and not isinstance(programmer, Programmer):
            raise ValueError(f"programmer must implement program(target_g, cells, rng); got {type(programmer).__name__}")
        if n_in < 1 or n_out < 1:
            raise ValueError(f"a memristive layer needs >= 1 input and >= 1 output per group (a crossbar has "
                             f"rows and columns); got {n_in} inputs and {n_out} outputs")
        grid = TileGrid.for_config(groups, n_in, n_out, cfg)
        # conductances, programmed copy, cell bounds, draws and transfer matrices: ~8 float64 per cell
        check_memory(f"{type(self).__name__} on {int(np.prod(grid.cells_shape))} cells "
                     f"(tiles of {cfg.tile[0]}x{cfg.tile[1]})", 8.0 * 8 * float(np.prod(grid.cells_shape)))
        self.weight = weight
        self.bias = bias
        n_channels = groups * n_out
        self.register_buffer("gain", torch.ones(n_channels, dtype=weight.dtype, device=weight.device))
        self.register_buffer("offset", torch.zeros(n_channels, dtype=weight.dtype, device=weight.device))
        self.digital = False
        self.config = cfg
        self.key = tuple(int(k) for k in key)
        self.custom_programmer = programmer
        self.aging: AgingModel | None = aging
        self.history = AgingHistory()
        self._program_rng = _rng(cfg.seed, self.key, self.PROGRAM)
        self.tiles = TiledMatrix(grid, cfg, fabricate(grid.cells_shape, cfg, _rng(cfg.seed, self.key, self.FABRICATE)),
                                 read_seed=self._read_seed())
        self.clock: EngineCells | None = EngineCells(self.tiles) if aging is None else None
        self.program()

    def _read_seed(self) -> int:
        """Seed of this layer's read noise (stream READ of ``cfg.seed`` and ``key``)."""
        return int(_rng(self.config.seed, self.key, self.READ).integers(2 ** 62))

    # ---- to be provided by each layer ---------------------------------------------------------
    def weight_stack(self) -> torch.Tensor:
        """The weights as (groups, n_in, n_out) crossbar matrices (rows = inputs)."""
        raise NotImplementedError

    def to_rows(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """Input -> (groups, N, n_in) input vectors, and what ``from_rows`` needs to undo it."""
        raise NotImplementedError

    def from_rows(self, y: torch.Tensor, ctx: tuple) -> torch.Tensor:
        """(N, channels) channel-last outputs -> the layer's output shape."""
        raise NotImplementedError

    def forward_digital(self, x: torch.Tensor) -> torch.Tensor:
        """The original (digital) layer's output."""
        raise NotImplementedError

    # ---- programming and aging ------------------------------------------------------------------
    @property
    def programmer(self) -> Programmer:
        return self.custom_programmer if self.custom_programmer is not None else programmer_for(self.config)

    def program(self, programmer: Programmer | None = None) -> None:
        """Write the present digital weights into the tiles (fresh cells: the aging history restarts,
        cycles are kept)."""
        w = self.weight_stack().detach().cpu().double().numpy()
        self.tiles.program(w, programmer or self.programmer, self._program_rng)
        if self.clock is not None:
            self.clock.programmed()
        self.history = AgingHistory(cycles=self.history.cycles)

    def bake(self, seconds: float, kelvin: float) -> None:
        """Add a bake of ``seconds`` (s, >= 0) at ``kelvin`` (K, > 0) and re-age the cells."""
        seconds, kelvin = real_scalar("seconds", seconds, unit="s"), real_scalar("kelvin", kelvin, unit="K")
        check_range("seconds", seconds, low=0.0, unit="s")
        check_range("kelvin", kelvin, low=0.0, low_inclusive=False, unit="K")
        if self.clock is not None:
            self.clock.bake(seconds, kelvin)
            return
        self._age(AgingHistory(self.history.bakes + [(float(seconds), float(kelvin))], self.history.cycles))

    def cycle(self, n: int) -> None:
        """Add ``n`` (>= 0) SET-RESET cycles to every cell and re-age the cells."""
        n = positive_int("n (cycles)", n, minimum=0)
        if self.clock is not None:
            self.clock.cycle(n)                 # the engine's int64 counters refuse to wrap
            return
        if self.history.cycles + n > CYCLES_MAX:
            raise ValueError(f"n (cycles) = {n} would take the cycle count past {CYCLES_MAX} (int64, as on an "
                             f"engine clock); now {self.history.cycles}")
        self._age(AgingHistory(list(self.history.bakes), self.history.cycles + n))

    def _age(self, history: AgingHistory) -> None:
        tiles = self.tiles
        g = tiles.g_programmed if history.is_fresh else self.aging.conductance(
            tiles.g_programmed, history, _rng(self.config.seed, self.key, self.AGE))
        tiles.set_conductances(tiles.cells.hold_faults(np.asarray(g, dtype=np.float64)))  # validates first
        self.history = history

    # ---- forward -------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.digital:
            return self.forward_digital(x)
        with torch.no_grad():
            y = self.forward_hardware(x)
        needs_grad = x.requires_grad or any(p.requires_grad for p in self.parameters(recurse=False))
        if torch.is_grad_enabled() and needs_grad:
            y_digital = self.forward_digital(x)
            return y_digital + (y - y_digital).detach()
        return y

    def forward_hardware(self, x: torch.Tensor) -> torch.Tensor:
        """Output through DAC, tiles and ADC, then gain, offset and the digital bias."""
        check_input(x)
        rows, ctx = self.to_rows(x)
        y = self._channels_last(self.tiles.forward(rows)) * self.gain + self.offset
        if self.bias is not None:
            y = y + self.bias
        return self.from_rows(y, ctx)

    def raw_rows(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hardware, digital) channel-last outputs for input vectors rows (groups, N, n_in); no
        gain, offset or bias. What ``tune`` fits."""
        hardware = self._channels_last(self.tiles.forward(rows))
        digital = self._channels_last(rows @ self.weight_stack())
        return hardware, digital

    @staticmethod
    def _channels_last(y: torch.Tensor) -> torch.Tensor:
        """(groups, N, n_out) -> (N, groups * n_out)."""
        return y.transpose(0, 1).reshape(y.shape[1], y.shape[0] * y.shape[2])

    # ---- state_dict ------------------------------------------------------------------------------
    def get_extra_state(self) -> dict:
        return {"config": self.config.to_dict(), "tiles": self.tiles.state(), "key": list(self.key),
                "bakes": torch.tensor(self.history.bakes, dtype=torch.float64).reshape(-1, 2),
                "cycles": int(self.history.cycles), "rng": self._program_rng.bit_generator.state,
                "clock": None if self.clock is None else {k: torch.tensor(v) for k, v in self.clock.state().items()}}

    def set_extra_state(self, state: dict) -> None:
        cfg = ArrayConfig.from_dict(state["config"])
        grid = self.tiles.grid
        tiles = TiledMatrix.from_state(TileGrid.for_config(grid.groups, grid.n_in, grid.n_out, cfg), cfg,
                                       state["tiles"])
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
        self.config, self.tiles, self._program_rng = cfg, tiles, rng
        self.key = tuple(int(k) for k in state["key"])
        self.tiles.read_seed = self._read_seed()
        self.history = AgingHistory([(float(s), float(k)) for s, k in state["bakes"].tolist()], int(state["cycles"]))
        if self.clock is not None:
            self.clock.detach()
            self.clock = EngineCells(tiles, self.clock.engine, self.clock.laws, self.clock.cycle_s)
            if state.get("clock") is not None:
                self.clock.load_state({k: v.numpy() for k, v in state["clock"].items()})

    def extra_repr(self) -> str:
        g = self.tiles.grid
        return (f"{self._shape_repr()}, {g.groups * g.n_row_tiles * g.n_col_tiles} tiles of {self.config.tile[0]}x"
                f"{self.config.tile[1]}, {self.config.scheme}, mode={self.config.mode}")

    def _shape_repr(self) -> str:
        return ""


class MemristiveLinear(MemristiveLayer):
    """``nn.Linear`` on crossbar tiles: the (in, out) matrix W^T is cut into tiles."""

    def __init__(self, weight: nn.Parameter, bias: nn.Parameter | None, cfg: ArrayConfig, **kw):
        self.out_features, self.in_features = weight.shape
        super().__init__(weight, bias, 1, self.in_features, self.out_features, cfg, **kw)

    @classmethod
    def from_digital(cls, layer: nn.Linear, cfg: ArrayConfig, **kw) -> "MemristiveLinear":
        """Take over ``layer``'s parameters (patch_model deep-copies the model first)."""
        return cls(layer.weight, layer.bias, cfg, **kw)

    def weight_stack(self) -> torch.Tensor:
        return self.weight.t()[None]

    def to_rows(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"input must have {self.in_features} features in its last dimension; got {tuple(x.shape)}")
        return x.reshape(1, -1, self.in_features), tuple(x.shape[:-1])

    def from_rows(self, y: torch.Tensor, ctx: tuple) -> torch.Tensor:
        return y.reshape(ctx + (self.out_features,))

    def forward_digital(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def _shape_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class _MemristiveConv(MemristiveLayer):
    """Shared code of the 1-D and 2-D convolutions (unfolded through a 2-D im2col)."""

    dims = 2

    def __init__(self, layer: nn.Module, cfg: ArrayConfig, **kw):
        for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                     "padding_mode"):
            setattr(self, name, getattr(layer, name))
        self.pads = self._pads()
        g = self.groups
        n_in = self.in_channels // g * math.prod(self.kernel_size)
        super().__init__(layer.weight, layer.bias, g, n_in, self.out_channels // g, cfg, **kw)

    @classmethod
    def from_digital(cls, layer: nn.Module, cfg: ArrayConfig, **kw) -> "_MemristiveConv":
        return cls(layer, cfg, **kw)

    def _pads(self) -> tuple[int, ...]:
        """Explicit padding in F.pad order (last spatial dimension first)."""
        pads = []
        for d in reversed(range(self.dims)):
            if self.padding == "valid":
                left = right = 0
            elif self.padding == "same":
                total = self.dilation[d] * (self.kernel_size[d] - 1)
                left, right = total // 2, total - total // 2
            else:
                left = right = self.padding[d]
            pads += [left, right]
        return tuple(pads)

    def weight_stack(self) -> torch.Tensor:
        g = self.groups
        w = self.weight.reshape(g, self.out_channels // g, -1)
        return w.transpose(1, 2)

    def to_rows(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        unbatched = x.dim() == self.dims + 1
        if unbatched:
            x = x.unsqueeze(0)
        if x.dim() != self.dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"input must be (batch, {self.in_channels}, *spatial) with {self.dims} spatial "
                             f"dimensions; got {tuple(x.shape)}")
        mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
        if any(self.pads):
            x = F.pad(x, self.pads, mode=mode)
        one = (1,) if self.dims == 1 else ()
        x4 = x.unsqueeze(2) if self.dims == 1 else x
        k, s, d = (one + tuple(v) for v in (self.kernel_size, self.stride, self.dilation))
        cols = F.unfold(x4, k, dilation=d, stride=s)                      # (B, C*K, L)
        batch, _, n_pos = cols.shape
        out_spatial = tuple((x4.shape[2 + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))[2 - self.dims:]
        rows = cols.transpose(1, 2).reshape(batch * n_pos, self.groups, cols.shape[1] // self.groups).transpose(0, 1)
        return rows, (batch, out_spatial, unbatched)

    def from_rows(self, y: torch.Tensor, ctx: tuple) -> torch.Tensor:
        batch, out_spatial, unbatched = ctx
        y = y.reshape(batch, math.prod(out_spatial), self.out_channels).transpose(1, 2).reshape((batch, self.out_channels) + out_spatial)
        return y[0] if unbatched else y

    def forward_digital(self, x: torch.Tensor) -> torch.Tensor:
        conv = F.conv1d if self.dims == 1 else F.conv2d
        if self.padding_mode == "zeros":
            return conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return conv(F.pad(x, self.pads, mode=self.padding_mode), self.weight, self.bias, self.stride, 0,
                    self.dilation, self.groups)

    def _shape_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}")


class MemristiveConv1d(_MemristiveConv):
    """``nn.Conv1d`` on crossbar tiles (stride, padding incl. 'same'/'valid' and padding modes, dilation, groups)."""

    dims = 1


class MemristiveConv2d(_MemristiveConv):
    """``nn.Conv2d`` on crossbar tiles (stride, padding incl. 'same'/'valid' and padding modes, dilation, groups)."""

    dims = 2
