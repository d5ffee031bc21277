"""The trained digits networks every study point maps: trained once per worker process and cached.

A study point must not retrain: ``trained(network, epochs, seed)`` trains on the first call in a
process and returns the same (model, test images, test labels, digital accuracy) afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

import torch
from torch import nn

from cosim.nn.data import accuracy, digits_cnn, digits_mlp, digits_split, torch_threads, train

__all__ = ["Network", "Trained", "trained", "test_accuracy"]


class Network(Enum):
    """The digits networks: a 64-32-10 perceptron, or two 3x3 convolutions and a linear classifier."""

    MLP = "mlp"
    CNN = "cnn"


@dataclass(frozen=True)
class Trained:
    """A trained network with its held-out test set (inputs shaped for the network)."""

    model: nn.Module
    x_test: torch.Tensor
    y_test: torch.Tensor
    digital_accuracy: float


@lru_cache(maxsize=8)
def trained(network: Network, epochs: int, seed: int = 0) -> Trained:
    """``network`` trained for ``epochs`` on the digits (split and initialisation seeded by ``seed``)."""
    data = digits_split(seed=seed)
    with torch_threads(1), torch.enable_grad():
        if network is Network.CNN:
            x_train, x_test = data.as_images(data.x_train), data.as_images(data.x_test)
            model = train(digits_cnn(seed=seed), x_train, data.y_train, epochs=epochs, seed=seed)
        else:
            x_test = data.x_test
            model = train(digits_mlp(32, seed=seed), data.x_train, data.y_train, epochs=epochs, seed=seed)
        return Trained(model, x_test, data.y_test, accuracy(model, x_test, data.y_test))


def test_accuracy(model: nn.Module, net: Trained) -> float:
    """Test accuracy of ``model`` (a mapped copy of ``net.model``) on ``net``'s test set, one torch thread."""
    with torch_threads(1):
        return accuracy(model, net.x_test, net.y_test)
