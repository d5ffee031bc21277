"""The ``cosim`` command: ``demo``, ``solve``, ``export-spice``, ``run``, ``sweep`` and ``report``.

NETLIST is a TOML array description (``.toml``, see :mod:`cosim.netlist.description`) or a SPICE deck
(any other suffix; cosim reads what it exports, see :mod:`cosim.netlist.spice`). A deck exported from
a crossbar becomes that crossbar again; any other deck of resistors and grounded sources is solved as
a general circuit whose inputs are all its terminal voltages and outputs all its terminal currents.

Inputs CSV: one input vector per row, comma separated, ``#`` comments allowed. Default inputs: 0.2 V
on every word line for a TOML description; the deck's own source voltages for a SPICE deck.
Bad input (missing file, wrong shape, invalid values) prints ``cosim: error: ...`` and exits with 2.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from cosim.netlist.spice import NgspiceError, parse_spice, write_spice
from cosim.netlist.graph import element_table_from_graph
from cosim.solve.crossbar import Crossbar
from cosim.solve.files import crossbar_from_graph, load_description
from cosim.solve.mna import CompiledCircuit

DEFAULT_READ_V = 0.2   # V on every word line when a description gives no inputs
EXIT_BAD_INPUT = 2


@dataclass
class Netlist:
    """A loaded NETLIST: a crossbar (inputs = word-line volts, outputs = sense currents) or a general circuit."""

    crossbar: Crossbar | None
    graph: nx.MultiGraph | None          # the general circuit (None for a crossbar)
    default_inputs: np.ndarray
    output_names: list[str]

    @property
    def n_inputs(self) -> int:
        return self.default_inputs.size

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """(batch, n_outputs) output currents, A, for (batch, n_inputs) inputs, V."""
        if self.crossbar is not None:
            return self.crossbar.read(inputs)
        table, _, _ = element_table_from_graph(self.graph)
        return CompiledCircuit(table).factor(table.g).solve(inputs).terminal_currents

    def export(self, path: Path, inputs: np.ndarray, title: str) -> None:
        if self.crossbar is not None:
            write_spice(self.crossbar.graph, path, self.crossbar.terminal_voltages(inputs), title=title)
        else:
            write_spice(self.graph, path, inputs, title=title)


def load_netlist(path: Path) -> Netlist:
    """Read a TOML description or a SPICE deck (see the module docstring)."""
    if not path.is_file():
        raise FileNotFoundError(f"no such netlist: {path}")
    if path.suffix.lower() == ".toml":
        crossbar, _ = load_description(path)
        return Netlist(crossbar, None, np.full(crossbar.rows, DEFAULT_READ_V),
                       [f"out_{j}" for j in range(crossbar.cols)])
    deck = parse_spice(path)
    if "rows" in deck.graph.graph:
        crossbar = crossbar_from_graph(deck.graph)
        senses = deck.terminal_voltages[crossbar.rows:]
        if np.any(senses != 0):
            raise ValueError(f"{path}: sense terminals must be at 0 V; got {senses[senses != 0][:3]}")
        return Netlist(crossbar, None, deck.terminal_voltages[: crossbar.rows],
                       [f"out_{j}" for j in range(crossbar.cols)])
    terminals = sorted((t, node) for node, t in deck.graph.nodes(data="terminal") if t is not None)
    return Netlist(None, deck.graph, deck.terminal_voltages, [str(node) for _, node in terminals])


def read_inputs(path: Path | None, netlist: Netlist) -> np.ndarray:
    """(batch, n_inputs) input voltages from a CSV file, or the netlist's default as one row."""
    if path is None:
        return netlist.default_inputs[None, :]
    if not path.is_file():
        raise FileNotFoundError(f"no such inputs file: {path}")
    try:
        inputs = np.loadtxt(path, delimiter=",", ndmin=2, comments="#", dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: inputs must be numbers, one comma-separated vector per row ({exc})") from None
    if inputs.shape[0] == 0 or inputs.shape[1] != netlist.n_inputs:
        raise ValueError(f"{path}: each input row needs {netlist.n_inputs} values; got shape {inputs.shape}")
    if not np.all(np.isfinite(inputs)):
        raise ValueError(f"{path}: inputs must be finite")
    return inputs


def _optional_path(value: str | None) -> Path | None:
    return None if value is None else Path(value)


# ---- subcommands ------------------------------------------------------------------------------
def cmd_demo(args) -> int:
    from cosim.demo import run_demo  # matplotlib is only needed here

    run_demo(Path(args.out), log=lambda line: print(line, flush=True))
    return 0


def cmd_solve(args) -> int:
    netlist = load_netlist(Path(args.netlist))
    inputs = read_inputs(_optional_path(args.inputs), netlist)
    currents = netlist.currents(inputs)
    what = "sense currents" if netlist.crossbar is not None else "terminal currents (into each terminal)"
    header = f"{args.netlist}: {what} in A, one row per input vector; columns: {','.join(netlist.output_names)}"
    print(f"# {header}")
    for row in currents:
        print(",".join(f"{value:.10e}" for value in row))
    if args.out:
        np.savetxt(args.out, currents, delimiter=",", fmt="%.17g", header=header)
        print(f"# written to {args.out}")
    return 0


def cmd_export_spice(args) -> int:
    netlist = load_netlist(Path(args.netlist))
    inputs = read_inputs(_optional_path(args.inputs), netlist)
    if inputs.shape[0] != 1:
        raise ValueError(f"export-spice takes one input vector; {args.inputs} has {inputs.shape[0]} rows")
    netlist.export(Path(args.output), inputs[0], title=f"cosim export of {Path(args.netlist).name}")
    print(f"wrote {args.output}")
    return 0


def cmd_run(args) -> int:
    from cosim.experiment import Experiment, run_experiment

    experiment = Experiment.load(Path(args.experiment))
    out = Path(args.out) if args.out else Path(args.experiment).with_suffix("")
    run_experiment(experiment, out, log=lambda line: print(line, flush=True))
    return 0


def cmd_sweep(args) -> int:
    from cosim.sweep import Sweep

    sweep = Sweep.from_toml(Path(args.spec))
    out = Path(args.out) if args.out else sweep.default_out()
    print(f"{args.spec}: study {sweep.spec.study}, {len(sweep.points)} points -> {out}", flush=True)
    run = sweep.run(out=out, scheduler=args.scheduler, workers=args.workers)
    print(f"ran {run.ran} points ({run.failed} failed), skipped {run.skipped} finished ones, "
          f"in {run.elapsed_s:.1f} s; {run.table.num_rows} rows in {run.path}")
    ok = [row for row in run.table.to_pylist() if row["status"] == "ok"]
    if sweep.study.summary is not None and ok:
        print("\n".join(sweep.study.summary(ok)))
    if sweep.study.paper:
        print(f"paper: {sweep.study.paper}")
    return 0


def cmd_report(args) -> int:
    from cosim.sweep.report import write_report

    page, md = write_report(Path(args.results), Path(args.out) if args.out else None)
    print(f"wrote {page} and {md}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosim", description="Co-simulator of memristive crossbar arrays.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the built-in tour (prints figures, saves plots)")
    demo.add_argument("--out", default="cosim_demo_output", help="folder for figures (default: %(default)s/)")
    demo.set_defaults(run=cmd_demo)
    solve = sub.add_parser("solve", help="solve a netlist for one or more input vectors; print its currents")
    solve.add_argument("netlist", help="TOML array description or SPICE deck exported by cosim")
    solve.add_argument("--inputs", help=f"CSV, one input vector per row (default: {DEFAULT_READ_V} V per word line)")
    solve.add_argument("--out", help="also write the currents to this CSV")
    solve.set_defaults(run=cmd_solve)
    export = sub.add_parser("export-spice", help="write an ngspice deck of a netlist")
    export.add_argument("netlist", help="TOML array description or SPICE deck")
    export.add_argument("output", help="the .cir file to write")
    export.add_argument("--inputs", help="CSV with one input vector (default: 0.2 V per word line)")
    export.set_defaults(run=cmd_export_spice)
    run = sub.add_parser("run", help="run an experiment described in TOML (program, read, bake, cycle)")
    run.add_argument("experiment", help="experiment TOML (see examples/experiments/)")
    run.add_argument("--out", help="folder for the trace and figures (default: next to the file, named after it)")
    run.set_defaults(run=cmd_run)
    sweep = sub.add_parser("sweep", help="run a parameter sweep (TOML spec) on a Dask cluster; resumable")
    sweep.add_argument("spec", help="sweep spec TOML (see examples/studies/)")
    sweep.add_argument("--scheduler", help="address of a running Dask scheduler, tcp://HOST:PORT "
                                           "(default: start a local cluster of worker processes)")
    sweep.add_argument("--workers", type=int, help="worker processes of the local cluster (default: CPU count; "
                                                   "0 = run in this process)")
    sweep.add_argument("--out", help="results Parquet file (default: the spec's name with .parquet, here)")
    sweep.set_defaults(run=cmd_sweep)
    report = sub.add_parser("report", help="write an HTML and Markdown report of sweep results")
    report.add_argument("results", help="results Parquet file written by 'cosim sweep'")
    report.add_argument("--out", help="folder for report.html, report.md and figures (default: RESULTS_report/)")
    report.set_defaults(run=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cosim`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError, NgspiceError) as exc:
        print(f"cosim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
