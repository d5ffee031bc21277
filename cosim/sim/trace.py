"""The record of everything that happened to an array: one row per operation on the engine clock."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
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
        """Write the trace as JSON lines (one record per line) after a metadata header line."""
        path = Path(path)
        with path.open("w") as f:
            f.write(json.dumps({"cosim_trace": 1, "metadata": metadata or {}}) + "\n")
            for r in self.records:
                f.write(json.dumps(asdict(r), default=_to_builtin) + "\n")
        return path

    @classmethod
    def load(cls, path) -> tuple["Trace", dict]:
        """Read a trace written by :meth:`save`; returns (trace, metadata)."""
        lines = Path(path).read_text().splitlines()
        if not lines:
            raise ValueError(f"{path}: empty trace file")
        head = json.loads(lines[0])
        if head.get("cosim_trace") != 1:
            raise ValueError(f"{path}: not a cosim trace (missing header line)")
        return cls([TraceRecord(**json.loads(line)) for line in lines[1:]]), head.get("metadata", {})

    def to_csv(self, path) -> Path:
        """A flat CSV of the scalar fields (lists summarised by their length) for spreadsheets."""
        path = Path(path)
        with path.open("w") as f:
            f.write("time_s,duration_s,operation,n_rows,n_cols,energy_j,temperature_k,note\n")
            for r in self.records:
                f.write(f"{r.time_s!r},{r.duration_s!r},{r.operation},{len(r.rows)},{len(r.cols)},"
                        f"{r.energy_j!r},{r.temperature_k!r},{r.note}\n")
        return path


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")
