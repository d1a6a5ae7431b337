"""Float tolerances derived from the arithmetic, not from one machine's digits.

OpenBLAS picks its kernels from the CPU (Haswell, SkylakeX, ...), and kernels add the
terms of a dot product in different orders, so the last bits of every matrix product
differ between machines (and between batch sizes on one machine). What does not differ is
the classic bound on a sum of ``n`` rounded products (Higham, *Accuracy and Stability of
Numerical Algorithms*, 3.1): whatever the order,

    |computed(sum_i a_i b_i) - sum_i a_i b_i| <= gamma(n) * sum_i |a_i b_i|,
    gamma(n) = n u / (1 - n u),   u = 2**-24 (float32) or 2**-53 (float64).

Two computations of the same sum therefore differ by at most twice that. The helpers
below turn it into tolerances; a test that needs one says which sums it compares.
"""

from __future__ import annotations

import numpy as np


def unit_roundoff(dtype: np.dtype | type) -> float:
    """``u``: half the distance from 1 to the next number of ``dtype``."""
    return float(np.finfo(dtype).eps) / 2


def gamma(n: int, dtype: np.dtype | type = np.float32) -> float:
    """Higham's ``gamma_n = n u / (1 - n u)``: the relative bound of a sum of n products."""
    nu = n * unit_roundoff(dtype)
    assert nu < 1, f"{n} terms are too many for {np.dtype(dtype).name}"
    return nu / (1 - nu)


def dot_bound(a: np.ndarray, b: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Bound on the error of ``a @ b`` computed in ``dtype``, entry by entry.

    ``gamma(n) * (|a| @ |b|)`` with ``n`` the length of the contraction, plus the rounding
    of the inputs themselves to ``dtype`` when they are given in higher precision.
    """
    a64, b64 = np.abs(np.asarray(a, np.float64)), np.abs(np.asarray(b, np.float64))
    n = a64.shape[-1]
    return (gamma(n, dtype) + 2 * unit_roundoff(dtype)) * (a64 @ b64)


def softmax_relative_bound(logit_error: np.ndarray, dtype: np.dtype | type = np.float32) -> float:
    """Relative error of ``softmax(z)`` when every logit may be off by ``logit_error``.

    ``p_k = exp(z_k) / sum_j exp(z_j)``: shifting the logits by ``d`` changes ``log p_k`` by
    ``d_k - sum_j p_j d_j``, at most ``2 max|d|``; the softmax's own float rounding (an
    exp, a sum of ``K`` terms, a division) adds ``(K + 4) u``. ``exp(x) - 1 <= 1.01 x``
    below 0.01.
    """
    k = np.asarray(logit_error).shape[-1]
    return 1.01 * (2 * float(np.max(logit_error))) + (k + 4) * unit_roundoff(dtype)


def logit_bound(model, x: np.ndarray) -> np.ndarray:
    """Bound on the float rounding error of ``model.forward(x)``, entry by entry.

    For a chain of Conv2D/Dense layers with ReLU, max pooling and Flatten between them
    (all 1-Lipschitz and monotone on non-negative inputs), the rounding errors of the
    layers' sums compose to at most ``gamma(n1 + n2 + ...)`` times the output of the same
    network run on ``|x|`` with ``|weights|`` (Higham 3.5), where ``n`` is each layer's
    contraction length plus one for the bias.
    """
    import copy

    from scratchcnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU

    magnitude = copy.deepcopy(model)
    terms = 0
    for layer in magnitude.layers:
        if isinstance(layer, Conv2D):
            terms += layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels + 1
        elif isinstance(layer, Dense):
            terms += layer.in_features + 1
        elif not isinstance(layer, (ReLU, MaxPool2D, Flatten, Dropout)):
            raise TypeError(f"no error bound for {layer!r}")
        for value in layer.params.values():
            np.abs(value, out=value)
    # The magnitude network's own sums are of non-negative terms: relative error gamma.
    out = magnitude.forward(np.abs(x)).astype(np.float64)
    return gamma(terms + 1, model.dtype) * (1 + gamma(terms, model.dtype)) * out
