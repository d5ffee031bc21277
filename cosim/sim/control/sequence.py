"""The order in which a 1R controller visits its cells, from the layout as designed.

``far-first`` (:class:`~cosim.sim.control.config.Order`) sorts cells by their designed series resistance
to the drivers (:meth:`ControllerView.series_resistance`: the word line to its driver plus the bit line
to its sense end), largest first; rows by the largest of their cells. Ties keep the address order, which
``raster`` uses throughout. The order depends on nothing but the layout, never on the cells' states.
"""
from __future__ import annotations

import numpy as np

from cosim.sim.control.config import Order
from cosim.sim.control.view import ControllerView


def cell_order(view: ControllerView, cells: np.ndarray, order: Order) -> np.ndarray:
    """(k, 2) row/col pairs of the True cells of the (rows, cols) mask ``cells``, in the visiting ``order``."""
    pairs = np.argwhere(cells)
    if order is Order.RASTER or pairs.size == 0:
        return pairs
    r_series = view.series_resistances()[pairs[:, 0], pairs[:, 1]]
    return pairs[np.argsort(-r_series, kind="stable")]


def row_order(view: ControllerView, rows: np.ndarray, order: Order) -> np.ndarray:
    """Indices of the True rows of the (rows,) mask ``rows``, in the visiting ``order``."""
    index = np.flatnonzero(rows)
    if order is Order.RASTER or index.size == 0:
        return index
    r_far = view.series_resistances().max(axis=1)[index]
    return index[np.argsort(-r_far, kind="stable")]
