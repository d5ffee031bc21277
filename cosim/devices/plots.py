"""Figures of device behaviour: I-V hysteresis loops and state / resistance against time.

Uses matplotlib's object API with the Agg canvas (``matplotlib.figure.Figure``), so importing this
module never changes the process-wide backend. Entry points for scripts and ``cosim demo``:

* ``hysteresis_figure(path)``: the named presets of every model, one panel each, a few devices with
  device-to-device spread per panel, driven by the preset's demo sine (``DEMO_DRIVES``).
* ``seed003_fig4(path)``: 100 TEAM devices at 50 MHz, continuous and with 10 conductance states
  (the style of seed 003, Fig. 4).
* ``state_figure(path)``: drive voltage, state and read resistance against time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .base import DeviceArray
from .data_driven import DataDriven
from .linear_ion_drift import LinearIonDrift
from .nonideal import Nonidealities
from .stanford_pku import StanfordPKU
from .variability import Normal
from .vteam import VTEAM

__all__ = ["SineDrive", "DEMO_DRIVES", "plot_iv", "hysteresis_figure", "seed003_fig4", "state_figure"]


@dataclass(frozen=True)
class SineDrive:
    """v(t) = amplitude sin(2 pi frequency t), sampled ``samples_per_period`` times per period."""
    amplitude: float             # V
    frequency: float             # Hz
    periods: float = 2.0
    samples_per_period: int = 2000

    def waveform(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(t in s, v in V, dt in s)."""
        dt = 1.0 / (self.frequency * self.samples_per_period)
        t = np.arange(int(round(self.periods * self.samples_per_period))) * dt
        return t, self.amplitude * np.sin(2 * np.pi * self.frequency * t), dt


# A drive per named preset that shows a full loop (model, preset) -> drive.
DEMO_DRIVES: dict[tuple[type[DeviceArray], str], SineDrive] = {
    (VTEAM, "TEAM"): SineDrive(1.0, 50e6),                 # seed 003 Fig. 4: 50 MHz
    (VTEAM, "Pt/Hf/Ti"): SineDrive(1.0, 0.5),              # V = sin(pi t), MODELS.md §1.2
    (VTEAM, "HfOx"): SineDrive(1.5, 1e6),                  # 1.5 V, 1 us period: ~200 ns above 1.3 V per half
    (LinearIonDrift, "default"): SineDrive(1.0, 1.0),
    (LinearIonDrift, "seed003"): SineDrive(1.0, 20.0),
    (StanfordPKU, "default"): SineDrive(1.6, 1e6, samples_per_period=10_000),
    (DataDriven, "default"): SineDrive(1.5, 10e3),
}


def spread_params(model: type[DeviceArray], preset: str, spread: float) -> dict:
    """R_on and R_off each ~ Normal(preset value, spread x value), truncated at half the value."""
    if spread <= 0:
        return {}
    base = model.PRESETS[preset]
    return {name: Normal(getattr(base, name), spread * getattr(base, name), low=0.5 * getattr(base, name))
            for name in ("r_on", "r_off")}


def plot_iv(ax, v: np.ndarray, current: np.ndarray, *, color=None, alpha: float = 0.6, lw: float = 0.8,
            label: str | None = None) -> None:
    """Draw one I-V curve per device: v (steps,) or (steps, n) in V, current (steps, n) in A (drawn in mA)."""
    v = np.broadcast_to(np.asarray(v).reshape(len(v), -1), current.shape)
    for c in range(current.shape[1]):
        ax.plot(v[:, c], 1e3 * current[:, c], color=color, alpha=alpha, lw=lw, label=label if c == 0 else None)
    ax.axhline(0, color="0.8", lw=0.5, zorder=0)
    ax.axvline(0, color="0.8", lw=0.5, zorder=0)
    ax.set_xlabel("V (V)")
    ax.set_ylabel("I (mA)")


def hysteresis_figure(path, n_devices: int = 10, spread: float = 0.05, rng: int = 0) -> Path:
    """Write a PNG of every named preset's I-V hysteresis loop; returns the path.

    path: output file (.png). n_devices: devices per panel, their R_on and R_off drawn from normals
    with relative std ``spread`` (0 = identical devices). rng: seed. Drives: ``DEMO_DRIVES``.
    """
    fig = Figure(figsize=(13, 7.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, ((model, preset), drive) in zip(axes, DEMO_DRIVES.items()):
        dev = model.preset(preset, n=n_devices, rng=rng, **spread_params(model, preset, spread))
        t, v, dt = drive.waveform()
        plot_iv(ax, v, dev.simulate(v, dt), color="tab:blue", alpha=0.5)
        ax.set_title(f"{model.__name__} '{preset}': {drive.amplitude:g} V, {drive.frequency:.3g} Hz", fontsize=10)
    fig.suptitle(f"Pinched hysteresis loops, {n_devices} devices per preset (R_on, R_off spread {spread:.0%})")
    return _save(fig, path)


def seed003_fig4(path, n_devices: int = 100, levels: int = 10, rng: int = 0) -> Path:
    """Write the seed 003 Fig. 4 style PNG: TEAM devices, R_on ~ N(50, 25), R_off ~ N(1000, 50),
    50 MHz sine; [A] continuous conductance, [B] ``levels`` finite states. Returns the path."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    spread = dict(r_on=Normal(50.0, 25.0, low=1.0), r_off=Normal(1000.0, 50.0, low=100.0))
    t, v, dt = SineDrive(1.0, 50e6, periods=1.0).waveform()
    for ax, nonideal, title in ((ax_a, None, "[A] continuous states"),
                                (ax_b, Nonidealities(levels=levels), f"[B] {levels} conductance states")):
        dev = VTEAM.preset("TEAM", n=n_devices, rng=rng, nonideal=nonideal, **spread)
        plot_iv(ax, v, dev.simulate(v, dt), alpha=0.35, lw=0.6)
        ax.set_title(f"{title}, {n_devices} VTEAM (TEAM) devices, 50 MHz", fontsize=10)
    return _save(fig, path)


def state_figure(path, model: type[DeviceArray] = VTEAM, preset: str = "Pt/Hf/Ti", n_devices: int = 5,
                 spread: float = 0.1, rng: int = 0) -> Path:
    """Write a PNG of the drive, the state and the read resistance against time; returns the path."""
    drive = DEMO_DRIVES[(model, preset)]
    dev = model.preset(preset, n=n_devices, rng=rng, **spread_params(model, preset, spread))
    t, v, dt = drive.waveform()
    states = np.empty((len(t), n_devices))
    resistances = np.empty((len(t), n_devices))
    for k in range(len(t)):              # a figure's worth of samples: the per-step API is fine here
        states[k] = dev.state
        resistances[k] = dev.resistance(noisy=False)
        dev.step(v[k], dt)
    fig = Figure(figsize=(8, 7), layout="constrained")
    ax_v, ax_s, ax_r = fig.subplots(3, 1, sharex=True)
    ax_v.plot(t, v, color="k", lw=1)
    ax_v.set_ylabel("V (V)")
    ax_s.plot(t, states, lw=1)
    ax_s.set_ylabel(f"{model.STATE_NAME} ({model.STATE_UNIT})")
    ax_r.plot(t, resistances, lw=1)
    ax_r.set_ylabel("R at read (ohm)")
    ax_r.set_xlabel("t (s)")
    ax_v.set_title(f"{model.__name__} '{preset}': {n_devices} devices (R_on, R_off spread {spread:.0%})")
    return _save(fig, path)


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
