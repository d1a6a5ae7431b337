"""Weight initialisation and random generators.

All randomness in scratchcnn comes from an explicit :class:`numpy.random.Generator` (or an
integer seed that makes one); the engine never touches NumPy's global random state.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

RandomLike = np.random.Generator | int | None


def as_generator(rng: RandomLike) -> np.random.Generator:
    """A Generator from a Generator (returned as is), a seed, or None (fresh OS entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"expected a numpy Generator, an int seed or None, got {type(rng).__name__}")


def he_normal(
    shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """He et al. (2015): N(0, 2 / fan_in), which keeps ReLU activations' variance constant."""
    return rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)


def he_uniform(
    shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """He et al. (2015), uniform: U(-l, l) with l = sqrt(6 / fan_in)."""
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape)


def glorot_uniform(
    shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """Glorot & Bengio (2010): U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def glorot_normal(
    shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """Glorot & Bengio (2010), normal: N(0, 2 / (fan_in + fan_out))."""
    return rng.standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))


INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
}


def initialize(
    name: str, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw an array of ``shape`` with the initialiser called ``name``."""
    try:
        init = INITIALIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown initialiser {name!r}; choose one of {', '.join(INITIALIZERS)}"
        ) from None
    return init(shape, fan_in, fan_out, rng)
