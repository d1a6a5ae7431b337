"""Named model presets: an architecture plus the training recipe measured to suit it.

=========  ============================================================================
name       what it is
=========  ============================================================================
classic    the notebook's network (Conv 3x3 x8 -> MaxPool 2 -> Dense 1352 -> 10),
           trained in mini-batches instead of one image at a time
lenet      LeCun's LeNet-5 layout with ReLU: small and fast
fast       two convolution blocks (16-32 channels) and a 128-unit hidden layer, one
           epoch: 99% on MNIST in seconds
best       three convolution blocks (32-64-128 channels) and a 128-unit hidden layer,
           three epochs with 1-pixel shifts: 99.5% on MNIST
=========  ============================================================================

Each preset's ``defaults`` are :class:`~scratchcnn.training.TrainConfig` values that the
command line's options override (``per_dataset`` adjusts them for one data set); all use
the one-cycle learning-rate schedule. The recipes of ``fast`` and ``best`` were chosen for
test accuracy per second of training on two CPU cores (``benchmarks/bench_accuracy.py``).

Their blocks put BatchNorm after the pooling (Conv -> ReLU -> MaxPool -> BatchNorm): the
engine then runs the convolution, ReLU and pooling as one fused step
(:mod:`scratchcnn.fusion`), and BatchNorm normalises a quarter of the values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scratchcnn.errors import ScratchCNNError
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Flatten, Layer, MaxPool2D, ReLU
from scratchcnn.model import Sequential


@dataclass(frozen=True)
class Preset:
    """An architecture builder and its default training recipe."""

    name: str
    description: str
    build: Callable[[np.random.Generator], list[Layer]]
    defaults: dict[str, Any] = field(default_factory=dict)
    #: Changes to ``defaults`` measured to suit a particular data set.
    per_dataset: dict[str, dict[str, Any]] = field(default_factory=dict)

    def recipe(self, dataset: str) -> dict[str, Any]:
        """The training settings for ``dataset``: the defaults with its changes."""
        return {**self.defaults, **self.per_dataset.get(dataset, {})}


def _conv_block(
    rng: np.random.Generator, cin: int, cout: int, kernel: int, padding: Any = 0
) -> list[Layer]:
    """Conv (no bias: BatchNorm's shift replaces it) -> BatchNorm -> ReLU."""
    return [
        Conv2D(cin, cout, kernel, padding=padding, bias=False, rng=rng),
        BatchNorm2D(cout),
        ReLU(),
    ]


def _pooled_block(rng: np.random.Generator, cin: int, cout: int, kernel: int) -> list[Layer]:
    """Conv -> ReLU -> MaxPool 2 -> BatchNorm: one fused step plus a quarter-size BatchNorm.

    The convolution has no bias; the BatchNorm before it (or the input's normalisation)
    centres what it reads.
    """
    return [
        Conv2D(cin, cout, kernel, bias=False, rng=rng),
        ReLU(),
        MaxPool2D(2),
        BatchNorm2D(cout),
    ]


def _classic(rng: np.random.Generator) -> list[Layer]:
    return [
        Conv2D(1, 8, 3, bias=False, rng=rng),
        MaxPool2D(2),
        Flatten(),
        Dense(13 * 13 * 8, 10, rng=rng),
    ]


def _lenet(rng: np.random.Generator) -> list[Layer]:
    return [
        Conv2D(1, 6, 5, padding="same", rng=rng),
        ReLU(),
        MaxPool2D(2),
        Conv2D(6, 16, 5, rng=rng),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(5 * 5 * 16, 120, rng=rng),
        ReLU(),
        Dense(120, 84, rng=rng),
        ReLU(),
        Dense(84, 10, rng=rng),
    ]


def _classifier(rng: np.random.Generator, features: int, hidden: int = 128) -> list[Layer]:
    """Flatten -> Dense ``hidden`` -> ReLU -> Dense 10."""
    return [Flatten(), Dense(features, hidden, rng=rng), ReLU(), Dense(hidden, 10, rng=rng)]


def _fast(rng: np.random.Generator) -> list[Layer]:
    """28x28x1 -> conv 5x5 -> 24 -> pool 12 -> conv 3x3 -> 10 -> pool 5x5x32 -> 128 -> 10."""
    return [
        *_pooled_block(rng, 1, 16, 5),
        *_pooled_block(rng, 16, 32, 3),
        *_classifier(rng, 5 * 5 * 32),
    ]


def _best(rng: np.random.Generator) -> list[Layer]:
    """28x28x1 -> 24 -> pool 12 -> 10 -> pool 5 -> conv 3x3 -> 3x3x128 -> 128 -> 10."""
    return [
        *_pooled_block(rng, 1, 32, 5),
        *_pooled_block(rng, 32, 64, 3),
        *_conv_block(rng, 64, 128, 3),
        *_classifier(rng, 3 * 3 * 128),
    ]


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "classic",
            "the notebook's network: Conv 3x3 x8 -> MaxPool 2 -> Dense 1352 -> 10",
            _classic,
            {"epochs": 3, "batch_size": 32, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9},
        ),
        Preset(
            "lenet",
            "LeNet-5 with ReLU: two 5x5 convolutions and three dense layers",
            _lenet,
            {"epochs": 5, "batch_size": 128, "lr": 3e-3, "optimizer": "adam"},
        ),
        Preset(
            "fast",
            "two conv/ReLU/pool/BatchNorm blocks (16-32 channels), one epoch: 99% in seconds",
            _fast,
            {
                "epochs": 1,
                "batch_size": 64,
                "lr": 0.02,
                "optimizer": "adam",
                "label_smoothing": 0.1,
            },
        ),
        Preset(
            "best",
            "three conv blocks (32-64-128 channels), three epochs of 1-pixel shifts: 99.5%",
            _best,
            {
                "epochs": 3,
                "batch_size": 64,
                "lr": 0.01,
                "optimizer": "adam",
                "label_smoothing": 0.1,
                "shift": 1,
            },
            # Clothes are mirror-symmetric, and a few epochs do not fit them as well as digits.
            {"fashion-mnist": {"epochs": 20, "flip": True}},
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a clear error lists the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ScratchCNNError(
            message_key="error.preset.unknown",
            hint_key="error.choose_one_of",
            name=repr(name),
            choices=", ".join(PRESETS),
        ) from None


def build_model(name: str, seed: int = 0, dtype: np.dtype | type = np.float32) -> Sequential:
    """A fresh model of preset ``name`` with weights drawn from ``seed``."""
    preset = get_preset(name)
    model = Sequential(preset.build(np.random.default_rng(seed)), input_shape=(28, 28, 1))
    if np.dtype(dtype) != np.float32:
        model.astype(dtype)
    model.metadata["preset"] = name
    return model
