"""Trainable weights held by differential pairs of pulse devices and updated by integer pulse counts.

Every weight is a pair of cells (index 0, index 1 in the last dimension; (BL, BLb) in seed 004's
2T2R array). The real weight is read from the pair's conductances (``Readout``); an update dW
(what the torch optimizer did to the weight) becomes

    n = floor(lr_pulse |dW|)   pulses of the rule's polarity, to the cell that raises W if dW > 0,
                               to the cell that lowers W if dW < 0     (seed 004 section IV)

and the weight parameter is then set to what the devices hold. Only one polarity is used, so
both cells of a pair only ever move one way: with weak-RESET cells both drift to high resistance and
past their slope change t* a pair answers ~25 times more weakly (``m2 / m1``). ``refresh`` is the
explicit, costed cure: SET (re-form) both cells of the chosen pairs and write the weight back with
open-loop pulses. It is never done behind the caller's back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import torch
from torch import nn

from cosim.nn.pulse_devices import Polarity, PulseCells

__all__ = ["Readout", "PairRule", "RefreshCost", "DifferentialWeights", "pulse_counts_for"]


class Readout(Enum):
    """How a pair's two conductances make one real weight."""

    LOG_RATIO = "log-ratio"     # W = ln(R_0 / R_1) = ln(G_1 / G_0)   (seed 004, Eq. 9)
    DIFFERENCE = "difference"   # W = (G_0 - G_1) / g_unit            (analog differential pair)


@dataclass(frozen=True)
class PairRule:
    """The pair's readout and the one pulse polarity its updates use."""

    readout: Readout = Readout.LOG_RATIO
    polarity: Polarity = Polarity.RESET
    g_unit: float = 1.0   # S per unit weight (DIFFERENCE only)

    def __post_init__(self) -> None:
        if not isinstance(self.readout, Readout):
            raise TypeError(f"PairRule.readout must be a Readout; got {self.readout!r}")
        if not isinstance(self.polarity, Polarity):
            raise TypeError(f"PairRule.polarity must be a Polarity; got {self.polarity!r}")
        if isinstance(self.g_unit, bool) or not isinstance(self.g_unit, (int, float)) \
                or not math.isfinite(self.g_unit) or self.g_unit <= 0:
            raise ValueError(f"PairRule.g_unit must be a finite number > 0 S; got {self.g_unit!r}")

    @property
    def raising_cell(self) -> int:
        """Index of the cell whose pulses raise W: RESET raises R_0 (log-ratio) but lowers G_1 (difference)."""
        return 0 if (self.readout is Readout.LOG_RATIO) == (self.polarity is Polarity.RESET) else 1

    def weight(self, cells: PulseCells) -> torch.Tensor:
        """Real weights of pairs held in ``cells`` (last dimension 2)."""
        if self.readout is Readout.LOG_RATIO:
            log_g = cells.log_conductance()
            return log_g[..., 1] - log_g[..., 0]
        g = cells.conductance()
        return (g[..., 0] - g[..., 1]) / self.g_unit


@dataclass(frozen=True)
class RefreshCost:
    """What a refresh took: pairs refreshed, SET (re-form) operations, re-programming pulses and their energy."""

    pairs: int
    set_operations: int
    pulses: int
    energy_j: float | None


def pulse_counts_for(delta_w: torch.Tensor, lr_pulse: float, raising_cell: int) -> torch.Tensor:
    """(..., 2) int64 counts: floor(lr_pulse |dW|) to ``raising_cell`` where dW > 0, to the other where dW < 0."""
    n = torch.floor(lr_pulse * delta_w.abs()).to(torch.int64)
    zero = torch.zeros_like(n)
    up, down = torch.where(delta_w > 0, n, zero), torch.where(delta_w < 0, n, zero)
    pair = (up, down) if raising_cell == 0 else (down, up)
    return torch.stack(pair, dim=-1)


def check_lr_pulse(lr_pulse) -> float:
    if isinstance(lr_pulse, bool) or not isinstance(lr_pulse, (int, float)) or not math.isfinite(lr_pulse) \
            or lr_pulse <= 0:
        raise ValueError(f"lr_pulse (pulses per unit of weight) must be a finite number > 0; got {lr_pulse!r}")
    return float(lr_pulse)


