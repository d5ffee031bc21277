"""Parameter distributions: samples match scipy.stats (KS test), truncation is exact, errors are named."""
import numpy as np
import pytest
from scipy import stats

from cosim.devices.variability import (
    Exponential, LogNormal, Normal, TruncatedNormal, Uniform, as_generator, sample,
)

N = 20_000
P_MIN = 1e-3  # KS p-value below which the sample is rejected (fixed seeds: deterministic)


def ks_pvalue(x, frozen):
    return stats.kstest(x, frozen.cdf).pvalue


@pytest.mark.parametrize("dist, ref", [
    (Normal(3.0, 0.5), stats.norm(3.0, 0.5)),
    (Normal(3.0, 0.5, low=2.9, high=4.0), stats.truncnorm((2.9 - 3) / 0.5, (4 - 3) / 0.5, 3.0, 0.5)),
    (TruncatedNormal(100.0, 50.0, low=1.0), stats.truncnorm((1 - 100) / 50, np.inf, 100.0, 50.0)),
    (Normal(0.0, 1.0, low=5.0, high=6.0), stats.truncnorm(5.0, 6.0)),        # far right tail
    (Normal(0.0, 1.0, high=-4.0), stats.truncnorm(-np.inf, -4.0)),           # far left tail
    (LogNormal(0.4, 2.0), stats.lognorm(0.4, scale=2.0)),
    (Uniform(-1.0, 3.0), stats.uniform(-1.0, 4.0)),
    (Exponential(1.0, 2.0), stats.expon(1.0, 2.0)),
])
def test_samples_match_scipy(dist, ref):
    x = dist.sample(N, np.random.default_rng(1))
    assert x.shape == (N,) and x.dtype == np.float64
    assert ks_pvalue(x, ref) > P_MIN


def test_truncated_lognormal_matches_conditional_cdf():
    dist = LogNormal(0.5, 1.0, low=0.8, high=2.0)
    ref = stats.lognorm(0.5, scale=1.0)
    lo, hi = ref.cdf(0.8), ref.cdf(2.0)
    x = dist.sample(N, 2)
    assert x.min() >= 0.8 and x.max() <= 2.0
    assert stats.kstest(x, lambda t: (ref.cdf(t) - lo) / (hi - lo)).pvalue > P_MIN


def test_truncated_exponential_matches_conditional_cdf():
    dist = Exponential(0.0, 1.0, low=0.5, high=3.0)
    ref = stats.expon(0.0, 1.0)
    lo, hi = ref.cdf(0.5), ref.cdf(3.0)
    x = dist.sample(N, 3)
    assert x.min() >= 0.5 and x.max() <= 3.0
    assert stats.kstest(x, lambda t: (ref.cdf(t) - lo) / (hi - lo)).pvalue > P_MIN


@pytest.mark.parametrize("dist", [
    Normal(0.0, 1.0, low=-0.1, high=0.1),
    Normal(0.0, 1.0, low=8.0, high=8.5),
    LogNormal(1.0, 1.0, low=0.5, high=0.6),
    Exponential(0.0, 1.0, low=10.0, high=10.01),
    Uniform(2.0, 2.5),
])
def test_truncation_respected(dist):
    x = dist.sample(5000, 4)
    assert np.all(np.isfinite(x))
    assert x.min() >= dist.low and x.max() <= dist.high


def test_same_seed_same_draws_and_no_global_state():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    a = Normal(1.0, 2.0, low=0.0).sample(100, 7)
    b = Normal(1.0, 2.0, low=0.0).sample(100, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert np.array_equal(before, np.random.get_state()[1])


def test_sample_helper_scalar_array_distribution():
    assert np.array_equal(sample(2.5, 3, None), [2.5, 2.5, 2.5])
    arr = np.array([1.0, 2.0, 3.0])
    out = sample(arr, 3)
    assert np.array_equal(out, arr) and out is not arr
    assert np.array_equal(sample(Uniform(0, 1), 4, 5), Uniform(0, 1).sample(4, 5))


@pytest.mark.parametrize("value, msg", [
    (np.ones(4), r"r_on must be a scalar or have shape \(3,\)"),
    (np.array([1.0, np.nan, 2.0]), "r_on must be finite"),
    (float("inf"), "r_on must be finite"),
    ("abc", "r_on must be"),
])
def test_sample_helper_rejects_bad_values(value, msg):
    with pytest.raises(ValueError, match=msg):
        sample(value, 3, 0, name="r_on")


@pytest.mark.parametrize("make, field", [
    (lambda: Normal(0.0, 0.0), "std"),
    (lambda: Normal(0.0, -1.0), "std"),
    (lambda: Normal(float("nan"), 1.0), "mean"),
    (lambda: Normal(0.0, 1.0, low=2.0, high=1.0), "low must be < high"),
    (lambda: TruncatedNormal(0.0, 1.0, low=1.0, high=1.0), "low must be < high"),
    (lambda: LogNormal(0.0, 1.0), "s"),
    (lambda: LogNormal(1.0, -1.0), "scale"),
    (lambda: LogNormal(1.0, 1.0, high=-1.0), "high"),
    (lambda: Uniform(1.0, 1.0), "low must be < high"),
    (lambda: Exponential(0.0, 0.0), "scale"),
    (lambda: Exponential(1.0, 1.0, high=0.5), "high"),
])
def test_invalid_parameters_name_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_as_generator():
    g = np.random.default_rng(0)
    assert as_generator(g) is g
    assert as_generator(3).random() == np.random.default_rng(3).random()
    assert isinstance(as_generator(None), np.random.Generator)
    with pytest.raises(ValueError, match="rng"):
        as_generator("seed")
    with pytest.raises(ValueError, match="n must be"):
        Normal(0, 1).sample(-1, 0)


def test_positive_support():
    from cosim.devices.variability import positive_support
    assert positive_support(LogNormal(0.1, 1.0))
    assert positive_support(Normal(1.0, 0.1, low=0.5)) and positive_support(Uniform(0.9, 1.1))
    assert positive_support(Exponential(0.5, 1.0))
    assert not positive_support(Normal(1.0, 0.1)) and not positive_support(Uniform(-0.1, 1.0))
    assert not positive_support(Exponential(0.0, 1.0))
