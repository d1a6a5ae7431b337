"""A named trainable array and its gradient, as handed to optimisers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Parameter:
    """One trainable array.

    ``value`` and ``grad`` are the very arrays a layer holds (updated in place), ``name``
    is ``"<layer index>.<key>"`` (e.g. ``"0.weight"``), and ``decay`` says whether weight
    decay applies (weights of Conv2D and Dense yes; biases and BatchNorm parameters no).
    """

    name: str
    value: np.ndarray
    grad: np.ndarray
    decay: bool = True
