"""Experiments described in TOML and run on the engine: ``cosim run EXPERIMENT.toml``.

An experiment builds one array, programs it with a scheme, then runs a list of steps (reads, bakes,
idles, cycles) on the engine clock, and writes the trace (JSON lines + CSV), a summary and figures.
See ``examples/experiments/*.toml`` for complete files. Layout::

    [engine]   temperature = 300.0                       # K
    [array]    rows, cols, cell ("1R" | "1T1R"), device ("MODEL:PRESET"), seed,
               r_wl, r_bl, r_source, r_sense, r_on_transistor   # ohm
               or: description = "netlists/broken_line.toml" (an array description, relative to this
               file) or an embedded [array.description] table in the same format, with seed and device
    [program]  scheme, tolerance, target ("random" | "checkerboard" | "CSV path", siemens), amplitude
    [[steps]]  kind = "read" (voltage) | "bake" (seconds, kelvin) | "idle" (seconds) | "cycle" (n)

Every value is checked when the file is loaded; an error names the file, the key and the form that
was expected. ``device`` is resolved by the one model registry (``cosim.devices.registry``).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cosim.devices.registry import make_device, resolve_device
from cosim.sim import SCHEMES, Engine
from cosim.sim.defects import array_from_description
from cosim.validate import check_memory, check_range, positive_int, read_text, real_scalar

ARRAY_KEYS = {"rows", "cols", "cell", "device", "seed", "r_wl", "r_bl", "r_source", "r_sense", "r_on_transistor"}
DESCRIBED_ARRAY_KEYS = {"description", "device", "seed"}
PROGRAM_KEYS = {"scheme", "tolerance", "target", "amplitude"}
STEP_KEYS = {"read": {"voltage"}, "bake": {"seconds", "kelvin"}, "idle": {"seconds"}, "cycle": {"n"}}
RESISTANCE_KEYS = ("r_wl", "r_bl", "r_source", "r_sense", "r_on_transistor")
CYCLES_MAX = 2 ** 63 - 1          # cycle counters are int64


@dataclass
class Experiment:
    """A validated experiment description (see the module docstring)."""

    temperature: float = 300.0
    array: dict = field(default_factory=dict)
    program: dict | None = None
    steps: list = field(default_factory=list)
    base_dir: Path = Path(".")

    @classmethod
    def load(cls, path) -> "Experiment":
        path = Path(path)
        try:
            data = tomllib.loads(read_text(path, "experiment file"))
        except FileNotFoundError:
            raise ValueError(f"experiment file not found: {path}") from None
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: not valid TOML ({err})") from None
        try:
            return cls.from_dict(data, path.parent)
        except (ValueError, TypeError, MemoryError) as err:
            raise type(err)(f"{path}: {err}") from None

    @classmethod
    def from_dict(cls, data: dict, base_dir: Path = Path(".")) -> "Experiment":
        if not isinstance(data, dict):
            raise TypeError(f"an experiment is a TOML document (a table); got {type(data).__name__}")
        unknown = set(data) - {"engine", "array", "program", "steps"}
        if unknown:
            raise ValueError(f"unknown experiment section(s) {sorted(unknown)}; expected engine, array, program, steps")
        engine = _table("[engine]", data.get("engine", {}))
        if set(engine) - {"temperature"}:
            raise ValueError(f"[engine] takes only 'temperature'; got {sorted(engine)}")
        temperature = _number("[engine] temperature", engine.get("temperature", 300.0), "K", low=0.0, open_low=True)
        array = dict(_table("[array]", data.get("array", {})))
        if "description" in array:
            _check_keys("[array] with a description", array, DESCRIBED_ARRAY_KEYS)
            if "seed" in array:
                positive_int("[array] seed", array["seed"], minimum=0)
            if "device" in array:
                resolve_device(array["device"])
            array["description"] = _description(array["description"], base_dir)
        else:
            _check_keys("[array]", array, ARRAY_KEYS, required={"rows", "cols"})
            _check_array(array)
        program = data.get("program")
        if program is not None:
            _check_program(_table("[program]", program))
        steps = data.get("steps", [])
        if not isinstance(steps, list):
            raise TypeError("steps must be an array of tables, written as [[steps]] sections each with a kind "
                            f"(read, bake, idle, cycle); got a {'table ([steps])' if isinstance(steps, dict) else type(steps).__name__}")
        for k, step in enumerate(steps):
            _check_step(k, step)
        return cls(temperature, array, program, list(steps), base_dir)

    def build(self):
        """A fresh engine and the described array on it."""
        eng = Engine(temperature=self.temperature)
        spec = dict(self.array)
        if "description" in spec:
            seed = spec.get("seed", 0)
            device = spec.get("device")
            if device is not None:
                rows, cols = spec["description"].layout.rows, spec["description"].layout.cols
                device = make_device(device, rows * cols, seed)
            return eng, array_from_description(eng, spec["description"], device=device, seed=seed)
        rows, cols = spec.pop("rows"), spec.pop("cols")
        device = spec.pop("device", None)
        seed = spec.pop("seed", 0)
        if device is not None:
            device = make_device(device, rows * cols, seed)
        return eng, eng.array(rows, cols, device=device, seed=seed, **spec)

    def target(self, arr) -> np.ndarray:
        """The programming target (rows, cols) in siemens."""
        lo, hi = arr.conductance_bounds()
        kind = self.program.get("target", "random")
        if kind == "random":
            rng = np.random.default_rng(self.array.get("seed", 0))
            return np.exp(rng.uniform(np.log(lo * 1.2), np.log(hi * 0.8)))
        if kind == "checkerboard":
            board = np.add.outer(np.arange(arr.rows), np.arange(arr.cols)) % 2 == 1
            return np.where(board, 0.8 * hi, 1.5 * lo)
        path = self.base_dir / kind
        if not path.exists():
            raise ValueError(f"[program] target must be 'random', 'checkerboard' or a CSV file; {path} not found")
        return np.loadtxt(path, delimiter=",", ndmin=2)


def _table(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"{where} must be a table (a [section]); got {type(value).__name__} {value!r}")
    return value


def _number(name: str, value, unit: str = "", low: float | None = None, open_low: bool = False) -> float:
    value = real_scalar(name, value, unit=unit)
    check_range(name, value, low=low, low_inclusive=not open_low, unit=unit)
    return value


def _check_array(array: dict) -> None:
    rows, cols = (positive_int(f"[array] {key}", array[key]) for key in ("rows", "cols"))
    # conductances, layout resistances, device parameters and state: at least 16 float64 per cell
    check_memory(f"[array] of {rows} x {cols} cells", 8.0 * 16 * rows * cols)
    if "seed" in array:
        positive_int("[array] seed", array["seed"], minimum=0)
    if array.get("cell", "1R") not in ("1R", "1T1R"):
        raise ValueError(f"[array] cell must be \"1R\" or \"1T1R\"; got {array['cell']!r}")
    for key in RESISTANCE_KEYS:
        if key in array:
            _number(f"[array] {key}", array[key], "ohm", low=0.0)
    if "device" in array:
        try:
            resolve_device(array["device"])
        except (ValueError, TypeError) as err:
            raise type(err)(f"[array] device: {err}") from None


def _check_program(program: dict) -> None:
    _check_keys("[program]", program, PROGRAM_KEYS, required={"scheme"})
    if not isinstance(program["scheme"], str) or program["scheme"] not in SCHEMES:
        raise ValueError(f"[program] scheme must be one of {', '.join(SCHEMES)}; got {program['scheme']!r}")
    if "tolerance" in program:
        tol = _number("[program] tolerance", program["tolerance"], low=0.0, open_low=True)
        if tol >= 1:
            raise ValueError(f"[program] tolerance must be a fraction in (0, 1); got {tol!r}")
    if "amplitude" in program:
        _number("[program] amplitude", program["amplitude"], "V", low=0.0, open_low=True)
    if not isinstance(program.get("target", "random"), str):
        raise TypeError("[program] target must be \"random\", \"checkerboard\" or the path of a CSV file; "
                        f"got {program['target']!r}")


def _check_step(k: int, step) -> None:
    if not isinstance(step, dict):
        raise TypeError(f"steps[{k}] must be a table with a kind (a [[steps]] section); got {type(step).__name__} "
                        f"{step!r}")
    kind = step.get("kind")
    if not isinstance(kind, str) or kind not in STEP_KEYS:
        raise ValueError(f"steps[{k}]: kind must be one of {sorted(STEP_KEYS)}; got {kind!r}")
    where = f"steps[{k}] ({kind})"
    _check_keys(where, {a: b for a, b in step.items() if a != "kind"}, STEP_KEYS[kind],
                required=STEP_KEYS[kind] - {"voltage", "kelvin"})
    if "voltage" in step:
        _number(f"{where} voltage", step["voltage"], "V")
    if "seconds" in step:
        _number(f"{where} seconds", step["seconds"], "s", low=0.0)
    if "kelvin" in step:
        _number(f"{where} kelvin", step["kelvin"], "K", low=0.0, open_low=True)
    if "n" in step:
        n = positive_int(f"{where} n", step["n"], minimum=0)
        if n > CYCLES_MAX:
            raise ValueError(f"{where} n must be <= {CYCLES_MAX} (int64 cycle counters); got {n}")


def _check_keys(where: str, table: dict, allowed: set, required: set = frozenset()) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = set(required) - set(table)
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")


def _description(value, base_dir: Path):
    """An array description named (a TOML path relative to the experiment) or embedded (a table)."""
    from cosim.netlist.description import parse_description, read_description

    if isinstance(value, dict):
        return parse_description(value, base_dir)
    if isinstance(value, str):
        path = base_dir / value
        if not path.is_file():
            raise ValueError(f"[array] description: file not found: {path}")
        return read_description(path)
    raise ValueError(f"[array] description must be a file path or a table; got {value!r}")


def run_experiment(experiment: Experiment, out_dir, log=print) -> dict:
    """Run ``experiment``; write trace, summary and figures into ``out_dir``; return the key numbers."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    eng, arr = experiment.build()
    results: dict = {"array": f"{arr.rows}x{arr.cols} {arr.crossbar.cell.value}"}
    g_before = arr.conductances()
    if experiment.program is not None:
        p = experiment.program
        target = experiment.target(arr)
        log(f"programming with {p['scheme']} (tolerance {p.get('tolerance', 0.01):.1%}) ...")
        rep = arr.program(target, scheme=p["scheme"], tolerance=p.get("tolerance", 0.01),
                          amplitude=p.get("amplitude"))
        log(f"  {rep.summary()}")
        results["program"] = {"success_rate": rep.success_rate, "energy_j": rep.energy, "time_s": rep.time,
                              "pulses": int(rep.pulses.sum())}
    g_programmed = arr.conductances()
    for k, step in enumerate(experiment.steps):
        kind = step["kind"]
        if kind == "read":
            v = np.full(arr.rows, step.get("voltage", arr.timing.read_voltage))
            currents = arr.read(v)
            log(f"step {k}: read at {v[0]:.3g} V: total sense current {currents.sum():.4e} A")
        elif kind == "bake":
            arr.bake(step["seconds"], step.get("kelvin"))
            log(f"step {k}: bake {step['seconds']:.3g} s at {step.get('kelvin', eng.temperature):.0f} K")
        elif kind == "idle":
            arr.idle(step["seconds"])
            log(f"step {k}: idle {step['seconds']:.3g} s")
        else:
            arr.cycle(int(step["n"]))
            log(f"step {k}: {int(step['n'])} SET/RESET cycles")
    results["time_s"] = eng.now
    results["energy_j"] = arr.trace.total_energy()
    arr.trace.save(out / "trace.jsonl", {"experiment": results["array"]})
    arr.trace.to_csv(out / "trace.csv")
    _figure(out / "conductances.png", g_before, g_programmed, arr.conductances())
    from cosim.sim.plots import trace_figure

    trace_figure(arr.trace, out / "trace.png")
    log(f"done at t = {eng.now:.4g} s, energy {results['energy_j']:.4e} J; trace and figures in {out}")
    return results


def _figure(path: Path, *maps) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = ("initial", "programmed", "final")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    vmax = max(float(m.max()) for m in maps) * 1e3
    for ax, m, title in zip(axes, maps, titles):
        im = ax.imshow(m * 1e3, vmin=0, vmax=vmax, cmap="viridis")
        ax.set_title(f"{title} G (mS)")
    fig.colorbar(im, ax=list(axes))
    fig.savefig(path, dpi=110)
    plt.close(fig)
