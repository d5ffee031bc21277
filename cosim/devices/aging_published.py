"""Published endurance/retention fits of seed 000 (MODELS.md section 3) and the data they describe.

``PUBLISHED[(figure, state)]`` is a ``PublishedFit``: the law, the programmed resistance R0 it
starts from, and the digitised data files (``DataSet``) it was fitted to, with their cell sizes and
temperatures. ``read_xy`` reads those two-column CSV files (only some have an ``x,y`` header).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.devices.aging import EnduranceRetentionLaw

__all__ = ["DataSet", "PublishedFit", "PUBLISHED", "published_fit", "read_xy"]


@dataclass(frozen=True)
class DataSet:
    """One digitised curve: file stem (``<stem>.csv``), the cell size and the bake temperature."""
    stem: str
    cell_size: float = 10.0             # nm
    temperature: float | None = None    # K; None: not stated (no temperature term)


@dataclass(frozen=True)
class PublishedFit:
    """A published parameter set with its programmed resistance and its data."""
    figure: str
    state: str                         # "LRS" or "HRS"
    device: str                        # stack, as given in the data README
    stress: str                        # "cycles" or "seconds"
    r0: float                          # ohm, programmed resistance the law starts from
    law: EnduranceRetentionLaw
    data: tuple[DataSet, ...]
    reference_rms: tuple[float, float]  # log10-RMS range reached by the reference fits (per file)


def _gradual(p0, p1, p2, p3):
    return EnduranceRetentionLaw("gradual", p0=p0, p1=p1, p2=p2, p3=p3)


def _sudden(p0, p1, p2, r_stable):
    return EnduranceRetentionLaw("sudden", p0=p0, p1=p1, p2=p2, r_stable=r_stable)


_HFALO = "TiN/Hf(Al)O/Hf/TiN"
_C = 273.0  # the table of MODELS.md gives bake temperatures as 473/498/523/573 K

_TABLE = [
    PublishedFit("2A", "LRS", _HFALO, "cycles", 4400.0, _gradual(10.0, 0.6907755, 0.0, 0.0176194),
                 (DataSet("2A_LRS_10", 10.0), DataSet("2A_LRS_20", 20.0)), (0.07, 0.14)),
    PublishedFit("2A", "HRS", _HFALO, "cycles", 65000.0, _gradual(10.0, 0.6907755, 0.0, -0.0229534),
                 (DataSet("2A_HRS_10", 10.0), DataSet("2A_HRS_20", 20.0)), (0.07, 0.14)),
    PublishedFit("2B", "HRS", "Cu/HfOx/Pt", "cycles", 9e10, _gradual(0.1, 0.7090077, 0.0, -0.1838104),
                 (DataSet("2B_HRS"),), (0.46, 0.46)),
    PublishedFit("2C", "LRS", _HFALO, "cycles", 14000.0, _sudden(10500.2076, 0.2519450, 0.0, 5e7),
                 tuple(DataSet(f"2C_LRS_{d}", float(d)) for d in (20, 30, 40)), (0.06, 0.25)),
    PublishedFit("2C", "HRS", _HFALO, "cycles", 3e5, _sudden(10629.4938, 0.2419973, 0.0, 5e7),
                 tuple(DataSet(f"2C_HRS_{d}", float(d)) for d in (20, 30, 40)), (0.06, 0.25)),
    PublishedFit("2D", "HRS", "TiN/ETML/HfOx/TiN", "cycles", 1.075e5, _sudden(0.1, 1.9221336, 0.0, 2e4),
                 (DataSet("2D_HRS"),), (0.065, 0.065)),
    PublishedFit("3A", "LRS", "Pt/Cu:MoOx/GdOx/Pt", "seconds", 4e4, _sudden(1.029e-9, 0.0, 46.01, 2.6e7),
                 tuple(DataSet(f"3A_LRS_{c}", temperature=c + _C) for c in (200, 225, 250)), (0.22, 0.82)),
    PublishedFit("3B_O", "LRS", "Ti/HfOx/TiN", "seconds", 4250.0, _gradual(1.541e-13, 0.0, 63.43, 0.04),
                 tuple(DataSet(f"3B_LRS_O_{c}", temperature=c + _C) for c in (200, 250, 300)), (0.10, 0.28)),
    PublishedFit("3B_Al", "LRS", "Ti/HfAlO/TiN", "seconds", 4250.0, _gradual(4.764e-17, 0.0, 76.47, 0.014),
                 tuple(DataSet(f"3B_LRS_Al_{c}", temperature=c + _C) for c in (200, 250, 300)), (0.10, 0.28)),
    PublishedFit("3C", "LRS", "TiN/HfOx/TiN", "seconds", 8.8e4, _gradual(0.1, 0.9210340, 0.0, 0.0074396),
                 (DataSet("3C_LRS"),), (0.05, 0.09)),
    PublishedFit("3C", "HRS", "TiN/HfOx/TiN", "seconds", 3.3e5, _gradual(0.1, 0.9210340, 0.0, -0.0078617),
                 (DataSet("3C_HRS"),), (0.05, 0.09)),
]

PUBLISHED: dict[tuple[str, str], PublishedFit] = {(f.figure, f.state): f for f in _TABLE}


def published_fit(figure: str, state: str) -> PublishedFit:
    """Look up ``PUBLISHED[(figure, state)]`` with an error that lists what exists."""
    try:
        return PUBLISHED[(figure, state)]
    except KeyError:
        known = ", ".join(f"{f}/{s}" for f, s in PUBLISHED)
        raise ValueError(f"no published fit for figure {figure!r}, state {state!r}; known: {known}") from None


def read_xy(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a two-column CSV of (x, y) points; a first line that is not numeric is a header."""
    path = Path(path)
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{path}: no data")
    try:
        [float(v) for v in lines[0].split(",")]
    except ValueError:
        lines = lines[1:]
    try:
        rows = np.array([[float(v) for v in ln.split(",")] for ln in lines], dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: not a two-column numeric CSV ({err})") from None
    if rows.ndim != 2 or rows.shape[1] != 2:
        raise ValueError(f"{path}: expected 2 columns; got shape {rows.shape}")
    return rows[:, 0], rows[:, 1]
