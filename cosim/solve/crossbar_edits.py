"""Structural edits of a :class:`~cosim.solve.crossbar.Crossbar`: line segments, shorted and open cells.

Each edit writes the crossbar's :class:`~cosim.netlist.crossbar.CrossbarLayout` (the one home of every
parasitic and defect) and drops what was compiled from it (``_invalidate_structure``), so every solver
path sees the edited circuit. A mixin of ``Crossbar``; it holds nothing of its own.
"""
from __future__ import annotations

import numpy as np

from cosim import validate
from cosim.netlist.crossbar import CrossbarLayout, resistance_array

__all__ = ["CrossbarEdits"]


class CrossbarEdits:
    """The structural edits of ``Crossbar`` (see the module docstring)."""

    def set_segment_resistance(self, line: str, row: int, col: int, r: float) -> None:
        """Set one line segment's resistance (ohm; 0 = ideal, inf = broken).

        ``line="wl"``: the segment of word line ``row`` between columns ``col`` and ``col + 1``;
        ``line="bl"``: the segment of bit line ``col`` between rows ``row`` and ``row + 1``.
        """
        arr = {"wl": self.layout.r_wl, "bl": self.layout.r_bl}.get(line) if isinstance(line, str) else None
        if arr is None:
            raise ValueError(f"line must be 'wl' or 'bl'; got {line!r}")
        row = validate.index("row", row, arr.shape[0])
        col = validate.index("col", col, arr.shape[1])
        r = validate.real_scalar("r", r, finite=False, unit="ohm")
        arr[row, col] = resistance_array("r", r, ())
        self._invalidate_structure()

    def open_segment(self, line: str, row: int, col: int) -> None:
        """Break one line segment (see :meth:`set_segment_resistance` for the indexing)."""
        self.set_segment_resistance(line, row, col, np.inf)

    def short_cell(self, row: int, col: int) -> None:
        """Short cell (row, col): its word-line and bit-line (or transistor) nodes are joined."""
        self._set_cell_state(row, col, CrossbarLayout.SHORT)

    def open_cell(self, row: int, col: int) -> None:
        """Open cell (row, col): it conducts nothing."""
        self._set_cell_state(row, col, CrossbarLayout.OPEN)

    def restore_cell(self, row: int, col: int) -> None:
        """Undo a short or open of cell (row, col)."""
        self._set_cell_state(row, col, CrossbarLayout.NORMAL)

    def _set_cell_state(self, row: int, col: int, state: int) -> None:
        row = validate.index("row", row, self.rows)
        col = validate.index("col", col, self.cols)
        self.layout.cell_state[row, col] = state
        self._invalidate_structure()
