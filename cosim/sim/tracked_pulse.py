"""Co-simulated pulses where only a few cells move: the same sub-steps, without a full solve per sub-step.

:func:`cosim.sim.cosimulate.co_simulate` steps every cell and solves the whole circuit twice per sub-step.
At a fixed bias on a linear 1R array the circuit is the cached factorisation plus a rank-k change of the
cells that moved (:class:`~cosim.solve.bias_tracking.BiasTracker`), and inside a pulse only the cells
with a non-zero rate move: a V/3 pulse moves the selected cell. This module runs exactly the sub-steps of
``co_simulate`` (step size from the fastest cell, explicit midpoint, trapezoid energy with the power the
sources deliver) on the moving cells only (:meth:`DeviceArray.cell_group`), and proves every sub-step
that the others stay still:

- a cell is *quiet* while its voltage lies in its quiet band (``DeviceArray.quiet_band``: its rate is
  exactly zero there); a bound on how far the moving cells' currents can have moved any quiet cell's
  voltage (``sum_m rho_m |y_m - y_m,ref|`` <= 1, with ``rho_m`` the largest response of a quiet cell's
  voltage to moving cell m over its margin) skips the check; past the bound every cell's voltage is
  computed and those that left their band are evaluated;
- a cell outside its band with zero effective rate (pinned at a bound) is *watched*: evaluated at every
  voltage the sub-step produces;
- a quiet or watched cell whose effective rate becomes non-zero joins the moving set from that voltage on
  (at a midpoint it takes the sub-step's full step, as in ``co_simulate``).

Where the tracker's policy refuses (too many changed cells, an ill-conditioned correction), the circuit
is factored anew at the present state and the sub-step retried; where that fails too, the pulse goes on
from that sub-step on the full-solve path. Models without a quiet band, with cycle-to-cycle redraws or
state noise, sinh cells and every array the tracker does not cover take the full-solve path from the start.
"""
from __future__ import annotations

import weakref

import numpy as np

from cosim.solve.bias_tracking import BiasTracker
from cosim.solve.crossbar import Crossbar


