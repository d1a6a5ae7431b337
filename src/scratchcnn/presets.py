"""Named model presets: an architecture plus the training recipe measured to suit it.

=========  ============================================================================
name       what it is
=========  ============================================================================
classic    the notebook's network (Conv 3x3 x8 -> MaxPool 2 -> Dense 1352 -> 10),
           trained in mini-batches instead of one image at a time
lenet      LeCun's LeNet-5 layout with ReLU: small and fast
fast       three convolution blocks (32-64-128 channels) with BatchNorm, two epochs:
           99% on MNIST in under a minute
best       the same blocks with dropout before the classifier, six epochs with random
           shifts: the most accurate preset (see the README for the trade-off)
=========  ============================================================================

Each preset's ``defaults`` are :class:`~scratchcnn.training.TrainConfig` values that the
command line's options override (``per_dataset`` adjusts them for one data set); all use
the one-cycle learning-rate schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scratchcnn.errors import ScratchCNNError
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
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


def _conv_stack(rng: np.random.Generator) -> list[Layer]:
    """Three conv blocks, 32-64-128 channels: 28x28x1 -> 3x3x128."""
    return [
        *_conv_block(rng, 1, 32, 5),  # 28 -> 24
        MaxPool2D(2),  # -> 12
        *_conv_block(rng, 32, 64, 3),  # -> 10
        MaxPool2D(2),  # -> 5
        *_conv_block(rng, 64, 128, 3),  # -> 3
        Flatten(),
    ]


def _fast(rng: np.random.Generator) -> list[Layer]:
    return [*_conv_stack(rng), Dense(3 * 3 * 128, 10, rng=rng)]


def _best(rng: np.random.Generator) -> list[Layer]:
    return [*_conv_stack(rng), Dropout(0.3, rng=rng.spawn(1)[0]), Dense(3 * 3 * 128, 10, rng=rng)]


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
            "three conv/BatchNorm/ReLU blocks (32-64-128 channels), two epochs: 99% in a minute",
            _fast,
            {"epochs": 2, "batch_size": 128, "lr": 3e-3, "optimizer": "adam", "shift": 2},
        ),
        Preset(
            "best",
            "the same blocks with dropout, six epochs of random shifts: the most accurate",
            _best,
            {"epochs": 6, "batch_size": 128, "lr": 3e-3, "optimizer": "adam", "shift": 2},
            # Clothes are mirror-symmetric and less tolerant of shifts than digits.
            {"fashion-mnist": {"epochs": 10, "shift": 1, "flip": True}},
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
