"""Sweeps: specs and their points, Dask runs equal to serial runs, resumption, failures, reports."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cosim.cli import main
from cosim.sweep import Sweep, load_rows, parse_spec
from cosim.sweep.report import write_report
from cosim.sweep.results import point_key

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def client():
    """One 2-worker process cluster for the module (starting one costs seconds)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


def spec(**extra) -> dict:
    data = {"study": "sweep_toy:closed_form", "seed": 11, "base": {"c": 0.25},
            "grid": {"a": [1, 2, 3], "b": [0.5, 2.0]}, "random": {"samples": 2, "c": {"low": 1.0, "high": 100.0, "log": True}}}
    data.update(extra)
    return data


def by_key(rows):
    return {r["key"]: r for r in rows}


def test_points_are_the_product_of_grid_zip_and_random():
    s = parse_spec({"study": "x:y", "seed": 5, "base": {"k": 1}, "grid": {"a": [1, 2], "b": ["u", "v", "w"]},
                    "zip": {"p": [1, 2], "q": [10, 20]},
                    "random": {"samples": 4, "r": {"low": 2.0, "high": 50.0, "log": True}, "n": {"low": 0, "high": 3, "integer": True}}})
    points = s.points()
    assert len(points) == 2 * 3 * 2 * 4
    assert all(p["k"] == 1 and p["q"] == 10 * p["p"] for p in points)
    assert {(p["a"], p["b"]) for p in points} == {(a, b) for a in (1, 2) for b in "uvw"}
    r = np.array([p["r"] for p in points])
    assert np.all((r >= 2.0) & (r < 50.0)) and len(set(r)) == 4
    assert all(isinstance(p["n"], int) and 0 <= p["n"] < 3 for p in points)
    # the random samples are drawn from the spec's seed alone: another grid, the same samples
    alone = parse_spec({"study": "x:y", "seed": 5, "random": {"samples": 4, "r": {"low": 2.0, "high": 50.0, "log": True},
                                                                "n": {"low": 0, "high": 3, "integer": True}}})
    assert sorted({p["r"] for p in alone.points()}) == sorted(set(r))


def test_point_seed_depends_on_the_configuration_not_the_order():
    forward = Sweep(parse_spec(spec()))
    backward = Sweep(parse_spec(spec(grid={"b": [2.0, 0.5], "a": [3, 2, 1]})))
    seeds = {json.dumps(c, sort_keys=True): s for c, s in zip(forward.points, forward.seeds)}
    assert seeds == {json.dumps(c, sort_keys=True): s for c, s in zip(backward.points, backward.seeds)}
    assert len(set(forward.seeds)) == len(forward.points)
    other = Sweep(parse_spec(spec(seed=12)))
    assert not set(other.seeds) & set(forward.seeds)
    assert point_key("s", 1, {"a": 1, "b": 2}) == point_key("s", 1, {"b": 2, "a": 1})


def test_two_workers_equal_serial_run_and_closed_form(client, tmp_path):
    sweep = Sweep(parse_spec(spec()))
    parallel = sweep.run(client, out=tmp_path / "par.parquet", progress=False)
    serial = sweep.run(out=tmp_path / "ser.parquet", workers=0, progress=False)
    assert parallel.ran == serial.ran == 12 and parallel.failed == serial.failed == 0
    par, ser = by_key(load_rows(tmp_path / "par.parquet")), by_key(load_rows(tmp_path / "ser.parquet"))
    assert par.keys() == ser.keys() == set(sweep.keys)
    for key, row in par.items():
        config = json.loads(row["config_json"])
        assert row["result.y"] == pytest.approx(config["a"] * config["b"] + config["c"], rel=1e-12)
        assert row["result.noise"] == ser[key]["result.noise"]       # same seed, same draw, any worker
        assert row["result.noise"] == np.random.default_rng(row["seed"]).standard_normal()
        assert row["config.a"] == config["a"] and row["result.label"] == f"a{config['a']}"
    assert len({r["worker"] for r in par.values()}) == 2           # both workers took points


def test_failing_point_is_recorded_and_the_sweep_goes_on(client, tmp_path):
    out = tmp_path / "fail.parquet"
    sweep = Sweep(parse_spec(spec(base={"fail_at": 2})))
    run = sweep.run(client, out=out, progress=False)
    assert (run.ran, run.failed) == (12, 4)
    rows = load_rows(out)
    bad = [r for r in rows if r["status"] == "failed"]
    assert {r["config.a"] for r in bad} == {2} and len(bad) == 4
    assert all("RuntimeError: a = 2 is the failing value" == r["error"] for r in bad)
    assert all("sweep_toy.py" in r["traceback"] and r["result.y"] is None for r in bad)
    assert all(r["status"] == "ok" and r["error"] == "" for r in rows if r["config.a"] != 2)
    again = sweep.run(client, out=out, progress=False)      # a rerun retries only the failed points
    assert (again.ran, again.skipped, again.failed) == (4, 8, 4)


