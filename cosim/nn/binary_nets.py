"""Small binarized networks on the digits and their training loop with devices in the loop (seed 004 Fig. 9).

``bnn_mlp`` (fully connected) and ``bnn_cnn`` (convolutional) are built from
:class:`~cosim.nn.binary.BinaryLinear` / :class:`~cosim.nn.binary.BinaryConv2d` with digital
batch-norm and binarized activations; the first layer sees the real pixel values, as usual for BNNs.
``train_bnn`` trains one with Adam wrapped in :class:`~cosim.nn.DeviceOptimizer` and records the test
accuracy after every epoch, plus the pulses the devices took.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from cosim.nn.binary import BinaryActivation, BinaryConv2d, BinaryLinear
from cosim.nn.data import Digits, accuracy, torch_threads
from cosim.nn.device_optimizer import DeviceOptimizer
from cosim.nn.weak_reset_cells import WeakResetComponents

__all__ = ["BnnCase", "FIG9_CASES", "bnn_mlp", "bnn_cnn", "BnnHistory", "train_bnn"]


@dataclass(frozen=True)
class BnnCase:
    """One curve of seed 004 Fig. 9: ideal weights, or devices with some components on."""

    label: str
    ideal: bool
    components: WeakResetComponents | None = None


FIG9_CASES: tuple[BnnCase, ...] = (
    BnnCase("ideal (no device)", True),
    BnnCase("devices, no noise, no spread", False, WeakResetComponents.of(spread=False, noise=False)),
    BnnCase("spread only", False, WeakResetComponents.of(spread=True, noise=False)),
    BnnCase("noise only", False, WeakResetComponents.of(spread=False, noise=True)),
    BnnCase("everything", False, WeakResetComponents.of(spread=True, noise=True)),
)


def _layer_kw(case: BnnCase, seed: int, index: int) -> dict:
    kw = dict(seed=seed * 1000 + index)
    if case.ideal:
        return dict(kw, device="ideal")
    return dict(kw, device="weak-reset-hfox", components=case.components)


def bnn_mlp(case: BnnCase, hidden: tuple[int, ...] = (128,), n_in: int = 64, n_out: int = 10,
            seed: int = 0) -> nn.Sequential:
    """n_in -> hidden... -> n_out binary perceptron; batch-norm after every layer (the last one's is the output)."""
    sizes = (n_in,) + tuple(hidden) + (n_out,)
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers += [BinaryLinear(sizes[i], sizes[i + 1], **_layer_kw(case, seed, i)), nn.BatchNorm1d(sizes[i + 1])]
        if i < len(sizes) - 2:
            layers.append(BinaryActivation())
    return nn.Sequential(*layers)


def bnn_cnn(case: BnnCase, channels: tuple[int, int] = (16, 32), n_out: int = 10, seed: int = 0) -> nn.Sequential:
    """Two binary 3x3 convolutions (batch-norm and sign each), one 2x2 max-pool, then a binary classifier;
    input (N, 1, 8, 8). (Pooling after the first convolution too leaves 2x2 maps and costs ~15 points.)"""
    c1, c2 = channels
    return nn.Sequential(
        BinaryConv2d(1, c1, 3, padding=1, **_layer_kw(case, seed, 0)), nn.BatchNorm2d(c1), BinaryActivation(),
        BinaryConv2d(c1, c2, 3, padding=1, **_layer_kw(case, seed, 1)), nn.BatchNorm2d(c2), BinaryActivation(),
        nn.MaxPool2d(2), nn.Flatten(),
        BinaryLinear(c2 * 16, n_out, **_layer_kw(case, seed, 2)), nn.BatchNorm1d(n_out))


@dataclass
class BnnHistory:
    """Per-epoch test accuracy (fraction) and pulse statistics of a training run; ``both_saturated`` is the
    fraction of pairs whose two cells are past their slope change (see ``cosim.nn.pairs``)."""

    accuracy: list[float]
    mean_pulses_per_cell: list[float]
    max_pulses_per_cell: list[float]
    energy_j: list[float]
    both_saturated: list[float]


def train_bnn(model: nn.Module, data: Digits, *, epochs: int = 20, lr: float = 5e-3, lr_pulse: float = 1500.0,
              batch: int = 64, seed: int = 0, images: bool = False, threads: int | None = 1) -> BnnHistory:
    """Train ``model`` with Adam (in ``DeviceOptimizer``) and cross-entropy; test accuracy after each epoch.

    lr: Adam's step on the hidden weights. lr_pulse: pulses per unit of weight (1 / m1 = 1442 maps one
    pulse of the nominal device to its change of W). images: feed (N, 1, 8, 8) instead of (N, 64).
    """
    for name, value in (("epochs", epochs), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0; got {lr!r}")
    shape = Digits.as_images if images else (lambda x: x)
    x_train, x_test = shape(data.x_train), shape(data.x_test)
    gen = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    history = BnnHistory([], [], [], [], [])
    with torch_threads(threads):
        opt = DeviceOptimizer(torch.optim.Adam(model.parameters(), lr=lr), model, lr_pulse=lr_pulse)
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(data.y_train), generator=gen)
            for start in range(0, len(order), batch):
                idx = order[start:start + batch]
                if len(idx) < 2:   # batch-norm needs two samples
                    continue
                opt.zero_grad()
                loss_fn(model(x_train[idx]), data.y_train[idx]).backward()
                opt.step()
            model.eval()
            history.accuracy.append(accuracy(model, x_test, data.y_test))
            totals = opt.pulse_totals()
            history.mean_pulses_per_cell.append(totals["mean_per_cell"])
            history.max_pulses_per_cell.append(totals["max_per_cell"])
            history.energy_j.append(totals["energy_j"])
            pairs = [m.cells.saturated(m.rule.polarity).all(dim=-1) for m in opt.layers]
            history.both_saturated.append(sum(float(p.sum()) for p in pairs) / max(1, sum(p.numel() for p in pairs)))
    return history
