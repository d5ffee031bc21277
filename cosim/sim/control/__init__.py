"""Programming controllers: schemes that see only what a chip's controller sees.

A controller gets a :class:`~cosim.sim.control.view.ControllerView` — the sense currents of the reads
it issues, the layout as designed, and its own device model — and acts only through the pulses it
issues, which the array co-simulates on its true devices.
"""
from cosim.sim.control.closed_loop import ControllerResult
from cosim.sim.control.config import (CONFIG_OF_SCHEME, SCHEMES, Bound, Erase, IsppConfig, Inhibit, Ladder,
                                      OpenLoopConfig, Order, PulseLimits, Scheme, WriteVerifyConfig, parse_scheme)
from cosim.sim.control.ispp import Ispp
from cosim.sim.control.model import ControllerModel
from cosim.sim.control.open_loop import OpenLoop
from cosim.sim.control.report import ProgramReport
from cosim.sim.control.view import ControllerView
from cosim.sim.control.write_verify import WriteVerify

__all__ = ["CONFIG_OF_SCHEME", "SCHEMES", "Scheme", "Bound", "Erase", "Inhibit", "Order", "PulseLimits", "Ladder", "WriteVerifyConfig",
           "IsppConfig", "OpenLoopConfig", "parse_scheme", "ControllerModel", "ControllerView", "ControllerResult",
           "ProgramReport", "WriteVerify", "Ispp", "OpenLoop", "make_controller"]


def make_controller(view: ControllerView, scheme: Scheme, tolerance: float, config):
    """The controller running ``scheme`` with ``config`` on ``view``."""
    if scheme is Scheme.WRITE_VERIFY:
        return WriteVerify(view, tolerance, config)
    if scheme is Scheme.ISPP:
        return Ispp(view, tolerance, config)
    return OpenLoop(view, tolerance, config, scheme)
