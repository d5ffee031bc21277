"""cosim.nn: deep networks on memristive crossbars.

Map a trained torch model onto crossbar tiles, run it through the arrays' periphery and circuits,
and age it::

    from cosim.nn import ArrayConfig, patch_model, tune, bake
    cfg = ArrayConfig(tile=(64, 64), scheme="double-column", mode="circuit", r_wl=1.0, r_bl=1.0)
    mm = patch_model(model, cfg)   # a programmed copy; model is unchanged
    tune(mm)                       # per-column gain / offset by least squares
    bake(mm, 3600.0, 358.0)        # one hour at 85 C

Modules: ``config`` (ArrayConfig), ``mapping`` (tiles, weight <-> conductance), ``programming``
(fabricated cells, programmers), ``periphery`` (DAC, ADC), ``tiles`` (a layer's arrays and their
forward modes), ``layers`` (the memristive layers), ``aging``, ``patch`` (whole-model operations),
``data`` (the digits data and small networks for examples), ``demo`` (the ``cosim demo`` section).
Training with devices in the loop (seed 004): ``binary`` (2T2R binarized layers), ``device_optimizer``
(DeviceOptimizer), ``pairs`` (weights on differential pairs of pulse devices), ``pulse_devices`` (the
pulse-device protocol), ``weak_reset_cells`` (weak-RESET HfOx on torch tensors), ``binary_nets``
(digits BNNs and their training loop).
"""
from cosim.nn.aging import AgingHistory, AgingModel, DriftAging
from cosim.nn.binary import BinaryActivation, BinaryConv2d, BinaryLinear
from cosim.nn.device_optimizer import DeviceOptimizer
from cosim.nn.config import ArrayConfig
from cosim.nn.engine_bridge import EngineAging, EngineCells, EngineProgrammer
from cosim.nn.layers import MemristiveConv1d, MemristiveConv2d, MemristiveLayer, MemristiveLinear
from cosim.nn.patch import (SUPPORTED_LAYERS, bake, calibrate_adc, cycle, digital, memristive_layers, patch_model,
                            program_model, tune)
from cosim.nn.programming import CellArray, IdealProgrammer, Programmer, StatisticalProgrammer, fabricate
from cosim.nn.tiles import TiledMatrix

__all__ = [
    "EngineProgrammer", "EngineAging", "EngineCells",
    "ArrayConfig", "patch_model", "tune", "calibrate_adc", "program_model", "bake", "cycle", "digital",
    "memristive_layers", "SUPPORTED_LAYERS", "MemristiveLayer", "MemristiveLinear", "MemristiveConv1d",
    "MemristiveConv2d", "Programmer", "IdealProgrammer", "StatisticalProgrammer", "CellArray", "fabricate",
    "TiledMatrix", "AgingModel", "AgingHistory", "DriftAging",
    "BinaryLinear", "BinaryConv2d", "BinaryActivation", "DeviceOptimizer",
]
