"""``AnalogLinear``: a real-valued linear layer whose weights are differential pairs of any pulse device.

The analog-SGD path for non-binary networks: W = (G_0 - G_1) / g_unit (``Readout.DIFFERENCE``), the
forward pass uses W itself, and :class:`cosim.nn.DeviceOptimizer` turns each optimizer update into
``floor(lr_pulse |dW|)`` pulses of the rule's polarity (SET pulses on G_0 raise W, on G_1 lower it;
with RESET pulses the roles swap). Any :class:`~cosim.nn.pulse_devices.PulseCells` of shape
(out, in, 2) can hold the pairs: soft-bounds / linear-step cells, fixed-pulse VTEAM or
linear-ion-drift cells, weak-RESET cells.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosim.nn.pairs import DifferentialWeights, PairRule, Readout
from cosim.nn.pulse_devices import Polarity, PulseCells

__all__ = ["AnalogLinear"]


class AnalogLinear(DifferentialWeights):
    """Linear layer on differential pairs ``cells`` (shape (out_features, in_features, 2)).

    Args:
        in_features, out_features: sizes. cells: the pulse devices. rule: readout and update polarity
        (default: conductance difference in units of ``g_unit`` S, SET pulses). bias: a digital bias.
        init_pulses: largest random initial write per pair (breaks the symmetry of equal cells).
        seed: the initial write.
    """

    def __init__(self, in_features: int, out_features: int, cells: PulseCells, *, rule: PairRule | None = None,
                 g_unit: float = 1e-5, bias: bool = True, init_pulses: int = 10, seed: int = 0):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        if not isinstance(cells, PulseCells):
            raise TypeError(f"cells must be a PulseCells; got {type(cells).__name__}")
        rule = PairRule(Readout.DIFFERENCE, Polarity.SET, g_unit=g_unit) if rule is None else rule
        self.in_features, self.out_features = in_features, out_features
        dtype = cells.conductance().dtype
        super().__init__(torch.zeros(out_features, in_features, dtype=dtype, device=cells.device), cells, rule)
        self.program_random(init_pulses, torch.Generator().manual_seed(int(seed)))
        self.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype, device=cells.device)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"input must have {self.in_features} features in its last dimension; got {tuple(x.shape)}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, cells={type(self.cells).__name__}, "
                f"readout={self.rule.readout.value}, polarity={self.rule.polarity.name}")
