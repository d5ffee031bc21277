"""Seed 000 Fig. 6 at digits scale: a mapped CNN's accuracy under endurance and retention aging.

Seed 000 ages a MobileNetV2 on CIFAR-10 with its endurance / retention law (MODELS.md section 3)
against SET-RESET cycles (gradual and sudden degradation), time at 473 / 523 / 573 K, cell size and
RESET stop voltage. Here the digits CNN is mapped onto 64 x 64 double-column tiles between the
published Fig. 2A levels (R_on 4.4 kohm, R_off 65 kohm), tuned once when fresh, then aged on the
engine's clock: every mapped layer's cells are an ``EngineCells`` (the one aging law nn and the
engine share; ``cycle`` and ``bake`` of :mod:`cosim.nn`). Its retention law is the engine's default
(seed 000 Fig. 3B, with temperature); its endurance law is the engine's default (Fig. 2A, gradual)
or the published Fig. 2C sudden fits, evaluated at cell size ``cell_size_nm`` and RESET stop voltage
``v_stop`` (seed 000's DL window 1.3..1.9 V, optimum 1.5 V: ``ResetStopWindow()``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cosim.devices.aging import ResetStopWindow, TwoStateAging
from cosim.nn import ArrayConfig, bake, cycle, memristive_layers, patch_model, tune
from cosim.nn.engine_bridge import EngineCells
from cosim.sim.aging import AgingLaws, default_endurance
from cosim.sweep.studies.networks import Network, test_accuracy, trained
from cosim.sweep.study import Study

__all__ = ["Seed000Params", "OperatingPointAging", "endurance_law", "run", "STUDY"]

R_LRS_OHM, R_HRS_OHM = 4400.0, 65000.0      # seed 000 Fig. 2A programmed levels
MODES = ("gradual", "sudden")


@dataclass(frozen=True)
class OperatingPointAging(TwoStateAging):
    """A two-state law evaluated at one cell size (nm) and RESET stop voltage (V; None = the law's own
    optimum) whenever its caller (the engine's ``AgingState``) gives neither."""

    cell_size_nm: float | None = None
    v_stop: float | None = None

    def resistance(self, r0, x, temperature=None, *, is_lrs=None, cell_size=None, v_stop=None) -> np.ndarray:
        return super().resistance(r0, x, temperature, is_lrs=is_lrs,
                                  cell_size=self.cell_size_nm if cell_size is None else cell_size,
                                  v_stop=self.v_stop if v_stop is None else v_stop)


def endurance_law(mode: str, cell_size_nm: float, v_stop: float | None) -> OperatingPointAging:
    """The engine's gradual law (Fig. 2A) or the Fig. 2C sudden fits, split between the mapped levels."""
    law = default_endurance(R_LRS_OHM, R_HRS_OHM) if mode == "gradual" else TwoStateAging.published("2C")
    lrs, hrs = law.lrs, law.hrs
    if v_stop is not None:
        window = ResetStopWindow()
        lrs, hrs = replace(lrs, reset_stop=window), replace(hrs, reset_stop=window)
    return OperatingPointAging(lrs, hrs, TwoStateAging.between(lrs, hrs, R_LRS_OHM, R_HRS_OHM).r_split,
                               cell_size_nm, v_stop)


@dataclass(frozen=True)
class Seed000Params:
    """One point. cycles: SET-RESET cycles (0 = none); mode: "gradual" or "sudden" endurance law;
    bake_s: s at kelvin (K) (0 = none; cycling and baking are separate experiments here);
    cell_size_nm: nm; v_stop: V, RESET stop voltage (0 = the law's optimum); epochs: CNN training;
    seeds: fabrications averaged."""

    cycles: float = 0.0
    mode: str = "gradual"
    bake_s: float = 0.0
    kelvin: float = 300.0
    cell_size_nm: float = 20.0
    v_stop: float = 0.0
    epochs: int = 8
    seeds: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}; got {self.mode!r}")
        if not (self.cycles >= 0 and float(self.cycles).is_integer()):
            raise ValueError(f"cycles must be a whole number >= 0; got {self.cycles}")
        if self.cycles and self.bake_s:
            raise ValueError("give cycles or bake_s, not both (separate experiments)")
        if not (self.bake_s >= 0 and self.kelvin > 0 and self.cell_size_nm > 0):
            raise ValueError(f"need bake_s >= 0 s, kelvin > 0 K, cell_size_nm > 0 nm; got "
                             f"{self.bake_s}, {self.kelvin}, {self.cell_size_nm}")
        if self.v_stop:
            ResetStopWindow().shape(self.v_stop)          # ValueError outside the window
        if self.epochs < 1 or self.seeds < 1:
            raise ValueError(f"epochs and seeds must be >= 1; got {self.epochs}, {self.seeds}")


