"""The SimPy engine: one clock (seconds) and one ambient temperature (kelvin) for all hardware on it.

The clock ages everything: every advance of simulated time ages every array on the engine under the
temperature in force. Arrays age lazily (:meth:`~cosim.sim.array.Array.catch_up`): before the
ambient temperature changes, every array is aged up to that moment at the old temperature, and after
every advance of the clock (``run``, ``run_process``) every array is aged up to ``now``. A temperature
profile is therefore integrated piecewise, each interval at its own temperature.
"""
from __future__ import annotations

import simpy

from cosim.validate import check_range, real_scalar


def check_temperature(kelvin, name: str = "temperature") -> float:
    """A temperature in kelvin: a real number (else TypeError), finite and > 0 (else ValueError)."""
    value = real_scalar(name, kelvin, unit="K")
    check_range(name, value, low=0.0, low_inclusive=False, unit="K")
    return value


def check_duration(seconds, name: str = "duration") -> float:
    """A duration in seconds: a real number (else TypeError), finite and >= 0 (else ValueError)."""
    value = real_scalar(name, seconds, unit="s")
    check_range(name, value, low=0.0, unit="s")
    return value


class Engine:
    """Simulated time (``now``, s) and ambient temperature (``temperature``, K) shared by arrays.

    Operations on arrays are SimPy processes on ``env``; the arrays' blocking methods run the clock
    until their own operation is done. A temperature profile is a list of timed events. Every array
    built on this engine registers itself in ``arrays``; everything aged by the clock (arrays, mapped
    layers' cells) is in ``hardware`` (objects with ``catch_up()`` and ``ambient_changed()``).
    """

    def __init__(self, temperature: float = 300.0):
        self._temperature = check_temperature(temperature)
        self.env = simpy.Environment()
        self.arrays: list = []
        self.hardware: list = []

    @property
    def now(self) -> float:
        """Simulated time, s."""
        return float(self.env.now)

    @property
    def temperature(self) -> float:
        """Ambient temperature, K."""
        return self._temperature

    def set_temperature(self, kelvin: float) -> None:
        """Change the ambient temperature now (every array is first aged up to now at the old one)."""
        kelvin = check_temperature(kelvin)
        self.catch_up()
        self._temperature = kelvin
        for part in self.hardware:
            part.ambient_changed()

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
                self.set_temperature(kelvin)
        return self.env.process(profile())

    def catch_up(self) -> None:
        """Age all hardware on this engine up to ``now``, each part under its own temperature."""
        for part in self.hardware:
            part.catch_up()

    def run_process(self, generator):
        """Run ``generator`` as a process on the clock until it finishes; return its value."""
        proc = self.env.process(generator)
        self.env.run(until=proc)
        self.catch_up()
        return proc.value

    def run(self, until: float | simpy.events.Event | None = None) -> None:
        """Advance the clock (to ``until`` s, until the SimPy event ``until`` has happened, or until nothing
        is scheduled); every array ages."""
        if isinstance(until, simpy.events.Event):
            self.env.run(until=until)
            self.catch_up()
            return
        if until is not None:
            until = check_duration(until, "until")
            if until < self.now:
                raise ValueError(f"until must not be before now ({self.now} s); got {until!r}")
        if until is None or until > self.now:
            self.env.run(until=until)
        self.catch_up()

    def array(self, rows: int, cols: int, cell: str = "1R", device=None, seed=None, **options):
        """Create an :class:`~cosim.sim.array.Array` on this engine (see its arguments)."""
        from cosim.sim.array import Array

        return Array(self, rows, cols, cell=cell, device=device, seed=seed, **options)
