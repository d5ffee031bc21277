"""The event engine: programming schemes, pulses, reads, aging, traces — against closed forms and the models."""
import numpy as np
import pytest

from cosim import Crossbar, Engine
from cosim.devices import VTEAM, Nonidealities
from cosim.devices.aging import EnduranceRetentionLaw
from cosim.sim import AgingLaws, OpenLoopConfig, Trace, WriteVerifyConfig


def random_targets(arr, seed=0):
    lo, hi = arr.conductance_bounds()
    rng = np.random.default_rng(seed)
    return np.exp(rng.uniform(np.log(lo * 1.5), np.log(hi * 0.8)))


def test_write_verify_1t1r_reaches_tolerance_and_reports_stuck_cells():
    eng = Engine(temperature=300.0)
    dev = VTEAM.preset("Pt/Hf/Ti", n=64, rng=3, nonideal=Nonidealities(stuck_on=0.05, stuck_off=0.05))
    arr = eng.array(8, 8, cell="1T1R", device=dev, seed=1, r_wl=1.0, r_bl=1.0, r_on_transistor=100.0)
    target = random_targets(arr)
    rep = arr.program(target, scheme="write-verify", tolerance=0.01)
    faulty = (dev.faults.stuck_on | dev.faults.stuck_off).reshape(8, 8)
    assert faulty.any()
    healthy_ok = np.abs(rep.error[~faulty]) <= 0.01
    assert healthy_ok.mean() >= 0.99
    assert np.array_equal(rep.stuck, faulty)          # every stuck cell found, no healthy one blamed
    assert rep.pulses[faulty].max() <= WriteVerifyConfig().stuck_after + 1    # and not looped on
    # the report's energy and time are those of the trace
    assert rep.energy == pytest.approx(arr.trace.total_energy(), rel=1e-12)
    assert rep.time == pytest.approx(eng.now, rel=1e-12)
    assert eng.now == pytest.approx(arr.trace.total_duration(), rel=1e-9)


def test_write_verify_1r_with_wires():
    eng = Engine()
    arr = eng.array(4, 4, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=16, rng=2), seed=2, r_wl=1.0, r_bl=1.0)
    rep = arr.program(random_targets(arr, 1), scheme="write-verify", tolerance=0.01)
    assert rep.success_rate >= 0.99


def test_pulse_below_threshold_changes_nothing():
    eng = Engine()
    arr = eng.array(4, 4, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=16, rng=5), seed=5, r_wl=1.0, r_bl=1.0)
    arr.device.set_conductance(np.full(16, 2e-3))
    before = arr.device.state
    out = arr.pulse(np.full(4, 0.45), width_s=1e-3)           # below v_off = 0.5 V everywhere
    assert np.array_equal(arr.device.state, before)
    assert out.substeps == 1


def test_single_cell_pulse_energy_closed_form():
    """1x1 1R, ideal wires, a sub-threshold pulse: energy = V^2 G width exactly."""
    eng = Engine()
    arr = eng.array(1, 1, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=1, rng=0),
                    seed=0, r_wl=0.0, r_bl=0.0, r_source=50.0)
    arr.device.set_conductance(np.array([1e-3]))
    out = arr.pulse(np.array([0.3]), width_s=2e-6)
    r_total = 1e3 + 50.0
    assert out.energy_j == pytest.approx(0.3 ** 2 / r_total * 2e-6, rel=1e-12)
    assert eng.now == pytest.approx(2e-6)


def test_switching_pulse_matches_device_integration():
    """Ideal wires: the co-simulated cell sees the applied voltage, so its state follows the device alone."""
    eng = Engine()
    arr = eng.array(1, 3, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=3, rng=0), seed=0, r_wl=0.0, r_bl=0.0)
    ref = VTEAM.preset("Pt/Hf/Ti", n=3, rng=0)
    arr.device.set_state(np.full(3, 0.0))
    ref.set_state(np.full(3, 0.0))
    arr.pulse(np.array([0.9]), width_s=0.05)
    ref.advance(np.full(5000, 0.9), dt=1e-5)                  # VTEAM's rate is state-independent: exact
    assert np.allclose(arr.device.state, ref.state, rtol=1e-9, atol=1e-18)


