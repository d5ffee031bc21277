"""Studies: the function a sweep runs at every point, its parameter class, its figure and its paper.

A study function takes one point's configuration and seed and returns a flat dict of scalar
results. A registered study is a :class:`Study` found by name (``REGISTERED``); any other is given
as ``"package.module:attribute"``, the attribute being a ``Study`` or a plain function
``f(config: dict, seed: int) -> dict``. Workers resolve the study by this reference, so nothing but
names, configurations and numbers travels between processes.
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

__all__ = ["Study", "REGISTERED", "resolve_study", "check_results"]

REGISTERED: dict[str, str] = {
    "seed003-fig6": "cosim.sweep.studies.seed003:FIG6",
    "seed003-fig7": "cosim.sweep.studies.seed003:FIG7",
    "seed002-lut": "cosim.sweep.studies.seed002:STUDY",
    "seed000-fig6": "cosim.sweep.studies.seed000:STUDY",
}


@dataclass(frozen=True)
class Study:
    """A study: ``run(params, seed) -> {name: scalar}`` over the points of a sweep.

    params: a frozen dataclass each point's configuration is turned into (so an unknown name or a
        bad value is an error before any task starts); None passes the configuration as a dict.
    figure: ``figure(rows, path)`` draws the study from its result rows (dicts as in
        :func:`cosim.sweep.results.load_rows`) into ``path`` (PNG); None = a generic scatter.
    summary: ``summary(rows) -> list[str]`` key numbers (Markdown lines) for the report; optional.
    paper: what the source paper reported, shown beside cosim's result in the report.
    """

    name: str
    run: Callable[[Any, int], Mapping[str, Any]]
    params: type | None = None
    figure: Callable[[list[dict], Path], None] | None = None
    summary: Callable[[list[dict]], list[str]] | None = None
    paper: str = ""

    def configure(self, config: Mapping[str, Any]) -> Any:
        """The study's parameters for one point's configuration; ValueError naming what is wrong."""
        if self.params is None:
            return dict(config)
        known = {f.name for f in dataclasses.fields(self.params)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"study '{self.name}' has no parameters {unknown}; it takes {sorted(known)}")
        try:
            return self.params(**config)
        except TypeError as exc:
            raise ValueError(f"study '{self.name}': {exc}") from None

    def __call__(self, config: Mapping[str, Any], seed: int) -> dict[str, Any]:
        return check_results(self.run(self.configure(config), seed))


def check_results(results: Any) -> dict[str, Any]:
    """The study's results as a dict of scalars, or a ValueError saying what is not."""
    if not isinstance(results, Mapping):
        raise ValueError(f"a study must return a dict of named scalars; got {type(results).__name__}")
    out = {}
    for name, value in results.items():
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            value = value.item()
        if not isinstance(name, str) or not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"study result {name!r} must be a named bool, int, float or str; got {type(value).__name__}")
        out[name] = value
    return out


@lru_cache(maxsize=None)
def resolve_study(reference: str) -> Study:
    """The study a spec names: a registered name or ``"package.module:attribute"``."""
    target = REGISTERED.get(reference, reference)
    if ":" not in target:
        raise ValueError(f"unknown study {reference!r}: use a registered study ({sorted(REGISTERED)}) "
                         "or 'package.module:function'")
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"study {reference!r}: cannot import module {module_name!r} ({exc})") from None
    obj = getattr(module, attribute, None)
    if isinstance(obj, Study):
        return obj
    if callable(obj):
        return Study(name=reference, run=obj)
    raise ValueError(f"study {reference!r}: {module_name} has no study or function named {attribute!r}")

