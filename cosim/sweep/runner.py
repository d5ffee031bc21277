"""Running a sweep: every pending point is one task on Dask distributed, its row written as it lands.

``Sweep.from_toml(path).run()`` starts a ``LocalCluster`` of worker processes (one thread each;
processes are spawned, not forked, so OpenMP and torch start clean) unless a ``client`` or a
``scheduler`` address is given; ``workers=0`` runs the points in this process, one after another.
Points already finished in the results (same configuration, same spec seed) are skipped; a point
that raises records its error and traceback and the others go on; a progress bar shows points
done / failed / remaining and the estimated time left.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
from tqdm.auto import tqdm

from cosim.sweep.results import FAILED, OK, PointRecord, ResultStore, point_key, point_seed
from cosim.sweep.spec import SweepSpec, load_spec
from cosim.sweep.study import Study, resolve_study

__all__ = ["Sweep", "SweepRun", "run_point"]


def run_point(study_ref: str, key: str, seed: int, config: dict[str, Any]) -> PointRecord:
    """Run one point of study ``study_ref`` (on a worker); failures come back as a failed record."""
    start = time.perf_counter()
    record = PointRecord(key=key, study=study_ref, seed=seed, config=config,
                         worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        record.results = resolve_study(study_ref)(config, seed)
    except Exception as exc:      # the point fails, the sweep goes on
        record.status, record.error, record.traceback = FAILED, f"{type(exc).__name__}: {exc}", traceback.format_exc()
    record.elapsed_s = time.perf_counter() - start
    return record


@dataclass(frozen=True)
class SweepRun:
    """What a run did: the whole results ``table`` (earlier runs included), and counts of this run."""

    path: Path
    table: pa.Table
    ran: int
    skipped: int
    failed: int
    elapsed_s: float


class Sweep:
    """A validated sweep: its spec, study and points (each with its key and seed).

    Construction checks everything that can be checked without running: the spec, that the study
    resolves, and every point's configuration against the study's parameters.
    """

    def __init__(self, spec: SweepSpec, source: Path | None = None):
        self.spec = spec
        self.source = source
        self.study: Study = resolve_study(spec.study)
        self.points = spec.points()
        for index, config in enumerate(self.points):
            try:
                self.study.configure(config)
            except ValueError as exc:
                raise ValueError(f"point {index} {config}: {exc}") from None
        self.keys = [point_key(spec.study, spec.seed, c) for c in self.points]
        self.seeds = [point_seed(k) for k in self.keys]

    @classmethod
    def from_toml(cls, path: Path | str) -> "Sweep":
        """Read, validate and expand a TOML spec (see :mod:`cosim.sweep.spec`)."""
        return cls(load_spec(Path(path)), Path(path))

    def default_out(self) -> Path:
        """Where results go by default: the spec's name with ``.parquet``, in the working directory."""
        stem = self.source.stem if self.source is not None else self.spec.study.replace(":", "_")
        return Path(f"{stem}.parquet")

    def run(self, client=None, *, out: Path | str | None = None, scheduler: str | None = None,
            workers: int | None = None, progress: bool = True) -> SweepRun:
        """Run every point not yet finished in ``out``; returns the results of all points.

        client: a ``distributed.Client`` to submit to. scheduler: the address of a running scheduler
        (``tcp://host:port``) when no client is given. workers: processes of the local cluster
        started when neither is given (default: the CPU count); 0 runs serially in this process.
        """
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
            raise ValueError(f"workers must be an integer >= 0; got {workers!r}")
        store = ResultStore(Path(out) if out is not None else self.default_out())
        done = store.finished_keys()
        pending = [i for i, k in enumerate(self.keys) if k not in done]
        start = time.perf_counter()
        failed = 0
        with tqdm(total=len(self.points), initial=len(self.points) - len(pending), unit="pt",
                  desc=self.spec.title or self.spec.study, disable=not progress, smoothing=0.1) as bar:
            for record in self._records(pending, client, scheduler, workers):
                store.write(record)
                failed += record.status != OK
                bar.set_postfix(done=bar.n + 1 - failed, failed=failed, remaining=bar.total - bar.n - 1, refresh=False)
                bar.update(1)
        table = store.consolidate({"cosim.spec": json.dumps(asdict(self.spec), default=str)})
        return SweepRun(store.path, table, len(pending), len(self.points) - len(pending), failed,
                        time.perf_counter() - start)

    def _records(self, pending: list[int], client, scheduler, workers) -> Iterator[PointRecord]:
        args = [(self.spec.study, self.keys[i], self.seeds[i], self.points[i]) for i in pending]
        if not args:
            return
        if client is None and scheduler is None and workers == 0:
            for a in args:
                yield run_point(*a)
            return
        from distributed import as_completed

        with _client(client, scheduler, workers) as dask_client:
            futures = {dask_client.submit(run_point, *a, pure=False): a for a in args}
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:    # the task itself was lost (worker died): record it, go on
                    study, key, seed, config = futures[future]
                    yield PointRecord(key, study, seed, config, status=FAILED, error=f"{type(exc).__name__}: {exc}",
                                      traceback="".join(traceback.format_exception(exc)))


@contextmanager
def _client(client, scheduler: str | None, workers: int | None):
    """The client to submit to: the given one, one connected to ``scheduler``, or a new local cluster's."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as c:
            yield c
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
        yield c
