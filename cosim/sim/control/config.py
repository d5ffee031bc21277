"""The schemes a programming controller can run and their typed, validated configurations.

Every configuration carries the physical limits of the chip's pulse generator and drivers
(:class:`PulseLimits`): plans outside them are clipped and the clipped pulses are counted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class Scheme(str, Enum):
    """Programming schemes (a string naming one is accepted wherever a scheme is)."""

    WRITE_VERIFY = "write-verify"   # model-predictive widths, a verify read after every pulse
    ISPP = "ispp"                   # incremental step pulse programming: fixed width, amplitude ladder, verify
    ROW_PARALLEL = "1t1r-row"       # open loop, 1T1R, a row at a time, per-bit-line widths
    HALF_SELECT = "v/2"             # open loop, 1R, cell by cell, unselected lines at V/2
    THIRD_SELECT = "v/3"            # open loop, 1R, cell by cell, unselected lines at V/3 and 2V/3

    @property
    def is_open_loop(self) -> bool:
        return self in (Scheme.ROW_PARALLEL, Scheme.HALF_SELECT, Scheme.THIRD_SELECT)


SCHEMES = tuple(s.value for s in Scheme)


def parse_scheme(value) -> Scheme:
    """The :class:`Scheme` named by ``value`` (a Scheme or its string), or a ValueError listing them."""
    try:
        return Scheme(value)
    except ValueError:
        raise ValueError(f"unknown scheme {value!r}; expected one of {', '.join(SCHEMES)}") from None


class Order(str, Enum):
    """The order in which a 1R controller visits its cells (erase rows, program cells, final passes)."""

    RASTER = "raster"          # address order: row by row, column by column
    FAR_FIRST = "far-first"    # by the designed series resistance to the drivers, largest first


class Inhibit(str, Enum):
    """How 1R write-verify keeps the cells it does not address clear of their thresholds."""

    V3 = "v/3"            # unselected word lines at V/3, bit lines at 2V/3, under the disturb limit
    OPTIMAL = "optimal"   # V/3 where it reaches the cell; else the best static bias of the controller's model
                          # (a linear program over every line driver, :mod:`cosim.sim.control.optimal_bias`)


class Erase(str, Enum):
    """How a 1R closed-loop controller brings down, before programming, the cells whose target lies below them.

    An erase RESETs those cells towards the low-conductance bound with long pulses, verified only against a
    coarse erase level; programming then SETs each cell up to its target (fast, fine-grained), and the slow
    RESET is used again only on an overshoot. A cell is erased only if it must be reprogrammed anyway.
    """

    NONE = "none"      # no erase: the verify loop moves every cell either way from where it is
    CELLS = "cells"    # each such cell alone, V/3 inhibition, at the V/3 cap
    ROWS = "rows"      # a row at a time (its word line driven, every other line at 0 V) where the whole row may
                       # be erased, else its cells as with CELLS
    ARRAY = "array"    # every word line driven, every bit line at 0 V, where the whole array may be erased,
                       # else as with ROWS


class Bound(str, Enum):
    """A conductance bound of the devices: where an open-loop scheme erases its cells to first."""

    LOW = "low"      # the high-resistance state (RESET)
    HIGH = "high"    # the low-resistance state (SET)


# ---- checks shared by the configs ---------------------------------------------------------------------
def _number(owner: str, name: str, value, *, low: float = 0.0, inclusive: bool = False,
            high: float = math.inf, optional: bool = False) -> None:
    """``value`` must be a finite real number in (low, high] (or [low, high] when inclusive)."""
    if value is None and optional:
        return
    ok_type = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok_type or not math.isfinite(float(value)):
        raise ValueError(f"{owner}.{name} must be a finite number; got {value!r}")
    v = float(value)
    if v < low or (v == low and not inclusive) or v > high:
        lo_br = "[" if inclusive else "("
        raise ValueError(f"{owner}.{name} must be in {lo_br}{low:g}, {high:g}]; got {value!r}")


def _integer(owner: str, name: str, value, *, low: int, optional: bool = False) -> None:
    """``value`` must be an integer >= low (not a bool, not a float such as 2.5)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{owner}.{name} must be an integer >= {low}; got {value!r}")


