"""Losses computed from logits, fused with softmax for numerical stability."""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log softmax(z)_k = z_k - m - log(sum_j exp(z_j - m))`` with ``m = max_j z_j``.

    Subtracting the row maximum first keeps every ``exp`` in ``(0, 1]``, so no logits
    overflow, however large.
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities ``exp(z_k - m) / sum_j exp(z_j - m)``, stable for any logits."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, label_smoothing: float = 0.0
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``softmax(logits)`` against integer ``labels``, and its gradient.

    ``L = -(1/N) sum_n log p[n, y_n]``; ``dL/dz = (softmax(z) - onehot(y)) / N``. With
    ``label_smoothing = e`` the target is ``(1 - e) * onehot + e / K`` instead.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(
            f"softmax_cross_entropy expected logits of shape (batch, classes), got {logits.shape}"
        )
    n, k = logits.shape
    if n == 0:
        raise ValueError(
            "softmax_cross_entropy needs at least one sample; the mean of none is undefined"
        )
    if labels.shape != (n,):
        raise ValueError(
            f"softmax_cross_entropy expected {n} labels for logits {logits.shape}, got shape {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1)
    log_total = np.log(total)
    try:
        log_p_label = shifted[rows, labels] - log_total
    except IndexError:
        log_p_label = None
    if log_p_label is None or labels.min() < 0:
        raise ValueError(
            f"labels must lie in [0, {k}), got values from {labels.min()} to {labels.max()}"
        )
    if label_smoothing:
        log_p_mean = shifted.mean(axis=1) - log_total
        loss = -((1 - label_smoothing) * log_p_label + label_smoothing * log_p_mean)
    else:
        loss = -log_p_label
    # (softmax - target) / N, with the 1/N folded into the per-row normaliser.
    grad = exp * (1.0 / (n * total))[:, np.newaxis]
    grad[rows, labels] -= (1.0 - label_smoothing) / n
    if label_smoothing:
        grad -= label_smoothing / (k * n)
    return float(loss.sum()) / n, grad.astype(logits.dtype, copy=False)
