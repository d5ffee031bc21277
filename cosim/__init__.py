"""cosim: an event-driven co-simulator of memristive (RRAM) crossbar circuits and the networks mapped onto them.

Layers (imports point downward only): ``devices`` and ``netlist`` at the bottom, ``solve`` on
``netlist``, ``sim`` on those three, ``nn`` on ``sim`` and below, ``cli`` on top.
"""
from cosim.solve.crossbar import Crossbar, CrossbarSolution
from cosim.sim.engine import Engine

__all__ = ["Crossbar", "CrossbarSolution", "Engine"]
__version__ = "0.1.0"