class DifferentialWeights(nn.Module):
    """Base of the device-backed layers: ``weight`` (a Parameter) mirrors the pairs in ``cells``.

    ``cells`` is None for an ideal (digital) layer: the weight is then a plain parameter.
    Buffers: ``pulse_counts`` (weight shape + (2,), int64) counts every pulse each cell received,
    including the initial programming; ``energy_j`` the pulses' energy where the model gives one;
    ``set_counts`` the SETs (re-forms) of refreshes.
    """

    def __init__(self, weight: torch.Tensor, cells: PulseCells | None, rule: PairRule):
        super().__init__()
        if not isinstance(rule, PairRule):
            raise TypeError(f"rule must be a PairRule; got {type(rule).__name__}")
        shape = tuple(weight.shape)
        if cells is not None:
            if not isinstance(cells, PulseCells):
                raise TypeError(f"cells must be a PulseCells; got {type(cells).__name__}")
            if tuple(cells.shape) != shape + (2,):
                raise ValueError(f"cells must have shape {shape + (2,)}; got {tuple(cells.shape)}")
        self.rule = rule
        self.cells = cells
        self.weight = nn.Parameter(weight)
        dev = weight.device
        self.register_buffer("pulse_counts", torch.zeros(shape + (2,), dtype=torch.int64, device=dev))
        self.register_buffer("set_counts", torch.zeros(shape + (2,), dtype=torch.int64, device=dev))
        self.register_buffer("energy_j", torch.zeros((), dtype=torch.float64, device=dev))
        if cells is not None:
            self.sync_weight()

    @property
    def has_devices(self) -> bool:
        return self.cells is not None

    def _require_devices(self) -> PulseCells:
        if self.cells is None:
            raise ValueError(f"{type(self).__name__} is ideal (device='ideal'): it has no devices")
        return self.cells

    @property
    def resistances(self) -> torch.Tensor:
        """(weight shape, 2) resistances of the pairs' cells, ohm."""
        return 1.0 / self._require_devices().conductance()

    @torch.no_grad()
    def sync_weight(self) -> None:
        """Set the weight parameter to the real weight the devices hold."""
        self.weight.copy_(self.rule.weight(self._require_devices()).to(self.weight.dtype))

    @torch.no_grad()
    def apply_pulse_counts(self, counts: torch.Tensor) -> None:
        """Apply ``counts`` (weight shape + (2,), int64 >= 0) of the rule's polarity, count them, sync."""
        cells = self._require_devices()
        energy = cells.pulse_energy(counts, self.rule.polarity)
        cells.apply_pulses(counts, self.rule.polarity)      # validates before any change
        self.pulse_counts.add_(counts)
        if energy is not None:
            self.energy_j.add_(energy.sum().to(torch.float64))
        self.sync_weight()

    @torch.no_grad()
    def apply_update(self, delta_w: torch.Tensor, lr_pulse: float) -> torch.Tensor:
        """Turn a real-valued update ``delta_w`` (weight shape) into pulses and apply them; returns the counts."""
        lr_pulse = check_lr_pulse(lr_pulse)
        if tuple(delta_w.shape) != tuple(self.weight.shape):
            raise ValueError(f"delta_w must have shape {tuple(self.weight.shape)}; got {tuple(delta_w.shape)}")
        if not bool(torch.isfinite(delta_w).all()):
            raise ValueError("delta_w must be finite (the optimizer produced NaN or inf)")
        counts = pulse_counts_for(delta_w, lr_pulse, self.rule.raising_cell)
        self.apply_pulse_counts(counts)
        return counts

    @torch.no_grad()
    def program_random(self, max_pulses: int, generator: torch.Generator) -> None:
        """Initial weights: each pair gets 0..``max_pulses`` pulses (uniform) on a random one of its cells.

        Without device-to-device spread every pair starts at W = 0 exactly and no unit could differ
        from another; this random write breaks the symmetry, as an initialisation scheme does.
        """
        if isinstance(max_pulses, bool) or not isinstance(max_pulses, int) or max_pulses < 0:
            raise ValueError(f"max_pulses must be an integer >= 0; got {max_pulses!r}")
        if max_pulses == 0:
            return
        shape = tuple(self.weight.shape)
        n = torch.randint(0, max_pulses + 1, shape, generator=generator)
        side = torch.randint(0, 2, shape, generator=generator)
        counts = torch.stack([n * (side == 0), n * (side == 1)], dim=-1).to(self.pulse_counts.device)
        self.apply_pulse_counts(counts)

    @torch.no_grad()
    def refresh(self, lr_pulse: float, mask: torch.Tensor | None = None) -> RefreshCost:
        """SET (re-form) both cells of the pairs in ``mask`` (default: pairs whose two cells are both
        saturated) and write their present weight back with open-loop pulses, n = floor(lr_pulse |dW|).

        The weight after a refresh differs from before by the write error (one pulse, plus noise and
        the spread of the fresh cells). Returns the cost; the SETs are counted in ``set_counts``.
        """
        cells = self._require_devices()
        lr_pulse = check_lr_pulse(lr_pulse)
        if mask is None:
            mask = cells.saturated(self.rule.polarity).all(dim=-1)
        if mask.dtype != torch.bool or tuple(mask.shape) != tuple(self.weight.shape):
            raise ValueError(f"mask must be a bool tensor of shape {tuple(self.weight.shape)}")
        pairs = int(mask.sum())
        if pairs == 0:
            return RefreshCost(0, 0, 0, 0.0)
        target = self.weight.detach().clone()
        energy_before = float(self.energy_j)
        both = mask[..., None].expand(mask.shape + (2,))
        cells.reset_state(both)
        self.set_counts.add_(both.to(torch.int64))
        fresh = self.rule.weight(cells)
        delta = torch.where(mask, target - fresh, torch.zeros_like(target))
        counts = pulse_counts_for(delta, lr_pulse, self.rule.raising_cell)
        self.apply_pulse_counts(counts)
        return RefreshCost(pairs, 2 * pairs, int(counts.sum()), float(self.energy_j) - energy_before)
