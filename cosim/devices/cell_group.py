"""A fixed group of cells of one ``DeviceArray``, read and stepped without per-call validation or slicing.

The event engine steps the few cells that move inside a pulse many times (each sub-step: a rate, a half
step, a conductance, a restore, a full step). :class:`CellGroup` slices their per-cell parameters once
and then runs exactly the physics of the whole-array methods on those cells only: the same rate law,
the same fixed step (the compiled kernel where the whole array would use it, else the numpy reference),
the same faults and finite levels. It is meant for deterministic models (no cycle-to-cycle redraws, no
noise in the state update: ``DeviceArray.deterministic``), where stepping a subset of the cells is
exactly stepping all of them with the others' rates at zero. Arguments are not validated: the group is
an internal tool of the engine, built by :meth:`DeviceArray.cell_group`, which validates the cells.
"""
from __future__ import annotations

import numpy as np

from . import compiled

__all__ = ["CellGroup"]


class CellGroup:
    """Cells ``cells`` (int64 indices, validated by the caller) of the deterministic device array ``dev``."""

    def __init__(self, dev, cells: np.ndarray):
        if not dev.deterministic:
            raise ValueError(f"a CellGroup needs a deterministic {type(dev).__name__} (no c2c, no state noise)")
        self._dev = dev
        self.cells = cells
        self._version = dev._param_version
        self._cell = {k: a[cells] for k, a in dev._cell.items()}
        self._frozen = dev._frozen[cells]
        self._any_frozen = bool(self._frozen.any())
        lo, hi = dev._state_range(self._cell)
        #: (m,) lowest and highest state of each cell of the group (``STATE_UNIT``)
        self.low, self.high = lo, hi
        self._v_read = self._cell[dev.V_READ_FIELD]
        self._needs_current = dev._rate_needs_current()
        # read conductance = ideal current / v_read unless finite levels or unformed cells change what is seen
        self._plain_reads = dev.nonideal.levels is None and not dev._faults.unformed[cells].any()
        self._kernel = None
        if dev._kernel_ready():
            table = compiled._arrays(dev)
            self._kernel = {k: (np.ascontiguousarray(a[:, cells]) if k == "params" else np.ascontiguousarray(a[cells]))
                            if isinstance(a, np.ndarray) else a for k, a in table.items()}
            self._polarity = np.zeros(cells.size, np.int8)

    @property
    def size(self) -> int:
        return int(self.cells.size)

    @property
    def current(self) -> bool:
        """False once the device's per-cell parameters changed since the group was made (rebuild it)."""
        return self._version == self._dev._param_version

    @property
    def state(self) -> np.ndarray:
        """(m,) state of the group's cells, a copy."""
        return self._dev._state[self.cells]

    def set_state(self, s: np.ndarray) -> None:
        """Put the cells back to states ``s`` taken from :attr:`state` (valid states; frozen cells keep theirs)."""
        dev = self._dev
        dev._state[self.cells] = np.where(self._frozen, dev._state[self.cells], s) if self._any_frozen else s

    def rate(self, v: np.ndarray) -> np.ndarray:
        """(m,) d(state)/dt at cell voltages ``v`` (V), as ``DeviceArray.rate``: 0 for frozen cells."""
        dev, s = self._dev, self._dev._state[self.cells]
        r = dev._rate(v, s, self._cell, dev._ideal_current(v, s, self._cell))
        return np.where(self._frozen, 0.0, r) if self._any_frozen else r

    def moving_rate(self, v: np.ndarray) -> np.ndarray:
        """:meth:`rate`, zero where a cell sits on a state bound and is pushed further into it (it cannot move)."""
        dev = self._dev
        s = dev._state[self.cells]
        r = dev._rate(v, s, self._cell, dev._ideal_current(v, s, self._cell) if self._needs_current else None)
        if self._any_frozen:
            r = np.where(self._frozen, 0.0, r)
        return np.where(((s <= self.low) & (r < 0)) | ((s >= self.high) & (r > 0)), 0.0, r)

    def step(self, v: np.ndarray, dt: float) -> None:
        """One fixed step of ``dt`` s at voltages ``v`` (V), as ``DeviceArray.step`` does for these cells."""
        dev = self._dev
        if self._kernel is not None:
            state = dev._state[self.cells]
            compiled.run_cells(dev.KERNEL, np.ascontiguousarray(v, dtype=np.float64)[None, :], dt, state,
                               self._polarity, self._kernel)
            dev._state[self.cells] = state
            return
        s = dev._state[self.cells]
        new = dev._advance(v, s, self._cell, dt, dev._ideal_current(v, s, self._cell))
        dev._state[self.cells] = np.where(self._frozen, s, new) if self._any_frozen else new

    def conductance(self) -> np.ndarray:
        """(m,) noise-free read conductance (S), as ``DeviceArray.conductance(noisy=False)``."""
        dev, s = self._dev, self._dev._state[self.cells]
        i = dev._ideal_current(self._v_read, s, self._cell)
        if self._plain_reads:
            return i / self._v_read
        return dev._observed_subset(self._v_read, s, i, self.cells, self._cell) / self._v_read
