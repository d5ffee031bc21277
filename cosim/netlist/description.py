"""Readable TOML descriptions of crossbar arrays: parse, validate and write them.

A description (:class:`ArrayDescription`) holds what a :class:`~cosim.Crossbar` holds: size, cell
kind, parasitic resistances (ohm; 0 = ideal, ``inf`` = open), cell conductances (siemens), 1T1R row
selection, defects, and an optional device model name that is carried through (checked against
``cosim.devices`` when that package is importable). Example (every key but ``rows``/``cols`` is optional)::

    rows = 8
    cols = 8
    cell = "1R"                      # "1R" or "1T1R"
    device = "VTEAM:Pt/Hf/Ti"        # MODEL or MODEL:PRESET
    selected_rows = [0, 3]           # 1T1R: rows whose transistors are on (default: all)

    [resistance]                     # scalar, or one value per segment / line / cell
    r_wl = 2.5                       # word-line segments, (rows, cols - 1)
    r_bl = 2.5                       # bit-line segments, (rows - 1, cols)
    r_source = 0.0                   # drivers, (rows,)
    r_sense = 0.0                    # sense amplifiers, (cols,)
    r_on_transistor = 1000.0         # 1T1R, (rows, cols)
    r_off_transistor = inf

    [conductance]                    # exactly one of value / values / file (default value = 1e-4)
    value = 1e-4                     # every cell; or values = [[...], ...] (rows x cols);
                                     # or file = "g.csv" (rows x cols, next to this file)
    nonlinearity = 0.0               # sinh cells, 1/V (scalar or rows x cols)

    [defects]
    broken_segments = [{line = "wl", row = 3, col = 4}]
    shorted_cells = [[2, 5]]
    open_cells = [[1, 1]]

Files are read with :mod:`tomllib` and written by the small TOML writer in this module
(floats by ``repr``, CSV values with 17 digits), so save -> load gives back the same values bit for bit.

This module works on netlist-level values only. The solve layer's ``files`` module (solve/files.py)
turns descriptions into crossbars and back (``load_description``, ``save_description``) and rebuilds
crossbars from netlist graphs.
"""
from __future__ import annotations

import io
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim import validate
from cosim.netlist.crossbar import MAX_CONDUCTANCE_S, CellKind, CrossbarLayout

DEFAULT_CONDUCTANCE = 1e-4   # S, a cell's conductance when the description gives none
_TOP_KEYS = {"rows", "cols", "cell", "device", "selected_rows", "resistance", "conductance", "defects"}
_RESISTANCES = ("r_wl", "r_bl", "r_source", "r_sense", "r_on_transistor", "r_off_transistor")
_CONDUCTANCE_KEYS = {"value", "values", "file", "nonlinearity"}
_DEFECT_KEYS = {"broken_segments", "shorted_cells", "open_cells"}


@dataclass
class ArrayDescription:
    """Everything a description file says about one array.

    Attributes:
        layout: size, cell kind, resistances (ohm) and cell defects (``cell_state``).
        conductances: (rows, cols) cell conductances, S (a shorted or open cell keeps its value here).
        nonlinearity: (rows, cols) sinh nonlinearity b, 1/V (0 = linear cell).
        selected_rows: (rows,) True where 1T1R transistors are on.
        device: device model name ("MODEL" or "MODEL:PRESET"), or None.
    """

    layout: CrossbarLayout
    conductances: np.ndarray
    nonlinearity: np.ndarray
    selected_rows: np.ndarray
    device: str | None = None


# ---- reading ----------------------------------------------------------------------------------
def read_description(path) -> ArrayDescription:
    """Parse and validate a TOML description file (see the module docstring for the format)."""
    path = Path(path)
    text = validate.read_text(path, "array description")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _description(doc, path.parent)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def parse_description(doc: dict, folder=".") -> ArrayDescription:
    """Validate a description given as a dict (a TOML table, e.g. embedded in an experiment file); files it
    names (a conductance CSV) are looked up in ``folder``."""
    return _description(doc, Path(folder))


def _check_keys(where: str, table, allowed: set) -> dict:
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table; got {table!r}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in {where}; allowed: {', '.join(sorted(allowed))}")
    return table