@dataclass(frozen=True)
class PulseLimits:
    """What the pulse generator and the line drivers can do.

    Attributes:
        width_min_s: shortest pulse, s (the generator's edge time; default 1 ns).
        width_max_s: longest single pulse, s.
        v_line_max: largest voltage magnitude any driver may put on a line, V.
    """

    width_min_s: float = 1e-9
    width_max_s: float = 1.0
    v_line_max: float = 5.0

    def __post_init__(self) -> None:
        _number("PulseLimits", "width_min_s", self.width_min_s)
        _number("PulseLimits", "width_max_s", self.width_max_s)
        _number("PulseLimits", "v_line_max", self.v_line_max)
        if self.width_max_s < self.width_min_s:
            raise ValueError(f"PulseLimits needs width_min_s <= width_max_s; "
                             f"got {self.width_min_s}, {self.width_max_s}")


def _enum(owner: str, cfg, name: str, kind: type) -> None:
    """Turn field ``name`` of ``cfg`` into its Enum ``kind`` (its string value is accepted), or a ValueError."""
    try:
        object.__setattr__(cfg, name, kind(getattr(cfg, name)))
    except ValueError:
        raise ValueError(f"{owner}.{name} must be one of {[k.value for k in kind]}; "
                         f"got {getattr(cfg, name)!r}") from None


def _check_common(owner: str, cfg) -> None:
    if not isinstance(cfg.limits, PulseLimits):
        raise TypeError(f"{owner}.limits must be a PulseLimits; got {type(cfg.limits).__name__}")
    _number(owner, "read_voltage", cfg.read_voltage, optional=True, high=cfg.limits.v_line_max)
    _integer(owner, "parallel_columns", cfg.parallel_columns, low=1, optional=True)


def _check_strategy(owner: str, cfg) -> None:
    """The 1R strategy fields shared by the closed-loop configs (see :class:`WriteVerifyConfig`)."""
    _enum(owner, cfg, "order", Order)
    _enum(owner, cfg, "erase", Erase)
    _number(owner, "erase_level", cfg.erase_level, low=1.0, inclusive=True)
    _integer(owner, "erase_pulses", cfg.erase_pulses, low=1)
    _number(owner, "erase_v", cfg.erase_v, optional=True, high=cfg.limits.v_line_max)


