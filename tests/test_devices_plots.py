"""Device figures: the curves drawn are the simulated data, and the demo figure is a real PNG."""
import numpy as np
from matplotlib.figure import Figure

from cosim.devices import VTEAM, plots


def test_plot_iv_draws_one_curve_per_device_in_milliamps():
    dev = VTEAM.preset("Pt/Hf/Ti", n=3, rng=0)
    t, v, dt = plots.DEMO_DRIVES[(VTEAM, "Pt/Hf/Ti")].waveform()
    i = dev.simulate(v, dt)
    ax = Figure().subplots()
    plots.plot_iv(ax, v, i)
    curves = [line for line in ax.lines if len(line.get_xdata()) == len(v)]
    assert len(curves) == 3
    for c, line in enumerate(curves):
        assert np.array_equal(line.get_xdata(), v)
        assert np.allclose(line.get_ydata(), 1e3 * i[:, c], rtol=0, atol=0)


def test_demo_drives_cover_every_preset():
    from cosim.devices import MODELS
    expected = {(model, name) for model in MODELS.values() for name in model.PRESETS}
    assert set(plots.DEMO_DRIVES) == expected


def test_hysteresis_figure_writes_a_png(tmp_path):
    path = plots.hysteresis_figure(tmp_path / "sub" / "loops.png", n_devices=2)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