def run(p: Seed000Params, seed: int) -> dict:
    """Test accuracy after the aging (mean over fabrications), fresh accuracy, and the mean |ln G change|."""
    net = trained(Network.CNN, p.epochs)
    endurance = endurance_law(p.mode, p.cell_size_nm, p.v_stop or None)
    accs, fresh, shift = [], [], []
    for child in np.random.SeedSequence(seed).generate_state(p.seeds, dtype=np.uint32):
        cfg = ArrayConfig(tile=(64, 64), r_on=R_LRS_OHM, r_off=R_HRS_OHM, seed=int(child))
        mapped = patch_model(net.model, cfg)                      # cells on an engine clock, its laws
        layers = [layer for _, layer in memristive_layers(mapped)]
        for layer in layers:                                      # the same clock, this point's endurance law
            old = layer.clock
            old.detach()
            layer.clock = EngineCells(layer.tiles, old.engine, AgingLaws(old.laws.retention, endurance), old.cycle_s)
        tune(mapped, n_samples=256, seed=int(child))
        fresh.append(test_accuracy(mapped, net))
        g0 = [layer.tiles.g.copy() for layer in layers]
        if p.bake_s:
            bake(mapped, p.bake_s, p.kelvin)
        elif p.cycles:
            cycle(mapped, int(p.cycles))
        accs.append(test_accuracy(mapped, net))
        shift.append(np.mean(np.concatenate([np.abs(np.log(layer.tiles.g / g)).ravel() for layer, g in zip(layers, g0)])))
    return {"accuracy": float(np.mean(accs)), "fresh": float(np.mean(fresh)), "digital": net.digital_accuracy,
            "mean_abs_ln_g_change": float(np.mean(shift))}


# ---- figure and key numbers ----------------------------------------------------------------------
X_AXES = {"cell_size_nm": ("cell size (nm)", False), "v_stop": ("RESET stop voltage (V)", False),
          "bake_s": ("bake time (s)", True), "cycles": ("SET-RESET cycles", True)}
SERIES = ("mode", "kelvin", "cycles")


def _get(row: dict, name: str):
    return row.get("config." + name, getattr(Seed000Params, name))


def _layout(rows: list[dict]) -> tuple[str, str | None]:
    """(x axis, series axis or None): the first varying of X_AXES, and another varying axis."""
    varies = lambda name: len({_get(r, name) for r in rows}) > 1
    x = next((name for name in X_AXES if varies(name)), "cycles")
    return x, next((name for name in SERIES if name != x and varies(name)), None)


def _curves(rows: list[dict]) -> tuple[str, dict]:
    x, series = _layout(rows)
    curves: dict = {}
    for r in rows:
        curves.setdefault(_get(r, series) if series else None, []).append((_get(r, x), r["result.accuracy"]))
    return x, {k: sorted(v) for k, v in sorted(curves.items(), key=lambda kv: str(kv[0]))}


def _label(series: str | None, key) -> str:
    if series == "kelvin":
        return f"{key:g} K"
    if series == "cycles":
        return f"{key:.0e} cycles"
    return "accuracy" if series is None else str(key)


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    x, curves = _curves(rows)
    series = _layout(rows)[1]
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for key, pts in curves.items():
        ax.plot(*zip(*pts), "o-", ms=3, label=_label(series, key))
    ax.axhline(rows[0]["result.fresh"], color="k", ls=":", lw=0.8, label="fresh (tuned)")
    ax.axhline(0.1, color="grey", ls="--", lw=0.8)
    label, log = X_AXES[x]
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("digits test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    ax.set_title("Seed 000 Fig. 6 on the digits (the engine's aging laws)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary(rows: list[dict]) -> list[str]:
    x, curves = _curves(rows)
    series = _layout(rows)[1]
    lines = [f"fresh tuned accuracy {rows[0]['result.fresh']:.4f} (digital {rows[0]['result.digital']:.4f}); "
             f"accuracy vs {X_AXES[x][0]}:"]
    for key, pts in curves.items():
        lines.append(f"  {_label(series, key)}: " + ", ".join(f"{v:g}: {a:.3f}" for v, a in pts))
    return lines


STUDY = Study("seed000-fig6", run=run, params=Seed000Params, figure=figure, summary=summary,
              paper="Seed 000 (MobileNetV2, CIFAR-10): even ignoring other device non-idealities, retention and "
                    "endurance losses significantly affect the network's accuracy; its Fig. 6 plots accuracy vs "
                    "SET-RESET cycles, time at 473 / 523 / 573 K, cell size and RESET stop voltage (the seed text "
                    "available here gives no numbers).")