@pytest.mark.parametrize("amplitude,scheme,disturbed", [(0.9, "v/2", False), (1.2, "v/2", True), (1.2, "v/3", False)])
def test_half_select_disturb(amplitude, scheme, disturbed):
    """The controller assumes every cell at 4 mS (it reads nothing): it pulses only (3, 3), and the
    half-selected cells feel V/2 (above threshold at 1.2 V) or V/3 (below)."""
    eng = Engine()
    arr = eng.array(4, 4, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=16, rng=7), seed=7, r_wl=0.0, r_bl=0.0)
    arr.device.set_conductance(np.full(16, 4e-3))
    target = np.full((4, 4), 4e-3)
    target[3, 3] = 1e-3           # one cell to RESET (positive voltage); programmed last, so no cell is revisited
    config = OpenLoopConfig(amplitude=amplitude, assumed_start=np.full((4, 4), 4e-3))
    rep = arr.program(target, scheme=scheme, tolerance=0.01, config=config)
    g = arr.conductances()
    others = np.ones((4, 4), bool)
    others[3, 3] = False
    half = np.zeros((4, 4), bool)
    half[3, :], half[:, 3] = True, True
    half[3, 3] = False
    assert rep.pulses[3, 3] == 1 and rep.pulses.sum() == 1 and rep.reads == 0
    assert np.all(g[others & ~half] == 4e-3)                  # unselected cells see 0 V (V/2) or V/3 of either sign
    assert np.any(g[half] != 4e-3) == disturbed


def test_reruns_are_bit_identical():
    results = []
    for _ in range(2):
        eng = Engine()
        dev = VTEAM.preset("Pt/Hf/Ti", n=16, rng=11, nonideal=Nonidealities(read_noise=0.002))
        arr = eng.array(4, 4, cell="1T1R", device=dev, seed=11)
        rep = arr.program(random_targets(arr, 4), scheme="write-verify", tolerance=0.02)
        arr.bake(3600.0, 500.0)
        results.append((arr.conductances(), rep.pulses, rep.energy, eng.now))
    a, b = results
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2] and a[3] == b[3]


def test_bake_applies_retention_law_with_temperature_and_profile():
    law = EnduranceRetentionLaw.published("3B_O", "LRS")
    eng = Engine()
    arr = eng.array(2, 2, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=4, rng=0),
                    seed=0, aging=AgingLaws(retention=law))
    arr.device.set_conductance(np.full(4, 1.0 / 400.0))
    arr.aging.reprogrammed(np.ones(4, bool), np.full(4, 400.0))
    t = 3.0 * float(law.threshold(523.0))
    arr.bake(t, 523.0)
    expected = law.resistance(400.0, t, 523.0)
    assert np.allclose(1.0 / arr.conductances(), expected, rtol=1e-9)
    assert eng.now == pytest.approx(t)
    # two half bakes at the same temperature age exactly like one
    eng2 = Engine()
    arr2 = eng2.array(2, 2, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=4, rng=0),
                      seed=0, aging=AgingLaws(retention=law))
    arr2.device.set_conductance(np.full(4, 1.0 / 400.0))
    arr2.aging.reprogrammed(np.ones(4, bool), np.full(4, 400.0))
    arr2.bake(t / 2, 523.0)
    arr2.bake(t / 2, 523.0)
    assert np.allclose(arr2.conductances(), arr.conductances(), rtol=1e-12)
    # at room temperature nothing happens within a year
    before = arr2.conductances()
    arr2.idle(3.15e7)
    assert np.allclose(arr2.conductances(), before, rtol=1e-12)


def test_cycle_counts_and_endurance_law():
    eng = Engine()
    arr = eng.array(3, 3, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=9, rng=0), seed=0)
    arr.device.set_conductance(np.full(9, 1.0 / 150.0))      # LRS cells
    arr.aging.reprogrammed(np.ones(9, bool), np.full(9, 150.0))
    law = arr.aging_laws.endurance
    arr.cycle(10 ** 5, rows=[0, 2], cols=[1])
    cycles = arr.cycles
    assert cycles[0, 1] == cycles[2, 1] == 10 ** 5 and cycles.sum() == 2 * 10 ** 5
    expected = law.resistance(np.array([150.0]), np.array([1e5]))[0]
    assert expected > 150.0
    assert 1.0 / arr.conductances()[0, 1] == pytest.approx(min(expected, law.r_split), rel=1e-9)
    assert 1.0 / arr.conductances()[1, 1] == pytest.approx(150.0)
    assert eng.now == pytest.approx(1e5 * arr.timing.cycle_s)