def test_killed_sweep_resumes_and_loses_only_points_in_flight(tmp_path):
    data = spec(base={"sleep_s": 0.25}, random={})
    data.pop("random")
    lines = [f'study = "{data["study"]}"', f"seed = {data['seed']}", "[base]", "sleep_s = 0.25",
             "[grid]", "a = [1, 2, 3, 4, 5]", "b = [0.5, 2.0]"]
    path = tmp_path / "slow.toml"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "slow.parquet"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
    proc = subprocess.Popen([sys.executable, "-m", "cosim.cli", "sweep", str(path), "--workers", "0", "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = tmp_path / "slow.parquet.parts"
    deadline = time.monotonic() + 60
    while len(list(parts.glob("*.parquet"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = len(list(parts.glob("*.parquet")))
    assert 3 <= finished < 10 and not out.exists()
    sweep = Sweep.from_toml(path)
    run = sweep.run(out=out, workers=0, progress=False)
    assert (run.ran, run.skipped, run.failed) == (10 - finished, finished, 0)
    rows = load_rows(out)
    assert len(rows) == 10 and {r["key"] for r in rows} == set(sweep.keys)
    for r in rows:
        assert r["result.y"] == pytest.approx(r["config.a"] * r["config.b"], rel=1e-12)


@pytest.mark.parametrize("change, message", [
    ({"grid": {"a": []}}, "axis 'a' has no values"),
    ({"grid": {"a": [1, [2]]}}, "must be finite numbers, booleans or strings"),
    ({"grid": {"a": 3}}, "grid axis 'a' must be a list"),
    ({"grid": {"a": [1, 1]}}, "repeats a value"),
    ({"zip": {"a": [1, 2], "d": [1]}}, "same length"),
    ({"random": {"samples": 2, "c": {"low": 5.0, "high": 1.0}}}, "need low < high"),
    ({"random": {"samples": 2, "c": {"low": 0.0, "high": 1.0, "log": True}}}, "log axis needs low > 0"),
    ({"random": {"samples": 0, "c": {"low": 0.0, "high": 1.0}}}, "samples must be an integer >= 1"),
    ({"random": {"samples": 2, "c": [0, 1]}}, "random axis 'c' must be a table"),
    ({"axes": {}}, "unknown keys ['axes']"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"study": "no_such_registered_study"}, "unknown study"),
    ({"study": "no_such_module_xyz:f"}, "cannot import module"),
])
def test_bad_spec_is_rejected_before_any_task(change, message, tmp_path):
    data = spec()
    if "zip" in change:
        data["grid"] = {"b": [0.5]}
    data.update(change)
    with pytest.raises(ValueError) as info:
        Sweep(parse_spec(data))
    assert message in str(info.value)
    assert not list(tmp_path.iterdir())


def test_point_configuration_checked_against_study_parameters():
    with pytest.raises(ValueError, match=r"has no parameters \['c'\]"):
        Sweep(parse_spec({"study": "sweep_toy:TYPED", "grid": {"a": [1, 2], "c": [1.0]}}))
    with pytest.raises(ValueError, match=r"point 1 \{'a': -1\}: a must be >= 0"):
        Sweep(parse_spec({"study": "sweep_toy:TYPED", "grid": {"a": [1, -1]}}))


def test_cli_sweep_and_report(tmp_path, capsys):
    path = tmp_path / "toy.toml"
    path.write_text('study = "sweep_toy:closed_form"\nseed = 2\n[grid]\na = [1, 2, 3]\nb = [1.5]\n')
    out = tmp_path / "toy.parquet"
    assert main(["sweep", str(path), "--workers", "0", "--out", str(out)]) == 0
    assert "ran 3 points (0 failed)" in capsys.readouterr().out
    assert main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "3 points: 3 ok, 0 failed" in md and "<table>" in html
    assert "| 3 | a3 |" in md and md.rstrip().endswith("| 4.5 |")      # a = 3: y = 3 * 1.5
    assert (tmp_path / "rep" / "sweep_toy_closed_form.png").stat().st_size > 1000
    bad = tmp_path / "bad.toml"
    bad.write_text('study = "sweep_toy:closed_form"\n[grid]\na = []\n')
    assert main(["sweep", str(bad)]) == 2
    assert "axis 'a' has no values" in capsys.readouterr().err
