"""The one registry of device models, and the ``"MODEL"`` / ``"MODEL:PRESET"`` names that files use.

Every file format that names a device (experiment TOML ``[array] device``, array descriptions'
``device``) resolves the name here, so one list decides what a model is: ``MODELS``.
"""
from __future__ import annotations

from .base import DeviceArray
from .data_driven import DataDriven
from .linear_ion_drift import LinearIonDrift
from .stanford_pku import StanfordPKU
from .variability import RngLike
from .vteam import VTEAM

__all__ = ["MODELS", "resolve_device", "make_device"]

MODELS: dict[str, type[DeviceArray]] = {"VTEAM": VTEAM, "LinearIonDrift": LinearIonDrift,
                                        "StanfordPKU": StanfordPKU, "DataDriven": DataDriven}


def resolve_device(name) -> tuple[type[DeviceArray], str | None]:
    """(model class, preset name or None) for ``"MODEL"`` or ``"MODEL:PRESET"``; ValueError naming the
    unknown model or preset and listing the known ones."""
    if not isinstance(name, str):
        raise TypeError(f"device must be a string 'MODEL' or 'MODEL:PRESET'; got {type(name).__name__} {name!r}")
    model, sep, preset = name.partition(":")
    if model not in MODELS:
        raise ValueError(f"unknown device model {model!r}; known: {', '.join(MODELS)} (as 'MODEL' or 'MODEL:PRESET')")
    cls = MODELS[model]
    if sep and preset not in cls.PRESETS:
        raise ValueError(f"unknown {model} preset {preset!r}; known: {', '.join(cls.PRESETS)}")
    return cls, (preset if sep else None)


def make_device(name, n: int, rng: RngLike = None) -> DeviceArray:
    """``n`` cells of the device named ``"MODEL"`` (its default preset) or ``"MODEL:PRESET"``."""
    cls, preset = resolve_device(name)
    return cls.preset(preset, n=n, rng=rng)
