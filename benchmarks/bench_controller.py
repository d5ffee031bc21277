"""Controller benchmark: the programming controller's own work per pulse (planning and estimate updates),
replayed on recorded inputs, against the previous implementation doing the same work in the same process.

A 1R write-verify run of the programming benchmark's array (Pt/Hf/Ti, 10 % spread, 1 ohm wires, 2 %) is
recorded once: every plan request (``fit_to_min_width``'s arguments) and every estimate operation (scans,
verify reads with the sense currents the array returned, line-voltage requests). Both implementations
then replay the same requests with nothing else running, so the times are the controller's alone (the
engine's co-simulated pulses and reads are not in them):

- planning: ``ControllerModel.fit_to_min_width`` (vectorised rate law at given states, a voltage grid and
  log-log interpolation) vs the reference (per-sub-step ``set_state_of`` / ``rate_of`` round trips on the
  model's cells and a 20-step bisection), the code this replaced, kept here verbatim as the reference;
- estimates: ``ArrayEstimate`` (each cell's exact Thevenin port; a row's ports from one factorisation and
  one batched solve per row visit, rank-one updates as the row's estimates move; closed-form read
  inversion and line voltage) vs the reference (two re-solves of the model crossbar per verify read, a
  model solve per line-voltage ratio that is reused while the cell moves less than 5 %).

Agreement: relative differences of the planned widths and voltages (the reference's bisection stops at
~1e-5 in log overdrive and sizes its final width with more sub-steps than its search), and of the read
estimates and line voltages (the reference's two multiplicative corrections per read are not exact; the
closed form is checked against an independent dense nodal solve in tests/test_control_estimate.py).
Single process, numpy's default threads, nothing cached across the two sides except the recording. The
recording raises the engine's ``CosimConfig.max_substeps`` (long, slow RESET pulses of cells far from the
drivers need more sub-steps than its default at 64 x 64; the engine's time is not what is measured).

    python benchmarks/bench_controller.py [--sizes 32,64]
"""
import argparse
import os
from dataclasses import replace
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]          # this checkout's cosim, and bench_programming
from bench_programming import spread_array  # noqa: E402

from cosim.sim.control import model as model_mod  # noqa: E402
from cosim.sim.control.estimate import ArrayEstimate  # noqa: E402
from cosim.sim.control.model import ControllerModel  # noqa: E402
from cosim.sim.control.port import G_CEIL, G_FLOOR  # noqa: E402
from cosim.sim.control.view import ControllerView  # noqa: E402
from cosim.solve.crossbar import Crossbar  # noqa: E402


# ---- the reference: the implementation this benchmark's code replaced ------------------------------------
def reference_plan_widths(m: ControllerModel, cells, g_from, g_to, direction, v_cell, r_series, aim=1.0, substeps=8):
    dev = m.device
    saved = dev.state_of(cells)
    s_to = dev.state_for(cells, g_to)
    s = dev.state_for(cells, np.nan_to_num(g_from, nan=0.0))
    step = aim * (s_to - s) / substeps
    sign = m.polarity(direction)
    total = np.zeros(cells.size)
    try:
        dev.set_state_of(cells, s)
        drive = np.abs(v_cell) * (1.0 + r_series * dev.conductance_of(cells))
        for _ in range(substeps):
            dev.set_state_of(cells, s + 0.5 * step)
            volts = sign * drive / (1.0 + r_series * dev.conductance_of(cells))
            rate = dev.rate_of(cells, volts)
            ok = (rate != 0) & (np.sign(rate) == np.sign(step))
            total += np.where(ok, np.abs(step) / np.where(ok, np.abs(rate), 1.0), np.inf)
            s = s + step
    finally:
        dev.set_state_of(cells, saved)
    return np.where(step == 0, 0.0, total)


