"""A set of cells on the engine clock: their temperature, aging memory and laws, aged lazily.

One ``CellClock`` per piece of hardware (an :class:`~cosim.sim.array.Array`, a mapped layer's tiles)
registers itself in its engine's ``hardware``. The engine calls :meth:`CellClock.catch_up` after every
advance of time and before every change of the ambient temperature, so every interval of simulated time
ages the cells at the temperature in force during it (the bake temperature while baking). The cells'
conductances live with their owner; the clock moves them by the laws' resistance factors through the
owner's ``age_by`` function, and tells the owner's devices the temperature through ``on_temperature``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import numpy as np

from cosim.sim.aging import AgingLaws, AgingState, check_cycles
from cosim.sim.engine import check_temperature


class CellClock:
    """Aging memory and laws of ``n`` cells on ``engine``.

    Args:
        engine: the clock and ambient temperature. laws: the aging laws.
        r_programmed: (n,) ohm, each cell's programmed resistance now.
        age_by: called with an (n,) array of resistance factors (R_after / R_before) to apply.
        on_temperature: called with the cells' temperature (K) whenever it changes (None: nothing to tell).
    """

    def __init__(self, engine, laws: AgingLaws, r_programmed: np.ndarray, age_by: Callable[[np.ndarray], None],
                 on_temperature: Callable[[float], None] | None = None):
        if not isinstance(laws, AgingLaws):
            raise TypeError(f"laws must be AgingLaws; got {type(laws).__name__}")
        self.engine = engine
        self.laws = laws
        self.state = AgingState(r_programmed)
        self._age_by = age_by
        self._on_temperature = on_temperature
        self._bake_temperature: float | None = None
        self._aged_until = engine.now
        engine.hardware.append(self)
        self.ambient_changed()

    @property
    def temperature(self) -> float:
        """The cells' temperature, K: the bake temperature while baking, else the engine's ambient."""
        return self.engine.temperature if self._bake_temperature is None else self._bake_temperature

    def catch_up(self) -> None:
        """Age every cell from the last catch-up to the engine's ``now`` at :attr:`temperature`."""
        seconds = self.engine.now - self._aged_until
        self._aged_until = self.engine.now
        if self.laws.retention is not None and seconds > 0:
            self._apply(self.state.retention_factor(self.laws.retention, seconds, self.temperature))

    def ambient_changed(self) -> None:
        """Tell the owner the cells' temperature (after the ambient or a bake changed it)."""
        if self._on_temperature is not None:
            self._on_temperature(self.temperature)

    @contextmanager
    def baking(self, kelvin: float | None):
        """Within the block the cells sit at ``kelvin`` K (None: the ambient); aged up to now on both ends."""
        kelvin = None if kelvin is None else check_temperature(kelvin, "kelvin")
        self.catch_up()
        self._bake_temperature = kelvin
        self.ambient_changed()
        try:
            yield self
            self.catch_up()
        finally:
            self._bake_temperature = None
            self.ambient_changed()

    def cycle(self, cells: np.ndarray, n) -> int:
        """``n`` SET/RESET cycles of ``cells`` (boolean mask): counters and the endurance law; returns n.
        Counters never wrap (ValueError before any change)."""
        n = check_cycles(self.state.cycles, cells, n)
        self.catch_up()
        if n > 0:
            self._apply(self.state.endurance_factor(self.laws.endurance, cells, n))
        return n

    def pulsed(self, cells: np.ndarray, g_before: np.ndarray, g_after: np.ndarray, window_ln: np.ndarray,
               g_mid: np.ndarray) -> None:
        """Co-simulated pulses moved ``cells`` (indices) from ``g_before`` to ``g_after`` (S): restart the
        retention of reprogrammed cells (``AgingLaws.restart_fraction`` of ``window_ln``), count midpoint
        crossings (``g_mid``, S) and wear the cells that completed a SET/RESET cycle by the endurance law."""
        self.state.pulsed(cells, g_before, g_after, window_ln, self.laws.restart_fraction)
        done = self.state.switched(cells, g_before, g_after, g_mid)
        if done.any():
            self.cycle(done, 1)

    def detach(self) -> None:
        """Leave the engine: its clock no longer ages these cells."""
        self.engine.hardware.remove(self)

    def _apply(self, factor: np.ndarray) -> None:
        if np.any(factor != 1.0):
            self._age_by(factor)
