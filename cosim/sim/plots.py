"""Figures of an engine trace: cumulative energy, operations in time, temperature (matplotlib, Agg)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from cosim.sim.trace import Trace

OPERATIONS = ("pulse", "read", "bake", "idle", "cycle")


def trace_figure(trace: Trace, path) -> Path:
    """Three panels over simulated time: cumulative energy (J), operation kinds, temperature (K)."""
    t = trace.column("time_s")
    fig = Figure(figsize=(8, 6.5))
    ax_e, ax_op, ax_t = fig.subplots(3, 1, sharex=True)
    ax_e.plot(t, np.cumsum(trace.column("energy_j")), drawstyle="steps-post")
    ax_e.set_ylabel("energy (J)")
    kinds = np.array([r.operation for r in trace])
    for k, op in enumerate(OPERATIONS):
        mask = kinds == op
        if mask.any():
            ax_op.plot(t[mask], np.full(mask.sum(), k), "|", markersize=12, label=f"{op} ({mask.sum()})")
    ax_op.set_yticks(range(len(OPERATIONS)), OPERATIONS)
    ax_op.legend(fontsize=8, loc="upper right")
    ax_t.plot(t, trace.column("temperature_k"), drawstyle="steps-post")
    ax_t.set_ylabel("temperature (K)")
    ax_t.set_xlabel("simulated time (s)")
    if t.size and t.max() > 0 and (t[t > 0].min() / t.max()) < 1e-3:
        ax_t.set_xscale("symlog", linthresh=max(t[t > 0].min(), 1e-12))
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
