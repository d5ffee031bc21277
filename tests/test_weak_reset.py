"""Weak-RESET HfOx model: Table I statistics, the mean model, noise statistics, input checks."""
import numpy as np
import pytest
from scipy import integrate, signal, stats

from cosim.devices.pink_noise import PinkNoiseHistory, kasdin_coefficients
from cosim.devices.weak_reset import (
    WeakResetHfOx, WeakResetNoise, WeakResetNominal, WeakResetOptions, rtn_switch_probabilities,
)
from cosim.devices.weak_reset_synapse import DifferentialSynapse2T2R, update_pulse_counts

P_MIN = 1e-3  # KS p-value below which a sample is rejected (fixed seeds: deterministic)

# Table I of seed 004 with the truncations of MODELS.md, as scipy.stats distributions (the oracle).
_lognorm = stats.lognorm(0.80, scale=542.5)
TABLE_I = {
    "a": stats.uniform(0.0, 0.5),
    "m1": stats.truncexpon((0.0076 - 3.74e-5) / 6.56e-4, loc=3.74e-5, scale=6.56e-4),
    "c1": stats.truncnorm((-0.15 - 5.29e-3) / 5.32e-2, (0.15 - 5.29e-3) / 5.32e-2, loc=5.29e-3, scale=5.32e-2),
    "m2": stats.truncexpon((1.3e-4 - 1.64e-34) / 2.89e-5, loc=1.64e-34, scale=2.89e-5),
    "R0": stats.truncnorm((6252 - 6988) / 381.7, (7897 - 6988) / 381.7, loc=6988, scale=381.7),
}


def truncated_lognorm_cdf(x):
    lo, hi = _lognorm.cdf(41.0), _lognorm.cdf(2000.0)
    return np.clip((_lognorm.cdf(x) - lo) / (hi - lo), 0.0, 1.0)


def mean_model(t, m1, c1, t_star, m2):
    """Eq. (3) of seed 004 written as in the paper (two branches)."""
    return np.where(t < t_star, m1 * t + c1, m2 * t + (m1 - m2) * t_star + c1)


@pytest.mark.parametrize("name", ["a", "m1", "c1", "t_star", "m2", "R0"])
def test_d2d_parameters_follow_table_i(name):
    x = WeakResetHfOx(20_000, rng=3).params[name]
    cdf = truncated_lognorm_cdf if name == "t_star" else TABLE_I[name].cdf
    assert stats.kstest(x, cdf).pvalue > P_MIN
    bounds = {"m1": (3.74e-5, 0.0076), "c1": (-0.15, 0.15), "t_star": (41, 2000), "m2": (0, 1.3e-4),
              "R0": (6252, 7897), "a": (0, 0.5)}[name]
    assert bounds[0] <= x.min() and x.max() <= bounds[1]


def test_nominal_device_is_the_truncated_means():
    nominal = WeakResetNominal()
    t_mean = integrate.quad(lambda t: 1.0 - truncated_lognorm_cdf(t), 41.0, 2000.0)[0] + 41.0
    expected = {name: dist.mean() for name, dist in TABLE_I.items()} | {"t_star": t_mean}
    for name, value in expected.items():
        assert getattr(nominal, name) == pytest.approx(value, rel=1e-5), name


def test_without_noise_and_d2d_every_device_follows_the_mean_model_exactly():
    dev = WeakResetHfOx(50, rng=0, options=WeakResetOptions(d2d=False, rtn=False, pink=False))
    nom = WeakResetNominal()
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(30):
        dev.apply_pulses(rng.integers(0, 80, dev.n))
        t = dev.pulses.astype(float)
        w = mean_model(t, nom.m1, nom.c1, nom.t_star, nom.m2)
        np.testing.assert_allclose(dev.resistance(), nom.R0 * np.exp(w), rtol=1e-12)
        seen |= set(t < nom.t_star)
    assert seen == {True, False}  # both slopes visited


