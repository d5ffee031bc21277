"""The operating point of a crossbar: node and cell voltages, currents, power by element kind."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CrossbarSolution:
    """Operating point of a crossbar; a leading batch axis is present when a batch was solved.

    Attributes:
        wl_voltages, bl_voltages: (..., rows, cols) word-line / bit-line node voltages, V. A node on a
            floating island (no conducting path to any driven terminal) has no defined voltage: NaN
            there, and :attr:`floating_wl_nodes` / :attr:`floating_bl_nodes` mark those nodes.
        cell_voltages: (..., rows, cols) voltage across each memristive cell (word-line side minus
            the other side), V; NaN where a side of the cell floats (in 1T1R also the cell-transistor
            node). cell_currents: (..., rows, cols) current through it, A: always defined (a shorted
            cell carries what KCL gives, a cell on an island or cut off carries 0 A).
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

    @property
    def floating_wl_nodes(self) -> np.ndarray:
        """(..., rows, cols) True where a word-line node floats (its voltage is NaN)."""
        return np.isnan(self.wl_voltages)

    @property
    def floating_bl_nodes(self) -> np.ndarray:
        """(..., rows, cols) True where a bit-line node floats (its voltage is NaN)."""
        return np.isnan(self.bl_voltages)


ARRAY_FIELDS = ("wl_voltages", "bl_voltages", "cell_voltages", "cell_currents", "sense_currents",
                 "driver_currents", "power")


def stack_solutions(parts: list[CrossbarSolution]) -> CrossbarSolution:
    """Stack single-input solutions along a new leading batch axis."""
    return CrossbarSolution(*(np.stack([getattr(p, f) for p in parts]) for f in ARRAY_FIELDS),
                            {k: np.stack([p.power_by_kind[k] for p in parts]) for k in parts[0].power_by_kind})


def solution_from_nodes(layout, conductances: np.ndarray, effective: np.ndarray, u: np.ndarray, b: np.ndarray,
                        v: np.ndarray, v_bl: np.ndarray | None = None, floating_wl=None,
                        floating_bl=None) -> CrossbarSolution:
    """Operating point of a regular crossbar from its word-/bit-line node voltages.

    Args:
        layout: the :class:`~cosim.netlist.crossbar.CrossbarLayout`; conductances: (M, N) cells, S;
        effective: (M, N) cell + access transistor conductance between the line nodes, S.
        u, b: (batch, M, N) word-line and bit-line node voltages, V; v: (batch, M) driver voltages, V.
        v_bl: (batch, N) voltages at which the bit-line ends are held, V (default 0 V).
        floating_wl, floating_bl: (M,) / (N,) masks of lines whose driver / sense is disconnected.
    """
    i_cell = effective * (u - b)
    cell_v = i_cell / conductances
    p_cell = np.sum(i_cell * cell_v, axis=(-2, -1))
    p_transistor = np.sum(i_cell * (u - b - cell_v), axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        g_wl = np.where(layout.r_wl > 0, 1.0 / layout.r_wl, 0.0)
        g_bl = np.where(layout.r_bl > 0, 1.0 / layout.r_bl, 0.0)
        g_src = np.where(layout.r_source > 0, 1.0 / layout.r_source, 0.0)
        g_sns = np.where(layout.r_sense > 0, 1.0 / layout.r_sense, 0.0)
    if floating_wl is not None:
        g_src = np.where(floating_wl, 0.0, g_src)
    if floating_bl is not None:
        g_sns = np.where(floating_bl, 0.0, g_sns)
    b_end = b[..., -1, :] if v_bl is None else b[..., -1, :] - v_bl
    p_wire = (np.sum(g_wl * np.diff(u, axis=-1) ** 2, axis=(-2, -1))
              + np.sum(g_bl * np.diff(b, axis=-2) ** 2, axis=(-2, -1)))
    p_driver = np.sum(g_src * (v - u[..., 0]) ** 2, axis=-1)
    p_sense = np.sum(g_sns * b_end ** 2, axis=-1)
    by_kind = {"wire": p_wire, "cell": p_cell, "transistor": p_transistor, "driver": p_driver, "sense": p_sense}
    # a resistive driver or sense carries g (difference across it): accurate however large the cells are;
    # an ideal one carries what KCL gives at its node (the last bit-line segment and cell, the first
    # word-line segment and cell), so only the elements next to it contribute rounding
    into_end = i_cell[..., -1, :] + (g_bl[-1] * (b[..., -2, :] - b[..., -1, :]) if layout.rows > 1 else 0.0)
    out_of_start = i_cell[..., :, 0] + (g_wl[:, 0] * (u[..., :, 0] - u[..., :, 1]) if layout.cols > 1 else 0.0)
    sense = np.where(layout.r_sense > 0, g_sns * b_end, into_end)
    driver = np.where(layout.r_source > 0, g_src * (v - u[..., 0]), out_of_start)
    if floating_wl is not None:
        driver = np.where(floating_wl, 0.0, driver)
    if floating_bl is not None:
        sense = np.where(floating_bl, 0.0, sense)
    return CrossbarSolution(u, b, cell_v, i_cell, sense, driver, sum(by_kind.values()), by_kind)
