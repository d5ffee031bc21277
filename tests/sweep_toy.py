"""A study with a closed-form answer, for the sweep tests (imported by workers through sys.path)."""
import time
from dataclasses import dataclass

import numpy as np

from cosim.sweep.study import Study


def closed_form(config: dict, seed: int) -> dict:
    """y = a * b + c, plus one standard normal draw of the point's seed; fails when a == fail_at."""
    if config.get("a") == config.get("fail_at"):
        raise RuntimeError(f"a = {config['a']} is the failing value")
    time.sleep(config.get("sleep_s", 0.0))
    return {"y": config["a"] * config["b"] + config.get("c", 0.0),
            "noise": float(np.random.default_rng(seed).standard_normal()), "label": f"a{config['a']}"}


@dataclass(frozen=True)
class Params:
    a: int
    b: float = 1.0

    def __post_init__(self):
        if self.a < 0:
            raise ValueError(f"a must be >= 0; got {self.a}")


TYPED = Study("typed", run=lambda p, seed: {"y": p.a * p.b}, params=Params)
