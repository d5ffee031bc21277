"""Run ngspice in batch mode on a deck and read its DC operating point from the raw file it writes.

``ngspice -b -r <raw> deck.cir`` runs the deck's ``.op`` and writes every node voltage and source
current to a raw file, binary float64 by default (exact; stdout would round to a few digits). Names
come back lower-cased; :func:`run_ngspice` restores the deck's spelling and fills in nodes that
:func:`cosim.netlist.spice.write_spice` merged (its ``* cosim-alias:`` lines).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np


class NgspiceError(RuntimeError):
    """ngspice is missing, failed, or reported a result that is not a clean operating point."""


def run_ngspice(path, timeout_s: float = 600.0) -> dict:
    """Run ``ngspice -b`` on a deck with ``.op``; return its operating point.

    Returns ``{"node_voltages": {node: V}, "source_currents": {source: A}}`` with names spelt as in
    the deck (ngspice lower-cases them). Nodes merged by :func:`cosim.netlist.spice.write_spice`
    (``cosim-alias``) get the voltage of the node they were merged into. A source's current flows from its + node through it,
    i.e. from the network into the terminal. Raises NgspiceError if ngspice is missing, fails, times
    out or reports a singular matrix (a floating node).
    """
    exe = shutil.which("ngspice")
    if exe is None:
        raise NgspiceError("ngspice is not on PATH (Debian/Ubuntu: apt-get install ngspice)")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such netlist: {path}")
    env = {k: v for k, v in os.environ.items() if k != "SPICE_ASCIIRAWFILE"}
    with tempfile.TemporaryDirectory(prefix="cosim_ngspice_") as tmp:
        raw = Path(tmp) / "out.raw"
        try:
            proc = subprocess.run([exe, "-b", "-r", str(raw), str(path.resolve())], cwd=tmp, env=env,
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise NgspiceError(f"ngspice did not finish {path} within {timeout_s} s") from None
        log = proc.stdout + proc.stderr
        if proc.returncode != 0 or not raw.is_file():
            raise NgspiceError(f"ngspice failed on {path} (exit {proc.returncode}):\n{_tail(log)}")
        if "singular matrix" in log.lower():
            raise NgspiceError(f"ngspice reports a singular matrix for {path} (a floating node?):\n{_tail(log)}")
        names, values = read_raw(raw)
    return _operating_point(names, values, path)


def _tail(log: str, n_chars: int = 3000) -> str:
    """The end of ngspice's output, blank lines dropped (for error messages)."""
    return "\n".join(line for line in log.splitlines() if line.strip())[-n_chars:]


def read_raw(path) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Variables ``[(name, type), ...]`` and values (points, variables) of an ngspice raw file.

    Reads the binary format (float64, as ngspice writes it by default) and the ASCII one.
    """
    data = Path(path).read_bytes()
    header_end = max(data.find(b"Binary:\n"), data.find(b"Values:\n"))
    if header_end < 0:
        raise NgspiceError(f"{path}: not an ngspice raw file (no Binary:/Values: section)")
    header = data[:header_end].decode("ascii", "replace").splitlines()
    fields = {}
    variables = []
    in_vars = False
    for line in header:
        if in_vars and line.startswith("\t"):
            _, name, kind = line.split()[:3]
            variables.append((name, kind))
            continue
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
        in_vars = key.strip() == "Variables"
    if "complex" in fields.get("Flags", ""):
        raise NgspiceError(f"{path}: complex data; an operating point is real")
    n_vars, n_points = int(fields["No. Variables"]), int(fields["No. Points"])
    body = data[header_end + len(b"Binary:\n"):]
    if data[header_end:].startswith(b"Binary:"):
        values = np.frombuffer(body[: 8 * n_vars * n_points], dtype="<f8").reshape(n_points, n_vars)
    else:
        tokens = body.decode("ascii").split()
        numbers = [float(tok) for k, tok in enumerate(tokens) if k % (n_vars + 1) != 0]
        values = np.array(numbers).reshape(n_points, n_vars)
    return variables, values.copy()


def _operating_point(variables, values: np.ndarray, deck: Path) -> dict:
    spelling, aliases = _deck_names(deck)
    voltages, currents = {}, {}
    for (name, kind), value in zip(variables, values[0]):
        name = name.lower()
        if kind == "voltage":
            node = name[2:-1] if name.startswith("v(") else name
            voltages[spelling.get(node, node)] = float(value)
        elif kind == "current":
            src = name[2:-1] if name.startswith("i(") else name.removesuffix("#branch")
            currents[spelling.get(src, src)] = float(value)
    for node, into in aliases.items():
        if into in voltages:
            voltages[node] = voltages[into]
    return {"node_voltages": voltages, "source_currents": currents}


def _deck_names(deck: Path) -> tuple[dict, dict]:
    """Lower-case -> original spelling of card and node names, and the deck's cosim-alias map."""
    spelling, aliases = {}, {}
    for text in deck.read_text().splitlines()[1:]:
        if text.startswith("* cosim-alias:"):
            node, into = text.split(":", 1)[1].split()
            aliases[node] = into
        elif text.strip() and not text.startswith(("*", ".", "+")):
            for token in text.split()[:3]:
                spelling.setdefault(token.lower(), token)
    return spelling, aliases
