"""The record of everything that happened to an array: one row per operation on the engine clock."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np


@dataclass
class TraceRecord:
    """One timed operation.

    Attributes:
        time_s: simulated time at which the operation started, s.
        duration_s: how long it took on the clock, s.
        operation: "pulse", "read", "bake", "idle", "cycle", "defect" or "temperature".
        rows, cols: the lines the operation addressed, listed explicitly (a read: the selected rows and
            every sensed column; a pulse: the driven, selected rows and the driven columns; a bake: all).
        v_wl, v_bl: applied word-line / bit-line voltages, V (empty for operations without bias).
        currents: sense currents read at the end of the operation, A (empty when none).
        energy_j: energy dissipated in every element of the circuit during the operation, J.
        temperature_k: array temperature during the operation, K.
        note: free text (scheme name, pulse index, ...).
    """

    time_s: float
    duration_s: float
    operation: str
    rows: list = field(default_factory=list)
    cols: list = field(default_factory=list)
    v_wl: list = field(default_factory=list)
    v_bl: list = field(default_factory=list)
    currents: list = field(default_factory=list)
    energy_j: float = 0.0
    temperature_k: float = 300.0
    note: str = ""


class Trace:
    """An append-only list of :class:`TraceRecord` with totals, save/load and plots."""

    def __init__(self, records: list[TraceRecord] | None = None):
        self.records: list[TraceRecord] = list(records or [])

    def append(self, record: TraceRecord) -> None:
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, k):
        return self.records[k]

    def __iter__(self):
        return iter(self.records)

    def column(self, name: str) -> np.ndarray:
        """One scalar field over all records, e.g. ``column("energy_j")``."""
        return np.array([getattr(r, name) for r in self.records])

    def total_energy(self, operation: str | None = None) -> float:
        """Sum of ``energy_j`` (J), optionally over one operation kind."""
        return float(sum(r.energy_j for r in self.records if operation in (None, r.operation)))

    def total_duration(self, operation: str | None = None) -> float:
        """Sum of ``duration_s`` (s), optionally over one operation kind."""
        return float(sum(r.duration_s for r in self.records if operation in (None, r.operation)))

    def count(self, operation: str) -> int:
        return sum(1 for r in self.records if r.operation == operation)

    # ---- files ----------------------------------------------------------------------------
    def save(self, path, metadata: dict | None = None) -> Path:
        """Write the trace: Parquet (columnar, compressed; for large runs) when ``path`` ends in ``.parquet``,
        else JSON lines (one record per line) after a metadata header line."""
        path = Path(path)
        if path.suffix == ".parquet":
            return _save_parquet(self.records, path, metadata or {})
        with path.open("w") as f:
            f.write(json.dumps({"cosim_trace": 1, "metadata": metadata or {}}) + "\n")
            for r in self.records:
                f.write(json.dumps(asdict(r), default=_to_builtin) + "\n")
        return path

    @classmethod
    def load(cls, path) -> tuple["Trace", dict]:
        """Read a trace written by :meth:`save`; returns (trace, metadata)."""
        if Path(path).suffix == ".parquet":
            records, metadata = _load_parquet(Path(path))
            return cls(records), metadata
        lines = Path(path).read_text().splitlines()
        if not lines:
            raise ValueError(f"{path}: empty trace file")
        head = json.loads(lines[0])
        if head.get("cosim_trace") != 1:
            raise ValueError(f"{path}: not a cosim trace (missing header line)")
        return cls([TraceRecord(**json.loads(line)) for line in lines[1:]]), head.get("metadata", {})

    def to_csv(self, path) -> Path:
        """A flat CSV of the scalar fields (lists summarised by their length) for spreadsheets; plain numbers."""
        path = Path(path)
        with path.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["time_s", "duration_s", "operation", "n_rows", "n_cols", "energy_j", "temperature_k", "note"])
            for r in self.records:
                out.writerow([repr(float(r.time_s)), repr(float(r.duration_s)), r.operation, len(r.rows), len(r.cols),
                              repr(float(r.energy_j)), repr(float(r.temperature_k)), r.note])
        return path


_LIST_FIELDS = ("rows", "cols", "v_wl", "v_bl", "currents")


def _save_parquet(records: list[TraceRecord], path: Path, metadata: dict) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {}
    for f in fields(TraceRecord):
        values = [getattr(r, f.name) for r in records]
        if f.name in ("rows", "cols"):
            columns[f.name] = pa.array([[int(x) for x in v] for v in values], pa.list_(pa.int32()))
        elif f.name in _LIST_FIELDS:
            columns[f.name] = pa.array([[float(x) for x in v] for v in values], pa.list_(pa.float64()))
        elif f.name in ("operation", "note"):
            columns[f.name] = pa.array([str(v) for v in values], pa.string()).dictionary_encode()
        else:
            columns[f.name] = pa.array([float(v) for v in values], pa.float64())
    table = pa.table(columns).replace_schema_metadata({"cosim_trace": "1", "metadata": json.dumps(metadata)})
    pq.write_table(table, path, compression="zstd")
    return path


def _load_parquet(path: Path) -> tuple[list[TraceRecord], dict]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    if meta.get(b"cosim_trace") != b"1":
        raise ValueError(f"{path}: not a cosim trace (missing cosim_trace metadata)")
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    records = [TraceRecord(**{name: cols[name][k] for name in cols}) for k in range(table.num_rows)]
    return records, json.loads(meta.get(b"metadata", b"{}"))


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")
