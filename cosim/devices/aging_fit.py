"""Least-squares fit of an ``EnduranceRetentionLaw`` to (x, R) data, on log10 R.

The threshold ln x_th = ln p0 + p1 d + p2 T_c is linear in phi = (ln p0, p1, p2); every data set
(a cell size d and a temperature constant T_c) is a row of that linear map. Both modes start from a
global search over thresholds placed between neighbouring data points (data sets taken k at a time
for k free threshold parameters), then:

* gradual: the exponent p3 is profiled out in closed form for each candidate, and the best
  candidates are polished by ``scipy.optimize.least_squares`` over all free parameters;
* sudden: the cost is piecewise constant in phi (it changes only when a threshold crosses a data
  point) and log10 R_stable is profiled out as the mean of the points above threshold. Exact line
  minimisations along coordinate and edge directions walk to the best cell, and
  ``scipy.optimize.linprog`` puts phi at that cell's Chebyshev centre.

What the data cannot separate is held (``hold`` overrides: name -> value held):
p2 is held at 0 unless T_c takes two or more values; with a single cell size p1 is held at 0 when
T_c varies, and otherwise (one cell size, one T_c: only p0 exp(p1 d + p2 T_c) is determined) p0 is
held at 0.1, the convention of the reference fits, and p1 carries the threshold.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import optimize

from cosim.devices.aging import AgingMode, EnduranceRetentionLaw, positive_array, temperature_constant

__all__ = ["fit_law", "stack_data_sets"]

_LN10 = math.log(10.0)
_THRESHOLD_PARAMS = ("p0", "p1", "p2")  # fitted as phi = (ln p0, p1, p2)
_MAX_CANDIDATES = 20_000


@dataclass
class _Problem:
    """Flattened data and the bookkeeping of free and held parameters."""
    mode: AgingMode
    lnx: np.ndarray       # ln x per point
    y: np.ndarray         # log10 R per point
    b: np.ndarray         # log10 r0 - log10 R per point (residual while below threshold, negated)
    group: np.ndarray     # group index per point
    rows: np.ndarray      # (G, 3) threshold rows [1, d, T_c] per group
    held: dict            # name -> held value (p0 as given, not its log)
    free: list            # free threshold parameter indices into (ln p0, p1, p2)
    last_free: bool       # p3 (gradual) or r_stable (sudden) free
    d_first: float
    t_threshold: float

    def full_phi(self, phi: np.ndarray) -> np.ndarray:
        """(n, 3) values of (ln p0, p1, p2) for (n, k) free values."""
        out = np.empty((phi.shape[0], 3))
        held = [math.log(self.held.get("p0", 1.0)), self.held.get("p1", 0.0), self.held.get("p2", 0.0)]
        for j in range(3):
            out[:, j] = held[j]
        out[:, self.free] = phi
        return out

    def log_thresholds(self, phi: np.ndarray) -> np.ndarray:
        """(n, G) ln x_th per group for (n, k) free values."""
        return self.full_phi(phi) @ self.rows.T


def fit_law(x, R, r0, mode: AgingMode, cell_size, temperature, t_threshold: float,
            hold) -> EnduranceRetentionLaw:
    """Fit; see the module docstring. Returns the law (cell_size of the first data set)."""
    problem = _build_problem(x, R, r0, mode, cell_size, temperature, t_threshold, hold)
    phi, last = (_fit_gradual if mode is AgingMode.GRADUAL else _fit_sudden)(problem)
    ln_p0, p1, p2 = problem.full_phi(phi[None, :])[0]
    common = dict(p0=math.exp(ln_p0), p1=float(p1), p2=float(p2), cell_size=problem.d_first,
                  t_threshold=t_threshold)
    if mode is AgingMode.GRADUAL:
        return EnduranceRetentionLaw("gradual", p3=float(last), **common)
    return EnduranceRetentionLaw("sudden", r_stable=float(last), **common)


# ----------------------------------------------------------------------------- set-up

def _build_problem(x, R, r0, mode, cell_size, temperature, t_threshold, hold) -> _Problem:
    xs, rs, (r0s, ds, ts) = stack_data_sets(x, R, r0, cell_size, temperature)
    if any(t is None for t in ts) and not all(t is None for t in ts):
        raise ValueError("temperature must be given for every data set or for none")
    keys, lnx, y, b, group = [], [], [], [], []
    for k, (xi, ri, r0i, di, ti) in enumerate(zip(xs, rs, r0s, ds, ts)):
        xi = positive_array(f"x (data set {k})", xi)
        ri = positive_array(f"R (data set {k})", ri)
        r0i = float(positive_array(f"r0 (data set {k})", r0i))
        di = float(positive_array(f"cell_size (data set {k})", di))
        tc = 0.0 if ti is None else float(temperature_constant(ti, t_threshold))
        if (di, tc) not in keys:
            keys.append((di, tc))
        lnx.append(np.log(xi))
        y.append(np.log10(ri))
        b.append(math.log10(r0i) - np.log10(ri))
        group.append(np.full(xi.size, keys.index((di, tc))))
    rows = np.array([[1.0, d, tc] for d, tc in keys])
    last_name = "p3" if mode is AgingMode.GRADUAL else "r_stable"
    held = _default_hold(rows) if hold is None else _check_hold(dict(hold), last_name)
    free = [j for j, name in enumerate(_THRESHOLD_PARAMS) if name not in held]
    if np.linalg.matrix_rank(rows[:, free]) < len(free):
        names = [_THRESHOLD_PARAMS[j] for j in free]
        raise ValueError(f"the data ({len(keys)} distinct cell size / temperature sets) cannot separate "
                         f"{names}; hold some of them (hold={{name: value}})")
    return _Problem(mode, np.concatenate(lnx), np.concatenate(y), np.concatenate(b), np.concatenate(group),
                    rows, held, free, last_name not in held, float(ds[0]), t_threshold)


def stack_data_sets(x, R, *per_set: object) -> tuple[list[np.ndarray], list[np.ndarray], list[list]]:
    """Normalise (x, R) data to lists of 1-D arrays, one per data set, and spread per-set values.

    ``x`` and ``R`` are either array-likes (one set) or sequences of array-likes (several sets).
    Each of ``per_set`` is a scalar / None (all sets) or a sequence with one entry per set.
    """
    many = isinstance(x, Sequence) and len(x) > 0 and np.ndim(x[0]) >= 1
    xs = [np.ravel(np.asarray(v, dtype=np.float64)) for v in (x if many else [x])]
    rs = [np.ravel(np.asarray(v, dtype=np.float64)) for v in (R if many else [R])]
    if len(xs) != len(rs):
        raise ValueError(f"x has {len(xs)} data sets but R has {len(rs)}")
    for k, (xi, ri) in enumerate(zip(xs, rs)):
        if xi.shape != ri.shape or xi.size == 0:
            raise ValueError(f"data set {k}: x and R must be non-empty and of equal length; got {xi.size}, {ri.size}")
    spread = []
    for value in per_set:
        if value is not None and np.ndim(value) >= 1:
            if not many or len(value) != len(xs):
                raise ValueError(f"per-set values must have one entry per data set ({len(xs)}); got {value!r}")
            spread.append(list(value))
        else:
            spread.append([value] * len(xs))
    return xs, rs, spread


def _default_hold(rows: np.ndarray) -> dict:
    several_d = len(np.unique(rows[:, 1])) > 1
    several_tc = len(np.unique(rows[:, 2])) > 1
    held = {} if several_tc else {"p2": 0.0}
    if several_tc and not several_d:
        held["p1"] = 0.0
    if not several_tc and not several_d:
        held["p0"] = 0.1
    return held


def _check_hold(hold: dict, last_name: str) -> dict:
    allowed = _THRESHOLD_PARAMS + (last_name,)
    for name, value in hold.items():
        if name not in allowed:
            raise ValueError(f"hold: unknown parameter {name!r}; this mode has {list(allowed)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"hold[{name!r}] must be a finite number; got {value!r}")
        if name in ("p0", "r_stable") and value <= 0:
            raise ValueError(f"hold[{name!r}] must be > 0; got {value}")
    return {k: float(v) for k, v in hold.items()}


def _candidate_phis(p: _Problem) -> np.ndarray:
    """(n, k) free threshold parameters putting k groups' thresholds between data points."""
    k, n_groups = len(p.free), len(p.rows)
    if k == 0:
        return np.zeros((1, 0))
    combos = [c for c in itertools.combinations(range(n_groups), k)
              if abs(np.linalg.det(p.rows[np.ix_(c, p.free)])) > 1e-12]
    per_group = max(3, int((_MAX_CANDIDATES / len(combos)) ** (1.0 / k)))
    levels = [_between_points(p.lnx[p.group == g], per_group) for g in range(n_groups)]
    held_part = p.log_thresholds(np.zeros((1, k)))[0]  # contribution of the held parameters
    out = []
    for combo in combos:
        grid = np.array(list(itertools.product(*(levels[g] for g in combo))))
        rhs = grid - held_part[list(combo)]
        out.append(np.linalg.solve(p.rows[np.ix_(combo, p.free)], rhs.T).T)
    return np.concatenate(out)


