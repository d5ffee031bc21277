"""Binarized layers on 2T2R synapses of weak-RESET HfOx devices (seed 004): ``BinaryLinear``, ``BinaryConv2d``.

Each weight is a pair (BL, BLb) of weak-RESET cells; its hidden real weight is
``W = ln(R_BL / R_BLb)`` (Eq. 9) and the forward pass uses ``sign(W)`` (+1 where R_BL >= R_BLb: what
the precharge sense amplifier reads), with a straight-through gradient to W. Activations are
binarized by :class:`BinaryActivation` (sign, gradient passed where |x| <= 1); biases and batch-norm
stay digital. ``device="ideal"`` gives the same layer with a digital hidden weight (the paper's
"without device simulation" case). Device updates come from :class:`cosim.nn.DeviceOptimizer`.

Initial weights: the cells are sampled from Table I (``spread=True``) or are all the nominal device;
then each pair gets 0..``init_pulses`` pulses on a random side (see ``DifferentialWeights.program_random``).
An ideal layer draws W uniformly in +-``init_pulses`` x the nominal m1, the same range.
"""
from __future__ import annotations

from enum import Enum

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosim.devices.weak_reset import WeakResetNominal
from cosim.nn.pairs import DifferentialWeights, PairRule, Readout
from cosim.nn.pulse_devices import Polarity
from cosim.nn.weak_reset_cells import WeakResetCells, WeakResetComponents

__all__ = ["WeightDevice", "sign_ste", "BinaryActivation", "BinaryLinear", "BinaryConv2d", "WEAK_RESET_2T2R"]

WEAK_RESET_2T2R = PairRule(Readout.LOG_RATIO, Polarity.RESET)


class WeightDevice(Enum):
    """What holds a binary layer's hidden weights."""

    IDEAL = "ideal"                        # a digital float parameter
    WEAK_RESET_HFOX = "weak-reset-hfox"    # 2T2R pairs of weak-RESET HfOx cells (seed 004)


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, window: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.window = window
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        if ctx.window is None:
            return grad, None
        return grad * (x.abs() <= ctx.window).to(grad.dtype), None


def sign_ste(x: torch.Tensor, window: float | None = None) -> torch.Tensor:
    """sign(x) in {-1, +1} (0 -> +1) with a straight-through gradient: passed unchanged
    (``window=None``) or only where |x| <= ``window`` (the hard-tanh estimator)."""
    return _SignSTE.apply(x, window)


class BinaryActivation(nn.Module):
    """Binarized activation sign(x) with the hard-tanh straight-through estimator (|x| <= 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sign_ste(x, 1.0)


class _BinaryLayer(DifferentialWeights):
    """Shared construction of the binary layers (hidden weight, cells, initial write)."""

    def __init__(self, weight_shape: tuple[int, ...], bias: int | None, device, spread: bool, noise: bool,
                 seed: int, components: WeakResetComponents | None, init_pulses: int,
                 placement: torch.device | str | None, dtype: torch.dtype):
        try:
            kind = WeightDevice(device)
        except ValueError:
            raise ValueError(f"device must be one of {[d.value for d in WeightDevice]}; got {device!r}") from None
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        if isinstance(init_pulses, bool) or not isinstance(init_pulses, int) or init_pulses < 0:
            raise ValueError(f"init_pulses must be an integer >= 0; got {init_pulses!r}")
        if components is None:
            components = WeakResetComponents.of(spread, noise)
        elif not isinstance(components, WeakResetComponents):
            raise TypeError(f"components must be a WeakResetComponents or None; got {type(components).__name__}")
        gen = torch.Generator().manual_seed(int(seed))
        if kind is WeightDevice.IDEAL:
            cells = None
            scale = init_pulses * WeakResetNominal().m1
            weight = (torch.rand(weight_shape, generator=gen, dtype=dtype) * 2 - 1) * scale
        else:
            cells = WeakResetCells(weight_shape + (2,), components, seed=int(seed), device=placement, dtype=dtype)
            weight = torch.zeros(weight_shape, dtype=dtype)
        super().__init__(weight.to(placement), cells, WEAK_RESET_2T2R)
        self.kind, self.components = kind, (components if cells is not None else None)
        if cells is not None:
            self.program_random(init_pulses, gen)
        self.bias = nn.Parameter(torch.zeros(bias, dtype=dtype, device=placement)) if bias else None

    def binary_weight(self) -> torch.Tensor:
        """sign(W) in {-1, +1} with a straight-through gradient to W."""
        return sign_ste(self.weight)

    def extra_repr(self) -> str:
        return f"{self._shape_repr()}, device={self.kind.value}" + (
            f", components={self.components}" if self.components is not None else "")

    def _shape_repr(self) -> str:
        return ""


class BinaryLinear(_BinaryLayer):
    """Linear layer with binary weights held by 2T2R pairs; input (..., in_features).

    Args:
        in_features, out_features: sizes. device: "weak-reset-hfox" or "ideal". spread: Table I
        device-to-device spread. noise: RTN and pink noise. seed: the cells' parameters, noise and
        initial write. bias: a digital bias. components: overrides spread / noise (finer switches).
        init_pulses: largest initial write per pair. placement, dtype: torch device and float type.
    """

    def __init__(self, in_features: int, out_features: int, *, device: str | WeightDevice = "weak-reset-hfox",
                 spread: bool = True, noise: bool = True, seed: int = 0, bias: bool = False,
                 components: WeakResetComponents | None = None, init_pulses: int = 100,
                 placement: torch.device | str | None = None, dtype: torch.dtype = torch.float32):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        super().__init__((out_features, in_features), out_features if bias else None, device, spread, noise, seed,
                         components, init_pulses, placement, dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"input must have {self.in_features} features in its last dimension; got {tuple(x.shape)}")
        return F.linear(x, self.binary_weight(), self.bias)

    def _shape_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class BinaryConv2d(_BinaryLayer):
    """2-D convolution with binary weights held by 2T2R pairs; input (N, in_channels, H, W).

    ``pulse_counts`` and ``resistances`` have the weight's shape (out, in, kh, kw) plus (2,).
    Arguments as :class:`BinaryLinear`, plus kernel_size, stride, padding (ints or pairs).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, *,
                 device: str | WeightDevice = "weak-reset-hfox", spread: bool = True, noise: bool = True,
                 seed: int = 0, bias: bool = False, components: WeakResetComponents | None = None,
                 init_pulses: int = 100, placement: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32):
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair("kernel_size", kernel_size, 1)
        self.stride = _pair("stride", stride, 1)
        self.padding = _pair("padding", padding, 0)
        super().__init__((out_channels, in_channels) + self.kernel_size, out_channels if bias else None, device,
                         spread, noise, seed, components, init_pulses, placement, dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"input must be (N, {self.in_channels}, H, W); got {tuple(x.shape)}")
        return F.conv2d(x, self.binary_weight(), self.bias, self.stride, self.padding)

    def _shape_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else tuple(value) \
        if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum
                                                 for v in pair):
        raise ValueError(f"{name} must be an integer >= {minimum} or a pair of them; got {value!r}")
    return pair
