"""The operating point of a crossbar: node and cell voltages, currents, power by element kind."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CrossbarSolution:
    """Operating point of a crossbar; a leading batch axis is present when a batch was solved.

    Attributes:
        wl_voltages, bl_voltages: (..., rows, cols) word-line / bit-line node voltages, V.
        cell_voltages: (..., rows, cols) voltage across each memristive cell (word-line side minus
            the other side), V. cell_currents: (..., rows, cols) current through it, A.
        sense_currents: (..., cols) current from each bit line into its sense amplifier, A.
        driver_currents: (..., rows) current from each driver into its word line, A.
        power: (...,) total power dissipated, W; power_by_kind: the same split by element kind
            ("cell", "wire", "driver", "sense", "transistor").
    """

    wl_voltages: np.ndarray
    bl_voltages: np.ndarray
    cell_voltages: np.ndarray
    cell_currents: np.ndarray
    sense_currents: np.ndarray
    driver_currents: np.ndarray
    power: np.ndarray
    power_by_kind: dict


ARRAY_FIELDS = ("wl_voltages", "bl_voltages", "cell_voltages", "cell_currents", "sense_currents",
                 "driver_currents", "power")


def stack_solutions(parts: list[CrossbarSolution]) -> CrossbarSolution:
    """Stack single-input solutions along a new leading batch axis."""
    return CrossbarSolution(*(np.stack([getattr(p, f) for p in parts]) for f in ARRAY_FIELDS),
                            {k: np.stack([p.power_by_kind[k] for p in parts]) for k in parts[0].power_by_kind})
