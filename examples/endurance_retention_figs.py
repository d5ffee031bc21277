"""Seed 000 Figs. 2A-2D and 3A-3C: how well does the general endurance/retention law fit the data?

For every published parameter set (MODELS.md section 3) the digitised data points are drawn with
the published model curve (solid) and with our own least-squares fit (dashed; all data sets of a
panel and state fitted jointly). Data without a published set (2B LRS, 2D LRS) get our fit only.
Printed: the log10-RMS of each data file under the published parameters, under our fit and the
range the reference fits reached.

    python examples/endurance_retention_figs.py [--out out/] [--data tests/data/endurance_retention]
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cosim.devices.aging import EnduranceRetentionLaw  # noqa: E402
from cosim.devices.aging_published import PUBLISHED, DataSet, PublishedFit, read_xy  # noqa: E402

# Data without a published parameter set: (panel, state, mode, data sets); r0 is the first point
UNPUBLISHED = [("2B", "LRS", "gradual", (DataSet("2B_LRS"),)), ("2D", "LRS", "sudden", (DataSet("2D_LRS"),))]
PANELS = {"2A": "2A", "2B": "2B", "2C": "2C", "2D": "2D", "3A": "3A", "3B_O": "3B", "3B_Al": "3B", "3C": "3C"}


def fit_panel(data_dir: Path, fit: PublishedFit | None, mode: str, data: tuple):
    """Read a panel's data, fit the law jointly; returns (curves, rows of the RMS table)."""
    xs, rs = zip(*(read_xy(data_dir / f"{ds.stem}.csv") for ds in data))
    r0 = fit.r0 if fit is not None else float(rs[0][np.argmin(xs[0])])  # unpublished: first point
    temps = None if data[0].temperature is None else [ds.temperature for ds in data]
    ours = EnduranceRetentionLaw.fit(list(xs), list(rs), r0=r0, mode=mode, cell_size=[ds.cell_size for ds in data],
                                     temperature=temps)
    curves, rows = [], []
    for ds, x, r in zip(data, xs, rs):
        grid = np.logspace(math.log10(x.min()) - 0.3, math.log10(x.max()) + 0.3, 400)
        kw = dict(cell_size=ds.cell_size)
        pub = None if fit is None else fit.law.resistance(r0, grid, ds.temperature, **kw)
        curves.append((ds, x, r, grid, pub, ours.resistance(r0, grid, ds.temperature, **kw)))
        rms_pub = None if fit is None else fit.law.log10_rms(r0, x, r, ds.temperature, **kw)
        rows.append((ds.stem, rms_pub, ours.log10_rms(r0, x, r, ds.temperature, **kw),
                     None if fit is None else fit.reference_rms))
    return ours, curves, rows


def draw(ax, curves, color_offset: int) -> None:
    for k, (ds, x, r, grid, pub, ours) in enumerate(curves):
        color = f"C{(color_offset + k) % 10}"
        tag = ds.stem.split("_", 1)[1]
        ax.loglog(x, r, "o", ms=3, color=color, label=f"{tag} data")
        if pub is not None:
            ax.loglog(grid, pub, "-", color=color, lw=1.2)
        ax.loglog(grid, ours, "--", color=color, lw=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--data", type=Path, default=Path(__file__).parent.parent / "tests/data/endurance_retention")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    jobs = [(PANELS[f.figure], f.state, f, f.law.mode.value, f.data) for f in PUBLISHED.values()]
    jobs += [(panel, state, None, mode, data) for panel, state, mode, data in UNPUBLISHED]
    figs = {"2": plt.subplots(2, 2, figsize=(11, 9)), "3": plt.subplots(1, 3, figsize=(15, 4.6))}
    axes = {"2A": figs["2"][1][0, 0], "2B": figs["2"][1][0, 1], "2C": figs["2"][1][1, 0], "2D": figs["2"][1][1, 1],
            "3A": figs["3"][1][0], "3B": figs["3"][1][1], "3C": figs["3"][1][2]}
    used = {panel: 0 for panel in axes}
    print(f"{'data file':<18} {'published':>9} {'our fit':>8}  reference fits")
    for panel, state, fit, mode, data in jobs:
        law, curves, rows = fit_panel(args.data, fit, mode, data)
        draw(axes[panel], curves, used[panel])
        used[panel] += len(curves)
        for stem, rms_pub, rms_fit, ref in rows:
            pub = "     -   " if rms_pub is None else f"{rms_pub:9.3f}"
            refs = "(no published set)" if ref is None else f"{ref[0]:.3f}-{ref[1]:.3f}"
            print(f"{stem:<18} {pub} {rms_fit:8.3f}  {refs}")
        extra = f" r_stable={law.r_stable:.3g}" if law.r_stable is not None else f" p3={law.p3:.4g}"
        print(f"  our {panel} {state} {mode}: p0={law.p0:.4g} p1={law.p1:.4g} p2={law.p2:.4g}{extra}")
    xlabels = {"2": "SET-RESET cycles", "3": "time (s)"}
    for panel, ax in axes.items():
        ax.set(title=f"Fig. {panel} (solid: published, dashed: our fit)", xlabel=xlabels[panel[0]],
               ylabel="R (ohm)")
        ax.legend(fontsize=7)
    for key, (fig, _) in figs.items():
        fig.tight_layout()
        path = args.out / f"endurance_retention_fig{key}.png"
        fig.savefig(path, dpi=110)
        print(f"figure: {path}")


if __name__ == "__main__":
    main()
