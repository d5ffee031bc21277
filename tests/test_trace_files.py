"""Trace files a researcher can use: CSV of plain numbers, a compact Parquet trace that loads back exactly."""
import csv

import numpy as np
import pytest

from cosim import Engine
from cosim.sim import Trace


@pytest.fixture(scope="module")
def programmed():
    eng = Engine()
    arr = eng.array(6, 6, cell="1T1R", seed=3, r_wl=1.0, r_bl=1.0)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(3).uniform(np.log(lo * 1.5), np.log(hi * 0.8)))
    arr.program(target, scheme="write-verify", tolerance=0.02, progress=False)
    return arr


def test_csv_holds_plain_numbers(programmed, tmp_path):
    path = programmed.trace.to_csv(tmp_path / "trace.csv")
    text = path.read_text()
    assert "np." not in text and "float64" not in text
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == len(programmed.trace)
    for row, rec in zip(rows, programmed.trace):
        assert float(row["energy_j"]) == rec.energy_j and float(row["time_s"]) == rec.time_s
        assert row["operation"] == rec.operation and int(row["n_cols"]) == len(rec.cols)


def test_parquet_trace_round_trips_and_is_compact(programmed, tmp_path):
    meta = {"seed": 3, "scheme": "write-verify"}
    pq_path = programmed.trace.save(tmp_path / "trace.parquet", meta)
    js_path = programmed.trace.save(tmp_path / "trace.jsonl", meta)
    back, back_meta = Trace.load(pq_path)
    assert back_meta == meta
    assert len(back) == len(programmed.trace)
    for a, b in zip(back, programmed.trace):
        assert a.operation == b.operation and a.note == b.note and a.rows == list(b.rows)
        assert a.time_s == b.time_s and a.energy_j == b.energy_j and a.v_bl == [float(v) for v in b.v_bl]
        assert a.currents == [float(c) for c in b.currents]
    assert pq_path.stat().st_size < js_path.stat().st_size / 3


def test_loading_a_foreign_parquet_file_says_what_is_wrong(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="not a cosim trace"):
        Trace.load(tmp_path / "other.parquet")