def test_mean_of_w_follows_the_two_slope_model():
    """E[w(t)] = mean_i w_mean,i(t) + mean(a) p01(t): pink noise has zero mean, X starts at 0."""
    n = 20_000
    dev = WeakResetHfOx(n, rng=5)
    p = dev.params
    rng = np.random.default_rng(6)
    t_done = 0
    for t_check in (50, 300, 800, 2000):
        step = t_check - t_done
        first = rng.integers(0, step + 1, n)  # reach t_check in two uneven per-cell parts
        dev.apply_pulses(first)
        dev.apply_pulses(step - first)
        t_done = t_check
        expected = mean_model(t_check, p.m1, p.c1, p.t_star, p.m2).mean() \
            + p.a.mean() * rtn_switch_probabilities(t_check, 0.0008, 0.002)[0]
        w = dev.w()
        assert abs(w.mean() - expected) < 4 * w.std() / np.sqrt(n) + 1e-4, t_check
        noise = w - mean_model(t_check, p.m1, p.c1, p.t_star, p.m2)
        assert abs(np.mean(noise - p.a * dev.rtn_state)) < 4 * 0.025 * np.linalg.norm(kasdin_coefficients(15)) / np.sqrt(n)


def simulate_w(n_dev=64, n_pulses=2000, seed=0):
    dev = WeakResetHfOx(n_dev, rng=seed)
    w = np.empty((n_pulses + 1, n_dev))
    w[0] = dev.w()
    for k in range(n_pulses):
        dev.apply_pulses(np.ones(n_dev, dtype=int))
        w[k + 1] = dev.w()
    return w


@pytest.fixture(scope="module")
def fig5_trajectories():
    return simulate_w()


def test_increments_are_heavy_tailed(fig5_trajectories):
    inc = np.diff(fig5_trajectories, axis=0).ravel()
    assert stats.kurtosis(inc) > 6.0  # Gaussian: 0; paper: Lorentzian-like tails


def test_mean_psd_slopes(fig5_trajectories):
    w = fig5_trajectories
    f, psd = signal.periodogram(w - w.mean(axis=0), axis=0)
    psd = psd.mean(axis=1)

    def slope(lo, hi):
        m = (f >= lo) & (f <= hi)
        return np.polyfit(np.log10(f[m]), np.log10(psd[m]), 1)[0]

    assert slope(5e-4, 1e-2) == pytest.approx(-2.0, abs=0.3)
    assert slope(0.1, 0.5) == pytest.approx(-1.0, abs=0.3)


def test_rtn_n_step_probabilities_match_matrix_power():
    p_h, p_l = 0.0008, 0.002
    T = np.array([[1 - p_h, p_h], [p_l, 1 - p_l]])
    for n in (0, 1, 7, 500, 10_000):
        Tn = np.linalg.matrix_power(T, n)
        p01, p10 = rtn_switch_probabilities(n, p_h, p_l)
        assert p01 == pytest.approx(Tn[0, 1], abs=1e-12) and p10 == pytest.approx(Tn[1, 0], abs=1e-12)


def test_rtn_occupancy_after_n_pulses_in_one_call():
    noise = WeakResetNoise(p_high=0.01, p_low=0.03)
    dev = WeakResetHfOx(200_000, rng=2, noise=noise, options=WeakResetOptions(pink=False))
    dev.apply_pulses(40)
    p01 = rtn_switch_probabilities(40, 0.01, 0.03)[0]
    assert dev.rtn_state.mean() == pytest.approx(p01, abs=4 * np.sqrt(p01 * (1 - p01) / dev.n))


def test_kasdin_coefficients():
    np.testing.assert_allclose(kasdin_coefficients(4), [1, 0.5, 0.375, 0.3125, 0.2734375])


def test_pink_history_shifts_per_cell_counts():
    rng = np.random.default_rng(0)
    hist = PinkNoiseHistory(9, 15, rng)
    counts = np.array([0, 1, 1, 1, 3, 15, 16, 40, 2])
    for _ in range(3):
        before = hist.history()
        hist.advance(counts, rng)
        after = hist.history()
        for i, s in enumerate(np.minimum(counts, 16)):
            np.testing.assert_array_equal(after[s:, i], before[:16 - s, i])
            assert not np.any(np.isin(after[:s, i], before[:, i]))
        np.testing.assert_allclose(hist.value(), kasdin_coefficients(15) @ after)