@dataclass(frozen=True)
class WriteVerifyConfig:
    """Model-predictive write-verify: widths planned from the controller's model, a verify read after each pulse.

    Attributes:
        aim: fraction of the remaining distance (in state) each pulse plans to cover.
        v_plan: planned cell voltage as a multiple of the model's threshold; lowered (to no less than
            the threshold) when the planned width would be shorter than ``limits.width_min_s``.
        v_cell: planned cell voltage, V (None: ``v_plan`` x threshold); must exceed the thresholds.
        boost: amplitude factor per consecutive pulse without response, on the cell voltage the plan
            settled on (a silent cell sees less than the model says). v_max: the largest planned cell
            voltage as a multiple of the threshold.
        max_pulses: budget per cell (all passes). stuck_after: pulses without response before a cell is
            called stuck.
        final_passes: 1R: passes that re-read every addressed cell after the first sweep and re-program
            those that later pulses disturbed, until all are within tolerance or the passes are spent.
        learn: scale each cell's next plan by how far its last pulse moved it against the plan (a chip's
            per-cell trim; the model's rate is corrected by what the verify reads show).
        read_voltage: verify read voltage, V (None: the array's timing default).
        parallel_columns: 1T1R: cells of a row programmed together (None = the whole row).
        order: 1R: the order cells are erased and programmed in (:class:`Order`). ``far-first`` programs
            the cells with the largest designed series resistance to the drivers first, while the others
            still sit in the low-conductance state (little half-select current), the near cells last.
        erase: 1R: how cells whose target lies below them are first brought down (:class:`Erase`).
        erase_level: a cell counts as erased once its verified conductance is at most ``erase_level`` x
            the model's low-conductance bound (or below its target's tolerance band, if that is lower).
        erase_pulses: erase pulses per row (or cell) at most; cells still above their level go on to
            the verify loop, which moves them either way.
        erase_v: driver voltage of the first row or array erase pulse, V (None: ``ERASE_OVERDRIVE`` x the
            model's RESET threshold); each further pulse of a line that failed its erase verify is
            ``ERASE_STEP`` x higher, up to ``limits.v_line_max``, and every pulse is lowered where the
            controller's model predicts that another cell would reach ``DISTURB_MARGIN`` of its threshold
            (:mod:`cosim.sim.control.erase`). Cell erase pulses run at the V/3 cap.
        limits: pulse-generator and driver limits.
        inhibit: 1R: how the cells not addressed are kept clear of their thresholds (:class:`Inhibit`).
            ``optimal`` drives a cell that V/3 under the disturb limit cannot bring to its target with the
            line voltages of a linear program over the controller's model (more voltage on the cell, every
            other cell still under ``DISTURB_MARGIN`` x its thresholds, every line under ``v_line_max``).

    The 1R strategy fields (``order``, ``erase`` ...) have no effect on 1T1R arrays, which are programmed a
    row at a time with the other rows' transistors off.
    """

    aim: float = 0.9
    v_plan: float = 1.4
    v_cell: float | None = None
    boost: float = 1.05
    v_max: float = 2.5
    max_pulses: int = 60
    stuck_after: int = 6
    final_passes: int = 3
    learn: bool = True
    read_voltage: float | None = None
    parallel_columns: int | None = 32
    order: Order = Order.FAR_FIRST
    erase: Erase = Erase.ROWS
    erase_level: float = 1.5
    erase_pulses: int = 4
    erase_v: float | None = None
    limits: PulseLimits = field(default_factory=PulseLimits)
    inhibit: Inhibit = Inhibit.V3

    def __post_init__(self) -> None:
        owner = "WriteVerifyConfig"
        _enum(owner, self, "inhibit", Inhibit)
        _number(owner, "aim", self.aim, high=1.0)
        _number(owner, "boost", self.boost, low=1.0, inclusive=True)
        _number(owner, "v_max", self.v_max, low=1.0)
        _number(owner, "v_plan", self.v_plan, low=1.0, high=self.v_max)
        _number(owner, "v_cell", self.v_cell, optional=True)
        _integer(owner, "max_pulses", self.max_pulses, low=1)
        _integer(owner, "stuck_after", self.stuck_after, low=2)
        _integer(owner, "final_passes", self.final_passes, low=0)
        if not isinstance(self.learn, bool):
            raise TypeError(f"{owner}.learn must be a bool; got {self.learn!r}")
        _check_common(owner, self)
        _check_strategy(owner, self)


@dataclass(frozen=True)
class Ladder:
    """An ISPP amplitude ladder at the driver: v_start, v_start + v_step, ... up to v_stop (V, magnitudes)."""

    v_start: float
    v_step: float
    v_stop: float

    def __post_init__(self) -> None:
        _number("Ladder", "v_start", self.v_start)
        _number("Ladder", "v_step", self.v_step)
        _number("Ladder", "v_stop", self.v_stop, low=self.v_start, inclusive=True)

    def amplitude(self, rung: np.ndarray) -> np.ndarray:
        """Amplitude (V) of rung ``rung`` (0, 1, ...): the ladder, held at v_stop once reached."""
        return np.minimum(self.v_start + np.asarray(rung) * self.v_step, self.v_stop)


