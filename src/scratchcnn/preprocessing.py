"""The one mapping from stored pixels to network inputs.

Training, evaluation and prediction all call :func:`normalize`, so a model always sees
inputs prepared the same way. A model records the mapping it was trained with in
``model.metadata["preprocessing"]``::

    {"scale": 1/255, "mean": m, "std": s}   # x = (pixels * scale - mean) / std

``mean`` and ``std`` are numbers or one number per channel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["DEFAULT_PREPROCESSING", "check_preprocessing", "normalize"]

#: Pixels 0..255 to 0..1, no centring: what a model without recorded preprocessing gets.
DEFAULT_PREPROCESSING: dict[str, Any] = {"scale": 1 / 255, "mean": 0.0, "std": 1.0}


def check_preprocessing(preprocessing: Mapping[str, Any] | None) -> dict[str, Any]:
    """A validated copy of ``preprocessing``, with defaults for missing keys.

    ``None`` gives :data:`DEFAULT_PREPROCESSING`. Raises ``ValueError`` naming the bad entry.
    """
    if preprocessing is None:
        return dict(DEFAULT_PREPROCESSING)
    if not isinstance(preprocessing, Mapping):
        raise ValueError(f"preprocessing must be a mapping, got {type(preprocessing).__name__}")
    unknown = sorted(set(preprocessing) - set(DEFAULT_PREPROCESSING))
    if unknown:
        raise ValueError(f"preprocessing has unknown keys {unknown}")
    out = {**DEFAULT_PREPROCESSING, **preprocessing}
    for key in DEFAULT_PREPROCESSING:
        value = out[key]
        values = value if isinstance(value, (list, tuple)) and key != "scale" else [value]
        if not values or not all(_is_real(v) and math.isfinite(v) for v in values):
            raise ValueError(f"preprocessing {key!r} must be a finite number, got {value!r}")
        if key != "mean" and not all(v > 0 for v in values):
            raise ValueError(f"preprocessing {key!r} must be positive, got {value!r}")
        out[key] = [float(v) for v in values] if isinstance(value, (list, tuple)) else float(value)
    return out


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def normalize(
    images: np.ndarray,
    preprocessing: Mapping[str, Any] | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """``(images * scale - mean) / std`` as an NHWC array of ``dtype``.

    ``images`` holds pixels (usually ``uint8``) shaped ``(N, H, W)`` (a channel axis is
    added) or ``(N, H, W, C)``; ``preprocessing`` is a model's recorded mapping (``None``:
    :data:`DEFAULT_PREPROCESSING`). The arithmetic runs in ``dtype``.
    """
    settings = check_preprocessing(preprocessing)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"normalize needs a float dtype, got {dtype}")
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise ValueError(
            f"expected images shaped (N, H, W) or (N, H, W, C), got shape {images.shape}"
        )
    channels = images.shape[-1]
    x = images.astype(dtype)
    x *= dtype.type(settings["scale"])
    x -= _per_channel(settings["mean"], channels, "mean", dtype)
    x /= _per_channel(settings["std"], channels, "std", dtype)
    return x


def _per_channel(value: float | list[float], channels: int, name: str, dtype: np.dtype) -> Any:
    if not isinstance(value, list):
        return dtype.type(value)
    if len(value) == 1:
        return dtype.type(value[0])
    if len(value) != channels:
        raise ValueError(
            f"preprocessing {name!r} has {len(value)} values for images with {channels} channels"
        )
    return np.asarray(value, dtype=dtype)
