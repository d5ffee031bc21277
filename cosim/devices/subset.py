"""Per-cell access for a :class:`~cosim.devices.base.DeviceArray`: read, set and step a subset of its cells.

The event engine drives one row of an array at a time; :class:`CellSubsetMethods` works on ``cells``
(indices) only, with the same physics, faults and finite levels as the whole-array methods. It is a mixin
of ``DeviceArray`` (it uses the array's state, per-cell parameters, faults and model hooks) and holds
nothing of its own.
"""
from __future__ import annotations

import numpy as np

from cosim.validate import broadcast_real, index_array, real_array

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

    # ---- the rate law at given states (planners: no state is read or changed) -------------------------
    def rate_at(self, cells: np.ndarray, v, s) -> np.ndarray:
        """d(state)/dt (``STATE_UNIT`` per s) of ``cells`` at voltages ``v`` (V) and states ``s`` (``STATE_UNIT``).

        The model's rate law evaluated where a planner asks, without reading or changing the cells' present
        state. ``v`` and ``s`` are scalars or arrays whose first axis runs over ``cells`` ((k,) or (k, ...));
        they broadcast together and the result has their common shape. States are clipped to each cell's
        bounds; faulty (stuck, unformed) cells have rate 0, as in :meth:`rate_of`.
        """
        cells, shape, (v, s), cell = self._at_cells(cells, (("v", v, "V"), (self.STATE_NAME, s, self.STATE_UNIT)))
        lo, hi = self._state_range(cell)
        s = np.clip(s, lo, hi)
        rate = self._rate(v, s, cell, self._ideal_current(v, s, cell))
        frozen = np.repeat(self._frozen[cells], rate.size // max(cells.size, 1))
        return np.where(frozen, 0.0, rate).reshape(shape)

    def conductance_at(self, cells: np.ndarray, s) -> np.ndarray:
        """Noise-free, unquantised read conductance (S) of ``cells`` at states ``s`` (``STATE_UNIT``, clipped to
        the bounds; a scalar or an array whose first axis runs over ``cells``); no state is read or changed."""
        cells, shape, (s,), cell = self._at_cells(cells, ((self.STATE_NAME, s, self.STATE_UNIT),))
        lo, hi = self._state_range(cell)
        return self._ideal_conductance(np.clip(s, lo, hi), cell).reshape(shape)

    def _at_cells(self, cells, values):
        """Validated ``cells``, the common shape of ``values`` ((name, value, unit) triples, first axis over
        the cells), the values flattened to it, and the cells' parameters repeated to match."""
        cells = self._subset(cells)
        arrays = []
        for name, value, unit in values:
            arr = real_array(name, value, unit=unit)
            if arr.ndim and arr.shape[0] != cells.size:
                raise ValueError(f"{name} must be a scalar or an array whose first axis has one entry per cell "
                                 f"({cells.size}); got shape {arr.shape}")
            arrays.append(arr)
        shape = (cells.size,) + np.broadcast_shapes(*(a.shape[1:] for a in arrays if a.ndim))
        per_cell = int(np.prod(shape[1:], dtype=np.int64))
        flat = [a.reshape(-1) if a.shape == shape else
                np.broadcast_to(a.reshape(a.shape + (1,) * (len(shape) - a.ndim)), shape).reshape(-1) for a in arrays]
        index = cells if per_cell == 1 else np.repeat(cells, per_cell)
        return cells, shape, flat, {k: a[index] for k, a in self._cell.items()}

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