def test_read_is_the_circuit_read():
    eng = Engine()
    arr = eng.array(6, 5, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=30, rng=3), seed=3, r_wl=2.0, r_bl=2.0)
    v = np.linspace(0.05, 0.2, 6)
    xb = Crossbar(6, 5, "1R", r_wl=2.0, r_bl=2.0)
    xb.set_conductances(arr.conductances())
    assert np.allclose(arr.read(v), xb.read(v), rtol=1e-12)
    assert not np.allclose(arr.read(v), v @ arr.conductances(), rtol=1e-3)   # IR drop is there


def test_trace_save_load_round_trip(tmp_path):
    eng = Engine()
    arr = eng.array(2, 3, cell="1T1R", device=VTEAM.preset("Pt/Hf/Ti", n=6, rng=1), seed=1)
    arr.read(np.array([0.1, 0.2]))
    arr.pulse(np.array([0.0, 0.0]), v_bl=np.array([-0.8, 0.0, 0.0]), width_s=1e-8, select_rows=[0])
    arr.bake(10.0, 400.0)
    path = arr.trace.save(tmp_path / "trace.jsonl", {"seed": 1})
    back, meta = Trace.load(path)
    assert meta == {"seed": 1}
    assert [r.operation for r in back] == ["read", "pulse", "bake"]
    assert back.total_energy() == pytest.approx(arr.trace.total_energy(), rel=1e-15)
    assert back[1].v_bl == [-0.8, 0.0, 0.0]


@pytest.mark.parametrize("call,match", [
    (lambda a: a.program(np.ones((3, 3)), scheme="write-verify"), "shape"),
    (lambda a: a.program(np.full((4, 4), 1.0), scheme="write-verify"), "range"),
    (lambda a: a.program(np.full((4, 4), 1e-3), scheme="zigzag"), "scheme"),
    (lambda a: a.bake(-1.0, 400.0), "duration"),
    (lambda a: a.bake(1.0, 0.0), "temperature"),
    (lambda a: a.cycle(-2), "cycles"),
    (lambda a: a.program(np.full((4, 4), 1e-3), scheme="1t1r-row"), "1T1R"),
])
def test_bad_input_leaves_array_unchanged(call, match):
    eng = Engine()
    arr = eng.array(4, 4, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=16, rng=0), seed=0)
    g0, t0, n0 = arr.conductances(), eng.now, len(arr.trace)
    with pytest.raises(ValueError, match=match):
        call(arr)
    assert np.array_equal(arr.conductances(), g0) and eng.now == t0 and len(arr.trace) == n0


def test_engine_temperature_validation_and_profile():
    with pytest.raises(ValueError, match="temperature"):
        Engine(temperature=-5.0)
    eng = Engine(temperature=300.0)
    eng.temperature_profile([(10.0, 350.0), (20.0, 400.0)])
    eng.run(until=15.0)
    assert eng.temperature == 350.0
    eng.run()
    assert eng.temperature == 400.0 and eng.now == 20.0


def test_write_verify_amplitude_is_the_planned_cell_voltage():
    eng = Engine()
    arr = eng.array(4, 4, cell="1T1R", device=VTEAM.preset("Pt/Hf/Ti", n=16, rng=3), seed=3, r_on_transistor=100.0)
    target = random_targets(arr, 2)
    with pytest.raises(ValueError, match="threshold"):
        arr.program(target, scheme="write-verify", amplitude=0.3)
    rep = arr.program(target, scheme="write-verify", tolerance=0.01, amplitude=0.9)
    assert rep.success_rate >= 0.99
    pulses = [r for r in arr.trace if r.operation == "pulse"]
    assert max(max(abs(v) for v in r.v_bl) for r in pulses) > 0.9     # drives above the cell voltage (divider)
