"""Property: however the clock's time is cut into operations, idles and temperature steps, the cells end
where one uninterrupted advance under the same temperature history leaves them (issue 12 item 1)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim import Engine

PROFILE = st.lists(st.tuples(st.floats(1.0, 400.0), st.sampled_from([300.0, 473.0, 523.0, 573.0])),
                   min_size=1, max_size=5)


def levels_array(eng):
    arr = eng.array(1, 3, cell="1R", seed=0)
    lo, hi = arr.conductance_bounds()
    g = np.array([hi[0, 0] * 0.9, np.sqrt(lo[0, 1] * hi[0, 1]) * 1.5, lo[0, 2] * 1.2])
    arr.device.set_conductance(g)
    arr.aging.reprogrammed(np.ones(3, bool), 1.0 / g)
    return arr


@settings(max_examples=40, deadline=None)
@given(profile=PROFILE, cuts=st.lists(st.floats(0.0, 1.0), max_size=6))
def test_any_cutting_of_time_ages_like_one_advance(profile, cuts):
    # reference: the profile as timed temperature events, one run to its end
    eng = Engine(temperature=profile[0][1])
    ref = levels_array(eng)
    t, steps = 0.0, []
    for seconds, kelvin in profile:
        steps.append((t, kelvin))
        t += seconds
    eng.temperature_profile(steps)
    eng.run(until=t)
    # the same history walked by hand: idles cut at random points, temperatures set between them
    eng2 = Engine(temperature=profile[0][1])
    arr = levels_array(eng2)
    for seconds, kelvin in profile:
        eng2.set_temperature(kelvin)
        done = 0.0
        for c in sorted(cuts):
            arr.idle(c * seconds - done)
            done = c * seconds
        arr.idle(seconds - done)
    assert eng2.now == eng.now or abs(eng2.now - eng.now) <= 1e-9 * eng.now
    assert np.allclose(arr.conductances(), ref.conductances(), rtol=1e-9, atol=0)
