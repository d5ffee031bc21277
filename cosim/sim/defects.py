"""Manufacturing defects on engine arrays: open and shorted cells, broken line segments, and arrays built
from a TOML array description (``netlists/*.toml``, :mod:`cosim.netlist.description`).

A defect edits the array's circuit (:class:`~cosim.solve.crossbar.Crossbar`), never its devices, and is
recorded in the trace. A broken line can cut cells off every source: the solver reports the nodes of
such an island as NaN, and the engine puts those cells at 0 V (no current, no state change) and
lists them in :func:`unreachable_cells`. Programming controllers see them as cells that never answer
(a zero sense current) and mark them stuck.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cosim.netlist.crossbar import CellKind, CrossbarLayout
from cosim.netlist.description import ArrayDescription, read_description
from cosim.sim.trace import TraceRecord
from cosim.validate import index


def _record(arr, note: str, rows: list, cols: list) -> None:
    arr.trace.append(TraceRecord(arr.engine.now, 0.0, "defect", rows, cols, temperature_k=arr.temperature, note=note))


def open_cell(arr, row: int, col: int) -> None:
    """Cell (row, col) of ``arr`` conducts nothing from now on."""
    row, col = index("row", row, arr.rows), index("col", col, arr.cols)
    arr.crossbar.open_cell(row, col)
    _record(arr, "open cell", [row], [col])


def short_cell(arr, row: int, col: int) -> None:
    """Cell (row, col) of ``arr`` joins its word line and bit line (or transistor) nodes from now on."""
    row, col = index("row", row, arr.rows), index("col", col, arr.cols)
    arr.crossbar.short_cell(row, col)
    _record(arr, "shorted cell", [row], [col])


def break_line(arr, line: str, row: int, col: int) -> None:
    """Break one line segment of ``arr``: ``line="wl"``: word line ``row`` between columns ``col`` and
    ``col + 1``; ``line="bl"``: bit line ``col`` between rows ``row`` and ``row + 1``."""
    if line not in ("wl", "bl"):
        raise ValueError(f"line must be 'wl' or 'bl'; got {line!r}")
    rows, cols = (arr.rows, arr.cols - 1) if line == "wl" else (arr.rows - 1, arr.cols)
    row, col = index(f"{line} segment row", row, rows), index(f"{line} segment col", col, cols)
    arr.crossbar.open_segment(line, row, col)
    _record(arr, f"broken {line} segment", [row], [col])


def unreachable_cells(arr, select_rows=None) -> np.ndarray:
    """(rows, cols) True where a cell has no path to any driver or sense amplifier (with ``select_rows`` on
    for 1T1R arrays; default all): its nodes float, it sits at 0 V whatever the bias."""
    xb = arr.crossbar
    if arr.is_1t1r:
        xb.select_rows(select_rows)
    try:
        sol = xb.solve_bias(np.ones(arr.rows), np.zeros(arr.cols))
    finally:
        if arr.is_1t1r:
            xb.select_rows(None)
    return ~np.isfinite(sol.cell_voltages)


def array_from_description(engine, description, device=None, seed=None, **options):
    """An :class:`~cosim.sim.array.Array` on ``engine`` built from an array description.

    description: an :class:`~cosim.netlist.description.ArrayDescription` or the path of a TOML file.
    device: a device model with rows * cols cells; None: the description's ``device`` ("MODEL:PRESET"),
    else the Array default. The cells start at the description's conductances (clipped to what each
    device can hold); its resistances (ohm) and defects (open / shorted cells, broken segments) are the
    array's. ``options``: further :class:`~cosim.sim.array.Array` arguments (aging, cosim, timing).
    """
    from cosim.sim.array import Array

    if isinstance(description, (str, Path)):
        description = read_description(description)
    if not isinstance(description, ArrayDescription):
        raise TypeError(f"description must be an ArrayDescription or a path; got {type(description).__name__}")
    lay: CrossbarLayout = description.layout
    if device is None and description.device is not None:
        from cosim.devices.registry import make_device

        device = make_device(description.device, lay.rows * lay.cols, seed)
    arr = Array(engine, lay.rows, lay.cols, cell=lay.cell.value, device=device, seed=seed, r_wl=lay.r_wl,
                r_bl=lay.r_bl, r_source=lay.r_source, r_sense=lay.r_sense,
                r_on_transistor=lay.r_on_transistor if lay.cell is CellKind.ONE_T_ONE_R else 1e3, **options)
    lo, hi = arr.conductance_bounds()
    arr.device.set_conductance(np.clip(description.conductances, lo, hi).ravel())
    arr.aging.reprogrammed(np.ones(arr.rows * arr.cols, bool), 1.0 / arr.device.conductance(noisy=False))
    for i, j in np.argwhere(lay.cell_state == CrossbarLayout.SHORT):
        short_cell(arr, int(i), int(j))
    for i, j in np.argwhere(lay.cell_state == CrossbarLayout.OPEN):
        open_cell(arr, int(i), int(j))
    arr.catch_up()
    return arr