def _description(doc: dict, folder: Path) -> ArrayDescription:
    _check_keys("the top level", doc, _TOP_KEYS)
    for key in ("rows", "cols"):
        if key not in doc:
            raise ValueError(f"missing key {key!r} (the array size)")
    resistance = _check_keys("[resistance]", doc.get("resistance", {}), set(_RESISTANCES))
    values = {key: _number_array(f"resistance.{key}", resistance[key]) for key in resistance}
    layout = CrossbarLayout.build(doc["rows"], doc["cols"], doc.get("cell", "1R"), **values)
    shape = (layout.rows, layout.cols)
    _apply_defects(layout, _check_keys("[defects]", doc.get("defects", {}), _DEFECT_KEYS))
    conductance = _check_keys("[conductance]", doc.get("conductance", {}), _CONDUCTANCE_KEYS)
    g = _conductances(conductance, shape, folder)
    b = _number_array("conductance.nonlinearity", conductance.get("nonlinearity", 0.0))
    if b.shape not in ((), shape):
        raise ValueError(f"conductance.nonlinearity must be a scalar or have shape {shape}; got {b.shape}")
    b = np.broadcast_to(b, shape)
    device = doc.get("device")
    if device is not None:
        check_device_name(device)
    return ArrayDescription(layout, g, b.copy(), _selected_rows(doc.get("selected_rows"), layout), device)


