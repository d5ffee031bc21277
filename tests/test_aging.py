"""Endurance/retention law (seed 000) and power-law drift: closed forms, published fits, fitting."""
import math
from pathlib import Path

import numpy as np
import pytest

from cosim.devices.aging import (
    AgingMode, EnduranceRetentionLaw, PowerLawDrift, ResetStopWindow, TwoStateAging,
)
from cosim.devices.aging_published import PUBLISHED, read_xy

DATA = Path(__file__).parent / "data" / "endurance_retention"


def load(fit):
    xs, rs = zip(*(read_xy(DATA / f"{ds.stem}.csv") for ds in fit.data))
    sizes = [ds.cell_size for ds in fit.data]
    temps = None if fit.data[0].temperature is None else [ds.temperature for ds in fit.data]
    return list(xs), list(rs), sizes, temps


def total_rms(law, fit, xs, rs, sizes, temps):
    sq = []
    for k, (x, r) in enumerate(zip(xs, rs)):
        t = None if temps is None else temps[k]
        sq.append(law.log10_rms(fit.r0, x, r, t, cell_size=sizes[k]) ** 2 * x.size)
    return math.sqrt(sum(sq) / sum(x.size for x in xs))


# ----------------------------------------------------------------------------- closed forms

def test_gradual_law_closed_form():
    law = EnduranceRetentionLaw("gradual", p0=10.0, p1=0.5, p2=2.0, p3=0.1, cell_size=20.0)
    t = 596.0                                   # T_c = 298/596 = 0.5
    x_th = 10.0 * math.exp(0.5 * 20 + 2.0 * 0.5)
    assert law.threshold(t) == pytest.approx(x_th)
    x = np.array([x_th / 3, x_th, 7 * x_th])
    expected = 1e4 * np.array([1.0, 1.0, 7.0 ** (0.1 * (10 + 1.0))])
    np.testing.assert_allclose(law.resistance(1e4, x, t), expected, rtol=1e-12)
    # below T_th the constant saturates at 1; without temperature the T_c term is dropped
    assert law.threshold(250.0) == pytest.approx(10.0 * math.exp(10 + 2.0))
    assert law.threshold() == pytest.approx(10.0 * math.exp(10))   # the cell-size term is kept


def test_sudden_law_and_broadcasting():
    law = EnduranceRetentionLaw("sudden", p0=0.1, p1=1.0, r_stable=2e4)
    x_th = 0.1 * math.exp(10)
    r0 = np.array([[1e5], [3e5]])
    r = law.resistance(r0, np.array([x_th * 0.99, x_th * 1.01]))
    np.testing.assert_allclose(r, [[1e5, 2e4], [3e5, 2e4]])
    assert law.mode is AgingMode.SUDDEN


def test_per_cell_temperature_and_cell_size():
    law = EnduranceRetentionLaw("gradual", p0=1e-10, p1=0.1, p2=40.0, p3=0.05)
    temps = np.array([450.0, 500.0, 550.0])
    sizes = np.array([10.0, 20.0, 30.0])
    r = law.resistance(np.full(3, 5e3), 1e6, temps, cell_size=sizes)
    for k in range(3):
        one = EnduranceRetentionLaw("gradual", p0=1e-10, p1=0.1, p2=40.0, p3=0.05, cell_size=sizes[k])
        assert r[k] == pytest.approx(float(one.resistance(5e3, 1e6, temps[k])), rel=1e-12)


def test_reset_stop_voltage_scaling_fig4():
    window = ResetStopWindow(v_min=1.4, v_max=2.4, v_opt=1.8)
    # threshold 1e5 at V_opt: p0 exp(p1 d) = 1e5
    law = EnduranceRetentionLaw("sudden", p0=1e5 / math.exp(10 * 0.2), p1=0.2, r_stable=1e6, reset_stop=window)
    k = 5.0 / float(window.shape(1.8))
    assert k == pytest.approx(5.2083, abs=1e-4)
    assert law.threshold(v_stop=1.8) == pytest.approx(1e5)
    np.testing.assert_allclose(law.threshold(v_stop=[1.4, 2.4]), [1.0, 1.0])
    assert law.threshold(v_stop=1.9) == pytest.approx(10 ** (k * (1 - (2 * 0.5 - 1) ** 2)))
    with pytest.raises(ValueError, match="v_stop"):
        law.threshold(v_stop=2.5)


