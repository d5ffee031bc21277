"""Mapped-network timings against issue 6's budgets, in one process.

1. Inference of the digits perceptron (64-32-10, 64 x 64 double-column tiles) on the 539 test
   digits, after programming: ``circuit`` mode (exact IR drop via cached transfer matrices, 1-ohm
   wires) against ``ideal`` mode. Budget: circuit <= 3 x ideal. Also shown: the per-tile ADC path.
2. Patching and programming (statistical: 16 states, spread, faults, noise) a 512 x 512 Linear
   layer onto 64 x 64 tiles. Budget: <= 5 s. Also shown: what computing its 128 arrays' transfer
   matrices for circuit mode costs (measured on a few arrays, extrapolated unless --full).
3. The MemTorch-style alternative to (1): re-solve every array's circuit for every input vector on
   the general sparse path (assemble, factor, solve), timed on a few inputs and extrapolated to the
   test set; printed with its ratio to circuit-mode inference.

    python benchmarks/bench_nn.py [--repeat 5] [--inputs 3] [--full]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from cosim.nn import ArrayConfig, patch_model
from cosim.nn.data import accuracy, digits_mlp, digits_split, torch_threads, train
from cosim.solve.crossbar import Crossbar
from timing import best_time

CIRCUIT_BUDGET = 3.0   # circuit-mode inference <= 3 x ideal mode
PATCH_BUDGET_S = 5.0   # patch + statistical programming of a 512 x 512 Linear


def inference(repeat: int, n_inputs: int) -> None:
    data = digits_split(seed=0)
    model = train(digits_mlp(32, seed=0), data.x_train, data.y_train, epochs=10)
    x, y = data.x_test, data.y_test
    ideal = patch_model(model, ArrayConfig(mode="ideal"))
    cfg = ArrayConfig(mode="circuit", r_wl=1.0, r_bl=1.0)
    circuit = patch_model(model, cfg)
    with_adc = patch_model(model, ArrayConfig(mode="circuit", r_wl=1.0, r_bl=1.0, adc_bits=8))
    start = time.perf_counter()
    acc = {name: accuracy(m, x, y) for name, m in (("digital", model), ("ideal", ideal), ("circuit", circuit),
                                                    ("circuit+ADC", with_adc))}
    first_s = time.perf_counter() - start             # includes the transfer matrices (computed once)
    with torch.no_grad():
        t_digital = best_time(lambda: model(x), repeat)
        t_ideal = best_time(lambda: ideal(x), repeat)
        t_circuit = best_time(lambda: circuit(x), repeat)
        t_adc = best_time(lambda: with_adc(x), repeat)
    print(f"digits MLP, {len(y)} test inputs; accuracy " + ", ".join(f"{k} {v:.4f}" for k, v in acc.items()))
    print(f"  first pass of all four (transfer matrices of 4+4 arrays included): {first_s:.2f} s")
    print(f"  digital {t_digital * 1e3:8.3f} ms")
    print(f"  ideal   {t_ideal * 1e3:8.3f} ms")
    ratio = t_circuit / t_ideal
    print(f"  circuit {t_circuit * 1e3:8.3f} ms   circuit / ideal = {ratio:.2f} (budget <= {CIRCUIT_BUDGET:.0f}: "
          f"{'OK' if ratio <= CIRCUIT_BUDGET else 'OVER'})")
    print(f"  circuit + 8-bit per-tile ADC {t_adc * 1e3:8.3f} ms   (/ ideal = {t_adc / t_ideal:.2f})")
    memtorch_style(circuit, cfg, x, n_inputs, t_circuit)


def memtorch_style(circuit, cfg: ArrayConfig, x: torch.Tensor, n_inputs: int, t_circuit: float) -> None:
    """Time per-input re-solves (general sparse path, a fresh factorisation each) and extrapolate."""
    arrays = [(name, layer.tiles.g.reshape((-1,) + cfg.tile)) for name, layer in circuit.named_modules()
              if hasattr(layer, "tiles")]
    n_arrays = sum(len(g) for _, g in arrays)
    xb = Crossbar(*cfg.tile, r_wl=cfg.r_wl, r_bl=cfg.r_bl)
    v = np.random.default_rng(0).uniform(0.0, cfg.v_read, (n_inputs, cfg.tile[0]))
    start = time.perf_counter()
    for k in range(n_inputs):
        for _, stack in arrays:
            for g in stack:
                xb.set_conductances(g)        # drops the factorisation: assemble + factor + solve again
                xb.read(v[k])
    per_input = (time.perf_counter() - start) / n_inputs
    total = per_input * len(x)
    print(f"  MemTorch-style re-solve per input ({n_arrays} arrays, general sparse path): {per_input:.3f} s/input; "
          f"{len(x)} inputs ~ {total:.0f} s = {total / t_circuit:.0f} x circuit mode")


def patch_512(full: bool) -> None:
    torch.manual_seed(0)
    layer = nn.Linear(512, 512)
    cfg = ArrayConfig(states=16, d2d_sigma=0.1, stuck_on=0.01, stuck_off=0.01, prog_noise=0.01)
    start = time.perf_counter()
    mapped = patch_model(layer, cfg)
    t_patch = time.perf_counter() - start
    grid = mapped.tiles.grid
    n_arrays = grid.groups * grid.n_row_tiles * grid.n_col_tiles * grid.arrays
    print(f"512x512 Linear, {n_arrays} arrays of 64x64: patch + statistical programming {t_patch:.3f} s "
          f"(budget <= {PATCH_BUDGET_S:.0f} s: {'OK' if t_patch <= PATCH_BUDGET_S else 'OVER'})")
    circuit = patch_model(layer, ArrayConfig(**{**cfg.to_dict(), "mode": "circuit", "r_wl": 1.0, "r_bl": 1.0}))
    tiles = circuit.tiles
    if full:
        start = time.perf_counter()
        tiles.transfer_matrices()
        t_all = time.perf_counter() - start
        print(f"  circuit mode: transfer matrices of all {n_arrays} arrays {t_all:.2f} s")
        return
    xb = tiles.crossbar()
    stack = tiles.g.reshape((-1,) + cfg.tile)[:4]
    start = time.perf_counter()
    for g in stack:
        xb.set_conductances(g)
        xb.transfer_matrix()
    per_array = (time.perf_counter() - start) / len(stack)
    print(f"  circuit mode: transfer matrix {per_array * 1e3:.0f} ms per 64x64 array -> ~{per_array * n_arrays:.1f} s "
          f"for all {n_arrays} (once per programming; --full to measure)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--inputs", type=int, default=3, help="inputs timed for the MemTorch-style re-solve")
    parser.add_argument("--full", action="store_true", help="compute all 128 transfer matrices of the 512x512 layer")
    args = parser.parse_args()
    print(f"torch threads: 1 for the digits network (tiny), {torch.get_num_threads()} otherwise")
    with torch_threads(1):
        inference(args.repeat, args.inputs)
    patch_512(args.full)


if __name__ == "__main__":
    main()
