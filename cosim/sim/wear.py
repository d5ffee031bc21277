"""The energy of SET/RESET cycling from the device model (``Array.cycle``'s shortcut charges it).

One cycle of a cell is a SET pulse of ``cycle_s / 2`` at ``v_set`` followed by a RESET pulse of
``cycle_s / 2`` at ``v_reset`` across the cell (``CycleDrive``). Its energy is integrated on a copy of
the devices, so the array's own cells are not moved: E = sum_k V_k I_k dt over ``steps`` fixed steps per
pulse (the model's own stepping, :meth:`~cosim.devices.base.DeviceArray.simulate`), per selected cell.
The circuit (wires, drivers) is not part of it: it is the cells' own switching energy. ``n`` cycles
charge ``n`` times the energy of the first (the shortcut does not resolve drift of the energy with wear).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CycleDrive:
    """The pulses of one SET/RESET cycle.

    Attributes:
        v_set: V across the cell during the SET half (sign as the model's SET polarity).
        v_reset: V across the cell during the RESET half.
        steps: fixed integration steps per half cycle.
    """

    v_set: float
    v_reset: float
    steps: int = 200

    def __post_init__(self) -> None:
        for name in ("v_set", "v_reset"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ValueError(f"CycleDrive.{name} must be a finite number of volts; got {value!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"CycleDrive.steps must be an integer >= 1; got {self.steps!r}")


def cycle_energy(device, cells: np.ndarray, drive: CycleDrive, cycle_s: float) -> float:
    """Energy (J) of one SET/RESET cycle of ``cells`` (boolean mask) from the device model (see the module)."""
    scratch = copy.deepcopy(device)
    dt = cycle_s / (2 * drive.steps)
    volts = np.concatenate([np.full(drive.steps, drive.v_set), np.full(drive.steps, drive.v_reset)])
    currents = scratch.simulate(volts, dt)                     # (2 steps, n) A, at the start of each step
    return float(np.sum(volts[:, None] * currents[:, cells]) * dt)