def _number_array(name: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a (nested) list of numbers; got {value!r}") from None
    if isinstance(value, bool) or arr.dtype == object:
        raise ValueError(f"{name} must be a number or a (nested) list of numbers; got {value!r}")
    return arr


def _conductances(table: dict, shape: tuple[int, int], folder: Path) -> np.ndarray:
    given = [key for key in ("value", "values", "file") if key in table]
    if len(given) > 1:
        raise ValueError(f"[conductance] takes one of value / values / file; got {', '.join(given)}")
    if "file" in table:
        csv = folder / str(table["file"])
        if not csv.is_file():
            raise ValueError(f"conductance.file: no such file {csv}")
        where = f"conductance.file {csv.name}"
        try:
            g = np.loadtxt(io.StringIO(validate.read_text(csv, "conductance file")), delimiter=",", ndmin=2,
                           dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{where} must hold rows of comma-separated numbers ({exc})") from None
    elif "values" in table:
        g = _number_array("conductance.values", table["values"])
        where = "conductance.values"
        if g.shape != shape:
            raise ValueError(f"{where} must have shape {shape} (rows x cols); got {g.shape}")
    else:
        g = np.broadcast_to(_number_array("conductance.value", table.get("value", DEFAULT_CONDUCTANCE)), shape)
        where = "conductance.value"
    if g.shape != shape:
        raise ValueError(f"{where} must have shape {shape} (rows x cols); got {g.shape}")
    if not np.all(np.isfinite(g)) or np.any(g <= 0) or np.any(g > MAX_CONDUCTANCE_S):
        raise ValueError(f"{where} must be finite and > 0 siemens, at most {MAX_CONDUCTANCE_S:g} (use [defects] for "
                         "open or shorted cells)")
    return np.array(g, dtype=np.float64)


def _cell_index(where: str, item, layout: CrossbarLayout) -> tuple[int, int]:
    if (not isinstance(item, list) or len(item) != 2 or not all(isinstance(k, int) and not isinstance(k, bool)
                                                                   for k in item)):
        raise ValueError(f"{where} entries must be [row, col]; got {item!r}")
    row, col = item
    if not (0 <= row < layout.rows and 0 <= col < layout.cols):
        raise ValueError(f"{where} cell {item} out of range for a {layout.rows}x{layout.cols} array")
    return row, col


def _apply_defects(layout: CrossbarLayout, defects: dict) -> None:
    for item in defects.get("broken_segments", []):
        _check_keys("defects.broken_segments entry", item, {"line", "row", "col"})
        line, row, col = item.get("line"), item.get("row"), item.get("col")
        arr = {"wl": layout.r_wl, "bl": layout.r_bl}.get(line)
        if arr is None:
            raise ValueError(f"defects.broken_segments: line must be 'wl' or 'bl'; got {line!r}")
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in (row, col)) or \
                not (0 <= row < arr.shape[0] and 0 <= col < arr.shape[1]):
            raise ValueError(f"defects.broken_segments: {line} segment ({row}, {col}) out of range for "
                             f"segment shape {arr.shape}")
        arr[row, col] = np.inf
    for key, state in (("shorted_cells", CrossbarLayout.SHORT), ("open_cells", CrossbarLayout.OPEN)):
        for item in defects.get(key, []):
            row, col = _cell_index(f"defects.{key}", item, layout)
            if layout.cell_state[row, col] != CrossbarLayout.NORMAL:
                raise ValueError(f"defects.{key}: cell {item} is already listed as shorted or open")
            layout.cell_state[row, col] = state


def _selected_rows(value, layout: CrossbarLayout) -> np.ndarray:
    mask = np.ones(layout.rows, bool)
    if value is None:
        return mask
    if layout.cell is not CellKind.ONE_T_ONE_R:
        raise ValueError("selected_rows applies to 1T1R arrays only")
    if not isinstance(value, list) or not all(isinstance(k, int) and not isinstance(k, bool) and
                                              0 <= k < layout.rows for k in value):
        raise ValueError(f"selected_rows must be a list of row indices in [0, {layout.rows}); got {value!r}")
    mask[:] = False
    mask[value] = True
    return mask


def check_device_name(name) -> None:
    """Validate ``"MODEL"`` / ``"MODEL:PRESET"`` against the one model registry,
    ``cosim.devices.registry.MODELS`` (devices is this layer's peer: imported when a name is checked)."""
    if not isinstance(name, str) or not name.split(":", 1)[0]:
        raise ValueError(f"device must be a string 'MODEL' or 'MODEL:PRESET'; got {name!r}")
    from cosim.devices.registry import resolve_device

    resolve_device(name)


# ---- writing ----------------------------------------------------------------------------------
def write_description(description: ArrayDescription, path, conductance_file: str | None = None) -> None:
    """Write ``description`` as TOML that :func:`read_description` reads back exactly.

    conductance_file: write the conductances to this CSV (relative to the TOML file's folder) instead
    of inline (inline: one value when all are equal).
    """
    path = Path(path)
    lay = description.layout
    top = {"rows": lay.rows, "cols": lay.cols, "cell": lay.cell.value}
    if description.device is not None:
        top["device"] = description.device
    if lay.cell is CellKind.ONE_T_ONE_R and not np.all(description.selected_rows):
        top["selected_rows"] = np.flatnonzero(description.selected_rows).tolist()
    resistance, broken = {}, []
    for key in _RESISTANCES:
        if key.endswith("transistor") and lay.cell is CellKind.ONE_R and _is_default_transistor(lay, key):
            continue
        arr = getattr(lay, key)
        if key in ("r_wl", "r_bl"):
            finite = arr[np.isfinite(arr)]
            if finite.size and np.all(finite == finite[0]):
                broken += [{"line": key[2:], "row": int(i), "col": int(j)} for i, j in np.argwhere(np.isinf(arr))]
                arr = np.where(np.isinf(arr), finite[0], arr)
        if arr.size:
            resistance[key] = _compact(arr)
    conductance = {}
    if conductance_file is not None:
        np.savetxt(path.parent / conductance_file, description.conductances, delimiter=",", fmt="%.17g")
        conductance["file"] = conductance_file
    else:
        conductance["value" if _uniform(description.conductances) else "values"] = _compact(description.conductances)
    if np.any(description.nonlinearity):
        conductance["nonlinearity"] = _compact(description.nonlinearity)
    defects = {}
    if broken:
        defects["broken_segments"] = broken
    for key, state in (("shorted_cells", CrossbarLayout.SHORT), ("open_cells", CrossbarLayout.OPEN)):
        cells = np.argwhere(lay.cell_state == state).tolist()
        if cells:
            defects[key] = cells
    lines = [f"# cosim array description: {lay.rows} x {lay.cols} {lay.cell.value} crossbar",
             "# resistances in ohm (0 = ideal, inf = open), conductances in siemens", ""]
    lines += [f"{key} = {_toml_value(value)}" for key, value in top.items()]
    for name, table in (("resistance", resistance), ("conductance", conductance), ("defects", defects)):
        if table:
            lines += ["", f"[{name}]"] + [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n")


def _is_default_transistor(layout: CrossbarLayout, key: str) -> bool:
    default = 1e3 if key == "r_on_transistor" else np.inf
    return bool(np.all(getattr(layout, key) == default))


def _uniform(arr: np.ndarray) -> bool:
    return arr.size > 0 and bool(np.all(arr == arr.flat[0]))


def _compact(arr: np.ndarray):
    """A scalar when every entry is equal, else the nested list."""
    return float(arr.flat[0]) if _uniform(arr) else arr.tolist()


def _toml_value(value) -> str:
    """TOML text of a bool, int, float (repr, so exact; inf allowed), str, list or flat dict."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if np.isnan(value):
            raise ValueError("TOML descriptions cannot hold NaN")
        return repr(value) if np.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if value and isinstance(value[0], list) and len(value) > 1:
            return "[\n" + "".join(f"    {_toml_value(row)},\n" for row in value) + "]"
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ValueError(f"cannot write {value!r} to TOML")
