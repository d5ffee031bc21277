"""Device physics: memristor models vectorised over cells, their parameter sets and non-idealities.

Models (one state array over ``n`` cells; every parameter a scalar, an (n,) array or a distribution):
``VTEAM``, ``LinearIonDrift``, ``StanfordPKU``, ``DataDriven``. Window functions live in ``windows``,
distributions in ``variability``, finite states / faults / read noise in ``nonideal``, the bridge to
the compiled kernels (``cython_ext/device_kernels.pyx``) in ``compiled``, adaptive stepping in
``adaptive``, figures in ``plots`` (imported on demand: it loads matplotlib). Typical use::

    dev = VTEAM.preset("Pt/Hf/Ti", n=100, rng=0)
    I = dev.simulate(v, dt)      # (steps, n) amps; advances the state
    G = dev.conductance()        # (n,) siemens at the read voltage
    i = dev.step(v_cells, dt)    # one step under per-cell voltages (the engine's call)
"""
from . import compiled, variability, windows
from .base import DeviceArray
from .data_driven import DATA_DRIVEN_PRESETS, DataDriven, DataDrivenParams
from .linear_ion_drift import LINEAR_ION_DRIFT_PRESETS, LinearIonDrift, LinearIonDriftParams
from .nonideal import Nonidealities
from .stanford_pku import STANFORD_PKU_PRESETS, StanfordPKU, StanfordPKUParams
from .variability import Exponential, LogNormal, Normal, TruncatedNormal, Uniform
from .vteam import VTEAM, VTEAM_PRESETS, VTEAMParams
from .weak_reset import (WeakResetHfOx, WeakResetNoise, WeakResetNominal, WeakResetOptions, WeakResetParams,
                         WeakResetVariability)
from .weak_reset_synapse import DifferentialSynapse2T2R
from .aging import AgingMode, EnduranceRetentionLaw, PowerLawDrift, ResetStopWindow, TwoStateAging
from .aging_published import PUBLISHED

from .registry import MODELS, make_device, resolve_device

__all__ = [
    "DeviceArray", "VTEAM", "VTEAMParams", "VTEAM_PRESETS", "LinearIonDrift", "LinearIonDriftParams",
    "LINEAR_ION_DRIFT_PRESETS", "StanfordPKU", "StanfordPKUParams", "STANFORD_PKU_PRESETS", "DataDriven",
    "DataDrivenParams", "DATA_DRIVEN_PRESETS", "Nonidealities", "Normal", "TruncatedNormal", "LogNormal",
    "Uniform", "Exponential", "windows", "variability", "MODELS", "make_device", "resolve_device",
    "WeakResetHfOx", "WeakResetOptions", "WeakResetVariability", "WeakResetNoise", "WeakResetNominal",
    "WeakResetParams", "DifferentialSynapse2T2R", "EnduranceRetentionLaw", "TwoStateAging", "PowerLawDrift",
    "AgingMode", "ResetStopWindow", "PUBLISHED",
]
