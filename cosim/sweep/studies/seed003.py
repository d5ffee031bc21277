"""Seed 003 Figs. 6-7 at digits scale: accuracy vs R_off/R_on, device-to-device spread, finite states, stuck cells.

Seed 003 (MemTorch) converts a CIFAR-10 network to double-column 1T1R crossbars of VTEAM devices
(R_on = 200 ohm; R_on ~ N(200, sigma), R_off ~ N(R_off, 2 sigma), sigma in ohm) and tunes each
crossbar's output by linear regression on random inputs. Here a digits network (CNN by default)
is mapped onto 64 x 64 double-column tiles (ideal wires) and tuned the same way (``tune``, 256
random input vectors). The spread is log-normal with the same standard deviation to first order:
d2d_sigma = sigma / R_on and d2d_off_factor = 2 R_on / R_off (a normal law with sigma = R_on / 2
would give negative resistances). A point is the mean over ``seeds`` fabrications.

Fig. 6: states 2..10 x sigma {0, 20, 100} ohm x R_off / R_on {2, 4, 8, 16, 32} (the paper's ratio 1,
no window at all, is not a crossbar cosim builds: ArrayConfig needs r_on < r_off).
Fig. 7: states 2..10 x sigma {0, 20, 100} x stuck proportion {0..25 %} x stuck at ON / OFF / both
(486 points) at the paper's nominal 200 / 500 ohm.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from cosim.nn import ArrayConfig, patch_model, tune
from cosim.sweep.studies.networks import Network, test_accuracy, trained
from cosim.sweep.study import Study

__all__ = ["Seed003Params", "run", "FIG6", "FIG7"]

R_ON_OHM = 200.0


class Stuck(Enum):
    """Which bound the stuck cells are stuck at (both: the proportion at each)."""

    NONE = "none"
    ON = "ON"
    OFF = "OFF"
    BOTH = "both"


@dataclass(frozen=True)
class Seed003Params:
    """One point. ratio: R_off / R_on (> 1). sigma_ohm: std of R_on in ohm (R_off: twice it).
    states: conductance states per cell (0 = continuous). stuck / stuck_fraction: faults.
    network: "cnn" or "mlp"; epochs of training; seeds: fabrications averaged; tile: rows = cols."""

    ratio: float = 2.5
    sigma_ohm: float = 0.0
    states: int = 0
    stuck: str = "none"
    stuck_fraction: float = 0.0
    network: str = "cnn"
    epochs: int = 8
    seeds: int = 3
    tile: int = 64

    def __post_init__(self) -> None:
        if not self.ratio > 1:
            raise ValueError(f"ratio (R_off / R_on) must be > 1; got {self.ratio}")
        if not 0 <= self.sigma_ohm:
            raise ValueError(f"sigma_ohm must be >= 0; got {self.sigma_ohm}")
        if self.states != 0 and self.states < 2:
            raise ValueError(f"states must be 0 (continuous) or >= 2; got {self.states}")
        Stuck(self.stuck)
        Network(self.network)
        if not 0 <= self.stuck_fraction <= 0.5:
            raise ValueError(f"stuck_fraction must be in [0, 0.5]; got {self.stuck_fraction}")
        for name in ("epochs", "seeds", "tile"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")

    def config(self, seed: int) -> ArrayConfig:
        """The array config of this point for fabrication ``seed``."""
        stuck = Stuck(self.stuck)
        on = self.stuck_fraction if stuck in (Stuck.ON, Stuck.BOTH) else 0.0
        off = self.stuck_fraction if stuck in (Stuck.OFF, Stuck.BOTH) else 0.0
        return ArrayConfig(tile=(self.tile, self.tile), scheme="double-column", r_on=R_ON_OHM,
                           r_off=R_ON_OHM * self.ratio, d2d_sigma=self.sigma_ohm / R_ON_OHM,
                           d2d_off_factor=2.0 / self.ratio, states=self.states or None,
                           stuck_on=on, stuck_off=off, seed=seed)


def run(p: Seed003Params, seed: int) -> dict:
    """Mean / min / max tuned test accuracy over ``p.seeds`` fabrications, and the digital accuracy."""
    net = trained(Network(p.network), p.epochs)
    children = np.random.SeedSequence(seed).generate_state(p.seeds, dtype=np.uint32)
    accs = []
    for child in children:
        mapped = patch_model(net.model, p.config(int(child)))
        tune(mapped, n_samples=256, seed=int(child))
        accs.append(test_accuracy(mapped, net))
    return {"accuracy": float(np.mean(accs)), "accuracy_min": float(np.min(accs)),
            "accuracy_max": float(np.max(accs)), "digital": net.digital_accuracy}


# ---- figures and key numbers ---------------------------------------------------------------------
def _cfg(row: dict, name: str):
    return row.get("config." + name, getattr(Seed003Params, name))


def _curves(rows: list[dict], panel: tuple[str, ...], series: str) -> dict:
    """{panel values: {series value: sorted [(states, accuracy)]}}."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        out[tuple(_cfg(r, k) for k in panel)][_cfg(r, series)].append((_cfg(r, "states"), r["result.accuracy"]))
    return {k: {s: sorted(v) for s, v in d.items()} for k, d in out.items()}


