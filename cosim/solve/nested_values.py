"""The nodal system of a regular crossbar as five (M, N) arrays, and its right-hand side for driver inputs.

Unknowns: word-line voltages ``u[i, j]`` (numbered ``i N + j``) and bit-line voltages ``b[i, j]``
(numbered ``M N + i N + j``). With word-line segment conductances ``g_w``, bit-line ones ``g_b`` and
cell conductances ``g``, each row is Kirchhoff's current law at one node (siemens x volts = amperes):

    u[i,j]: sum of g_w (u[i,j] - u[i,j+-1]) + g[i,j] (u[i,j] - b[i,j]) (+ g_source (u[i,0] - V_i)) = 0
    b[i,j]: sum of g_b (b[i,j] - b[i+-1,j]) + g[i,j] (b[i,j] - u[i,j]) (+ g_sense b[M-1,j]) = 0

An ideal driver (r_source = 0) pins u[i, 0] = V_i and an ideal sense (r_sense = 0) pins b[M-1, j] = E_j
(the voltage at which bit line j is held, 0 V for a read):
the pinned node keeps its place with an identity row and no couplings, and its couplings move to the
right-hand side of its neighbours, whose diagonals keep them. The matrix stays symmetric positive
definite with the grid's structure, so the nested-dissection tree never depends on the terminals.
A floating line (its driver or sense disconnected) simply has no terminal conductance; the matrix stays
positive definite as long as every connected piece keeps at least one terminal (see :func:`has_island`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NodalValues:
    """Nodal matrix of a regular crossbar as (M, N) arrays, in siemens.

    Attributes:
        diag_u, diag_b: diagonal entries of word-line / bit-line node rows (1 for pinned nodes).
        c_wl: conductance coupling u[i, j] to u[i, j+1] (last column unused, 0).
        c_bl: conductance coupling b[i, j] to b[i+1, j] (last row unused, 0).
        c_cell: conductance coupling u[i, j] to b[i, j] (0 where either node is pinned).
        g_cell: the cell conductances themselves (for currents).
        g_wl0: (M,) conductance of the first word-line segment (0 if N == 1).
        g_source: (M,) driver conductance (unused where pinned); pinned_source, pinned_sense: (M,), (N,)
            True where an ideal driver / sense pins the node.
        g_sense: (N,) sense conductance (0 where pinned).
        g_bl_last: (N,) conductance of the last bit-line segment (0 if M == 1).
    """

    diag_u: np.ndarray
    diag_b: np.ndarray
    c_wl: np.ndarray
    c_bl: np.ndarray
    c_cell: np.ndarray
    g_cell: np.ndarray
    g_wl0: np.ndarray
    g_source: np.ndarray
    pinned_source: np.ndarray
    pinned_sense: np.ndarray
    g_sense: np.ndarray | None = None
    g_bl_last: np.ndarray | None = None

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """The five matrix arrays in the order the kernel takes them."""
        return self.diag_u, self.diag_b, self.c_wl, self.c_bl, self.c_cell


def _as_array(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got NaN or inf")
    return arr


def _wire_conductance(name: str, r, shape: tuple[int, ...]) -> np.ndarray:
    """1 / r for line segments (ohm), which must be finite and > 0."""
    arr = np.asarray(r, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {arr.shape}")
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be finite and > 0 ohm for the nested-dissection solver "
                         "(zero or broken segments need the general path)")
    return 1.0 / arr


def _terminal(name: str, r, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(conductance, pinned) of drivers or senses with resistances r (ohm, finite, >= 0; 0 = ideal)."""
    arr = _as_array(name, r, (size,))
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 ohm; got {arr.min():.3g}")
    pinned = arr == 0
    return np.where(pinned, 0.0, 1.0 / np.where(pinned, 1.0, arr)), pinned


def nodal_values(g_cell, r_wl, r_bl, r_source, r_sense, floating_wl=None, floating_bl=None) -> NodalValues:
    """Validate a regular crossbar and build its nodal matrix arrays.

    Args:
        g_cell: (M, N) cell conductances, S (finite, >= 0; 0 = open cell).
        r_wl: (M, N-1) word-line segments, ohm; r_bl: (M-1, N) bit-line segments, ohm (finite, > 0).
        r_source: (M,) driver resistances, ohm; r_sense: (N,) sense resistances, ohm (finite, >= 0).
        floating_wl, floating_bl: optional (M,) / (N,) boolean masks of lines whose driver / sense end
            is disconnected (no terminal conductance, never pinned).
    """
    g = np.asarray(g_cell, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] < 1 or g.shape[1] < 1:
        raise ValueError(f"g_cell must be a non-empty 2-D array (rows, cols); got shape {g.shape}")
    g = _as_array("g_cell", g, g.shape)
    if np.any(g < 0):
        raise ValueError(f"g_cell must be >= 0 siemens; got {g.min():.3g}")
    m, n = g.shape
    gw = _wire_conductance("r_wl", r_wl, (m, n - 1))
    gb = _wire_conductance("r_bl", r_bl, (m - 1, n))
    g_src, pin_src = _terminal("r_source", r_source, m)
    g_sns, pin_sns = _terminal("r_sense", r_sense, n)
    for name, mask, g_t, pin, size in (("floating_wl", floating_wl, g_src, pin_src, m),
                                       ("floating_bl", floating_bl, g_sns, pin_sns, n)):
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (size,) or mask.dtype != bool:
                raise ValueError(f"{name} must be a boolean mask of shape ({size},); got {mask.dtype} {mask.shape}")
            g_t[mask] = 0.0
            pin[mask] = False

    diag_u, diag_b = _diagonals(g, gw, gb, g_src, g_sns)
    c_wl, c_bl, c_cell = np.zeros((m, n)), np.zeros((m, n)), g.copy()
    c_wl[:, :-1] = gw
    c_bl[:-1] = gb
    # pinned nodes: identity rows, no couplings (their neighbours keep the diagonal terms)
    diag_u[pin_src, 0] = 1.0
    c_wl[pin_src, 0] = 0.0
    c_cell[pin_src, 0] = 0.0
    diag_b[-1, pin_sns] = 1.0
    c_cell[-1, pin_sns] = 0.0
    if m > 1:
        c_bl[-2, pin_sns] = 0.0
    g_wl0 = gw[:, 0].copy() if n > 1 else np.zeros(m)
    g_bl_last = gb[-1].copy() if m > 1 else np.zeros(n)
    return NodalValues(diag_u, diag_b, c_wl, c_bl, c_cell, g.copy(), g_wl0, g_src, pin_src, pin_sns, g_sns, g_bl_last)


