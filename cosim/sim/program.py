"""The array's side of programming: check the request, give the controller its view, run it, report.

This is the only place where programming meets the true devices, and only to do what a test bench
does: build the controller's nominal model from the array's *preset* (its parameters as designed, not
the cells drawn from them) and, after the controller is done, measure how close each cell came.
"""
from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np

from cosim.devices.base import DeviceArray
from cosim.sim.control import (CONFIG_OF_SCHEME, ControllerModel, ControllerView, ProgramReport, Scheme,
                               make_controller, parse_scheme)
from cosim.sim.control.model import controller_model, nominal_model
from cosim.validate import cell_map


def check_request(array, target_G, scheme, tolerance, config, amplitude):
    """Validated (target, addressed mask, scheme, config); nothing has changed when this raises."""
    scheme = parse_scheme(scheme)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.integer, np.floating)) \
            or not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be a relative error in (0, 1); got {tolerance!r}")
    if scheme is Scheme.ROW_PARALLEL and not array.is_1t1r:
        raise ValueError("scheme '1t1r-row' needs a 1T1R array")
    if scheme in (Scheme.HALF_SELECT, Scheme.THIRD_SELECT) and array.is_1t1r:
        raise ValueError(f"scheme {scheme.value!r} is a half-select scheme for 1R arrays; use '1t1r-row', "
                         f"'write-verify' or 'ispp'")
    kind = CONFIG_OF_SCHEME[scheme]
    config = kind() if config is None else config
    if not isinstance(config, kind):
        raise TypeError(f"config of scheme {scheme.value!r} must be a {kind.__name__}; got {type(config).__name__}")
    if amplitude is not None:
        if isinstance(amplitude, bool) or not isinstance(amplitude, (int, float)) or not np.isfinite(amplitude) \
                or amplitude <= 0:
            raise ValueError(f"amplitude must be a positive number of volts or None; got {amplitude!r}")
        if scheme is Scheme.ISPP:
            raise ValueError("ispp takes its amplitudes from IsppConfig ladders, not amplitude=")
        field_name = "v_cell" if scheme is Scheme.WRITE_VERIFY else "amplitude"
        config = replace(config, **{field_name: amplitude})
    target, addressed = cell_map("target_G", target_G, array.shape, unit="S")
    if np.any(target[addressed] <= 0):
        raise ValueError("target_G must be finite and > 0 siemens (NaN leaves a cell alone)")
    return target, addressed, scheme, config


def check_range(target: np.ndarray, addressed: np.ndarray, array) -> None:
    """Targets must lie in each cell's own conductance range: a request the hardware cannot hold is refused
    (the controller is not told these ranges; it plans with its model's)."""
    lo, hi = array.conductance_bounds()
    bad = addressed & ((target < lo * (1 - 1e-9)) | (target > hi * (1 + 1e-9)))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"target_G is outside the device's conductance range at {int(bad.sum())} cells "
                         f"(first: ({i}, {j}) = {target[i, j]:.4g} S, range [{lo[i, j]:.4g}, {hi[i, j]:.4g}] S)")


def build_model(array, model) -> ControllerModel:
    """The controller's model: ``model`` (a private copy) or the nominal model of the array's preset."""
    n = array.rows * array.cols
    if model is None:
        device = array.device
        if not isinstance(device, DeviceArray):
            raise TypeError(f"the array's device ({type(device).__name__}) has no preset to derive a nominal "
                            f"controller model from; pass model=")
        return ControllerModel.probe(nominal_model(device.params, type(device), n))
    if model is array.device:
        raise ValueError("model must be the controller's own device model, not the array's devices")
    return ControllerModel.probe(controller_model(model, n))


def run_program(array, target_G, scheme="write-verify", tolerance: float = 0.01, config=None, model=None,
                amplitude=None, progress: bool | None = None) -> ProgramReport:
    """Program ``array`` (see :meth:`cosim.sim.array.Array.program`)."""
    target, addressed, scheme, config = check_request(array, target_G, scheme, tolerance, config, amplitude)
    ctrl_model = build_model(array, model)
    check_range(target, addressed, array)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = _progress_bar(int(addressed.sum()), scheme.value, show)
    view = ControllerView(array, ctrl_model, config.limits, bar)
    controller = make_controller(view, scheme, tolerance, config)
    t0, n0 = array.engine.now, len(array.trace)
    try:
        result = array.engine.run_process(controller.run(np.where(addressed, target, np.nan), addressed))
    finally:
        if bar is not None:
            bar.close()
    g = array.conductances()
    error = np.where(addressed, (g - np.where(addressed, target, 1.0)) / np.where(addressed, target, 1.0), np.nan)
    energy = float(sum(r.energy_j for r in array.trace.records[n0:]))
    return ProgramReport(scheme.value, float(tolerance), addressed, result.pulses, error,
                         addressed & (np.abs(np.nan_to_num(error)) > tolerance), result.stuck, view.reads,
                         view.pulses, view.clipped, energy, array.engine.now - t0)


def _progress_bar(total: int, name: str, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"program ({name})", unit="cell", leave=False)
