"""The pulse-device protocol: cells that take integer pulse counts of one polarity and are read as conductances.

Any pulse-level device can back a trainable weight (``cosim.nn.pairs``): it only has to be a
:class:`PulseCells`, an ``nn.Module`` whose state lives in buffers (so ``module.to(device)`` moves it,
and a GPU run works unchanged) with

* ``apply_pulses(counts, polarity)``: ``counts`` an int64 tensor of the cells' shape (>= 0), applied
  to every cell at once (no Python loop over cells);
* ``conductance()``: the read conductance of every cell, S; ``log_conductance()`` its log (a model
  that knows ln G exactly, like weak-RESET, overrides it).

Implementations: :class:`LinearStepCells` (aihwkit's linear-step / soft-bounds / constant-step
devices, in conductance units) here, ``weak_reset_cells.WeakResetCells`` (seed 004) and
``ode_pulse.FixedPulseCells`` (a VTEAM or linear-ion-drift cell under fixed pulses).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import torch
from torch import nn

__all__ = ["Polarity", "PulseCells", "LinearStepParams", "LinearStepCells", "check_counts"]


class Polarity(Enum):
    """Direction of a programming pulse."""

    SET = 1     # towards the low-resistance state: conductance rises
    RESET = -1  # towards the high-resistance state: conductance falls


def check_counts(counts: torch.Tensor, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """``counts`` as an int64 tensor of ``shape`` on ``device``; ValueError unless integers >= 0."""
    if not isinstance(counts, torch.Tensor):
        raise TypeError(f"counts must be a torch.Tensor of integers; got {type(counts).__name__}")
    if counts.dtype.is_floating_point or counts.dtype.is_complex or counts.dtype == torch.bool:
        raise ValueError(f"counts must have an integer dtype; got {counts.dtype}")
    if tuple(counts.shape) != tuple(shape):
        raise ValueError(f"counts must have shape {tuple(shape)}; got {tuple(counts.shape)}")
    if counts.numel() and int(counts.min()) < 0:
        raise ValueError(f"counts must be >= 0; the smallest is {int(counts.min())}")
    return counts.to(device=device, dtype=torch.int64)


def check_polarity(polarity) -> "Polarity":
    if not isinstance(polarity, Polarity):
        raise TypeError(f"polarity must be a Polarity (SET or RESET); got {polarity!r}")
    return polarity


class PulseCells(nn.Module):
    """Base of the pulse devices: ``shape`` cells, state in buffers. Subclasses provide the physics."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        if not isinstance(shape, tuple) or not shape or not all(isinstance(s, int) and s >= 1 for s in shape):
            raise ValueError(f"shape must be a non-empty tuple of positive integers; got {shape!r}")
        self.shape = shape

    def apply_pulses(self, counts: torch.Tensor, polarity: Polarity) -> None:
        """Apply ``counts`` pulses of ``polarity`` to every cell (validated before any change)."""
        raise NotImplementedError

    def conductance(self) -> torch.Tensor:
        """Read conductance of every cell, S, tensor of ``shape``."""
        raise NotImplementedError

    def log_conductance(self) -> torch.Tensor:
        """ln(G / 1 S) of every cell."""
        return torch.log(self.conductance())

    def reset_state(self, mask: torch.Tensor) -> None:
        """Return the cells where ``mask`` is True to their initial (as-fabricated) state."""
        raise NotImplementedError

    def saturated(self, polarity: Polarity) -> torch.Tensor:
        """True where pulses of ``polarity`` have (nearly) stopped moving the cell."""
        raise NotImplementedError

    def pulse_energy(self, counts: torch.Tensor, polarity: Polarity) -> torch.Tensor | None:
        """Energy (J) the pulses ``counts`` would take from the present state, per cell; None when the
        model has no electrical pulse description."""
        return None

    @property
    def device(self) -> torch.device:
        return next(self.buffers()).device


