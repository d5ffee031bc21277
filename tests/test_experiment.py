"""Experiments described in TOML: parsing, validation, and a run whose numbers add up."""
from pathlib import Path

import numpy as np
import pytest

from cosim.experiment import Experiment, run_experiment

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "experiments"


def small(path):
    exp = Experiment.load(path)
    exp.array["rows"], exp.array["cols"] = 4, 4
    return exp


@pytest.mark.parametrize("name", ["write_verify_bake.toml", "half_select_1r.toml"])
def test_example_experiments_run_and_add_up(name, tmp_path):
    exp = small(EXAMPLES / name)
    results = run_experiment(exp, tmp_path, log=lambda *_: None)
    for name in ("trace.jsonl", "trace.csv", "conductances.png", "trace.png"):
        assert (tmp_path / name).stat().st_size > 0
    from cosim.sim import Trace
    trace, meta = Trace.load(tmp_path / "trace.jsonl")
    assert results["energy_j"] == pytest.approx(trace.total_energy(), rel=1e-12)
    assert results["time_s"] == pytest.approx(trace.total_duration(), rel=1e-9)
    if "program" in results:
        assert 0.0 <= results["program"]["success_rate"] <= 1.0


@pytest.mark.parametrize("data,match", [
    ({"array": {"rows": 2}}, "cols"),
    ({"array": {"rows": 2, "cols": 2, "colour": "red"}}, "colour"),
    ({"array": {"rows": 2, "cols": 2}, "program": {"scheme": "zap"}}, "scheme"),
    ({"array": {"rows": 2, "cols": 2}, "steps": [{"kind": "melt"}]}, "kind"),
    ({"array": {"rows": 2, "cols": 2}, "steps": [{"kind": "bake"}]}, "seconds"),
    ({"arrays": {}}, "section"),
])
def test_bad_experiments_rejected(data, match):
    with pytest.raises(ValueError, match=match):
        Experiment.from_dict(data)


def test_unknown_device_rejected():
    with pytest.raises(ValueError, match=r"\[array\] device: unknown device model 'Memristor9000'; known: VTEAM"):
        Experiment.from_dict({"array": {"rows": 2, "cols": 2, "device": "Memristor9000"}})
