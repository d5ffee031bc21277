"""One 1R cell as its controller's model of the array sees it: the rest of the array is a Thevenin source.

The controller's model of a 1R array (the layout as designed, every cell at its estimated conductance)
is a linear resistive network. Under a bias that scales with one voltage ``V`` (a grounded-lines
read, a V/3 pulse) the rest of the network seen from cell (row, col) is, exactly,

    cell voltage       v(g) = v_open V / (1 + g r_th)
    its column's sense I(g) = (i_open + share g v_open / (1 + g r_th)) V

with ``g`` the cell's own conductance (S): ``v_open`` (V per V) is the cell's voltage with the cell
removed, ``r_th`` (ohm) the resistance the network presents to it, ``i_open`` (A per V) the sense current
without the cell (the other cells' sneak currents) and ``share`` the fraction of the cell's current that
reaches its own sense (substitution theorem: replace the cell by the current ``g v`` it carries). None of
the four depends on ``g``; they follow from two solves of the model at two values of ``g`` with the
other cells fixed. Then a verify read inverts in closed form (:meth:`CellPort.conductance`) and so does
the line voltage that puts a wanted voltage on the cell (:meth:`CellPort.line_voltage`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cosim.sim.cosimulate import Bias
from cosim.solve.crossbar import Crossbar

G_FLOOR, G_CEIL = 1e-12, 1e3       # S, the range an estimate is kept in


@dataclass(frozen=True)
class CellPort:
    """The rest of the array seen from one cell under one bias, per volt of that bias (module docstring).

    Attributes:
        v_open: the cell's open-circuit voltage per volt of the bias (V / V).
        r_th: Thevenin resistance the network presents to the cell, ohm.
        i_open: the cell's column's sense current with the cell removed, per volt (A / V).
        share: fraction of the cell's current that reaches its column's sense.
    """

    v_open: float
    r_th: float
    i_open: float
    share: float

    def cell_voltage(self, g, volts: float):
        """The cell's voltage (V) at conductance ``g`` (S) under the bias scaled to ``volts`` (V)."""
        return self.v_open * volts / (1.0 + np.asarray(g) * self.r_th)

    def sense_current(self, g, volts: float):
        """The cell's column's sense current (A) at conductance ``g`` (S) under the bias scaled to ``volts``."""
        g = np.asarray(g)
        return (self.i_open + self.share * g * self.v_open / (1.0 + g * self.r_th)) * volts

    def conductance(self, i_sense: float, volts: float) -> float:
        """The cell conductance (S) at which the model's sense current is ``i_sense`` (A) at ``volts`` (V),
        kept in [G_FLOOR, G_CEIL] (G_CEIL where the current exceeds what a short would carry)."""
        i_cell = (i_sense / volts - self.i_open) / self.share         # per volt of the bias
        v_cell = self.v_open - i_cell * self.r_th
        if i_cell <= 0:
            return G_FLOOR
        if v_cell <= 0:
            return G_CEIL
        return float(min(max(i_cell / v_cell, G_FLOOR), G_CEIL))

    def line_voltage(self, g: float, wanted: float) -> float:
        """The bias voltage (V) that puts ``wanted`` (V) on the cell at conductance ``g`` (S)."""
        return wanted * (1.0 + g * self.r_th) / self.v_open


def cell_ports(model: Crossbar, g: np.ndarray, row: int, col: int, biases: Sequence[Bias]) -> list[CellPort]:
    """The :class:`CellPort` of cell (row, col) under each of ``biases`` (line voltages for 1 V of the bias),
    with the other cells of ``model`` at ``g`` ((rows, cols), S; the cell's own entry only picks the two
    conductances at which the model is solved). Two solves of ``model`` per floating-line pattern (its
    conductances are left at the second)."""
    g_a = float(np.clip(np.nan_to_num(g[row, col], nan=1e-4), 1e-9, 1e2))
    g_b = 2.0 * g_a if g_a < 50.0 else 0.5 * g_a
    out: list[CellPort | None] = [None] * len(biases)
    groups: dict[tuple, list[int]] = {}
    for k, bias in enumerate(biases):
        key = tuple(None if m is None else np.asarray(m, bool).tobytes() for m in (bias.floating_wl, bias.floating_bl))
        groups.setdefault(key, []).append(k)
    g_model = np.clip(np.nan_to_num(g, nan=1e-4), G_FLOOR, G_CEIL)
    for members in groups.values():
        v_wl = np.stack([biases[k].v_wl for k in members])
        v_bl = np.stack([biases[k].v_bl for k in members])
        first = biases[members[0]]
        seen = []
        for g_cell in (g_a, g_b):
            g_model[row, col] = g_cell
            model.set_conductances(g_model)
            sol = model.solve_bias(v_wl, v_bl, first.floating_wl, first.floating_bl)
            seen.append((sol.cell_voltages[:, row, col], sol.sense_currents[:, col]))
        (v1, s1), (v2, s2) = seen
        for j, k in enumerate(members):
            out[k] = _port_from_two(g_a, g_b, float(v1[j]), float(v2[j]), float(s1[j]), float(s2[j]))
    return out


def _port_from_two(g1: float, g2: float, v1: float, v2: float, s1: float, s2: float) -> CellPort:
    """Fit the port to two solves: 1 / v is linear in g (slope r_th / v_open), the sense linear in g v."""
    if v1 == 0 or v2 == 0:
        raise ValueError("the bias puts no voltage on the cell; it has no port to program through")
    slope = (1.0 / v2 - 1.0 / v1) / (g2 - g1)
    intercept = 1.0 / v1 - slope * g1
    i1, i2 = g1 * v1, g2 * v2
    share = (s2 - s1) / (i2 - i1)
    return CellPort(v_open=1.0 / intercept, r_th=slope / intercept, i_open=s1 - share * i1, share=share)