def _diagonals(g, gw, gb, g_source, g_sense) -> tuple[np.ndarray, np.ndarray]:
    """Diagonals of the word-line and bit-line rows: every conductance touching the node, S."""
    diag_u = g.copy()
    diag_u[:, :-1] += gw
    diag_u[:, 1:] += gw
    diag_u[:, 0] += g_source
    diag_b = g.copy()
    diag_b[:-1] += gb
    diag_b[1:] += gb
    diag_b[-1] += g_sense
    return diag_u, diag_b


def right_hand_side(values: NodalValues, v: np.ndarray, v_bl: np.ndarray | None = None) -> np.ndarray:
    """Right-hand side (2 M N, batch) of the nodal system for driver voltages ``v`` (M, batch), V.

    ``v_bl`` (N, batch): voltages at which the bit-line ends are held, V (default 0 V).
    """
    m, n = values.g_cell.shape
    batch = v.shape[1]
    rhs = np.zeros((2, m, n, batch))
    free, pin = ~values.pinned_source, values.pinned_source
    rhs[0, free, 0] = values.g_source[free, None] * v[free]
    rhs[0, pin, 0] = v[pin]                                   # identity row: u = V
    if n > 1:
        rhs[0, pin, 1] += values.g_wl0[pin, None] * v[pin]
    # b[i, 0] of a pinned driver's row, unless it is itself pinned by an ideal sense
    feeds_b = pin.copy()
    if values.pinned_sense[0]:
        feeds_b[-1] = False
    rhs[1, feeds_b, 0] += values.g_cell[feeds_b, 0, None] * v[feeds_b]
    if v_bl is not None:
        _add_bit_line_ends(values, rhs, v_bl)
    return rhs.reshape(2 * m * n, batch)


def _add_bit_line_ends(values: NodalValues, rhs: np.ndarray, e: np.ndarray) -> None:
    """Add the terms of bit-line ends held at ``e`` (N, batch) volts to ``rhs`` (2, M, N, batch)."""
    m, n = values.g_cell.shape
    free, pin = ~values.pinned_sense, values.pinned_sense
    rhs[1, -1, free] += values.g_sense[free, None] * e[free]
    rhs[1, -1, pin] = e[pin]                                  # identity row: b = E
    if m > 1:
        rhs[1, -2, pin] += values.g_bl_last[pin, None] * e[pin]
    # u[M-1, j] of a pinned sense's column, unless it is itself pinned by an ideal driver
    feeds_u = pin.copy()
    if values.pinned_source[-1]:
        feeds_u[0] = False
    rhs[0, -1, feeds_u] += values.g_cell[-1, feeds_u, None] * e[feeds_u]


def has_island(g_cell: np.ndarray, floating_wl=None, floating_bl=None) -> bool:
    """True when some line of a regular crossbar has no conducting path to any terminal.

    Lines are joined by the conducting cells (``g_cell > 0``, S); a connected group of lines needs at
    least one line whose driver or sense is connected (not in the floating masks). Wires must be finite.
    """
    m, n = g_cell.shape
    fw = np.zeros(m, bool) if floating_wl is None else np.asarray(floating_wl, bool)
    fb = np.zeros(n, bool) if floating_bl is None else np.asarray(floating_bl, bool)
    if not (fw.any() or fb.any()):
        return False
    conducting = g_cell > 0
    if conducting.all():                      # every line meets every other: one group
        return bool(fw.all() and fb.all())
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    i, j = np.nonzero(conducting)
    adj = coo_matrix((np.ones(i.size), (i, m + j)), shape=(m + n, m + n))
    n_groups, label = connected_components(adj, directed=False)
    grounded = np.zeros(n_groups, bool)
    grounded[label[np.concatenate([~fw, ~fb])]] = True
    return not bool(grounded.all())
