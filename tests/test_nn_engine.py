"""Tiles programmed by co-simulated pulses on the engine, and aged by its laws."""
import numpy as np
import torch

from cosim.nn import ArrayConfig, EngineAging, EngineProgrammer, patch_model
from cosim.nn.aging import AgingHistory
from cosim.sim.aging import default_retention


def test_engine_programmed_tiles_reach_their_targets_and_the_layer_works():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    cfg = ArrayConfig(tile=(4, 4), mode="circuit", r_on=1e3, r_off=1e5, r_wl=0.5, r_bl=0.5)
    prog = EngineProgrammer(cfg, tolerance=0.01)
    mm = patch_model(model, cfg, programmer=prog)
    assert len(prog.arrays) == 2 and prog.engine.now > 0          # G+ and G- arrays, real time on the clock
    for arr in prog.arrays:
        assert arr.trace.count("pulse") > 0
    # cells within 1 % of their targets: the layer follows the digital one to a few per cent
    x = torch.randn(16, 3)
    with torch.no_grad():
        err = (mm(x) - model(x)).abs().max().item() / model(x).abs().max().item()
    assert err < 0.05


def test_engine_aging_is_the_engine_retention_law():
    g = np.array([[1 / 1.2e3, 1 / 8e4]])
    aging = EngineAging(1e3, 1e5)
    law = default_retention(1e3, 1e5)
    hist = AgingHistory(bakes=[(3600.0, 523.0)])
    r = law.resistance(1.0 / g, 3600.0, 523.0)
    expected_r = np.where(1.0 / g < law.r_split, np.minimum(r, law.r_split), np.maximum(r, law.r_split))
    assert np.allclose(aging.conductance(g, hist, np.random.default_rng(0)), 1.0 / expected_r, rtol=1e-12)
    # two half bakes equal one
    half = AgingHistory(bakes=[(1800.0, 523.0), (1800.0, 523.0)])
    assert np.allclose(aging.conductance(g, half, None), aging.conductance(g, hist, None), rtol=1e-12)
    assert np.array_equal(aging.conductance(g, AgingHistory(), None), g)
