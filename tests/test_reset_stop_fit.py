"""Seed 000 Fig. 4: the RESET stop voltage window fitted to the digitised data (tests/data), and to a
window written out in the test."""
from pathlib import Path

import numpy as np
import pytest

from cosim.devices.aging import ResetStopWindow
from cosim.devices.reset_stop_fit import fit_reset_stop_window

DATA = Path(__file__).parent / "data" / "endurance_retention"


def published_log10(v):
    """MODELS.md section 3: Fig. 4 window v_min 1.4, v_max 2.4, threshold 1e5 at v_opt 1.8 (k = 5.2083)."""
    s = (np.asarray(v) - 1.4) / 1.0
    return 5.2083 * np.clip(1 - (2 * s - 1) ** 2, 0, None)


def test_fit_recovers_a_window_written_out():
    v = np.linspace(1.2, 2.6, 30)
    s = (v - 1.45) / (2.35 - 1.45)
    y = 10 ** (4.5 * np.clip(1 - (2 * s - 1) ** 2, 0, None))
    fit = fit_reset_stop_window(v, y)
    assert fit.window.v_min == pytest.approx(1.45, abs=1e-6)
    assert fit.window.v_max == pytest.approx(2.35, abs=1e-6)
    assert fit.peak_log10 == pytest.approx(4.5, abs=1e-6) and fit.rms_log10 < 1e-6
    assert isinstance(fit.window, ResetStopWindow) and fit.window.v_opt == pytest.approx(1.9)


def test_fit_to_seed_000_fig4_data_beats_the_published_window():
    data = np.concatenate([np.loadtxt(DATA / f"4_{c}.csv", delimiter=",") for c in ("10uA", "20uA", "50uA")])
    v, x_th = data[:, 0], data[:, 1]
    fit = fit_reset_stop_window(v, x_th)
    published_rms = np.sqrt(np.mean((published_log10(v) - np.log10(x_th)) ** 2))
    assert fit.rms_log10 == pytest.approx(np.sqrt(np.mean((np.log10(fit.threshold(v)) - np.log10(x_th)) ** 2)))
    assert fit.rms_log10 < 0.7 * published_rms            # 0.83 vs 1.31 decades
    assert 1.2 < fit.window.v_min < 1.45 and 2.2 < fit.window.v_max < 2.45
    assert 4.5 < fit.peak_log10 < 5.5                     # the peak threshold is ~1e5 cycles, as published
    # the window scales a law's threshold exponent: 1 at its middle, 0 at its edges
    assert fit.window.exponent_scale(fit.window.v_opt) == pytest.approx(1.0)
    assert fit.window.exponent_scale(fit.window.v_min) == pytest.approx(0.0)


def test_fit_rejects_bad_data():
    with pytest.raises(ValueError, match="threshold"):
        fit_reset_stop_window([1.5, 1.6, 1.7, 1.8], [1.0, -2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="v_stop"):
        fit_reset_stop_window([1.5, 1.6], [1.0, 2.0])
