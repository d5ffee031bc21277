"""Hardware-aware training for inference: digital training that sees the non-idealities of the ``ArrayConfig``
which maps the network afterwards (programming noise, finite states, spread, stuck cells, per-read noise,
DAC and ADC quantisation).

``HardwareAware(model, cfg)`` hooks every ``nn.Linear`` and ``nn.Conv2d`` of the model. While the
model is in training mode, each forward pass of such a layer

1. fabricates a fresh set of tiles for its weights (``fabricate``: spread and stuck cells at random
   places), maps and programs the present weights into them with the config's programmer
   (``TiledMatrix.program``: clipping, states, programming noise) and multiplies every cell by
   (1 + read_noise z): the effective weight w_eff that this chip would realise;
2. quantises the inputs with the DAC (``periphery``), computes the layer with w_eff, and with an ADC
   quantises each row tile's partial sums at the tile's full scale (``TiledMatrix.adc_ranges``);
3. returns that output with the gradient of the digital layer (straight-through), so the optimizer
   updates the digital weights as usual.

The mapping code is the one ``patch_model`` uses, so the injected noise is what the mapped network
will see. In eval mode the layers are digital. Approximations: one read-noise draw per forward pass
(shared by the batch); a convolution's dynamic DAC range is each sample's max |x| (the mapped
convolution uses each patch's). ``remove()`` (or leaving the ``with`` block) detaches the hooks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosim.nn import periphery
from cosim.nn.config import ArrayConfig
from cosim.nn.mapping import TileGrid, output_gain
from cosim.nn.programming import fabricate, programmer_for
from cosim.nn.tiles import TiledMatrix

__all__ = ["Injection", "HardwareAware", "effective_weights"]


@dataclass(frozen=True)
class Injection:
    """Which non-idealities of the config are injected (each only has an effect where the config has it)."""

    programming: bool = True   # spread, finite states, programming noise, clipping (the config's programmer)
    stuck: bool = True         # stuck_on / stuck_off cells
    read: bool = True          # read_noise
    dac: bool = True           # dac_bits
    adc: bool = True           # adc_bits


def _stack(weight: torch.Tensor, groups: int) -> np.ndarray:
    """A Linear / Conv weight as (groups, n_in, n_out) crossbar matrices (rows = inputs), float64."""
    w = weight.detach().cpu().double()
    return w.reshape(groups, w.shape[0] // groups, -1).transpose(1, 2).numpy()


def effective_weights(weight: torch.Tensor, groups: int, cfg: ArrayConfig, injection: Injection,
                      rng: np.random.Generator) -> tuple[torch.Tensor, TiledMatrix]:
    """The weight (same shape as ``weight``) a freshly fabricated and programmed chip realises, and its tiles."""
    stack = _stack(weight, groups)
    _, n_in, n_out = stack.shape
    chip = cfg
    if not injection.stuck:
        chip = ArrayConfig.from_dict({**cfg.to_dict(), "stuck_on": 0.0, "stuck_off": 0.0})
    if not injection.programming:
        chip = ArrayConfig.from_dict({**chip.to_dict(), "states": None, "prog_noise": 0.0, "d2d_sigma": 0.0})
    grid = TileGrid.for_config(groups, n_in, n_out, chip)
    tiles = TiledMatrix(grid, chip, fabricate(grid.cells_shape, chip, rng))
    tiles.program(stack, programmer_for(chip), rng)
    if injection.read and cfg.read_noise > 0:
        tiles.set_conductances(np.clip(tiles.g * (1 + cfg.read_noise * rng.standard_normal(tiles.g.shape)), 1e-30,
                                       None))
    per_tile = tiles.signed_matrices("ideal") * output_gain(tiles.scale, chip)[..., None, :] * cfg.v_read
    full = grid.columns(per_tile).reshape(groups, -1, grid.padded[1])          # (g, rt * rows, out_pad)
    full = full[:, :n_in, :n_out]                                              # drop the padding
    w = torch.as_tensor(np.ascontiguousarray(full.transpose(0, 2, 1)), dtype=weight.dtype, device=weight.device)
    return w.reshape(weight.shape), tiles


class HardwareAware:
    """Hooks ``model``'s Linear and Conv2d layers so that training sees ``cfg``'s hardware (module docstring).

    Args:
        model: the digital model (modified in place: hooks only). cfg: the config that will map it.
        injection: which non-idealities to inject. seed: the chips' random draws.
    """

    def __init__(self, model: nn.Module, cfg: ArrayConfig, injection: Injection = Injection(), seed: int = 0):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if not isinstance(cfg, ArrayConfig):
            raise TypeError(f"cfg must be an ArrayConfig; got {type(cfg).__name__}")
        if not isinstance(injection, Injection):
            raise TypeError(f"injection must be an Injection; got {type(injection).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        self.cfg, self.injection = cfg, injection
        self.rng = np.random.default_rng(seed)
        layers = [m for m in model.modules() if type(m) in (nn.Linear, nn.Conv2d)]
        if not layers:
            raise ValueError("model has no nn.Linear or nn.Conv2d layer to make hardware-aware")
        self._handles = [m.register_forward_hook(self._hook) for m in layers]

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> "HardwareAware":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not module.training:
            return None
        x = inputs[0]
        groups = getattr(module, "groups", 1)
        w_eff, tiles = effective_weights(module.weight, groups, self.cfg, self.injection, self.rng)
        x_scale = self._input_scale(x, module)
        u = (x / x_scale).clamp(-1.0, 1.0)
        if self.injection.dac and self.cfg.dac_bits is not None:
            levels = 2 ** (self.cfg.dac_bits - 1) - 1 if self.cfg.input_encoding == "bipolar" \
                else 2 ** self.cfg.dac_bits - 1
            u = u + (periphery.quantize(u, levels) - u).detach()
        if self.injection.adc and self.cfg.adc_bits is not None:
            y = self._tiled_adc(module, u, w_eff, tiles) * x_scale
        else:
            y = self._apply(module, u, w_eff) * x_scale
        if module.bias is not None:
            y = y + (module.bias if isinstance(module, nn.Linear) else module.bias[:, None, None])
        return output + (y - output).detach()

    def _input_scale(self, x: torch.Tensor, module: nn.Module) -> torch.Tensor:
        if self.cfg.dac_range is not None:
            return torch.full((), self.cfg.dac_range, dtype=x.dtype, device=x.device)
        dims = (-1,) if isinstance(module, nn.Linear) else (1, 2, 3)
        peak = x.detach().abs().amax(dim=dims, keepdim=True)
        return torch.where(peak > 0, peak, torch.ones_like(peak))

    @staticmethod
    def _apply(module: nn.Module, u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if isinstance(module, nn.Linear):
            return F.linear(u, w)
        if module.padding_mode != "zeros":
            raise ValueError(f"HardwareAware supports zero-padded convolutions; got padding_mode={module.padding_mode!r}")
        return F.conv2d(u, w, None, module.stride, module.padding, module.dilation, module.groups)

    def _tiled_adc(self, module: nn.Module, u: torch.Tensor, w_eff: torch.Tensor, tiles: TiledMatrix) -> torch.Tensor:
        """Sum over row tiles of each tile's ADC-quantised partial output (weight units per unit input)."""
        grid, cfg = tiles.grid, self.cfg
        rows = grid.block[0]
        fs = tiles.adc_ranges()[..., None] * output_gain(tiles.scale, cfg) / 1.0   # (g, rt, ct, cols) per unit u
        fs = torch.as_tensor(grid.columns(fs)[..., :grid.n_out], dtype=u.dtype, device=u.device)   # (g, rt, n_out)
        flat = w_eff.reshape(w_eff.shape[0], -1)                               # (out, n_in) per group rows
        levels = 2 ** (cfg.adc_bits - 1) - 1
        total = None
        for r in range(grid.n_row_tiles):   # a loop over row tiles, not cells
            mask = torch.zeros_like(flat)
            mask[:, r * rows:(r + 1) * rows] = 1.0
            part = self._apply(module, u, (flat * mask).reshape(w_eff.shape))
            scale = fs[:, r].reshape(-1)                                      # (out,) groups side by side
            scale = scale.reshape((-1,) + (1,) * (part.dim() - 2)) if part.dim() > 2 else scale
            q = periphery.quantize((part / scale).clamp(-1.0, 1.0), levels) * scale
            part = part + (q - part).detach()
            total = part if total is None else total + part
        return total