#: per device: (its quiet band's lower array, state spans, conductance reach), valid while the band object is
#: the device's cached one (its per-cell parameters have not changed)
_BOUNDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class TrackedPulse:
    """One pulse on the tracked path (see the module docstring); :meth:`start` says whether it applies.

    Args:
        crossbar: the array's circuit, stamped with the devices' present conductances.
        device: its deterministic device model with a quiet band. bias: the checked line voltages.
    """

    def __init__(self, crossbar: Crossbar, device, bias):
        self.crossbar, self.device, self.bias = crossbar, device, bias
        self.tracker: BiasTracker | None = None

    # ---- setting up ---------------------------------------------------------------------------------
    def start(self) -> bool:
        """Build the tracker and the moving set at the present state; False (nothing changed): not applicable."""
        dev = self.device
        if not dev.deterministic or (hasattr(dev, "sinh_law") and dev.sinh_law() is not None):
            return False
        band = dev.quiet_band()
        if band is None:
            return False
        self.band_lo, self.band_hi = band
        known = _BOUNDS.get(dev)
        if known is None or known[0] is not band[0]:     # the same band object: the same parameters
            lo, hi = dev.state_bounds()
            span = np.abs(hi - lo)
            g_a, g_b = dev.conductance_bounds()
            known = (band[0], np.where(span > 0, span, 1.0),
                     np.array([min(g_a.min(), g_b.min()), max(g_a.max(), g_b.max())]))
            _BOUNDS[dev] = known
        self.span, self.reach = known[1], known[2]
        tracker = self._tracker(fresh=False)
        if tracker is None:
            return False
        self.tracker = tracker
        self.quiet = np.ones(dev.n, bool)
        self.watch = np.zeros(0, np.int64)
        self._watch_group = None
        self.moving = self.pending = None
        # the cells outside their quiet band move (or are pinned at a bound: stepping them changes nothing):
        # every cell's voltage at the present conductances (the cells changed so far, none moving) tells
        if not tracker.track(np.zeros(0, np.int64)) and not self._refactor_with(np.zeros(0, np.int64)):
            return False
        v_all = self.tracker.cell_voltages()
        return self._regroup(self._outside(v_all), v_all)

    def _outside(self, v_all: np.ndarray) -> np.ndarray:
        return np.flatnonzero((v_all < self.band_lo) | (v_all > self.band_hi))

    def _tracker(self, fresh: bool) -> BiasTracker | None:
        b = self.bias
        return self.crossbar.bias_tracker(b.v_wl, b.v_bl, b.floating_wl, b.floating_bl, reach=self.reach, fresh=fresh)

    def _regroup(self, moving: np.ndarray, v_all: np.ndarray | None = None) -> bool:
        """Make ``moving`` the moving set (refactoring once if the tracker refuses). False: it could not; the
        set waits in :attr:`pending` for :meth:`refactor`."""
        if not self.tracker.track(moving) and not self._refactor_with(moving):
            self.pending = moving
            return False
        self.pending = None
        self.moving = moving
        self.group = self.device.cell_group(moving)
        self._span_m = self.span[moving]
        self.quiet[moving] = False
        self._reference(self.tracker.cell_voltages() if v_all is None else v_all)
        return True

    def refactor(self) -> bool:
        """Factor the present conductances anew and track the moving set (and any pending joiners) on it."""
        moving = self.moving if self.pending is None else self.pending
        if not self._refactor_with(moving):
            return False
        return self._regroup(moving)

    def _refactor_with(self, moving: np.ndarray) -> bool:
        from cosim.sim.cosimulate import stamp

        stamp(self.crossbar, self.device)
        tracker = self._tracker(fresh=True)
        if tracker is None or not tracker.track(moving):
            return False
        self.tracker = tracker
        return True

    def _reference(self, v_all: np.ndarray) -> None:
        """Margins of the quiet cells at voltages ``v_all`` and the bound ``rho`` of the moving set."""
        self.y_ref = self.tracker.y.copy()
        self.v_ref = v_all
        if self.moving.size == 0:
            self.rho = np.zeros(0)
            return
        margin = np.minimum(v_all - self.band_lo, self.band_hi - v_all)
        margin = np.where(self.quiet, margin, np.inf)
        response = np.abs(self.tracker.response)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = response / margin[None, :]
        ratio = np.where(response == 0, 0.0, ratio)          # a voltage that cannot change needs no margin
        self.rho = ratio.max(axis=1)

    # ---- checking the quiet cells ----------------------------------------------------------------------
    def _joiners(self) -> np.ndarray:
        """Cells that start moving at the tracker's present voltages (their effective rate is non-zero)."""
        tracker, dev = self.tracker, self.device
        joiners = np.zeros(0, np.int64)
        if self.rho.size and float(self.rho @ np.abs(tracker.y - self.y_ref)) > 1.0:
            v_all = tracker.cell_voltages()
            left = np.flatnonzero(self.quiet & ((v_all < self.band_lo) | (v_all > self.band_hi)))
            if left.size:
                rate = effective_rate(dev.cell_group(left), v_all[left])
                joiners = left[rate != 0]
                self.quiet[left] = False
                new_watch = left[rate == 0]
                if new_watch.size:
                    self.watch = np.concatenate([self.watch, new_watch])
                    self._watch_group = dev.cell_group(self.watch)
            self._reference(v_all)
        if self.watch.size:
            rate = effective_rate(self._watch_group, tracker.cell_voltages(self.watch))
            if np.any(rate != 0):
                joiners = np.concatenate([joiners, self.watch[rate != 0]])
                self.watch = self.watch[rate == 0]
                self._watch_group = dev.cell_group(self.watch) if self.watch.size else None
        return joiners

    def _update(self) -> bool:
        """The moving cells' conductances into the tracker, then any joiners into the moving set."""
        if not self.tracker.update(self.group.conductance()):
            return False
        joiners = self._joiners()
        if joiners.size:
            return self._regroup(np.concatenate([self.moving, joiners]))
        return True

    # ---- the sub-steps --------------------------------------------------------------------------------
    def substep(self, remaining: float, max_change: float) -> tuple[float, float, float] | None:
        """One sub-step of at most ``remaining`` s: (dt, power at its start, power at its end), W; None when
        the tracker refused (the cells are back where the sub-step started: :meth:`refactor`, then retry)."""
        tracker, group = self.tracker, self.group
        p_start = tracker.power
        if self.moving.size == 0:
            return remaining, p_start, p_start
        v = tracker.voltages
        speed = float(np.max(np.abs(group.moving_rate(v)) / self._span_m))
        if speed == 0:                       # nothing can move: the rest of the pulse at this power
            return remaining, p_start, p_start
        dt = min(remaining, max_change / speed)
        start, stepped = group.state, self.moving
        group.step(v, 0.5 * dt)
        if not self._update():
            self._restore(stepped, start)
            return None
        v_mid = self.tracker.voltages
        if self.moving.size > stepped.size:  # cells that joined at the midpoint start where they were
            start = np.concatenate([start, self.device.cell_group(self.moving[stepped.size:]).state])
            stepped = self.moving
        self.group.set_state(start)
        self.group.step(v_mid, dt)
        if not self._update():
            self._restore(stepped, start)
            return None
        return dt, p_start, self.tracker.power

    def _restore(self, cells: np.ndarray, start: np.ndarray) -> None:
        self.device.cell_group(cells).set_state(start)

    def sense_currents(self) -> np.ndarray:
        return self.tracker.sense_currents()

    def final_solution(self):
        """A function giving the full operating point at the present state (computed when called)."""
        return self.tracker.solution_later(self.crossbar.layout, self.tracker.g.reshape(self.crossbar.shape))


def effective_rate(group, v: np.ndarray) -> np.ndarray:
    """d(state)/dt of a :class:`~cosim.devices.cell_group.CellGroup` at voltages ``v``, zero where a cell sits
    on a bound and is pushed further into it (as :func:`cosim.sim.cosimulate.effective_rate`)."""
    return group.moving_rate(v)
