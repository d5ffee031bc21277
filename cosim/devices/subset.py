"""Per-cell access for a :class:`~cosim.devices.base.DeviceArray`: read, set and step a subset of its cells.

The event engine drives one row of an array at a time; :class:`CellSubsetMethods` works on ``cells``
(indices) only, with the same physics, faults and finite levels as the whole-array methods. It is a mixin
of ``DeviceArray`` (it uses the array's state, per-cell parameters, faults and model hooks) and holds
nothing of its own.
"""
from __future__ import annotations

import numpy as np

from cosim.validate import broadcast_real, index_array

from .nonideal import snap_to_levels

__all__ = ["CellSubsetMethods"]


class CellSubsetMethods:
    """The subset methods of ``DeviceArray`` (see the module docstring)."""

    # The event engine drives one row of an array at a time; these work on ``cells`` (indices) only,
    # with the same physics, faults and finite levels as the whole-array methods.
    # Each validates ``cells`` (integer indices in [0, n), 1-D; not booleans) and the per-cell values
    # (real, finite, one per cell or a scalar) before it changes anything.
    def state_of(self, cells: np.ndarray) -> np.ndarray:
        """The state of ``cells`` (indices), a copy."""
        return self._state[self._subset(cells)]

    def set_state_of(self, cells: np.ndarray, values: np.ndarray) -> None:
        """Set the state of ``cells`` (clipped to their bounds); faulty cells keep theirs."""
        cells = self._subset(cells)
        values = broadcast_real(self.STATE_NAME, values, cells.shape, unit=self.STATE_UNIT)
        cell = {k: a[cells] for k, a in self._cell.items()}
        lo, hi = self._state_range(cell)
        self._state[cells] = np.where(self._frozen[cells], self._state[cells], np.clip(values, lo, hi))

    def state_for(self, cells: np.ndarray, g: np.ndarray) -> np.ndarray:
        """The state at which ``cells`` read conductance ``g`` (S; noise-free, unquantised), clipped to bounds."""
        cells = self._subset(cells)
        g = broadcast_real("g", g, cells.shape, unit="S")
        cell = {k: a[cells] for k, a in self._cell.items()}
        g_off = self._ideal_conductance(self._state_off(cell), cell)
        g_on = self._ideal_conductance(self._state_on(cell), cell)
        g = np.clip(g, np.minimum(g_off, g_on), np.maximum(g_off, g_on))
        lo, hi = self._state_range(cell)
        return np.clip(self._state_from_conductance(g, cell), lo, hi)

    def conductance_of(self, cells: np.ndarray, noisy: bool = False) -> np.ndarray:
        """Read conductance (S) of ``cells`` (indices); with read noise if ``noisy``."""
        cells = self._subset(cells)
        cell = {k: a[cells] for k, a in self._cell.items()}
        v_read = cell[self.V_READ_FIELD]
        s = self._state[cells]
        g = self._observed_subset(v_read, s, self._ideal_current(v_read, s, cell), cells, cell) / v_read
        if noisy and self.nonideal.read_noise > 0:
            g = g * (1.0 + self.nonideal.read_noise * self._rng.standard_normal(g.size))
        return g

    def rate_of(self, cells: np.ndarray, v: np.ndarray) -> np.ndarray:
        """d(state)/dt of ``cells`` at voltages ``v`` (V, one per cell); no state change."""
        cells = self._subset(cells)
        v = broadcast_real("v", v, cells.shape, unit="V")
        cell = {k: a[cells] for k, a in self._cell.items()}
        s = self._state[cells]
        return np.where(self._frozen[cells], 0.0, self._rate(v, s, cell, self._ideal_current(v, s, cell)))

    def step_of(self, cells: np.ndarray, v: np.ndarray, dt: float) -> None:
        """Advance ``cells`` by one step of ``dt`` s under voltages ``v`` (V); the others are untouched."""
        cells = self._subset(cells)
        v = broadcast_real("v", v, cells.shape, unit="V")
        dt = self._check_dt(dt)
        if self.c2c:
            self._switching_events(v, subset=cells)
        cell = {k: a[cells] for k, a in self._cell.items()}
        s = self._state[cells]
        new = self._advance(v, s, cell, dt, self._ideal_current(v, s, cell))
        self._state[cells] = np.where(self._frozen[cells], s, new)

    def _subset(self, cells) -> np.ndarray:
        return index_array("cells", cells, self.n)

    def _observed_subset(self, v, s, i_phys, cells, cell) -> np.ndarray:
        i = i_phys
        spec = self.nonideal
        if spec.levels is not None:
            g = self._ideal_conductance(s, cell)
            g_off = self._ideal_conductance(self._state_off(cell), cell)
            g_on = self._ideal_conductance(self._state_on(cell), cell)
            i = i * (snap_to_levels(g, g_off, g_on, spec.levels, spec.level_spacing) / g)
        unformed = self._faults.unformed[cells]
        if unformed.any():
            i = np.where(unformed, v * self._unformed_conductance()[cells], i)
        return i
