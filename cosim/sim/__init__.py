"""Event-driven engine: arrays as hardware on a SimPy clock, timed operations, programming schemes, traces."""
from cosim.sim.aging import AgingLaws, RetentionModel
from cosim.sim.array import Array, Timing, Unselected
from cosim.sim.cosimulate import Bias, CosimConfig
from cosim.sim.engine import Engine
from cosim.sim.control import (SCHEMES, Bound, Erase, Inhibit, IsppConfig, Ladder, OpenLoopConfig, Order, ProgramReport,
                               PulseLimits, Scheme, WriteVerifyConfig)
from cosim.sim.reset_stop import ResetStopLevels
from cosim.sim.trace import Trace, TraceRecord
from cosim.sim.wear import CycleDrive

__all__ = ["Engine", "Array", "Timing", "Unselected", "Bias", "CosimConfig", "AgingLaws", "SCHEMES",
           "Scheme", "ProgramReport", "WriteVerifyConfig", "IsppConfig", "Ladder", "OpenLoopConfig", "PulseLimits",
           "Bound", "Erase", "Order", "Inhibit", "Trace", "TraceRecord", "RetentionModel", "CycleDrive",
           "ResetStopLevels"]
