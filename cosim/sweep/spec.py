"""A sweep specification: which study, its base configuration, the axes to vary, and the seed.

A spec is a TOML file::

    study = "seed003-fig6"          # a registered study, or "package.module:function"
    title = "seed 003 Fig. 6"       # optional: the progress bar's label
    seed = 7                        # spec seed: every point's seed derives from it and the point
    [base]                          # configuration shared by every point
    epochs = 8
    [grid]                          # Cartesian product of these axes
    states = [2, 4, 8]
    replicate = [0, 1, 2]
    [zip]                           # varied together (equal lengths): one axis of tuples
    r_on = [100.0, 200.0]
    r_off = [1000.0, 2000.0]
    [random]                        # ``samples`` draws with a Generator seeded by ``seed``
    samples = 10
    d2d_sigma = { low = 0.0, high = 1.0 }
    r_off = { low = 1e3, high = 1e6, log = true }

The points are the product of the grid axes, the zip group (one axis) and the random samples (one
axis); each point's configuration is ``base`` updated with its axis values. Everything is checked
here, before any task starts: unknown keys, empty or non-scalar axes, an axis named twice, zip
lengths that differ, random bounds, and (for a study with a parameter class) every point's
configuration against that class.
"""
from __future__ import annotations

import itertools
import math
import numbers
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["Axis", "RandomAxis", "SweepSpec", "Scalar", "parse_spec", "load_spec"]

Scalar = bool | int | float | str
_TOP_KEYS = {"study", "seed", "base", "grid", "zip", "random", "title"}


@dataclass(frozen=True)
class Axis:
    """A named axis with its values (grid or zip), each a TOML scalar."""

    name: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class RandomAxis:
    """A named axis sampled uniformly in [low, high) (in log space when ``log``; ``integer`` rounds down)."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: ``study`` name or ``module:function``, ``base`` configuration, axes, ``seed``."""

    study: str
    base: Mapping[str, Any] = field(default_factory=dict)
    grid: tuple[Axis, ...] = ()
    zipped: tuple[Axis, ...] = ()
    random: tuple[RandomAxis, ...] = ()
    samples: int = 0
    seed: int = 0
    title: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.study, str) or not self.study.strip():
            raise ValueError(f"study must be a non-empty string (a registered name or 'module:function'); got {self.study!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {self.seed!r}")
        if not isinstance(self.base, Mapping) or not all(isinstance(k, str) for k in self.base):
            raise ValueError(f"base must be a table of named values; got {self.base!r}")
        names = [a.name for a in self.grid] + [a.name for a in self.zipped] + [a.name for a in self.random]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"axes {twice} are given more than once (grid, zip and random axes must differ)")
        for axis in self.grid + self.zipped:
            _check_axis(axis)
        lengths = {a.name: len(a.values) for a in self.zipped}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"zip axes must all have the same length; got {lengths}")
        for axis in self.random:
            _check_random(axis)
        if self.random and (not _is_int(self.samples) or self.samples < 1):
            raise ValueError(f"random.samples must be an integer >= 1 when random axes are given; got {self.samples!r}")
        if not self.random and self.samples:
            raise ValueError("random.samples is given but no random axes are")

    @property
    def axis_names(self) -> list[str]:
        """Names of every varied axis, in spec order (grid, zip, random)."""
        return [a.name for a in self.grid] + [a.name for a in self.zipped] + [a.name for a in self.random]

    def points(self) -> list[dict[str, Scalar]]:
        """Every point's full configuration (``base`` updated with its axis values), in spec order."""
        grid = [[(a.name, v) for v in a.values] for a in self.grid]
        zipped = [list(zip([a.name] * len(a.values), a.values)) for a in self.zipped]
        factors = [[(pair,) for pair in axis] for axis in grid]
        if zipped:
            factors.append([tuple(row) for row in zip(*zipped)])
        if self.random:
            factors.append(self._random_rows())
        points = []
        for combo in itertools.product(*factors):
            config = dict(self.base)
            for group in combo:
                config.update(group)
            points.append(config)
        return points

    def _random_rows(self) -> list[tuple[tuple[str, Scalar], ...]]:
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0x5EED,)))
        rows = []
        for _ in range(self.samples):
            row = []
            for axis in self.random:
                if axis.log:
                    value = math.exp(rng.uniform(math.log(axis.low), math.log(axis.high)))
                else:
                    value = float(rng.uniform(axis.low, axis.high))
                row.append((axis.name, int(math.floor(value)) if axis.integer else value))
            rows.append(tuple(row))
        return rows


def parse_spec(data: Mapping[str, Any], where: str = "spec") -> SweepSpec:
    """A ``SweepSpec`` from a parsed TOML table; ``where`` names the source in error messages."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; expected some of {sorted(_TOP_KEYS)}")
    if "study" not in data:
        raise ValueError(f"{where}: 'study' is required (a registered study or 'module:function')")
    random = dict(_table(data, "random", where))
    samples = random.pop("samples", 0)
    try:
        return SweepSpec(
            study=data["study"], base=dict(_table(data, "base", where)), seed=data.get("seed", 0),
            grid=tuple(_axis(name, values, "grid") for name, values in _table(data, "grid", where).items()),
            zipped=tuple(_axis(name, values, "zip") for name, values in _table(data, "zip", where).items()),
            random=tuple(_random_axis(name, bounds) for name, bounds in random.items()),
            samples=samples, title=str(data.get("title", "")))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def load_spec(path: Path) -> SweepSpec:
    """Read and validate a TOML spec file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such sweep spec: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    return parse_spec(data, str(path))


# ---- validation helpers -----------------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_scalar(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (bool, int, str))


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: [{key}] must be a table; got {type(value).__name__}")
    return value


def _axis(name: str, values, kind: str) -> Axis:
    if not isinstance(values, list):
        raise ValueError(f"{kind} axis '{name}' must be a list of values; got {values!r}")
    return Axis(name, tuple(values))


def _check_axis(axis: Axis) -> None:
    if not axis.values:
        raise ValueError(f"axis '{axis.name}' has no values")
    bad = [v for v in axis.values if not _is_scalar(v)]
    if bad:
        raise ValueError(f"axis '{axis.name}' values must be finite numbers, booleans or strings; got {bad[:3]}")
    if len(set(map(repr, axis.values))) != len(axis.values):
        raise ValueError(f"axis '{axis.name}' repeats a value: {list(axis.values)}")


def _random_axis(name: str, bounds) -> RandomAxis:
    if not isinstance(bounds, Mapping) or not {"low", "high"} <= set(bounds) or set(bounds) - {"low", "high", "log", "integer"}:
        raise ValueError(f"random axis '{name}' must be a table {{ low = ..., high = ... [, log = true] "
                         f"[, integer = true] }}; got {bounds!r}")
    return RandomAxis(name, bounds["low"], bounds["high"], bounds.get("log", False), bounds.get("integer", False))


def _check_random(axis: RandomAxis) -> None:
    for bound in ("low", "high"):
        value = getattr(axis, bound)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"random axis '{axis.name}': {bound} must be a finite number; got {value!r}")
    if not axis.low < axis.high:
        raise ValueError(f"random axis '{axis.name}': need low < high; got low={axis.low}, high={axis.high}")
    if not isinstance(axis.log, bool) or not isinstance(axis.integer, bool):
        raise ValueError(f"random axis '{axis.name}': log and integer must be true or false")
    if axis.log and axis.low <= 0:
        raise ValueError(f"random axis '{axis.name}': a log axis needs low > 0; got {axis.low}")
