"""Finite-difference gradient checking shared by the engine's tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(loss: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences ``(L(x + h e_i) - L(x - h e_i)) / 2h`` for every entry of ``x``.

    ``x`` is perturbed in place (and restored), so ``loss`` must read it each call.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    assert np.shares_memory(flat, x), "x must be contiguous so it can be perturbed in place"
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        plus = loss()
        flat[i] = saved - h
        minus = loss()
        flat[i] = saved
        grad.reshape(-1)[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``|a - n| / max(|a| + |n|, tiny)`` over the whole array (Euclidean norms)."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / max(scale, 1e-30))


def check_layer_gradients(
    layer,
    x: np.ndarray,
    rng: np.random.Generator,
    training: bool = True,
    before_forward: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Compare a layer's backward pass with central differences of ``L = sum(y * r)``.

    ``r`` is a fixed random upstream gradient, so ``dL/dy = r``. Returns the relative
    error for the input (``"input"``) and for each parameter.
    """
    prepare = before_forward or (lambda: None)
    prepare()
    y = layer.forward(x, training)
    upstream = rng.standard_normal(y.shape)
    grad_x = layer.backward(upstream)
    grads = {key: value.copy() for key, value in layer.grads.items()}

    def loss() -> float:
        prepare()
        return float(np.sum(layer.forward(x, training) * upstream))

    errors = {"input": relative_error(grad_x, numerical_gradient(loss, x))}
    for key, param in layer.params.items():
        errors[key] = relative_error(grads[key], numerical_gradient(loss, param))
    return errors
