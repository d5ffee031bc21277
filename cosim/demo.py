"""The ``cosim demo`` tour: a list of sections, each a short study that prints its key numbers and saves a figure.

A section is a function ``section(out_dir, log) -> dict`` (``log`` prints one progress or result
line); :data:`SECTIONS` lists them in the order they run. The circuit section reads two 64 x 64 arrays
(1T1R and 1R, 2.5-ohm wire segments, cells log-uniform between 1 kohm and 100 kohm, seed 0) with 0.2 V
on every word line and reports what the wire resistance does to the read.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.figure import Figure

from cosim.solve.crossbar import Crossbar

Log = Callable[[str], None]

DEMO_SIZE = 64            # rows = cols
DEMO_R_WIRE = 2.5         # ohm per word-/bit-line segment
DEMO_R_CELL = (1e3, 1e5)  # ohm, cell resistances are log-uniform in this range
DEMO_R_ON_TRANSISTOR = 1e3  # ohm, 1T1R access transistor when on
DEMO_V_READ = 0.2         # V on every word line
DEMO_SEED = 0


def demo_arrays(rng: np.random.Generator) -> dict[str, Crossbar]:
    """The two demo arrays, sharing one random conductance map."""
    lo, hi = np.log(DEMO_R_CELL[0]), np.log(DEMO_R_CELL[1])
    g = 1.0 / np.exp(rng.uniform(lo, hi, (DEMO_SIZE, DEMO_SIZE)))
    arrays = {}
    for cell in ("1T1R", "1R"):
        xb = Crossbar(DEMO_SIZE, DEMO_SIZE, cell, r_wl=DEMO_R_WIRE, r_bl=DEMO_R_WIRE,
                      r_on_transistor=DEMO_R_ON_TRANSISTOR)
        xb.set_conductances(g)
        arrays[cell] = xb
    return arrays


def read_figures(xb: Crossbar, v_read: np.ndarray) -> dict:
    """Key numbers of one parallel read: ideal vs actual sense currents, IR drop, power.

    Ideal = the same cells with ideal wires (I = V @ G_eff). The far cell is (row 0, last column):
    farthest from its driver (column 0) and from its sense amplifier (last row).
    """
    sol = xb.solve(v_read)
    ideal = v_read @ xb.effective_conductances()
    rel_error = (ideal - sol.sense_currents) / ideal
    v_line = sol.wl_voltages - sol.bl_voltages    # word-line minus bit-line voltage at each cell
    return {
        "solution": sol,
        "ideal_total_A": float(ideal.sum()),
        "actual_total_A": float(sol.sense_currents.sum()),
        "worst_rel_error": float(rel_error.max()),
        "worst_col": int(rel_error.argmax()),
        "mean_rel_error": float(rel_error.mean()),
        "far_cell_v": float(v_line[0, -1]),
        "min_cell_v": float(v_line.min()),
        "power_W": float(sol.power),
        "wire_power_W": float(sol.power_by_kind["wire"]),
        "conservation": float(abs(sol.driver_currents.sum() - sol.sense_currents.sum()) / sol.sense_currents.sum()),
    }


def circuit_section(out_dir: Path, log: Log) -> dict:
    """Read a 64 x 64 1T1R and a 64 x 64 1R array with wire resistance; print IR-drop figures; save a heat map."""
    rng = np.random.default_rng(DEMO_SEED)
    arrays = demo_arrays(rng)
    v_read = np.full(DEMO_SIZE, DEMO_V_READ)
    log(f"{DEMO_SIZE}x{DEMO_SIZE} arrays, {DEMO_R_WIRE} ohm wire segments, cells log-uniform "
        f"{DEMO_R_CELL[0]:.0f}..{DEMO_R_CELL[1]:.0f} ohm (seed {DEMO_SEED}), {DEMO_V_READ} V on every word line")
    results = {}
    for cell, xb in arrays.items():
        start = time.perf_counter()
        res = read_figures(xb, v_read)
        res["solve_s"] = time.perf_counter() - start
        results[cell] = res
        log(f"{cell}: total sense current {res['actual_total_A'] * 1e3:.4f} mA "
            f"(ideal wires {res['ideal_total_A'] * 1e3:.4f} mA) in {res['solve_s'] * 1e3:.0f} ms")
        log(f"{cell}: IR-drop error of the column currents: worst {res['worst_rel_error'] * 100:.2f} % "
            f"(column {res['worst_col']}), mean {res['mean_rel_error'] * 100:.2f} %")
        log(f"{cell}: word line to bit line at the far cell (row 0, col {DEMO_SIZE - 1}): "
            f"{res['far_cell_v'] * 1e3:.2f} mV of {DEMO_V_READ * 1e3:.0f} mV applied "
            f"(IR drop {(DEMO_V_READ - res['far_cell_v']) * 1e3:.2f} mV); lowest cell {res['min_cell_v'] * 1e3:.2f} mV")
        log(f"{cell}: power {res['power_W'] * 1e3:.4f} mW, of which wires "
            f"{res['wire_power_W'] / res['power_W'] * 100:.2f} %; drivers vs senses current balance "
            f"{res['conservation']:.1e}")
    figure = Path(out_dir) / "circuit_cell_voltages.png"
    save_cell_voltage_map({cell: r["solution"].cell_voltages for cell, r in results.items()}, figure)
    log(f"heat map of the voltage across every cell: {figure}")
    return {"figure": figure, **{cell: {k: v for k, v in r.items() if k != "solution"}
                                 for cell, r in results.items()}}


def save_cell_voltage_map(cell_voltages: dict[str, np.ndarray], path: Path) -> None:
    """One heat map (mV) per array, side by side, saved as a PNG."""
    fig = Figure(figsize=(5.2 * len(cell_voltages), 4.4), layout="constrained")
    for k, (name, v) in enumerate(cell_voltages.items()):
        ax = fig.add_subplot(1, len(cell_voltages), k + 1)
        image = ax.imshow(v * 1e3, cmap="viridis", origin="upper")
        ax.set_title(f"{name}: voltage across each cell")
        ax.set_xlabel("column (bit line); sense at the bottom")
        ax.set_ylabel("row (word line); driver at the left")
        fig.colorbar(image, ax=ax, label="mV")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def device_section(out_dir: Path, log: Log) -> dict:
    """Hysteresis loops of every named device preset, with a little device-to-device spread."""
    from cosim.devices import MODELS
    from cosim.devices.plots import hysteresis_figure

    for name, model in MODELS.items():
        for preset in model.PRESETS:
            dev = model.preset(preset, n=1)
            g_off, g_on = dev.conductance_bounds()
            log(f"{name} {preset!r}: R_on {1 / g_on[0]:.4g} ohm, R_off {1 / g_off[0]:.4g} ohm")
    path = hysteresis_figure(out_dir / "device_hysteresis.png")
    log(f"figure (I-V loops of every preset): {path}")
    return {"figure": path}


def engine_section(out_dir: Path, log: Log) -> dict:
    """Program a 16 x 16 1T1R array with write-verify on the engine clock, read it, bake it (3 h at 498 K), read again."""
    from cosim import Engine

    eng = Engine(temperature=300.0)
    arr = eng.array(16, 16, cell="1T1R", seed=7, r_wl=1.0, r_bl=1.0, r_on_transistor=200.0)   # default HfOx cells
    lo, hi = arr.conductance_bounds()
    i, j = np.mgrid[:16, :16]
    target = np.where((i // 4 + j // 4) % 2 == 0, 0.8 * hi, 1.5 * lo)     # a 4x4-block checkerboard
    log("write-verify of a 16x16 1T1R array of HfOx VTEAM cells (the engine's default device) to 1 % ...")
    rep = arr.program(target, scheme="write-verify", tolerance=0.01)
    log(rep.summary())
    v = np.full(16, 0.1)
    before = arr.read(v)
    g_programmed = arr.conductances()
    arr.bake(3.0 * 3600.0, 498.0)
    after = arr.read(v)
    lrs = target > np.sqrt(lo * hi)
    g = arr.conductances()
    log(f"read at 0.1 V: total sense current {before.sum() * 1e3:.3f} mA; after 3 h at 498 K "
        f"{after.sum() * 1e3:.3f} mA")
    log(f"after the bake: mean LRS G {g_programmed[lrs].mean() * 1e3:.3f} -> {g[lrs].mean() * 1e3:.3f} mS, "
        f"mean HRS G {g_programmed[~lrs].mean() * 1e3:.3f} -> {g[~lrs].mean() * 1e3:.3f} mS; clock at {eng.now:.4g} s")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, m, title in ((axes[0], g_programmed, "programmed"), (axes[1], g, "after 3 h at 498 K")):
        im = ax.imshow(m * 1e3, cmap="viridis", vmin=0, vmax=hi.max() * 1e3)
        ax.set_title(title)
        ax.set_xlabel("bit line (column index)")
        ax.set_ylabel("word line (row index)")
        fig.colorbar(im, ax=ax, label="conductance (mS)")
    axes[2].hist(rep.error.ravel() * 100, bins=40)
    axes[2].set_xlabel("write-verify error (%)")
    axes[2].set_ylabel("cells (count)")
    fig.tight_layout()
    path = out_dir / "engine_write_verify_bake.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    log(f"figure: {path}")
    return {"success_rate": rep.success_rate, "energy_j": rep.energy, "time_s": eng.now,
            "current_before_a": float(before.sum()), "current_after_a": float(after.sum())}


def network_section(out_dir: Path, log: Log) -> dict:
    """A network trained on digits, mapped onto crossbar tiles in circuit mode, then baked."""
    from cosim.nn.demo import network_section as run

    return run(out_dir, log)


SECTIONS: list[tuple[str, Callable[[Path, Log], dict]]] = [
    ("circuit", circuit_section),
    ("device", device_section),
    ("engine", engine_section),
    ("network", network_section),
]


def run_demo(out_dir, log: Log = print) -> dict:
    """Run every section in :data:`SECTIONS`; return their results by section name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, section in SECTIONS:
        start = time.perf_counter()
        log(f"[{name}] ...")
        results[name] = section(out_dir, lambda line, name=name: log(f"[{name}] {line}"))
        log(f"[{name}] done in {time.perf_counter() - start:.2f} s")
    return results
