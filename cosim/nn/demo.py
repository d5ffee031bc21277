"""The network section of ``cosim demo``: a digits perceptron trained, mapped onto crossbars and baked.

A 64-32-10 perceptron is trained on the digits (seconds), mapped onto 64 x 64 double-column 1R tiles
(R_on 1 kohm, R_off 100 kohm, 2-ohm wire segments) in ``circuit`` mode, so IR drop and sneak paths
are exact, and tuned (per-column gain and offset). Then the arrays are baked for 1800 s at 250 C on
their engine clock (the engine's seed-000 retention: every level drifts toward the split between LRS
and HRS, the window closes) and tuned again. Prints the
accuracies; saves ``network.png`` (accuracies, conductances before and after the bake, weights as
the circuit sees them against the digital weights).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.figure import Figure

from cosim.nn.config import ArrayConfig
from cosim.nn.data import accuracy, digits_mlp, digits_split, torch_threads, train
from cosim.nn.mapping import output_gain
from cosim.nn.patch import bake, patch_model, tune

Log = Callable[[str], None]

DEMO_CONFIG = ArrayConfig(tile=(64, 64), scheme="double-column", mode="circuit", r_on=1e3, r_off=1e5,
                          r_wl=2.0, r_bl=2.0, seed=0)
BAKE_S = 1800.0        # s
BAKE_K = 523.15        # K (250 C): past seed 000's retention threshold (~770 s), 85 C would take ~400 years


def network_section(out_dir: Path, log: Log) -> dict:
    """Train, map (circuit mode), tune, bake; log the accuracies and save ``network.png`` in ``out_dir``."""
    out_dir = Path(out_dir)
    with torch_threads(1):                     # a tiny network: one thread is fastest
        return _run(out_dir, log)


def _run(out_dir: Path, log: Log) -> dict:
    start = time.perf_counter()
    data = digits_split(seed=0)
    model = train(digits_mlp(32, seed=0), data.x_train, data.y_train, epochs=10)
    x, y = data.x_test, data.y_test
    acc = {"digital": accuracy(model, x, y)}
    log(f"trained a 64-32-10 perceptron on the digits in {time.perf_counter() - start:.1f} s: "
        f"test accuracy {acc['digital']:.4f} ({len(y)} test digits)")
    cfg = DEMO_CONFIG
    mapped = patch_model(model, cfg)
    acc["mapped"] = accuracy(mapped, x, y)
    tune(mapped)
    acc["mapped, tuned"] = accuracy(mapped, x, y)
    log(f"mapped onto {cfg.tile[0]}x{cfg.tile[1]} double-column tiles ({cfg.r_wl:g}-ohm wires, circuit mode): "
        f"accuracy {acc['mapped']:.4f}, after tune() {acc['mapped, tuned']:.4f}")
    g_before = mapped[0].tiles.g.copy()
    seen = _circuit_weights(mapped[0], cfg)
    bake(mapped, BAKE_S, BAKE_K)
    acc["baked"] = accuracy(mapped, x, y)
    tune(mapped)
    acc["baked, re-tuned"] = accuracy(mapped, x, y)
    log(f"after a bake of {BAKE_S:g} s at {BAKE_K - 273.15:.0f} C: accuracy {acc['baked']:.4f}, "
        f"re-tuned {acc['baked, re-tuned']:.4f}")
    path = out_dir / "network.png"
    _figure(acc, g_before, mapped[0].tiles.g, model[0].weight.detach().numpy().T, seen, cfg, path)
    log(f"saved {path} ({time.perf_counter() - start:.1f} s in all)")
    return {"accuracy": acc, "figure": str(path), "seconds": time.perf_counter() - start}


def _circuit_weights(layer, cfg: ArrayConfig) -> np.ndarray:
    """(n_in, n_out) weights a MemristiveLinear's circuit computes with (IR drop included, no tuning)."""
    tiles = layer.tiles
    gain = tiles.grid.columns(output_gain(tiles.scale, cfg))[:, :, None, :] * cfg.v_read
    seen = (tiles.grid.columns(tiles.signed_matrices("circuit")) * gain).reshape(-1, tiles.grid.padded[1])
    return seen[: tiles.grid.n_in, : tiles.grid.n_out]


def _figure(acc: dict, g_before: np.ndarray, g_after: np.ndarray, w: np.ndarray, seen: np.ndarray,
            cfg: ArrayConfig, path: Path) -> None:
    fig = Figure(figsize=(15, 4.2))
    ax = fig.add_subplot(1, 3, 1)
    names = list(acc)
    ax.bar(range(len(names)), [acc[n] for n in names], color=["k", "C0", "C0", "C3", "C3"])
    ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("test accuracy")
    ax.set_title("digits perceptron")
    ax = fig.add_subplot(1, 3, 2)
    bins = np.logspace(np.log10(cfg.g_off) - 0.5, np.log10(cfg.g_on) + 0.1, 60)
    ax.hist(g_before.ravel(), bins=bins, alpha=0.6, label="programmed")
    ax.hist(g_after.ravel(), bins=bins, alpha=0.6, label=f"after {BAKE_S:g} s at {BAKE_K - 273.15:.0f} C")
    ax.axvline(1.0 / np.sqrt(cfg.r_on * cfg.r_off), color="k", lw=0.8, ls=":", label="split (LRS | HRS)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("cell conductance (S)")
    ax.set_ylabel("cells (layer 1, G+ and G-)")
    ax.legend(fontsize=8)
    ax.set_title("aging (engine law): LRS and HRS converge")
    ax = fig.add_subplot(1, 3, 3)
    ax.plot(w.ravel(), seen.ravel(), ".", ms=2)
    lim = np.abs(w).max()
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
    ax.set_xlabel("digital weight")
    ax.set_ylabel("weight the circuit computes with")
    ax.set_title(f"layer 1 through {cfg.r_wl:g}-ohm wires (IR drop)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
