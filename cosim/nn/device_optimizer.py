"""``DeviceOptimizer``: any torch optimizer whose weight updates are carried out as device pulses (seed 004).

After each inner step, every device-backed layer of the model (a ``DifferentialWeights``: the binary
and analog layers) turns the change the optimizer made to its weight, dW, into integer pulse counts
``n = floor(lr_pulse |dW|)`` on the cell that raises the weight (dW > 0) or the one that lowers it
(dW < 0), applies them through the device model, and sets the weight to what the devices now hold.
The optimizer's own state (Adam's moments) is untouched: it sees the devices' weights at the next
step, as in the paper's modified Adam. Other parameters (batch-norm, biases, ideal layers) keep the
optimizer's update. The work is one batch of tensor operations per layer: no loop over weights.

    opt = DeviceOptimizer(torch.optim.Adam(model.parameters(), lr=1e-3), model, lr_pulse=1500.0)
    loss.backward(); opt.step()
"""
from __future__ import annotations

import torch
from torch import nn

from cosim.nn.pairs import DifferentialWeights, check_lr_pulse

__all__ = ["DeviceOptimizer", "device_layers"]


def device_layers(model: nn.Module) -> list[DifferentialWeights]:
    """The layers of ``model`` whose weights live in devices (ideal layers excluded)."""
    return [m for m in model.modules() if isinstance(m, DifferentialWeights) and m.has_devices]


class DeviceOptimizer:
    """Wraps ``optimizer``; ``lr_pulse`` is in pulses per unit of weight (> 0).

    ``step``, ``zero_grad``, ``state_dict``, ``load_state_dict`` and ``param_groups`` are the inner
    optimizer's. ``layers`` are the device-backed layers found in ``model`` at construction.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, model: nn.Module, lr_pulse: float):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        self.lr_pulse = check_lr_pulse(lr_pulse)
        self.optimizer = optimizer
        self.layers = device_layers(model)
        optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
        missing = [type(m).__name__ for m in self.layers if id(m.weight) not in optimized]
        if missing:
            raise ValueError(f"the optimizer does not update the weights of device layers {missing}; pass "
                             "model.parameters() (or include each layer's weight) to it")

    @property
    def param_groups(self) -> list[dict]:
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure=None):
        """The inner step, then each device layer's update as pulses; returns the closure's loss."""
        before = [m.weight.detach().clone() for m in self.layers]
        loss = self.optimizer.step(closure)
        with torch.no_grad():
            for layer, old in zip(self.layers, before):
                layer.apply_update(layer.weight.detach() - old, self.lr_pulse)
        return loss

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)

    def pulse_totals(self) -> dict[str, float]:
        """Pulses over all device layers so far: total, mean and max per cell, and energy (J)."""
        counts = [m.pulse_counts for m in self.layers]
        if not counts:
            return {"total": 0.0, "mean_per_cell": 0.0, "max_per_cell": 0.0, "energy_j": 0.0}
        total = sum(float(c.sum()) for c in counts)
        cells = sum(c.numel() for c in counts)
        return {"total": total, "mean_per_cell": total / cells, "max_per_cell": max(float(c.max()) for c in counts),
                "energy_j": sum(float(m.energy_j) for m in self.layers)}