@dataclass(frozen=True)
class IsppConfig:
    """Incremental step pulse programming: fixed widths, amplitude ladders, a verify read after each pulse.

    A cell below its target climbs the SET ladder, one rung per pulse; above it, the RESET ladder. When a
    pulse overshoots (the cell must turn back), the ladder of the new direction starts from its first
    rung with half the cell's previous step; with ``reset_on_overshoot`` a cell turning up is first driven
    to the low-conductance bound by the last RESET rung at ``limits.width_max_s`` and climbs the SET
    ladder again.

    Attributes:
        set_ladder, reset_ladder: driver amplitudes (V) of SET / RESET pulses; None derives one from the
            controller's model and the layout (from the threshold at the best-case divider to 1.6 x the
            threshold at the worst, in 24 steps, capped at ``limits.v_line_max``).
        set_width_s, reset_width_s: fixed pulse widths, s; None derives each from the model (the time
            to move 2 % of the state range at 1.2 x threshold, within the limits).
        reset_on_overshoot: erase an overshooting cell to the bound and climb again.
        max_pulses: budget per cell. final_passes, read_voltage, parallel_columns, order, erase,
            erase_level, erase_pulses, erase_v, limits: as in :class:`WriteVerifyConfig`.
    """

    set_ladder: Ladder | None = None
    reset_ladder: Ladder | None = None
    set_width_s: float | None = None
    reset_width_s: float | None = None
    reset_on_overshoot: bool = False
    max_pulses: int = 100
    final_passes: int = 3
    read_voltage: float | None = None
    parallel_columns: int | None = 32
    order: Order = Order.FAR_FIRST
    erase: Erase = Erase.ROWS
    erase_level: float = 1.5
    erase_pulses: int = 4
    erase_v: float | None = None
    limits: PulseLimits = field(default_factory=PulseLimits)

    def __post_init__(self) -> None:
        owner = "IsppConfig"
        for name in ("set_ladder", "reset_ladder"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Ladder):
                raise TypeError(f"{owner}.{name} must be a Ladder or None; got {type(value).__name__}")
        _number(owner, "set_width_s", self.set_width_s, optional=True)
        _number(owner, "reset_width_s", self.reset_width_s, optional=True)
        if not isinstance(self.reset_on_overshoot, bool):
            raise TypeError(f"{owner}.reset_on_overshoot must be a bool; got {self.reset_on_overshoot!r}")
        _integer(owner, "max_pulses", self.max_pulses, low=1)
        _integer(owner, "final_passes", self.final_passes, low=0)
        _check_common(owner, self)
        _check_strategy(owner, self)


@dataclass(frozen=True)
class OpenLoopConfig:
    """Open-loop schemes: one planned pulse per cell from an assumed start, no reads.

    Attributes:
        amplitude: programming cell voltage, V (None: twice the larger threshold of the model).
        assumed_start: (rows, cols) conductances (S) the controller assumes the cells hold; None erases
            the addressed cells to ``erase_to`` first and assumes that bound.
        erase_to: the bound of the erase.
        plan_substeps: steps of state in which a plan integrates the drive divider as the cell moves.
        order: v/2, v/3: the order the cells are programmed in (:class:`Order`, as in
            :class:`WriteVerifyConfig`).
        limits: pulse-generator and driver limits.
    """

    amplitude: float | None = None
    assumed_start: np.ndarray | None = None
    erase_to: Bound = Bound.LOW
    plan_substeps: int = 32
    order: Order = Order.FAR_FIRST
    limits: PulseLimits = field(default_factory=PulseLimits)

    def __post_init__(self) -> None:
        owner = "OpenLoopConfig"
        _number(owner, "amplitude", self.amplitude, optional=True)
        if self.assumed_start is not None:
            start = np.asarray(self.assumed_start, float)
            if start.ndim != 2 or not np.all(np.isfinite(start)) or np.any(start <= 0):
                raise ValueError("OpenLoopConfig.assumed_start must be a (rows, cols) array of finite "
                                 "conductances > 0 S, or None")
        try:
            object.__setattr__(self, "erase_to", Bound(self.erase_to))
        except ValueError:
            raise ValueError(f"OpenLoopConfig.erase_to must be one of {[b.value for b in Bound]}; "
                             f"got {self.erase_to!r}") from None
        _integer(owner, "plan_substeps", self.plan_substeps, low=1)
        _enum(owner, self, "order", Order)
        if not isinstance(self.limits, PulseLimits):
            raise TypeError(f"{owner}.limits must be a PulseLimits; got {type(self.limits).__name__}")


CONFIG_OF_SCHEME = {Scheme.WRITE_VERIFY: WriteVerifyConfig, Scheme.ISPP: IsppConfig,
                    Scheme.ROW_PARALLEL: OpenLoopConfig, Scheme.HALF_SELECT: OpenLoopConfig,
                    Scheme.THIRD_SELECT: OpenLoopConfig}
