"""Sweep results on disk: one Parquet row per point, appended as each point finishes.

``RESULTS.parquet`` is one ordinary Parquet file (any Parquet reader opens it); beside it, the
journal ``RESULTS.parquet.parts/`` holds one small Parquet file per finished point, written
atomically (temporary file, then rename) the moment the point's result arrives. The journal is the
source of truth: a killed sweep loses only the points in flight, and rerunning the same spec skips
every point whose row says ``ok``. The single file is rebuilt from the journal at the end of a run.

A row holds: ``key`` (hash of study, spec seed and configuration), ``study``, ``seed`` (the point's
own seed), ``status`` ("ok" / "failed"), ``error`` and ``traceback`` (failed points), ``elapsed_s``,
``worker``, ``config_json`` (the full configuration), and one column per configuration value
(``config.NAME``) and per result (``result.NAME``).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["PointRecord", "ResultStore", "point_key", "point_seed", "load_rows", "load_table"]

OK, FAILED = "ok", "failed"
CONFIG_PREFIX, RESULT_PREFIX = "config.", "result."


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def point_key(study: str, spec_seed: int, config: Mapping[str, Any]) -> str:
    """Stable identity of a point (hex): the same study, spec seed and configuration give the same key."""
    text = _canonical({"study": study, "seed": spec_seed, "config": dict(config)})
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def point_seed(key: str) -> int:
    """The point's seed (0 <= seed < 2**63), derived from its key: independent of order and workers."""
    return int(key[:16], 16) & (2 ** 63 - 1)


@dataclass
class PointRecord:
    """What one point produced (a row of the results)."""

    key: str
    study: str
    seed: int
    config: dict[str, Any]
    status: str = OK
    results: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    traceback: str = ""
    elapsed_s: float = 0.0
    worker: str = ""

    def row(self) -> dict[str, Any]:
        row = {"key": self.key, "study": self.study, "seed": self.seed, "status": self.status,
               "error": self.error, "traceback": self.traceback, "elapsed_s": self.elapsed_s,
               "worker": self.worker, "config_json": _canonical(self.config)}
        row.update({CONFIG_PREFIX + k: v for k, v in self.config.items()})
        row.update({RESULT_PREFIX + k: v for k, v in self.results.items()})
        return row


class ResultStore:
    """The results file ``path`` and its journal of per-point part files."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.suffix != ".parquet":
            raise ValueError(f"results path must end in .parquet; got {self.path}")
        self.parts = self.path.with_name(self.path.name + ".parts")

    def finished_keys(self) -> set[str]:
        """Keys of the points whose row in the journal has status ok."""
        if not self.parts.is_dir():
            return set()
        table = self.journal(columns=["key", "status"])
        return {k for k, s in zip(table.column("key").to_pylist(), table.column("status").to_pylist()) if s == OK}

    def write(self, record: PointRecord) -> None:
        """Append one point (replacing an earlier row of the same key), atomically."""
        self.parts.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist([record.row()])
        final = self.parts / f"{record.key}.parquet"
        temp = self.parts / f".{record.key}.{os.getpid()}.tmp"
        pq.write_table(table, temp)
        os.replace(temp, final)

    def consolidate(self, metadata: Mapping[str, str] | None = None) -> pa.Table:
        """Rebuild the single results file from the journal (atomically); returns its table."""
        table = self.journal()
        if metadata:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                   **{k.encode(): v.encode() for k, v in metadata.items()}})
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        pq.write_table(table, temp)
        os.replace(temp, self.path)
        return table

    def journal(self, columns: list[str] | None = None) -> pa.Table:
        files = sorted(self.parts.glob("*.parquet"))
        if not files:
            return pa.table({"key": pa.array([], pa.string()), "status": pa.array([], pa.string())})
        tables = [pq.read_table(f, columns=columns) for f in files]
        return pa.concat_tables(tables, promote_options="permissive")


def load_table(path: Path) -> pa.Table:
    """The results table of ``path`` (the consolidated file, or its journal when that is newer)."""
    path = Path(path)
    store = ResultStore(path)
    if store.parts.is_dir():
        newest_part = max((f.stat().st_mtime for f in store.parts.glob("*.parquet")), default=0.0)
        if not path.is_file() or newest_part > path.stat().st_mtime:
            return store.journal()
    if not path.is_file():
        raise FileNotFoundError(f"no such results file: {path}")
    return pq.read_table(path)


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The results as one dict per point (Parquet column names as keys), sorted by key."""
    return sorted(load_table(path).to_pylist(), key=lambda row: row["key"])
