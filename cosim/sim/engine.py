"""The SimPy engine: one clock (seconds) and one ambient temperature (kelvin) for all hardware on it."""
from __future__ import annotations

import numpy as np
import simpy


def check_temperature(kelvin, name: str = "temperature") -> float:
    """A temperature in kelvin: finite and > 0."""
    try:
        value = float(kelvin)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of kelvin; got {kelvin!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0 K; got {kelvin!r}")
    return value


def check_duration(seconds, name: str = "duration") -> float:
    """A duration in seconds: finite and >= 0."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds; got {seconds!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0 s; got {seconds!r}")
    return value


class Engine:
    """Simulated time (``now``, s) and ambient temperature (``temperature``, K) shared by arrays.

    Operations on arrays are SimPy processes on ``env``; the arrays' blocking methods run the clock
    until their own operation is done. A temperature profile is a list of timed events.
    """

    def __init__(self, temperature: float = 300.0):
        self.env = simpy.Environment()
        self._temperature = check_temperature(temperature)
        self.arrays: list = []

    @property
    def now(self) -> float:
        """Simulated time, s."""
        return float(self.env.now)

    @property
    def temperature(self) -> float:
        """Ambient temperature, K."""
        return self._temperature

    def set_temperature(self, kelvin: float) -> None:
        """Change the ambient temperature now."""
        self._temperature = check_temperature(kelvin)

    def temperature_profile(self, steps) -> simpy.Process:
        """Schedule ambient temperature changes: ``steps`` is a list of (time_s, kelvin), times ascending."""
        checked = [(check_duration(t, "profile time"), check_temperature(k, "profile temperature")) for t, k in steps]
        if any(b[0] < a[0] for a, b in zip(checked, checked[1:])):
            raise ValueError("temperature profile times must be ascending")
        if checked and checked[0][0] < self.now:
            raise ValueError(f"temperature profile starts at {checked[0][0]} s, before now ({self.now} s)")

        def profile():
            for t, kelvin in checked:
                yield self.env.timeout(t - self.env.now)
                self._temperature = kelvin
        return self.env.process(profile())

    def run_process(self, generator):
        """Run ``generator`` as a process on the clock until it finishes; return its value."""
        proc = self.env.process(generator)
        self.env.run(until=proc)
        return proc.value

    def run(self, until: float | None = None) -> None:
        """Advance the clock (to ``until`` s, or until nothing is scheduled)."""
        self.env.run(until=until)

    def array(self, rows: int, cols: int, cell: str = "1R", device=None, seed=None, **options):
        """Create an :class:`~cosim.sim.array.Array` on this engine (see its arguments)."""
        from cosim.sim.array import Array

        arr = Array(self, rows, cols, cell=cell, device=device, seed=seed, **options)
        self.arrays.append(arr)
        return arr
