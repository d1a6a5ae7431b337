"""Data augmentation on batches of images, vectorised over the batch."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Move each image by its own random offset of up to ``max_shift`` pixels per axis.

    Pixels that move in from outside are 0 (background). Each of the ``N`` images draws
    ``(dy, dx)`` uniformly from ``[-max_shift, max_shift]``; the result is a gather from one
    strided view of the padded batch, with no loop over images.
    """
    if max_shift <= 0:
        return images
    n, h, w = images.shape[:3]
    s = int(max_shift)
    pad = [(0, 0), (s, s), (s, s)] + [(0, 0)] * (images.ndim - 3)
    padded = np.pad(images, pad)
    windows = sliding_window_view(padded, (h, w), axis=(1, 2))  # (N, 2s+1, 2s+1, ..., h, w)
    dy = rng.integers(0, 2 * s + 1, n)
    dx = rng.integers(0, 2 * s + 1, n)
    shifted = windows[np.arange(n), dy, dx]  # (N, ..., h, w)
    if images.ndim == 4:
        shifted = np.moveaxis(shifted, 1, -1)
    return np.ascontiguousarray(shifted)


def random_flip(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirror each image left-right with probability 1/2 (for clothes, not for digits)."""
    flip = rng.random(len(images)) < 0.5
    out = images.copy()
    out[flip] = images[flip][:, :, ::-1]
    return out