@dataclass(frozen=True)
class LinearStepParams:
    """aihwkit-style step devices in conductance units; x = (G - g_min) / (g_max - g_min) in [0, 1].

    A SET pulse raises G by ``dg (1 - gamma_up x)``, a RESET pulse lowers it by
    ``dg (1 - gamma_down (1 - x))``; G is clipped to [g_min, g_max]. gamma = 1 is the soft-bounds
    device (the step shrinks to 0 at the bound), gamma = 0 the constant-step device.
    """

    g_min: float = 1e-6     # S, lowest conductance
    g_max: float = 1e-4     # S, highest conductance
    dg: float = 1e-6        # S, step at the far bound (x = 0 for SET, x = 1 for RESET)
    gamma_up: float = 1.0   # 1, slope of the SET step in x (0..1)
    gamma_down: float = 1.0  # 1, slope of the RESET step in 1 - x (0..1)
    g_init: float | None = None  # S, initial conductance (None: the middle of the range)

    def __post_init__(self) -> None:
        for name in ("g_min", "g_max", "dg"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"LinearStepParams.{name} must be a finite number > 0 S; got {value!r}")
        if not self.g_min < self.g_max:
            raise ValueError(f"LinearStepParams: g_min must be < g_max; got {self.g_min}, {self.g_max}")
        if not self.dg <= self.g_max - self.g_min:
            raise ValueError(f"LinearStepParams.dg must be <= g_max - g_min; got {self.dg}")
        for name in ("gamma_up", "gamma_down"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"LinearStepParams.{name} must be in [0, 1]; got {value!r}")
        if self.g_init is not None and not self.g_min <= self.g_init <= self.g_max:
            raise ValueError(f"LinearStepParams.g_init must be in [g_min, g_max]; got {self.g_init!r}")

    @classmethod
    def soft_bounds(cls, **kw) -> "LinearStepParams":
        return cls(gamma_up=1.0, gamma_down=1.0, **kw)

    @classmethod
    def constant_step(cls, **kw) -> "LinearStepParams":
        return cls(gamma_up=0.0, gamma_down=0.0, **kw)


def affine_steps(x0: torch.Tensor, n: torch.Tensor, step: float, gamma: float) -> torch.Tensor:
    """x after n steps of x <- x + step (1 - gamma x), from x0, in closed form (not clipped).

    With q = 1 - step gamma the fixed point is 1/gamma and x_n = x0 + (1 - gamma x0) (1 - q^n) / gamma,
    evaluated as -expm1(n log1p(-step gamma)) / gamma so that a small gamma loses no digits;
    gamma = 0: x_n = x0 + n step.
    """
    n = n.to(x0.dtype)
    if gamma == 0.0:
        return x0 + n * step
    return x0 + (1.0 - gamma * x0) * (-torch.expm1(n * math.log1p(-step * gamma)) / gamma)


class LinearStepCells(PulseCells):
    """``shape`` linear-step (soft-bounds, constant-step) cells; n pulses are applied in closed form."""

    def __init__(self, shape: tuple[int, ...], params: LinearStepParams = LinearStepParams(), *,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32):
        super().__init__(shape)
        if not isinstance(params, LinearStepParams):
            raise TypeError(f"params must be a LinearStepParams; got {type(params).__name__}")
        self.params = params
        x0 = 0.5 if params.g_init is None else (params.g_init - params.g_min) / (params.g_max - params.g_min)
        self.register_buffer("x", torch.full(shape, x0, dtype=dtype, device=device))
        self._x0 = x0

    def apply_pulses(self, counts: torch.Tensor, polarity: Polarity) -> None:
        counts = check_counts(counts, self.shape, self.x.device)
        polarity = check_polarity(polarity)
        p = self.params
        step = p.dg / (p.g_max - p.g_min)
        if polarity is Polarity.SET:
            self.x = affine_steps(self.x, counts, step, p.gamma_up).clamp(max=1.0)
        else:  # the same law on 1 - x
            self.x = 1.0 - affine_steps(1.0 - self.x, counts, step, p.gamma_down).clamp(max=1.0)

    def conductance(self) -> torch.Tensor:
        p = self.params
        return p.g_min + (p.g_max - p.g_min) * self.x

    def saturated(self, polarity: Polarity) -> torch.Tensor:
        """True within one step of the bound that ``polarity`` drives towards."""
        p = self.params
        step = p.dg / (p.g_max - p.g_min)
        return self.x >= 1.0 - step if check_polarity(polarity) is Polarity.SET else self.x <= step

    def reset_state(self, mask: torch.Tensor) -> None:
        self.x = torch.where(mask, torch.full_like(self.x, self._x0), self.x)