def test_pink_noise_variance_and_spectrum():
    rng = np.random.default_rng(4)
    hist = PinkNoiseHistory(400, 15, rng)
    series = np.empty((4096, 400))
    for k in range(4096):
        hist.advance(np.ones(400, dtype=int), rng)
        series[k] = hist.value()
    b = kasdin_coefficients(15)
    assert series.var() == pytest.approx(np.sum(b ** 2), rel=0.02)
    f, psd = signal.welch(series, nperseg=256, axis=0)
    psd = psd.mean(axis=1)
    m = (f >= 0.1) & (f <= 0.45)
    assert np.polyfit(np.log10(f[m]), np.log10(psd[m]), 1)[0] == pytest.approx(-1.0, abs=0.25)


def test_same_seed_is_bit_identical_and_counts_may_vary():
    counts = np.random.default_rng(9).integers(0, 20, (5, 300))
    runs = []
    for _ in range(2):
        dev = WeakResetHfOx(300, rng=11)
        for c in counts:
            dev.apply_pulses(c)
        runs.append(dev.resistance())
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(dev.pulses, counts.sum(axis=0))


@pytest.mark.parametrize("bad, word", [
    (np.array([1, -1, 0, 2]), ">= 0"),
    (np.array([1.0, 0.5, 0.0, 2.0]), "integers"),
    (np.array([True, False, True, True]), "integers"),
    (np.array([1, 2, 3]), "shape"),
    (np.array([1.0, np.nan, 0, 0]), "integers"),
])
def test_bad_counts_raise_and_leave_state(bad, word):
    dev = WeakResetHfOx(4, rng=0)
    dev.apply_pulses([3, 0, 1, 2])
    before = (dev.pulses.copy(), dev.rtn_state.copy(), dev.resistance())
    with pytest.raises(ValueError, match=word):
        dev.apply_pulses(bad)
    np.testing.assert_array_equal(dev.pulses, before[0])
    np.testing.assert_array_equal(dev.rtn_state, before[1])
    np.testing.assert_array_equal(dev.resistance(), before[2])


def test_params_are_read_only_mapping():
    dev = WeakResetHfOx(8, rng=0)
    assert set(dev.params.keys()) == {"m1", "c1", "t_star", "m2", "R0", "a"}
    assert dev.params["R0"] is dev.params.R0
    with pytest.raises(ValueError):
        dev.params.m1[0] = 1.0


def test_2t2r_update_rule_and_weights():
    bl_counts, blb_counts = update_pulse_counts(np.array([2.7, -0.2, -1.5, 0.0]), learning_rate=10.0)
    np.testing.assert_array_equal(bl_counts, [27, 0, 0, 0])
    np.testing.assert_array_equal(blb_counts, [0, 2, 15, 0])  # rounded down, not to nearest

    off = WeakResetOptions(d2d=False, rtn=False, pink=False)
    syn = DifferentialSynapse2T2R.create(3, rng=0, options=off)
    assert np.all(syn.weight() == 0.0) and np.all(syn.binary_weight() == 1)
    syn.update(np.array([10.0, -10.0, 0.0]), learning_rate=10.0)  # 100 pulses to BL, BLb, none
    nom = WeakResetNominal()
    w100 = mean_model(100.0, nom.m1, nom.c1, nom.t_star, nom.m2) - nom.c1
    np.testing.assert_allclose(syn.weight(), [w100, -w100, 0.0], atol=1e-12)
    np.testing.assert_array_equal(syn.binary_weight(), [1, -1, 1])
    with pytest.raises(ValueError, match="learning_rate"):
        syn.update(np.ones(3), learning_rate=-1.0)


@pytest.mark.parametrize("make, word", [
    (lambda: WeakResetHfOx(0), "n"),
    (lambda: WeakResetHfOx(4, options="no-noise"), "options"),
    (lambda: WeakResetNoise(p_high=1.5), "p_high"),
    (lambda: WeakResetNoise(pole=-1), "pole"),
])
def test_bad_construction_names_the_problem(make, word):
    with pytest.raises(ValueError, match=word):
        make()