def _between_points(lnx: np.ndarray, most: int) -> np.ndarray:
    """Midpoints between sorted distinct values, plus one below and one above, at most ``most``."""
    u = np.unique(lnx)
    levels = np.concatenate([[u[0] - 1.0], 0.5 * (u[1:] + u[:-1]), [u[-1] + 1.0]])
    if levels.size > most:
        levels = levels[np.unique(np.linspace(0, levels.size - 1, most).round().astype(int))]
    return levels


# ----------------------------------------------------------------------------- gradual

def _gradual_parts(p: _Problem, phi: np.ndarray) -> np.ndarray:
    """(n, points) a such that log10 R_model - log10 R = p3 a + b."""
    full = p.full_phi(phi)
    log_th = (full @ p.rows.T)[:, p.group]
    u = log_th - full[:, :1]
    return u * np.maximum(p.lnx - log_th, 0.0) / _LN10


def _profiled_gradual_cost(p: _Problem, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    costs, p3s = [], []
    chunk = max(1, 2_000_000 // p.lnx.size)
    for start in range(0, len(phi), chunk):
        a = _gradual_parts(p, phi[start:start + chunk])
        if p.last_free:
            aa, ab = np.einsum("ij,ij->i", a, a), a @ p.b
            p3 = np.where(aa > 0, -ab / np.where(aa > 0, aa, 1.0), 0.0)
        else:
            p3 = np.full(len(a), p.held["p3"])
        costs.append(np.sum((p3[:, None] * a + p.b) ** 2, axis=1))
        p3s.append(p3)
    return np.concatenate(costs), np.concatenate(p3s)


def _fit_gradual(p: _Problem) -> tuple[np.ndarray, float]:
    phis = _candidate_phis(p)
    costs, p3s = _profiled_gradual_cost(p, phis)
    k = len(p.free)

    def residual(theta):
        a = _gradual_parts(p, theta[None, :k])[0]
        return (theta[k] if p.last_free else p.held["p3"]) * a + p.b

    best = (math.inf, None)
    for i in np.argsort(costs)[:6]:
        theta0 = np.append(phis[i], p3s[i]) if p.last_free else phis[i]
        if theta0.size == 0:
            sol_x, cost = theta0, float(costs[i])
        else:
            sol = optimize.least_squares(residual, theta0, method="trf", x_scale="jac", xtol=1e-12,
                                         ftol=1e-12, gtol=1e-12)
            sol_x, cost = sol.x, float(np.sum(sol.fun ** 2))
        if cost < best[0]:
            best = (cost, sol_x)
    theta = best[1]
    return theta[:k], (theta[k] if p.last_free else p.held["p3"])


# ----------------------------------------------------------------------------- sudden

class _SuddenCost:
    """Cost of the sudden law for many thresholds at once, by prefix sums over sorted points."""

    def __init__(self, p: _Problem):
        self.p = p
        self.sorted_lnx, self.below_b2, self.above = [], [], []
        ls = math.log10(p.held["r_stable"]) if not p.last_free else None
        for g in range(len(p.rows)):
            sel = p.group == g
            order = np.argsort(p.lnx[sel])
            lnx, y, b = p.lnx[sel][order], p.y[sel][order], p.b[sel][order]
            self.sorted_lnx.append(lnx)
            self.below_b2.append(np.concatenate([[0.0], np.cumsum(b ** 2)]))
            if ls is None:
                self.above.append((_suffix_sums(y), _suffix_sums(y ** 2), _suffix_sums(np.ones_like(y))))
            else:
                self.above.append((_suffix_sums((ls - y) ** 2),))

    def split(self, log_th: np.ndarray) -> list[np.ndarray]:
        """Per group: number of points at or below threshold, for (n, G) ln thresholds."""
        return [np.searchsorted(lnx, log_th[:, g], side="right") for g, lnx in enumerate(self.sorted_lnx)]

    def __call__(self, log_th: np.ndarray) -> np.ndarray:
        m = self.split(log_th)
        cost = sum(b2[mg] for b2, mg in zip(self.below_b2, m))
        if not self.p.last_free:
            return cost + sum(a[0][mg] for a, mg in zip(self.above, m))
        s1 = sum(a[0][mg] for a, mg in zip(self.above, m))
        s2 = sum(a[1][mg] for a, mg in zip(self.above, m))
        n = sum(a[2][mg] for a, mg in zip(self.above, m))
        return cost + s2 - np.where(n > 0, s1 ** 2 / np.where(n > 0, n, 1.0), 0.0)


def _suffix_sums(v: np.ndarray) -> np.ndarray:
    """s[m] = sum(v[m:]) for m = 0..len(v)."""
    return np.concatenate([np.cumsum(v[::-1])[::-1], [0.0]])


def _fit_sudden(p: _Problem) -> tuple[np.ndarray, float]:
    cost = _SuddenCost(p)
    phis = _candidate_phis(p)
    costs = cost(p.log_thresholds(phis))
    phi, best = phis[np.argmin(costs)], float(np.min(costs))
    for _ in range(100):  # walk by exact line minimisations until no direction improves
        improved = False
        for v in _directions(p):
            phi_new, c = _line_minimum(p, cost, phi, v)
            if c < best - 1e-12 * max(1.0, best):
                phi, best, improved = phi_new, c, True
        if not improved:
            break
    phi = _chebyshev_centre(p, cost, phi)
    above = p.lnx > p.log_thresholds(phi[None, :])[0][p.group]
    if not p.last_free:
        return phi, p.held["r_stable"]
    # log10 R_stable: mean over points past threshold; with none, the data show no jump: keep R0
    ls = np.mean(p.y[above]) if np.any(above) else np.mean(p.y + p.b)
    return phi, 10.0 ** ls


def _directions(p: _Problem) -> list[np.ndarray]:
    """Coordinate directions and directions that keep k - 1 groups' thresholds fixed."""
    k = len(p.free)
    dirs = [np.eye(k)[j] for j in range(k)]
    rows = p.rows[:, p.free]
    for combo in itertools.combinations(range(len(rows)), k - 1) if k > 1 else []:
        sub = rows[list(combo)]
        if np.linalg.matrix_rank(sub) == k - 1:
            v = np.linalg.svd(sub)[2][-1]
            dirs.append(v / np.max(np.abs(v)))
    return dirs


def _line_minimum(p: _Problem, cost: _SuddenCost, phi: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, float]:
    """Exact minimum of the piecewise-constant cost on the line phi + s v."""
    base = p.log_thresholds(phi[None, :])[0]
    slope = p.rows[:, p.free] @ v
    moving = slope[p.group] != 0
    if not np.any(moving):
        return phi, math.inf
    s = np.unique((p.lnx[moving] - base[p.group[moving]]) / slope[p.group[moving]])
    trial = np.concatenate([[s[0] - 1.0], 0.5 * (s[1:] + s[:-1]), [s[-1] + 1.0]])
    costs = cost(base[None, :] + trial[:, None] * slope[None, :])
    i = int(np.argmin(costs))
    return phi + trial[i] * v, float(costs[i])


def _chebyshev_centre(p: _Problem, cost: _SuddenCost, phi: np.ndarray) -> np.ndarray:
    """Centre of the cell of phi (all thresholds on the same side of every point), cost unchanged."""
    k = len(p.free)
    if k == 0:
        return phi
    log_th = p.log_thresholds(phi[None, :])
    m = cost.split(log_th)
    rows = p.rows[:, p.free]
    held_part = p.log_thresholds(np.zeros((1, k)))[0]
    a_ub, b_ub = [], []
    for g, lnx in enumerate(cost.sorted_lnx):  # lnx[m-1] <= L_g < lnx[m]
        norm = np.linalg.norm(rows[g])
        if m[g][0] > 0:
            a_ub.append(np.append(-rows[g], norm))
            b_ub.append(held_part[g] - lnx[m[g][0] - 1])
        if m[g][0] < lnx.size:
            a_ub.append(np.append(rows[g], norm))
            b_ub.append(lnx[m[g][0]] - held_part[g])
    box = np.maximum(1.0, np.abs(phi))  # keeps unbounded cells near where the search ended
    bounds = [(phi[j] - box[j], phi[j] + box[j]) for j in range(k)] + [(0.0, 1.0)]
    res = optimize.linprog(np.append(np.zeros(k), -1.0), A_ub=np.array(a_ub), b_ub=np.array(b_ub),
                           bounds=bounds, method="highs")
    if res.status != 0:
        return phi
    centre = res.x[:k]
    same = float(cost(p.log_thresholds(centre[None, :]))[0]) <= float(cost(log_th)[0]) + 1e-12
    return centre if same else phi
