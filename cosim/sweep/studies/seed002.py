"""Seed 002 at digits scale: bit-sliced weights read through resistance look-up tables.

Seed 002 codes AlexNet layer 1's trained weights (11 x 11 x 3 x 96) as binary words, one bit per
RRAM cell (LRS = 1, HRS = 0), draws each cell's read resistance from the distribution measured for
its state, and compares the convolution's output with the ideal one. Here the same encoding is an
``ArrayConfig`` mapping scheme (``encoding = "bit-sliced"``, :mod:`cosim.nn.lut`) and the tables are
log-normal with a given overlap of adjacent levels (or a measured CSV). Two layers:

* ``digits-conv``: the first convolution (1 -> 8 channels, 3 x 3) of a CNN trained on the digits,
  on the held-out digits; the network's accuracy with that layer on the arrays (the rest digital)
  is the classification accuracy the error implies;
* ``alexnet1``: a layer of AlexNet layer 1's shape (3 -> 96 channels, 11 x 11, stride 4) with
  He-initialised random weights (no ImageNet weights here) on random 3 x 227 x 227 inputs in [0, 1].

Relative error = ||y - y_ideal|| / ||y_ideal|| over the whole output (biases excluded), mean over
``seeds`` fabrications; no tuning (the seed has none). The overlap is that of *adjacent* levels, so
at equal overlap a multi-level cell's levels are narrower than a binary cell's LRS / HRS (their
gaps in ln R are smaller): compare level counts at equal spread with a measured table instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cosim.nn import ArrayConfig, patch_model
from cosim.nn.data import torch_threads
from cosim.sweep.studies.networks import Network, test_accuracy, trained
from cosim.sweep.study import Study

__all__ = ["Seed002Params", "run", "STUDY"]

LAYERS = ("digits-conv", "alexnet1")


@dataclass(frozen=True)
class Seed002Params:
    """One point. layer: "digits-conv" or "alexnet1". overlap: of adjacent log-normal levels, [0, 1).
    levels_per_cell: 2..8; weight_bits: word length of |w|; ratio: R_off / R_on of the default table
    (R_on = 1 kohm); lut: CSV of measured reads ("" = log-normal); seeds: fabrications averaged;
    images: random AlexNet inputs; epochs: digits CNN training."""

    layer: str = "digits-conv"
    overlap: float = 0.0
    levels_per_cell: int = 2
    weight_bits: int = 8
    ratio: float = 10.0
    lut: str = ""
    seeds: int = 3
    images: int = 2
    epochs: int = 8

    def __post_init__(self) -> None:
        if self.layer not in LAYERS:
            raise ValueError(f"layer must be one of {list(LAYERS)}; got {self.layer!r}")
        if not self.ratio > 1:
            raise ValueError(f"ratio must be > 1; got {self.ratio}")
        for name in ("seeds", "images", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")
        self.config(0)        # the encoding's own checks (levels, bits, overlap)

    def config(self, seed: int) -> ArrayConfig:
        return ArrayConfig(tile=(64, 64), scheme="double-column", encoding="bit-sliced", weight_bits=self.weight_bits,
                           levels_per_cell=self.levels_per_cell, r_on=1e3, r_off=1e3 * self.ratio,
                           lut=self.lut or None, lut_overlap=self.overlap, seed=seed)


@lru_cache(maxsize=2)
def _alexnet_layer(images: int) -> tuple[nn.Conv2d, torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    layer = nn.Conv2d(3, 96, 11, stride=4, bias=False)
    with torch.no_grad():
        layer.weight.normal_(0.0, (2.0 / (3 * 11 * 11)) ** 0.5, generator=gen)
    return layer.eval(), torch.rand(images, 3, 227, 227, generator=gen)


def _relative_error(y: torch.Tensor, ideal: torch.Tensor) -> float:
    return float((y - ideal).norm() / ideal.norm())


@torch.no_grad()
def run(p: Seed002Params, seed: int) -> dict:
    """Relative output error (mean, max over fabrications) and, for the digits layer, the accuracy."""
    children = [int(c) for c in np.random.SeedSequence(seed).generate_state(p.seeds, dtype=np.uint32)]
    errors, accs = [], []
    with torch_threads(1):
        if p.layer == "alexnet1":
            layer, x = _alexnet_layer(p.images)
            ideal = layer(x)
            errors = [_relative_error(patch_model(layer, p.config(c))(x), ideal) for c in children]
        else:
            net = trained(Network.CNN, p.epochs)
            conv = net.model[0]
            ideal = conv(net.x_test) - conv.bias[:, None, None]
            for c in children:
                mapped = patch_model(conv, p.config(c))
                errors.append(_relative_error(mapped(net.x_test) - conv.bias[:, None, None], ideal))
                model = nn.Sequential(mapped, *list(net.model)[1:])
                accs.append(test_accuracy(model, net))
    out = {"rel_error": float(np.mean(errors)), "rel_error_max": float(np.max(errors)),
           "slices": p.config(0).slices}
    if accs:
        out.update(accuracy=float(np.mean(accs)), digital=net.digital_accuracy)
    return out


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, (ax_err, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    series = sorted({(r["config.layer"], r["config.levels_per_cell"]) for r in rows})
    floor = min((r["config.overlap"] for r in rows if r["config.overlap"] > 0), default=1e-3) / 3
    for k, (layer, levels) in enumerate(series):
        pts = sorted((r["config.overlap"], r["result.rel_error"], r.get("result.accuracy")) for r in rows
                     if r["config.layer"] == layer and r["config.levels_per_cell"] == levels)
        x = [max(p[0], floor) for p in pts]
        style = "o-" if layer == "alexnet1" else "s--"
        ax_err.loglog(x, [p[1] for p in pts], style, color=f"C{k}", ms=3, label=f"{layer}, {levels} levels/cell")
        if layer == "digits-conv":
            ax_acc.semilogx(x, [p[2] for p in pts], style, color=f"C{k}", ms=3, label=f"{levels} levels/cell")
    ax_err.set_xlabel(f"overlap of adjacent levels (0 drawn at {floor:.1g})")
    ax_err.set_ylabel("relative error of the conv output")
    ax_err.legend(fontsize=7)
    ax_acc.set_xlabel("overlap of adjacent levels")
    ax_acc.set_ylabel("digits test accuracy (conv 1 on arrays)")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.legend(fontsize=7)
    fig.suptitle("Seed 002: 8-bit words, bit-sliced, read through log-normal level tables")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary(rows: list[dict]) -> list[str]:
    lines = ["relative error of the conv output / digits accuracy, by overlap:"]
    for layer in LAYERS:
        for levels in sorted({r["config.levels_per_cell"] for r in rows}):
            pts = sorted((r["config.overlap"], r["result.rel_error"], r.get("result.accuracy")) for r in rows
                         if r["config.layer"] == layer and r["config.levels_per_cell"] == levels)
            if pts:
                cells = ", ".join(f"{ov:g}: {e:.3g}" + (f" / {a:.3f}" if a is not None else "") for ov, e, a in pts)
                lines.append(f"  {layer}, {levels} levels/cell: {cells}")
    lines += _implied(rows)
    return lines


def _implied(rows: list[dict]) -> list[str]:
    """AlexNet-shaped errors read on the digits' accuracy-vs-error curve (an analogy, stated as one)."""
    digits = sorted((r["result.rel_error"], r["result.accuracy"]) for r in rows if r["config.layer"] == "digits-conv")
    alex = sorted((r["config.levels_per_cell"], r["config.overlap"], r["result.rel_error"]) for r in rows
                  if r["config.layer"] == "alexnet1")
    if len(digits) < 2 or not alex:
        return []
    err, acc = np.array(digits).T
    implied = ", ".join(f"{lv} levels, overlap {ov:g}: {np.interp(e, err, acc):.3f}" for lv, ov, e in alex if ov in (0.01, 0.1))
    return ["implied digits accuracy of the AlexNet-shaped errors (the digits network's accuracy at the same "
            f"conv-1 relative error, interpolated): {implied}"]


STUDY = Study("seed002-lut", run=run, params=Seed002Params, figure=figure, summary=summary,
              paper="Seed 002 (AlexNet layer 1, ImageNet, measured HfOx LUTs, one bit per cell): the convolution "
                    "output's relative error grows with the spread of the LRS / HRS resistance distributions; "
                    "eight discrete levels per device are reachable by the RESET stop voltage. The abstract "
                    "gives no numbers.")