def figure6(rows: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    curves = _curves(rows, ("ratio",), "sigma_ohm")
    fig, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3.2), sharey=True, squeeze=False)
    for ax, (ratio,) in zip(axes[0], sorted(curves)):
        for sigma, pts in sorted(curves[(ratio,)].items()):
            ax.plot(*zip(*pts), "o-", ms=3, label=f"sigma {sigma:g} ohm")
        ax.axhline(rows[0]["result.digital"], color="k", ls=":", lw=0.8)
        ax.axhline(0.1, color="grey", ls="--", lw=0.8)
        ax.set_title(f"R_off/R_on = {ratio:g}")
        ax.set_xlabel("conductance states")
        ax.set_ylim(0, 1.02)
    axes[0][0].set_ylabel("test accuracy (tuned)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Seed 003 Fig. 6 on the digits: spread x finite states x window")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def figure7(rows: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    curves = _curves(rows, ("stuck", "sigma_ohm"), "stuck_fraction")
    kinds = [k for k in ("ON", "OFF", "both") if any(c[0] == k for c in curves)]
    sigmas = sorted({c[1] for c in curves})
    fig, axes = plt.subplots(len(kinds), len(sigmas), figsize=(3.2 * len(sigmas), 2.8 * len(kinds)),
                             sharex=True, sharey=True, squeeze=False)
    for i, kind in enumerate(kinds):
        for j, sigma in enumerate(sigmas):
            ax = axes[i][j]
            for frac, pts in sorted(curves.get((kind, sigma), {}).items()):
                ax.plot(*zip(*pts), "o-", ms=3, label=f"{100 * frac:g} %")
            ax.axhline(0.1, color="grey", ls="--", lw=0.8)
            ax.set_title(f"stuck at {kind}, sigma {sigma:g} ohm", fontsize=9)
            ax.set_ylim(0, 1.02)
            if i == len(kinds) - 1:
                ax.set_xlabel("conductance states")
            if j == 0:
                ax.set_ylabel("test accuracy")
    axes[0][0].legend(fontsize=7, title="stuck cells")
    fig.suptitle("Seed 003 Fig. 7 on the digits (R_on 200, R_off 500 ohm)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _acc(rows: list[dict], **where) -> float:
    hits = [r["result.accuracy"] for r in rows if all(_cfg(r, k) == v for k, v in where.items())]
    return float(np.mean(hits)) if hits else float("nan")


def summary6(rows: list[dict]) -> list[str]:
    lines = [f"digital accuracy {rows[0]['result.digital']:.4f}; tuned accuracy at 2 / 4 / 10 states:"]
    for ratio in sorted({_cfg(r, "ratio") for r in rows}):
        for sigma in sorted({_cfg(r, "sigma_ohm") for r in rows}):
            accs = " / ".join(f"{_acc(rows, ratio=ratio, sigma_ohm=sigma, states=n):.3f}" for n in (2, 4, 10))
            lines.append(f"  R_off/R_on {ratio:4g}, sigma {sigma:5g} ohm: {accs}")
    return lines


def summary7(rows: list[dict]) -> list[str]:
    base = _acc(rows, sigma_ohm=0.0, states=10, stuck_fraction=0.0)
    lines = [f"sigma 0, 10 states, no stuck cells: {base:.4f}; drop in accuracy (percentage points):"]
    for kind in ("ON", "OFF", "both"):
        drops = [f"{100 * frac:g} %: {100 * (base - _acc(rows, stuck=kind, sigma_ohm=0.0, states=10, stuck_fraction=frac)):.1f}"
                 for frac in (0.05, 0.25)]
        lines.append(f"  stuck at {kind:4s} (sigma 0, 10 states): " + ", ".join(drops))
    for sigma in sorted({_cfg(r, "sigma_ohm") for r in rows}):
        lines.append(f"  sigma {sigma:5g} ohm, 10 states, 10 % stuck at ON / OFF / both: " + " / ".join(
            f"{_acc(rows, stuck=k, sigma_ohm=sigma, states=10, stuck_fraction=0.1):.3f}" for k in ("ON", "OFF", "both")))
    return lines


FIG6 = Study("seed003-fig6", run=run, params=Seed003Params, figure=figure6, summary=summary6,
             paper="Seed 003 Fig. 6 (CIFAR-10, VTEAM, R_on 200 ohm): as sigma grows a larger R_off/R_on is needed; "
                   "more conductance states make the network much more resilient to spread and a small ratio; "
                   "with R_on = R_off accuracy stays at chance.")
FIG7 = Study("seed003-fig7", run=run, params=Seed003Params, figure=figure7, summary=summary7,
             paper="Seed 003 Fig. 7 (486 simulations, 200 / 500 ohm): stuck-at-R_off cells are tolerated (Fig. 5: "
                   "-3.12 % at 25 %), stuck-at-R_on cells are not (-78.09 % at 25 %; both: -77.74 %); with sigma = 0, "
                   "5 % stuck at R_on already costs 41.93 %; larger sigma makes every stuck proportion worse.")