def test_two_state_split_is_between_the_states():
    pair = TwoStateAging.published("2A")
    assert pair.r_split == pytest.approx(math.sqrt(4400 * 65000))
    # 3e4 ohm lies above the log-midpoint (16.9 kohm): HRS. The published precedence bug
    # (r_on + r_off / 2 = 36.9 kohm) would have called it LRS.
    r0 = np.array([4400.0, 3e4, 65000.0])
    x = np.full(3, 1e8)
    r = pair.resistance(r0, x)
    np.testing.assert_array_equal(pair.is_lrs(r0), [True, False, False])
    assert r[0] == pytest.approx(float(pair.lrs.resistance(4400.0, 1e8))) and r[0] > 4400.0
    assert r[1] == pytest.approx(float(pair.hrs.resistance(3e4, 1e8))) and r[1] < 3e4
    forced = pair.resistance(r0, x, is_lrs=[True, True, True])
    assert forced[2] > 65000.0


def test_equivalent_stress_carries_age_across_temperatures():
    law = EnduranceRetentionLaw("sudden", p0=1e-9, p1=0.0, p2=46.0, r_stable=2.6e7)
    x = np.logspace(0, 6, 61)
    x_hot = law.equivalent_stress(x, 473.0, 523.0)
    np.testing.assert_allclose(x_hot / x, math.exp(46.0 * (298 / 523 - 298 / 473)))
    np.testing.assert_allclose(law.resistance(4e4, x, 473.0), law.resistance(4e4, x_hot, 523.0), rtol=1e-12)


