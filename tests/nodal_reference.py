"""An independent dense nodal solve of a crossbar, written for the tests (it shares no code with cosim).

The netlist is built here from the documented circuit convention (cosim/netlist/crossbar.py): word
line i driven at column 0 through ``r_source[i]``, bit line j ending at row M-1 in its sense through
``r_sense[j]``, segments ``r_wl[i, j]`` (columns j, j+1) and ``r_bl[i, j]`` (rows i, i+1), cell (i, j)
between word-line node (i, j) and bit-line node (i, j), in series with an access transistor in 1T1R.
Zero resistances merge nodes, infinite ones are left out. Internal nodes are eliminated one by one
keeping only non-negative couplings (Grassmann-Taksar-Heyman: a pivot is a sum of conductances), so
the reference is accurate to rounding however stiff the circuit; node voltages come back by
substitution as weighted means of the neighbours at elimination time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NORMAL, SHORT, OPEN = 0, 1, 2


@dataclass
class Spec:
    """Everything that defines a crossbar circuit (resistances in ohm, conductances in S)."""

    rows: int
    cols: int
    cell: str
    r_wl: np.ndarray
    r_bl: np.ndarray
    r_source: np.ndarray
    r_sense: np.ndarray
    g: np.ndarray
    state: np.ndarray
    selected: np.ndarray
    r_on: float = 1e3
    r_off: float = np.inf
    floating_wl: np.ndarray = field(default=None)
    floating_bl: np.ndarray = field(default=None)


class ShortedTerminals(Exception):
    """Ideal elements join two terminals: the circuit is not defined (cosim raises ValueError)."""


def _nodes(spec: Spec):
    m, n = spec.rows, spec.cols
    wl = np.arange(m * n).reshape(m, n)
    bl = m * n + wl
    mid = 2 * m * n + wl
    base = (3 if spec.cell == "1T1R" else 2) * m * n
    inp = base + np.arange(m)
    out = base + m + np.arange(n)
    return wl, bl, mid, inp, out, base + m + n


def elements(spec: Spec):
    """(a, b, r) of every element, r in ohm (0 ideal, inf open), and the node numbering."""
    wl, bl, mid, inp, out, n_nodes = _nodes(spec)
    els = []
    fw = np.zeros(spec.rows, bool) if spec.floating_wl is None else spec.floating_wl
    fb = np.zeros(spec.cols, bool) if spec.floating_bl is None else spec.floating_bl
    for i in range(spec.rows):
        els.append((inp[i], wl[i, 0], np.inf if fw[i] else spec.r_source[i], "driver"))
        for j in range(spec.cols - 1):
            els.append((wl[i, j], wl[i, j + 1], spec.r_wl[i, j], "wire"))
    for j in range(spec.cols):
        els.append((bl[-1, j], out[j], np.inf if fb[j] else spec.r_sense[j], "sense"))
        for i in range(spec.rows - 1):
            els.append((bl[i, j], bl[i + 1, j], spec.r_bl[i, j], "wire"))
    for i in range(spec.rows):
        for j in range(spec.cols):
            s = spec.state[i, j]
            r_cell = 0.0 if s == SHORT else np.inf if s == OPEN else 1.0 / spec.g[i, j]
            if spec.cell == "1T1R":
                els.append((wl[i, j], mid[i, j], r_cell, "cell"))
                els.append((mid[i, j], bl[i, j], spec.r_on if spec.selected[i] else spec.r_off, "transistor"))
            else:
                els.append((wl[i, j], bl[i, j], r_cell, "cell"))
    return els, n_nodes, np.concatenate([inp, out])


def solve(spec: Spec, v_terminals: np.ndarray):
    """Node voltages (n_nodes,) (NaN on islands), terminal currents (from the network into each terminal,
    A), the terminal-only conductance matrix (S; entry [s, t] joins terminals s and t, drivers first) and
    the total conductance attached to each terminal's node (S).

    Raises ShortedTerminals when ideal elements join two terminals.
    """
    els, n_nodes, terminals = elements(spec)
    parent = list(range(n_nodes))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, r, _ in els:
        if r == 0:
            parent[find(a)] = find(b)
    rep = np.array([find(x) for x in range(n_nodes)])
    if np.unique(rep[terminals]).size != terminals.size:
        raise ShortedTerminals()
    groups, node_group = np.unique(rep, return_inverse=True)
    k = groups.size
    w = np.zeros((k, k))
    for a, b, r, _ in els:
        ga, gb = node_group[a], node_group[b]
        if 0 < r < np.inf and ga != gb:
            w[ga, gb] += 1.0 / r
            w[gb, ga] += 1.0 / r
    term_group = node_group[terminals]
    g_terminal = w[term_group].sum(axis=1)
    v = np.full(k, np.nan)
    v[term_group] = v_terminals
    internal = [g for g in range(k) if g not in set(term_group.tolist())]
    alive = np.ones(k, bool)
    history = []
    for p in internal:
        alive[p] = False
        row = np.where(alive, w[p], 0.0)
        a = row.sum()
        history.append((p, row, a))
        if a > 0:
            w += np.outer(row, row) / a
            np.fill_diagonal(w, 0.0)
        w[p, :] = 0.0
        w[:, p] = 0.0
    # terminal currents from the reduced (terminal-only) network, before substitution
    wt = w[np.ix_(term_group, term_group)]
    vt = np.asarray(v_terminals, float)
    i_term = wt @ vt - wt.sum(axis=1) * vt
    for p, row, a in reversed(history):
        v[p] = np.nan if a == 0 else float(np.sum(row[row > 0] * v[row > 0]) / a)
    return v[node_group], i_term, wt, g_terminal
