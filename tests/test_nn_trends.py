"""Seed 003's Fig. 5 trends on a small perceptron trained on the digits (the full study is
examples/dnn_seed003_fig5.py): stuck-at-ON harms far more than stuck-at-OFF in double-column arrays,
accuracy rises with the number of conductance states, collapses as device-to-device spread grows and
degrades with wire resistance. 64 x 64 tiles, R_on 1 kohm, R_off 100 kohm.
"""
import importlib.util

import numpy as np
import pytest

from cosim.nn import ArrayConfig, patch_model
from cosim.nn.data import accuracy, digits_mlp, digits_split, train
from support import one_torch_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                reason="the digits data ship with scikit-learn")


@pytest.fixture(scope="module")
def trained():
    data = digits_split(seed=0)
    model = train(digits_mlp(hidden=32, seed=0), data.x_train, data.y_train, epochs=10, seed=0)
    return model, data


def mapped_accuracy(trained, seeds=(0, 1), **kw) -> float:
    model, data = trained
    return float(np.mean([accuracy(patch_model(model, ArrayConfig(seed=s, **kw)), data.x_test, data.y_test)
                          for s in seeds]))


def test_the_digital_network_and_its_ideal_mapping(trained):
    model, data = trained
    digital = accuracy(model, data.x_test, data.y_test)
    assert digital > 0.93
    assert abs(mapped_accuracy(trained, seeds=(0,)) - digital) < 1e-9


def test_stuck_at_on_harms_far_more_than_stuck_at_off(trained):
    on = mapped_accuracy(trained, stuck_on=0.1)
    off = mapped_accuracy(trained, stuck_off=0.1)
    assert on < off - 0.2


def test_accuracy_rises_with_the_number_of_states(trained):
    acc = {n: mapped_accuracy(trained, seeds=(0,), states=n) for n in (2, 4, 16)}
    assert acc[2] < acc[4] - 0.2 and acc[4] <= acc[16] + 0.01
    assert acc[16] > mapped_accuracy(trained, seeds=(0,)) - 0.02


def test_accuracy_collapses_as_device_spread_grows(trained):
    acc = [mapped_accuracy(trained, d2d_sigma=s) for s in (0.0, 0.25, 0.5, 1.5)]
    assert acc[0] > acc[1] > acc[2] > acc[3] and acc[3] < 0.3


def test_accuracy_degrades_with_wire_resistance(trained):
    acc = [mapped_accuracy(trained, seeds=(0,), mode="circuit", r_wl=r, r_bl=r) for r in (0.0, 2.0, 5.0)]
    assert acc[0] >= acc[1] >= acc[2] and acc[2] < acc[0] - 0.05