def test_power_law_drift():
    drift = PowerLawDrift(nu=0.1, t0=1.0)
    np.testing.assert_allclose(drift.conductance(1e-4, [0.5, 1.0, 10.0, 1e4]),
                               [1e-4, 1e-4, 1e-4 * 10 ** -0.1, 1e-4 * 1e4 ** -0.1])
    assert drift.resistance(1e4, 100.0) == pytest.approx(1e4 * 100 ** 0.1)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, word", [
    (lambda: EnduranceRetentionLaw("linear", p0=1.0, p1=0.0), "mode"),
    (lambda: EnduranceRetentionLaw("sudden", p0=1.0, p1=0.0), "r_stable"),
    (lambda: EnduranceRetentionLaw("gradual", p0=0.0, p1=0.0), "p0"),
    (lambda: EnduranceRetentionLaw("gradual", p0=1.0, p1=0.0).resistance(1e3, [1.0, 0.0]), "x"),
    (lambda: EnduranceRetentionLaw("gradual", p0=1.0, p1=0.0).resistance(1e3, -5.0), "x"),
    (lambda: EnduranceRetentionLaw("gradual", p0=1.0, p1=0.0).resistance(1e3, 5.0, 0.0), "temperature"),
    (lambda: EnduranceRetentionLaw("gradual", p0=1.0, p1=0.0).resistance(-1e3, 5.0), "r0"),
    (lambda: EnduranceRetentionLaw.fit([1.0, 2.0], [1e3, 1e3], r0=1e3, mode="abrupt"), "mode"),
    (lambda: EnduranceRetentionLaw.fit([1.0, 0.0], [1e3, 1e3], r0=1e3), "x"),
    (lambda: EnduranceRetentionLaw.fit([1.0, 2.0], [1e3, 1e3], r0=1e3, temperature=-3.0), "temperature"),
    (lambda: EnduranceRetentionLaw.fit([1.0, 2.0], [1e3, 1e3], r0=1e3, hold={"p9": 1.0}), "p9"),
    (lambda: EnduranceRetentionLaw.published("9Z", "LRS"), "9Z"),
    (lambda: PowerLawDrift(nu=0.1).resistance(1e3, 10.0, temperature=-1.0), "temperature"),
])
def test_bad_input_names_the_problem(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_laws_are_immutable():
    law = EnduranceRetentionLaw.published("2A", "LRS")
    with pytest.raises(AttributeError):
        law.p0 = 3.0


# ----------------------------------------------------------------------------- data and fits

def test_reader_keeps_first_point_of_headerless_files():
    assert read_xy(DATA / "2B_HRS.csv")[0].size == 13          # no header: 13 lines, 13 points
    x, y = read_xy(DATA / "2A_HRS_10.csv")                      # header line + 32 points
    assert x.size == 32 and x[0] == pytest.approx(18.504215099204554)


@pytest.mark.parametrize("key", list(PUBLISHED))
def test_published_parameters_reproduce_the_data(key):
    fit = PUBLISHED[key]
    xs, rs, sizes, temps = load(fit)
    for k, (x, r) in enumerate(zip(xs, rs)):
        rms = fit.law.log10_rms(fit.r0, x, r, None if temps is None else temps[k], cell_size=sizes[k])
        assert rms <= fit.reference_rms[1] + 0.02, fit.data[k].stem


@pytest.mark.parametrize("key", list(PUBLISHED))
def test_joint_fit_is_at_least_as_close_as_published(key):
    fit = PUBLISHED[key]
    xs, rs, sizes, temps = load(fit)
    law = EnduranceRetentionLaw.fit(xs, rs, r0=fit.r0, mode=fit.law.mode.value, cell_size=sizes,
                                    temperature=temps)
    assert total_rms(law, fit, xs, rs, sizes, temps) <= total_rms(fit.law, fit, xs, rs, sizes, temps) + 1e-9


@pytest.mark.parametrize("key", list(PUBLISHED))
def test_fit_of_each_file_is_at_least_as_close_as_published(key):
    fit = PUBLISHED[key]
    xs, rs, sizes, temps = load(fit)
    for k, (x, r) in enumerate(zip(xs, rs)):
        t = None if temps is None else temps[k]
        law = EnduranceRetentionLaw.fit(x, r, r0=fit.r0, mode=fit.law.mode, cell_size=sizes[k], temperature=t)
        assert law.log10_rms(fit.r0, x, r, t, cell_size=sizes[k]) \
            <= fit.law.log10_rms(fit.r0, x, r, t, cell_size=sizes[k]) + 1e-9


ROUND_TRIPS = [  # (law, cell sizes, temperatures, x grid, r0)
    (EnduranceRetentionLaw("gradual", p0=10.0, p1=0.69, p3=0.0176), [10, 20], None, np.logspace(0, 10, 120), 4400),
    (EnduranceRetentionLaw("gradual", p0=10.0, p1=0.69, p3=-0.023), [10, 20], None, np.logspace(0, 10, 120), 65000),
    (EnduranceRetentionLaw("gradual", p0=0.1, p1=0.92, p3=0.0074), [10], None, np.logspace(0, 6, 60), 8.8e4),
    (EnduranceRetentionLaw("gradual", p0=1.5e-13, p1=0.0, p2=63.4, p3=0.04), [10] * 3, [473, 523, 573],
     np.logspace(0, 6, 60), 4250),
    (EnduranceRetentionLaw("gradual", p0=2e-3, p1=0.3, p2=20.0, p3=0.04), [10, 20, 10, 20], [473, 473, 573, 573],
     np.logspace(0, 8, 60), 4250),
    (EnduranceRetentionLaw("sudden", p0=10500.0, p1=0.25, r_stable=5e7), [20, 30, 40], None,
     np.logspace(0, 10, 20_000), 14000),
    (EnduranceRetentionLaw("sudden", p0=0.1, p1=1.92, r_stable=2e4), [10], None, np.logspace(0, 10, 2000), 1e5),
    (EnduranceRetentionLaw("sudden", p0=1e-9, p1=0.0, p2=46.0, r_stable=2.6e7), [10] * 3, [473, 498, 523],
     np.logspace(0, 7, 20_000), 4e4),
]


@pytest.mark.parametrize("truth, sizes, temps, x, r0", ROUND_TRIPS)
def test_synthetic_round_trip_recovers_parameters(truth, sizes, temps, x, r0):
    rs = [truth.resistance(r0, x, None if temps is None else temps[k], cell_size=d) for k, d in enumerate(sizes)]
    law = EnduranceRetentionLaw.fit([x] * len(sizes), rs, r0=r0, mode=truth.mode.value, cell_size=sizes,
                                    temperature=temps)
    last = "p3" if truth.mode is AgingMode.GRADUAL else "r_stable"
    for name in ("p0", "p1", "p2", last):
        assert getattr(law, name) == pytest.approx(getattr(truth, name), rel=0.01, abs=1e-12), name


def test_fit_hold_overrides_and_unidentifiable_request():
    truth = EnduranceRetentionLaw("gradual", p0=3.0, p1=0.5, p3=0.02)
    x = np.logspace(0, 8, 80)
    r = truth.resistance(1e4, x)
    law = EnduranceRetentionLaw.fit(x, r, r0=1e4, hold={"p0": 3.0, "p2": 0.0})
    assert law.p1 == pytest.approx(0.5, rel=1e-6) and law.p3 == pytest.approx(0.02, rel=1e-6)
    with pytest.raises(ValueError, match="cannot separate"):
        EnduranceRetentionLaw.fit(x, r, r0=1e4, hold={"p2": 0.0})  # p0 and p1 both free, one cell size
