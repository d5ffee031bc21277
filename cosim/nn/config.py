"""``ArrayConfig``: every choice of how a network's layers are mapped onto crossbar tiles, in one value.

The config is frozen and validated at construction: an out-of-range value or an unknown scheme /
mode string raises ValueError naming the field. It round-trips through plain dicts
(:meth:`ArrayConfig.to_dict`, :meth:`ArrayConfig.from_dict`) so a mapped model's ``state_dict`` can
carry it.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Literal

Scheme = Literal["double-column", "single-column"]
Mode = Literal["ideal", "circuit", "nonlinear"]

SCHEMES = ("double-column", "single-column")
MODES = ("ideal", "circuit", "nonlinear")
CELLS = ("1R", "1T1R")
INPUT_ENCODINGS = ("bipolar", "two-phase")
SCALES = ("tile", "column")
ENCODINGS = ("analog", "bit-sliced")
MAX_CONVERTER_BITS = 32   # DAC / ADC resolution bound: 2^31 levels are exact in float32 and float64


@dataclass(frozen=True)
class ArrayConfig:
    """How weights become conductances, how tiles are read, and which non-idealities apply.

    Arrays and mapping:
        tile: (rows, cols) of one physical crossbar. A double-column tile holds a (rows, cols) block
            of the weight matrix in two arrays (G+ and G-); a single-column tile holds
            (rows, cols - 1) in one array whose last column is the reference column at the mid
            conductance. Rows are inputs (word lines), columns outputs (bit lines).
        scheme: "double-column" or "single-column".
        scale: "tile" (one weight scale per tile) or "column" (one per output column of a tile).
        clip_percentile: the weight scale is this percentile of |w| (100 = max |w|); larger weights
            are clipped to the scale (seed 003, Algorithm 1).
    Forward:
        mode: "ideal" (conductance matmul), "circuit" (exact linear circuit via each array's transfer
            matrix: IR drop and sneak paths) or "nonlinear" (sinh cells: each array solves the whole batch
            together by Newton-CG on one factorisation; slower than the linear modes).
    Devices (ohm unless stated):
        r_on, r_off: nominal low / high resistance bounds of a cell (0 < r_on < r_off).
        states: number of programmable conductance states per cell (>= 2), uniform in G between the
            cell's own bounds; None = continuous.
        prog_noise: std of the programmed conductance as a fraction of (G_on - G_off) of the cell.
        read_noise: relative std of every cell's conductance at every read (per inference and input
            vector, redrawn each time): a mapped network's accuracy spreads over repeated reads.
        d2d_sigma: device-to-device spread: each cell's R_on is r_on * exp(d2d_sigma * z) and its R_off
            is r_off * exp(d2d_off_factor * d2d_sigma * z') (z, z' standard normal; seed 003 uses twice
            the spread for R_off).
        stuck_on, stuck_off: proportion of cells of every array stuck at their R_on / R_off (exact
            counts per array, disjoint).
        nonlinearity: b (1/V) of the cell law I = (G/b) sinh(b V), used by mode "nonlinear"
            (0 = linear cells, for which "nonlinear" gives the circuit result by per-batch solves).
    Circuit (ohm): r_wl, r_bl per word-/bit-line segment; r_source driver; r_sense sense amplifier;
        cell "1R" or "1T1R"; r_transistor the 1T1R access transistor when on.
    Periphery:
        v_read: V, read voltage at full-scale input.
        dac_bits: input DAC resolution (None = exact voltages); bipolar needs >= 2 bits; at most
            MAX_CONVERTER_BITS (the levels are computed in floating point).
        dac_range: activation value mapped to v_read (larger inputs saturate); None = each input
            vector is scaled by its own max |x| (dynamic range, undone digitally).
        input_encoding: "bipolar" (signed voltages, one read) or "two-phase" (positive part, then
            negative part, each a non-negative read; results subtracted).
        adc_bits: per-tile output ADC resolution, signed (None = exact currents); 2..MAX_CONVERTER_BITS.
        adc_range: A, fixed ADC full scale per tile; None = calibrated: the tile's worst-case
            column current at full-scale input, or what ``calibrate_adc`` measured on data.
    Bit-sliced encoding (seed 002; double-column only; see :mod:`cosim.nn.lut`):
        encoding: "analog" (one cell per weight, as above) or "bit-sliced": |w| / scale quantised to
            a weight_bits-bit integer, written in base levels_per_cell, one digit per cell in adjacent
            columns (least significant first); the periphery shift-adds the digit columns.
        weight_bits: bits of a weight's magnitude (the sign picks G+ or G-). levels_per_cell: 2..8
            (2 = one bit per cell, LRS = 1, HRS = 0).
        lut: CSV of measured read resistances per level (None = log-normal levels between r_on and
            r_off); lut_overlap: overlap coefficient of adjacent log-normal levels, in [0, 1).
        With adc_bits, a tile's ADC digitises the shift-added sum of a weight's digit columns (one
        converter per weight column, not one per digit column).
    seed: seeds fabrication (spread, faults) and programming noise; same seed, same arrays.
    """

    tile: tuple[int, int] = (64, 64)
    scheme: Scheme = "double-column"
    mode: Mode = "ideal"
    r_on: float = 1e3
    r_off: float = 1e5
    r_wl: float = 0.0
    r_bl: float = 0.0
    r_source: float = 0.0
    r_sense: float = 0.0
    cell: Literal["1R", "1T1R"] = "1R"
    r_transistor: float = 0.0
    stuck_on: float = 0.0
    stuck_off: float = 0.0
    d2d_sigma: float = 0.0
    d2d_off_factor: float = 2.0
    states: int | None = None
    prog_noise: float = 0.0
    read_noise: float = 0.0
    nonlinearity: float = 0.0
    v_read: float = 0.2
    dac_bits: int | None = None
    dac_range: float | None = None
    input_encoding: Literal["bipolar", "two-phase"] = "bipolar"
    adc_bits: int | None = None
    adc_range: float | None = None
    scale: Literal["tile", "column"] = "tile"
    clip_percentile: float = 100.0
    encoding: Literal["analog", "bit-sliced"] = "analog"
    weight_bits: int = 8
    levels_per_cell: int = 2
    lut: str | None = None
    lut_overlap: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        tile = self.tile
        if (not isinstance(tile, (tuple, list)) or len(tile) != 2
                or not all(_is_int(t) and t >= 1 for t in tile)):
            raise ValueError(f"tile must be (rows, cols) of positive integers; got {tile!r}")
        object.__setattr__(self, "tile", (int(tile[0]), int(tile[1])))
        _choice("scheme", self.scheme, SCHEMES)
        _choice("mode", self.mode, MODES)
        _choice("cell", self.cell, CELLS)
        _choice("input_encoding", self.input_encoding, INPUT_ENCODINGS)
        _choice("scale", self.scale, SCALES)
        if self.scheme == "single-column" and self.tile[1] < 2:
            raise ValueError(f"tile must have >= 2 columns for the single-column scheme (one is the "
                             f"reference); got {self.tile!r}")
        for name in ("r_on", "r_off", "v_read"):
            _real(name, getattr(self, name), low=0.0, low_open=True)
        if not self.r_on < self.r_off:
            raise ValueError(f"r_on must be < r_off; got r_on={self.r_on}, r_off={self.r_off}")
        for name in ("r_wl", "r_bl", "r_source", "r_sense", "r_transistor", "d2d_sigma", "d2d_off_factor",
                     "prog_noise", "read_noise", "nonlinearity"):
            _real(name, getattr(self, name), low=0.0)
        for name in ("stuck_on", "stuck_off"):
            _real(name, getattr(self, name), low=0.0, high=1.0)
        if self.stuck_on + self.stuck_off > 1.0:
            raise ValueError(f"stuck_on + stuck_off must be <= 1; got {self.stuck_on + self.stuck_off}")
        _real("clip_percentile", self.clip_percentile, low=0.0, high=100.0, low_open=True)
        _optional_int("states", self.states, 2)
        _optional_int("dac_bits", self.dac_bits, 2 if self.input_encoding == "bipolar" else 1, MAX_CONVERTER_BITS)
        _optional_int("adc_bits", self.adc_bits, 2, MAX_CONVERTER_BITS)
        for name in ("dac_range", "adc_range"):
            if getattr(self, name) is not None:
                _real(name, getattr(self, name), low=0.0, low_open=True)
        self._check_encoding()
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {self.seed!r}")

    def _check_encoding(self) -> None:
        _choice("encoding", self.encoding, ENCODINGS)
        if not _is_int(self.weight_bits) or not 1 <= self.weight_bits <= 24:
            raise ValueError(f"weight_bits must be an integer in 1..24; got {self.weight_bits!r}")
        if not _is_int(self.levels_per_cell) or not 2 <= self.levels_per_cell <= 8:
            raise ValueError(f"levels_per_cell must be an integer in 2..8; got {self.levels_per_cell!r}")
        if self.lut is not None and not isinstance(self.lut, str):
            raise ValueError(f"lut must be None or the path of a CSV file; got {self.lut!r}")
        _real("lut_overlap", self.lut_overlap, low=0.0)
        if self.lut_overlap >= 1.0:
            raise ValueError(f"lut_overlap must be < 1; got {self.lut_overlap!r}")
        if self.encoding == "bit-sliced":
            if self.scheme != "double-column":
                raise ValueError(f"the bit-sliced encoding needs scheme 'double-column'; got {self.scheme!r}")
            if self.tile[1] < self.slices:
                raise ValueError(f"tile must have >= {self.slices} columns for {self.weight_bits}-bit weights at "
                                 f"{self.levels_per_cell} levels per cell; got {self.tile!r}")
            if self.is_statistical:
                raise ValueError("the bit-sliced encoding takes its variability from the level table: "
                                 "states, prog_noise and d2d_sigma must be unset")

    # ---- derived values ------------------------------------------------------------------------
    @property
    def slices(self) -> int:
        """Cells (adjacent columns) per weight: 1 for analog, base-levels digits for bit-sliced."""
        if self.encoding == "analog":
            return 1
        return math.ceil(self.weight_bits * math.log(2) / math.log(self.levels_per_cell) - 1e-12)

    @property
    def g_on(self) -> float:
        """Nominal high conductance 1/r_on, S."""
        return 1.0 / self.r_on

    @property
    def g_off(self) -> float:
        """Nominal low conductance 1/r_off, S."""
        return 1.0 / self.r_off

    @property
    def arrays_per_tile(self) -> int:
        """Physical crossbars per tile: 2 (G+, G-) for double-column, 1 for single-column."""
        return 2 if self.scheme == "double-column" else 1

    @property
    def weight_block(self) -> tuple[int, int]:
        """(rows, cols) of the weight matrix one tile holds."""
        rows, cols = self.tile
        return (rows, cols // self.slices) if self.scheme == "double-column" else (rows, cols - 1)

    @property
    def is_statistical(self) -> bool:
        """True when programming is not an ideal write (finite states, noise, spread)."""
        return self.states is not None or self.prog_noise > 0 or self.d2d_sigma > 0

    # ---- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain dict of the fields with Python scalars (what a state_dict stores)."""
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "ArrayConfig":
        """Inverse of :meth:`to_dict`; unknown keys are a ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown ArrayConfig fields {sorted(unknown)}")
        return cls(**{k: (tuple(v) if k == "tile" else v) for k, v in data.items()})


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _choice(name: str, value, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")


def _real(name: str, value, low: float | None = None, high: float | None = None, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}; got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value!r}")


def _optional_int(name: str, value, minimum: int, maximum: int | None = None) -> None:
    if value is not None and (not _is_int(value) or value < minimum or (maximum is not None and value > maximum)):
        bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise ValueError(f"{name} must be None or an integer {bound}; got {value!r}")
