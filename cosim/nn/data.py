"""The digits data set (8 x 8 handwritten digits, 1797 samples) and small networks trained on it.

Used by the examples, the benchmark, the tests and the demo. The data ship with scikit-learn
(``sklearn/datasets/data/digits.csv.gz``: 64 pixel values 0..16 then the label per line); they are
read straight from that file when it is there (no scikit-learn import, which is slow), else through
``sklearn.datasets.load_digits``. scikit-learn is needed for either.
"""
from __future__ import annotations

import gzip
import importlib.util
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from cosim.validate import positive_int, real_scalar

__all__ = ["Digits", "load_digits", "digits_split", "digits_mlp", "digits_cnn", "train", "accuracy", "torch_threads"]


def _digits_file() -> Path | None:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 64) float64 in [0, 1], labels (1797,) int64)."""
    path = _digits_file()
    if path is not None:
        with gzip.open(path, "rt") as fh:
            table = np.loadtxt(fh, delimiter=",")
        pixels, labels = table[:, :-1], table[:, -1]
    else:
        try:
            from sklearn.datasets import load_digits as sk_load_digits
        except ImportError:
            raise ImportError("the digits data ship with scikit-learn: pip install scikit-learn") from None
        bunch = sk_load_digits()
        pixels, labels = bunch.data, bunch.target
    return pixels.astype(np.float64) / 16.0, labels.astype(np.int64)


@dataclass(frozen=True)
class Digits:
    """A train / test split of the digits as float32 tensors; images are (N, 64)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @staticmethod
    def as_images(x: torch.Tensor) -> torch.Tensor:
        """(N, 64) -> (N, 1, 8, 8) for convolutional networks."""
        return x.reshape(-1, 1, 8, 8)


def digits_split(test_fraction: float = 0.3, seed: int = 0) -> Digits:
    """Shuffle the digits with ``seed`` and hold out ``test_fraction`` of them for testing."""
    test_fraction = real_scalar("test_fraction", test_fraction)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
    seed = positive_int("seed", seed, minimum=0)
    x, y = load_digits()
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train_idx = order[:n_test], order[n_test:]
    t = lambda a, dt: torch.as_tensor(a, dtype=dt)
    return Digits(t(x[train_idx], torch.float32), t(y[train_idx], torch.int64),
                  t(x[test], torch.float32), t(y[test], torch.int64))


def digits_mlp(hidden: int = 32, seed: int = 0) -> nn.Sequential:
    """64 -> hidden -> 10 perceptron with a ReLU (initialised from ``seed``; the global RNG is untouched)."""
    hidden = positive_int("hidden", hidden)
    meta = dict(device="meta")      # built without drawing from the global RNG; ``initialise`` draws
    return initialise(nn.Sequential(nn.Linear(64, hidden, **meta), nn.ReLU(), nn.Linear(hidden, 10, **meta)), seed)


def digits_cnn(channels: tuple[int, int] = (8, 16), seed: int = 0) -> nn.Sequential:
    """Two 3 x 3 convolutions with ReLU and 2 x 2 max-pooling, then a linear classifier; input (N, 1, 8, 8)."""
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise TypeError(f"channels must be a pair (c1, c2) of positive integers; got {channels!r}")
    c1, c2 = (positive_int("channels", c) for c in channels)
    meta = dict(device="meta")
    return initialise(nn.Sequential(nn.Conv2d(1, c1, 3, padding=1, **meta), nn.ReLU(), nn.MaxPool2d(2),
                                    nn.Conv2d(c1, c2, 3, padding=1, **meta), nn.ReLU(), nn.MaxPool2d(2),
                                    nn.Flatten(), nn.Linear(c2 * 4, 10, **meta)), seed)


@torch.no_grad()
def initialise(model: nn.Module, seed: int) -> nn.Module:
    """Redraw every Linear / Conv layer's parameters with torch's default law (weights Kaiming-uniform
    with a = sqrt(5), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))) from a local ``torch.Generator`` seeded
    with ``seed``, in module order: reproducible, and the caller's global torch RNG is not touched."""
    gen = torch.Generator().manual_seed(positive_int("seed", seed, minimum=0))
    model = model.to_empty(device="cpu") if any(p.is_meta for p in model.parameters()) else model
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=gen)
            if module.bias is not None:
                fan_in = module.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(module.bias, -bound, bound, generator=gen)
    return model


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 30, batch: int | None = 64,
          lr: float = 1e-2, weight_decay: float = 1e-4, seed: int = 0, threads: int | None = 1) -> nn.Module:
    """Train ``model`` in place with Adam and cross-entropy; returns it (in eval mode).

    ``batch`` samples per step (None: the whole set, one step per epoch). ``weight_decay`` is an L2
    term added to the gradient (as torch's Adam does). ``threads``: torch threads while training
    (restored after; None = leave as set): these networks are so small that one thread is fastest,
    and on a busy machine several spin-waiting threads cost ten times more. Adam is written out
    here: constructing a ``torch.optim`` optimizer imports torch._dynamo, seconds per process.
    """
    with torch_threads(threads):
        return _train(model, x, y, epochs, len(y) if batch is None else batch, lr, weight_decay, seed)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: unchanged); the previous count is restored."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n is not None:
            torch.set_num_threads(before)


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, batch: int, lr: float,
           weight_decay: float, seed: int) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    adam = _Adam(params, lr, weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            grads = torch.autograd.grad(loss_fn(model(x[idx]), y[idx]), params)
            adam.step(grads)
    return model.eval()


class _Adam:
    """Adam (Kingma & Ba 2015) with the usual betas (0.9, 0.999) and eps 1e-8."""

    def __init__(self, params: list[torch.Tensor], lr: float, weight_decay: float):
        self.params, self.lr, self.weight_decay, self.t = params, lr, weight_decay, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads) -> None:
        self.t += 1
        b1, b2 = 0.9, 0.999
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            g = g + self.weight_decay * p
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v / (1 - b2 ** self.t)).sqrt_().add_(1e-8)
            p.addcdiv_(m, denom, value=-self.lr / (1 - b1 ** self.t))


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y``."""
    return float((model(x).argmax(dim=-1) == y).float().mean())
