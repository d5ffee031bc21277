"""Seed 004 Fig. 5 in simulation: does the weak-RESET model give the measured statistics?

64 simulated HfOx devices (Table I spread, Table II noise) receive 2000 weak-RESET pulses, one at a
time. The figure shows (a) the trajectories of the gap w, (b) the histogram of per-pulse increments
with Gaussian and Lorentzian (Cauchy) fits, (c) the mean power spectral density of w with 1/f^2 and
1/f guides, (d) the mean cross-correlation between devices. Printed: the increment statistics, the
PSD slopes at low and high frequency and the zero-lag cross-correlation.

    python examples/weak_reset_fig5.py [--out out/] [--seed 0] [--devices 64] [--pulses 2000]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import signal, stats  # noqa: E402

from cosim.devices.weak_reset import WeakResetHfOx  # noqa: E402


def simulate(n_devices: int, n_pulses: int, seed: int) -> np.ndarray:
    """(n_pulses + 1, n_devices) gap w read before the first and after every pulse."""
    dev = WeakResetHfOx(n_devices, rng=seed)
    w = np.empty((n_pulses + 1, n_devices))
    w[0] = dev.w()
    one = np.ones(n_devices, dtype=np.int64)
    for k in range(n_pulses):
        dev.apply_pulses(one)
        w[k + 1] = dev.w()
    return w


def mean_psd(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Periodogram of each device's w (mean removed), averaged over devices; f in 1/pulse."""
    f, psd = signal.periodogram(w - w.mean(axis=0), axis=0)
    return f[1:], psd[1:].mean(axis=1)


def loglog_slope(f: np.ndarray, psd: np.ndarray, lo: float, hi: float) -> float:
    band = (f >= lo) & (f <= hi)
    return float(np.polyfit(np.log10(f[band]), np.log10(psd[band]), 1)[0])


def mean_cross_correlation(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised cross-correlation averaged over all device pairs i != j, by lag (pulses).

    With z_i the standardised series and Z_i its FFT, the sum over pairs of the cross-spectra is
    |sum_i Z_i|^2 - sum_i |Z_i|^2, so no loop over pairs is needed.
    """
    n_t, n_dev = w.shape
    z = (w - w.mean(axis=0)) / w.std(axis=0)
    spec = np.fft.rfft(z, n=2 * n_t, axis=0)
    pairs = np.abs(spec.sum(axis=1)) ** 2 - np.sum(np.abs(spec) ** 2, axis=1)
    cc = np.fft.irfft(pairs, n=2 * n_t) / (n_dev * (n_dev - 1) * n_t)
    lags = np.arange(-n_t + 1, n_t)
    return lags, np.concatenate([cc[-n_t + 1:], cc[:n_t]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--devices", type=int, default=64)
    parser.add_argument("--pulses", type=int, default=2000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    w = simulate(args.devices, args.pulses, args.seed)
    inc = np.diff(w, axis=0).ravel()
    cauchy_loc, cauchy_scale = stats.cauchy.fit(inc)
    f, psd = mean_psd(w)
    low, high = loglog_slope(f, psd, 5e-4, 1e-2), loglog_slope(f, psd, 0.1, 0.5)
    lags, cc = mean_cross_correlation(w)

    print(f"devices {args.devices}, pulses {args.pulses}, seed {args.seed}")
    print(f"w after the last pulse: mean {w[-1].mean():.3f}, std {w[-1].std():.3f}")
    print(f"increments: std {inc.std():.4f}, excess kurtosis {stats.kurtosis(inc):.1f} (Gaussian: 0), "
          f"Cauchy fit loc {cauchy_loc:.2e} scale {cauchy_scale:.4f}")
    print(f"mean PSD slope: {low:.2f} for f in [5e-4, 1e-2] /pulse (1/f^2 expected), "
          f"{high:.2f} for f in [0.1, 0.5] /pulse (1/f expected)")
    print(f"mean cross-correlation between devices at lag 0: {cc[lags == 0][0]:.3f}")

    fig, ax = plt.subplots(2, 2, figsize=(10, 8))
    pulses = np.arange(w.shape[0])
    ax[0, 0].plot(pulses, w, ".", ms=0.6, color="0.6")
    ax[0, 0].plot(pulses, w[:, 0], "-", lw=0.8, color="C3", label="device 0")
    ax[0, 0].set(xlabel="weak-RESET pulses", ylabel="w", title="(a) trajectories")
    ax[0, 0].legend()
    span = np.max(np.abs(inc))  # the full range: the rare RTN jumps make the tails
    bins = np.linspace(-span, span, 201)
    density, _, _ = ax[0, 1].hist(inc, bins=bins, density=True, color="0.6", label="simulation")
    grid = np.linspace(-span, span, 400)
    ax[0, 1].plot(grid, stats.cauchy.pdf(grid, cauchy_loc, cauchy_scale), "C3", label="Lorentzian fit")
    ax[0, 1].plot(grid, stats.norm.pdf(grid, inc.mean(), inc.std()), "C0--", label="Gaussian, same std")
    ax[0, 1].set(yscale="log", ylim=(0.5 / inc.size / (bins[1] - bins[0]), 3 * density.max()), xlabel="increment of w per pulse", ylabel="density", title="(b) increments")
    ax[0, 1].legend()
    ax[1, 0].loglog(f, psd, color="0.3")
    for slope, f0, style in ((-2, 3e-3, "C3--"), (-1, 0.2, "C0--")):
        ref = psd[np.argmin(np.abs(f - f0))]
        ax[1, 0].loglog(f, ref * (f / f0) ** slope, style, lw=1, label=f"1/f^{-slope}")
    ax[1, 0].set(ylim=(psd.min() / 3, psd.max() * 3), xlabel="frequency (1/pulse)", ylabel="mean PSD of w",
                 title="(c) mean PSD")
    ax[1, 0].legend()
    ax[1, 1].plot(lags, cc, color="0.3")
    ax[1, 1].set(xlabel="lag (pulses)", ylabel="mean cross-correlation", title="(d) cross-correlation")
    fig.tight_layout()
    path = args.out / "weak_reset_fig5.png"
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