def reference_fit(m: ControllerModel, cells, g_from, g_to, direction, v_cell, r_series, aim, width_min_s, substeps=8):
    v_cell = np.broadcast_to(np.asarray(v_cell, float), cells.shape).copy()
    widths = reference_plan_widths(m, cells, g_from, g_to, direction, v_cell, r_series, aim, substeps)
    short = (widths > 0) & (widths < width_min_s)
    if not short.any():
        return v_cell, widths
    v_th = m.threshold(direction)
    lo = np.full(short.sum(), np.log(1e-6))
    hi = np.log(np.maximum(v_cell[short] / v_th - 1.0, 2e-6))
    args = (cells[short], np.asarray(g_from)[short], np.asarray(g_to)[short], direction)
    r_s = np.broadcast_to(r_series, cells.shape)[short]
    for _ in range(20):
        mid = 0.5 * (lo + hi)
        w = reference_plan_widths(m, *args, v_th * (1.0 + np.exp(mid)), r_s, aim, max(2, substeps // 4))
        too_short = w < width_min_s
        hi = np.where(too_short, mid, hi)
        lo = np.where(too_short, lo, mid)
    lo = v_th * (1.0 + np.exp(lo))
    v_cell[short] = lo
    widths[short] = reference_plan_widths(m, *args, lo, r_s, aim, substeps)
    return v_cell, widths


class ReferenceArrayEstimate:
    """The previous 1R estimate: model re-solves per read, a cached line/cell voltage ratio per cell."""

    ITERATIONS, SCAN_ROUNDS, SCAN_CONVERGED, RATIO_REUSE = 2, 60, 1e-6, 0.05

    def __init__(self, view):
        self.view = view
        lay = view.layout
        self.model = Crossbar(lay.rows, lay.cols, "1R", r_wl=lay.r_wl, r_bl=lay.r_bl, r_source=lay.r_source,
                              r_sense=lay.r_sense)
        self.g = np.full(view.shape, np.nan)
        self._ratio = {}

    def scan(self, v_read, cells=None):
        cells = np.argwhere(np.ones(self.view.shape, bool)) if cells is None else cells
        i_meas = np.empty(len(cells))
        for k, (row, col) in enumerate(cells):
            i_meas[k] = yield from self.view.read_cell(int(row), int(col), v_read, "grounded")
        rr, cc = cells[:, 0], cells[:, 1]
        fresh = np.isnan(self.g)
        self.g[rr, cc] = np.clip(i_meas / v_read, G_FLOOR, G_CEIL)
        self.g[fresh & np.isnan(self.g)] = np.nanmedian(self.g)
        for _ in range(self.SCAN_ROUNDS):
            self.model.set_conductances(self.g)
            t = self.model.transfer_matrix()[rr, cc]
            new = np.clip(self.g[rr, cc] * i_meas / (v_read * t), G_FLOOR, G_CEIL)
            change = np.max(np.abs(new / self.g[rr, cc] - 1.0))
            self.g[rr, cc] = new
            if change < self.SCAN_CONVERGED:
                break
        return self.g.copy()

    def read(self, row, col, v_read):
        i_meas = yield from self.view.read_cell(row, col, v_read, "grounded")
        v = np.zeros(self.view.rows)
        v[row] = v_read
        for _ in range(self.ITERATIONS):
            self.model.set_conductances(self.g)
            i_model = float(self.model.solve_bias(v).sense_currents[col])
            self.g[row, col] = min(max(self.g[row, col] * i_meas / i_model, G_FLOOR), G_CEIL)
        return self.g[row, col]

    def line_voltage(self, row, col, wanted, unselected):
        key = (row, col, unselected)
        g_now = self.g[row, col]
        cached = self._ratio.get(key)
        if cached is None or abs(g_now / cached[0] - 1.0) > self.RATIO_REUSE:
            self.model.set_conductances(self.g)
            probe = self.view.cell_bias(row, col, 1.0, unselected)
            v_model = float(self.model.solve_bias(probe.v_wl, probe.v_bl).cell_voltages[row, col])
            cached = (g_now, 1.0 / v_model if v_model > 0 else 1.0)
            self._ratio[key] = cached
        return wanted * cached[1]


# ---- recording -------------------------------------------------------------------------------------------
def record(n: int):
    """Run the n x n 1R write-verify once; return (model, view, plan requests, estimate operations, pulses)."""
    arr, target = spread_array(n, "1R")
    arr.cosim = replace(arr.cosim, max_substeps=10 ** 7)   # long RESET pulses of far cells: not what is timed
    plans, ops, seen = [], [], {}
    fit, scan, read, line = (ControllerModel.fit_to_min_width, ArrayEstimate.scan, ArrayEstimate.read,
                             ArrayEstimate.line_voltage)
    read_cell = ControllerView.read_cell

    def rec_fit(self, *args, **kw):
        seen["model"] = self
        plans.append(tuple(np.copy(a) if isinstance(a, np.ndarray) else a for a in args) + (kw,))
        return fit(self, *args, **kw)

    def rec_read_cell(self, row, col, voltage, unselected="grounded"):
        seen["view"] = self
        current = yield from read_cell(self, row, col, voltage, unselected)
        seen.setdefault("currents", []).append(current)
        return current

    def rec_scan(self, v_read, cells=None):
        start = len(seen.get("currents", []))
        out = yield from scan(self, v_read, cells)
        ops.append(("scan", v_read, None if cells is None else cells.copy(), seen["currents"][start:]))
        return out

    def rec_read(self, row, col, v_read):
        out = yield from read(self, row, col, v_read)
        ops.append(("read", row, col, v_read, seen["currents"][-1]))
        return out

    def rec_line(self, row, col, wanted, unselected):
        ops.append(("line", row, col, wanted, unselected))
        return line(self, row, col, wanted, unselected)

    patches = [(ControllerModel, "fit_to_min_width", rec_fit), (ArrayEstimate, "scan", rec_scan),
               (ArrayEstimate, "read", rec_read), (ArrayEstimate, "line_voltage", rec_line),
               (ControllerView, "read_cell", rec_read_cell)]
    originals = [(cls, name, getattr(cls, name)) for cls, name, _ in patches]
    for cls, name, fn in patches:
        setattr(cls, name, fn)
    try:
        t0 = time.perf_counter()
        rep = arr.program(target, scheme="write-verify", tolerance=0.02, progress=False)
        wall = time.perf_counter() - t0
    finally:
        for cls, name, fn in originals:
            setattr(cls, name, fn)
    return seen["model"], seen["view"], plans, ops, int(rep.pulses.sum()), wall, rep


# ---- replay ----------------------------------------------------------------------------------------------
class ReplayView:
    """The recorded view's layout and biases; reads return the recorded sense currents in order."""

    def __init__(self, view):
        self.layout, self.shape, self.rows, self.cols = view.layout, view.shape, view.rows, view.cols
        self.cell_bias = view.cell_bias
        self.queue = []

    def read_cell(self, row, col, voltage, unselected="grounded"):
        return self.queue.pop(0)
        yield  # a generator, like the view's  # noqa


def finish(gen):
    """Run a generator that never yields (replayed reads) and return its value."""
    try:
        next(gen)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("a replayed operation yielded")


def replay_estimate(kind, view, ops):
    """Replay ``ops`` on a fresh estimate of ``kind``; (seconds excluding scans, seconds of scans, outputs)."""
    est = kind(ReplayView(view))
    out, t_ops, t_scan = [], 0.0, 0.0
    for op in ops:
        t0 = time.perf_counter()
        if op[0] == "scan":
            est.view.queue = list(op[3])
            finish(est.scan(op[1], op[2]))
            t_scan += time.perf_counter() - t0
            continue
        if op[0] == "read":
            est.view.queue = [op[4]]
            value = finish(est.read(op[1], op[2], op[3]))
        else:
            value = est.line_voltage(*op[1:])
        t_ops += time.perf_counter() - t0
        out.append(value)
    return t_ops, t_scan, np.array(out, float), np.array([op[0] for op in ops if op[0] != "scan"])


def replay_plans(fn, model, plans):
    t0 = time.perf_counter()
    out = [fn(model, *p[:-1], **p[-1]) for p in plans]
    return time.perf_counter() - t0, out


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = np.isfinite(a) & np.isfinite(b)
    d = np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), 1e-300)
    return (float(np.max(d)) if d.size else 0.0), (float(np.median(d)) if d.size else 0.0), int(np.sum(~both & (np.isfinite(a) != np.isfinite(b))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32,64", help="1R array sizes to record and replay")
    args = parser.parse_args(argv)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; load average "
          f"{os.getloadavg()[0]:.2f}; one recording per size, each replay once per side, same process")
    for n in (int(s) for s in args.sizes.split(",") if s):
        model, view, plans, ops, pulses, wall, rep = record(n)
        print(f"\n{n}x{n} 1R write-verify recorded: {wall:.1f} s wall, {pulses} pulses, {len(plans)} plans, "
              f"{sum(op[0] == 'read' for op in ops)} verify reads, {sum(op[0] == 'scan' for op in ops)} scans; "
              f"{rep.success_rate:.2%} within 2 %")
        t_new, new = replay_plans(ControllerModel.fit_to_min_width, model, plans)
        t_ref, ref = replay_plans(reference_fit, model, plans)
        dv = rel(np.concatenate([o[0] for o in new]), np.concatenate([o[0] for o in ref]))
        dw = rel(np.concatenate([o[1] for o in new]), np.concatenate([o[1] for o in ref]))
        print(f"  planning   : {1e3 * t_new / pulses:.3f} ms/pulse vs reference {1e3 * t_ref / pulses:.3f} ms/pulse "
              f"-> {t_ref / t_new:.1f}x; voltages differ max {dv[0]:.1e} (median {dv[1]:.1e}), widths max "
              f"{dw[0]:.1e} (median {dw[1]:.1e}); finite/inf disagreements {dw[2]}")
        e_new, s_new, out_new, kinds = replay_estimate(ArrayEstimate, view, ops)
        e_ref, s_ref, out_ref, _ = replay_estimate(ReferenceArrayEstimate, view, ops)
        dr = rel(out_new[kinds == "read"], out_ref[kinds == "read"])
        dl = rel(out_new[kinds == "line"], out_ref[kinds == "line"])
        print(f"  estimates  : {1e3 * e_new / pulses:.3f} ms/pulse vs reference {1e3 * e_ref / pulses:.3f} ms/pulse "
              f"-> {e_ref / e_new:.1f}x; read estimates differ max {dr[0]:.1e} (median {dr[1]:.1e}), line "
              f"voltages max {dl[0]:.1e} (median {dl[1]:.1e})")
        print(f"  scans      : {s_new:.2f} s vs reference {s_ref:.2f} s (same code: the joint correction)")
        print(f"  controller : {1e3 * (t_new + e_new) / pulses:.3f} ms/pulse (planning + estimates) vs reference "
              f"{1e3 * (t_ref + e_ref) / pulses:.3f} ms/pulse; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
