"""Seed 003 Fig. 5 on the digits: how much accuracy does each device non-ideality cost a mapped network?

A perceptron (64-32-10) and a small CNN (two 3x3 convolutions, a linear classifier) are trained on
the digits here, mapped onto 64 x 64 double-column tiles (R_on 1 kohm, R_off 100 kohm, 0.2 V reads)
and evaluated on the held-out digits while one non-ideality is swept at a time:
device-to-device spread (sigma of ln R_on; ln R_off has twice it, as in the seed), the number of
conductance states (2..10), the proportion of stuck cells (ON, OFF, both: the same proportion each)
and the wire resistance per segment (0..5 ohm, circuit mode: exact IR drop and sneak paths).
Each point is the mean over seeds (fabrication draws); "raw" is the mapping alone, "tuned" after
seed 003's per-column linear regression (``tune``) on random inputs.

Prints one line per point; writes ``dnn_seed003_fig5.csv`` and ``dnn_seed003_fig5.png``.

    python examples/dnn_seed003_fig5.py [--out out/] [--seeds 3] [--quick]
"""
from __future__ import annotations

import argparse
import csv
import time
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cosim.nn import ArrayConfig, patch_model, tune  # noqa: E402
from cosim.nn.data import accuracy, digits_cnn, digits_mlp, digits_split, torch_threads, train  # noqa: E402

BASE = ArrayConfig(tile=(64, 64), scheme="double-column", r_on=1e3, r_off=1e5)
SWEEPS = {
    "d2d_sigma": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5],
    "states": list(range(2, 11)),
    "stuck": [0.0, 0.05, 0.10, 0.15, 0.20, 0.25],
    "wire_ohm": [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0],
}
STUCK_SERIES = ("ON", "OFF", "both")


def configs(sweep: str, value: float, series: str) -> ArrayConfig:
    """The config of one point of a sweep."""
    if sweep == "d2d_sigma":
        return replace(BASE, d2d_sigma=value)
    if sweep == "states":
        return replace(BASE, states=int(value))
    if sweep == "stuck":
        on = value if series in ("ON", "both") else 0.0
        off = value if series in ("OFF", "both") else 0.0
        return replace(BASE, stuck_on=on, stuck_off=off)
    return replace(BASE, mode="circuit", r_wl=value, r_bl=value)


def evaluate(model, x, y, cfg: ArrayConfig, seeds: list[int]) -> tuple[float, float]:
    """Mean accuracy over seeds, raw and tuned."""
    raw, tuned = [], []
    for seed in seeds:
        mapped = patch_model(model, replace(cfg, seed=seed))
        raw.append(accuracy(mapped, x, y))
        tune(mapped, n_samples=256, seed=seed)
        tuned.append(accuracy(mapped, x, y))
    return float(np.mean(raw)), float(np.mean(tuned))


def run_study(out: Path, n_seeds: int, quick: bool) -> list[dict]:
    data = digits_split(seed=0)
    images = (data.as_images(data.x_train), data.as_images(data.x_test))
    nets = {
        "MLP": (train(digits_mlp(32, seed=0), data.x_train, data.y_train, epochs=10), data.x_test),
        "CNN": (train(digits_cnn(seed=0), images[0], data.y_train, epochs=8), images[1]),
    }
    rows = []
    for name, (model, x_test) in nets.items():
        digital = accuracy(model, x_test, data.y_test)
        print(f"{name}: digital test accuracy {digital:.4f}")
        rows.append(dict(network=name, sweep="digital", series="", value=0.0, acc_raw=digital, acc_tuned=digital))
        for sweep, values in SWEEPS.items():
            values = values[::2] if quick else values
            stochastic = sweep in ("d2d_sigma", "stuck")
            seeds = list(range(n_seeds)) if stochastic else [0]
            for series in (STUCK_SERIES if sweep == "stuck" else ("",)):
                for value in values:
                    start = time.perf_counter()
                    raw, tuned = evaluate(model, x_test, data.y_test, configs(sweep, value, series), seeds)
                    rows.append(dict(network=name, sweep=sweep, series=series, value=value, acc_raw=raw, acc_tuned=tuned))
                    print(f"{name} {sweep:9s} {series:4s} {value:6.3g}: raw {raw:.4f} tuned {tuned:.4f} "
                          f"({len(seeds)} seed{'s' * (len(seeds) > 1)}, {time.perf_counter() - start:.1f} s)", flush=True)
    return rows


def save(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "dnn_seed003_fig5.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    titles = {"d2d_sigma": "device-to-device spread sigma (ln R)", "states": "conductance states",
              "stuck": "proportion of stuck cells", "wire_ohm": "wire resistance per segment (ohm)"}
    fig, axes = plt.subplots(2, 4, figsize=(16, 7), sharey=True)
    for r, net in enumerate(("MLP", "CNN")):
        digital = next(x["acc_raw"] for x in rows if x["network"] == net and x["sweep"] == "digital")
        for c, sweep in enumerate(SWEEPS):
            ax = axes[r, c]
            for k, series in enumerate(STUCK_SERIES if sweep == "stuck" else ("",)):
                pts = [x for x in rows if x["network"] == net and x["sweep"] == sweep and x["series"] == series]
                v = [p["value"] for p in pts]
                color = f"C{k}"
                label = f"stuck at {series}" if series else "raw"
                ax.plot(v, [p["acc_raw"] for p in pts], "o-", color=color, label=label + (" (raw)" if series else ""))
                ax.plot(v, [p["acc_tuned"] for p in pts], "s--", color=color, alpha=0.7,
                        label=(label + " (tuned)") if series else "tuned")
            ax.axhline(digital, color="k", lw=0.8, ls=":", label="digital")
            ax.axhline(0.1, color="grey", lw=0.8, ls="--", label="chance")
            ax.set_xlabel(titles[sweep])
            ax.set_title(f"{net}: {sweep}")
            ax.set_ylim(0, 1.02)
            if c == 0:
                ax.set_ylabel("test accuracy")
            ax.legend(fontsize=7)
    fig.suptitle("Seed 003 Fig. 5 on the digits: 64x64 double-column tiles, R_on 1 kohm, R_off 100 kohm")
    fig.tight_layout()
    fig.savefig(out / "dnn_seed003_fig5.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--seeds", type=int, default=3, help="fabrication seeds per stochastic point")
    parser.add_argument("--quick", action="store_true", help="every other sweep value (a smoke run)")
    args = parser.parse_args()
    start = time.perf_counter()
    with torch_threads(1):      # tiny networks: one thread is fastest
        rows = run_study(args.out, args.seeds, args.quick)
    save(rows, args.out)
    print(f"wrote {args.out / 'dnn_seed003_fig5.csv'} and .png in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
