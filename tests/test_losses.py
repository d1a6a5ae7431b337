"""The fused softmax cross-entropy: stability and agreement with a direct computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchcnn.losses import log_softmax, softmax, softmax_cross_entropy


def test_matches_the_textbook_formula_on_moderate_logits():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    loss, grad = softmax_cross_entropy(logits, labels)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(5), labels]))
    assert loss == pytest.approx(expected, rel=1e-12)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(grad, (p - onehot) / 5, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_do_not_overflow(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [-1e30, 1e30, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = softmax_cross_entropy(logits, np.array([0, 0]))
    assert math.isfinite(loss)
    assert np.all(np.isfinite(grad))
    # Row 0 is certain and right (loss 0); row 1 is certain of class 1 while the label is
    # 0, so its loss is the logit gap 2e30. Mean over 2 samples: 1e30.
    assert loss == pytest.approx(1e30, rel=1e-6)
    np.testing.assert_allclose(grad[1], [-0.5, 0.5, 0.0], atol=1e-7)
    assert grad.dtype == dtype


def test_softmax_rows_sum_to_one_and_log_softmax_agrees():
    logits = np.array([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]])
    p = softmax(logits)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(p), log_softmax(logits), rtol=1e-12)


@pytest.mark.parametrize(
    ("logits", "labels", "message"),
    [
        (np.zeros((2, 3)), np.array([0, 3]), r"labels must lie in \[0, 3\)"),
        (np.zeros((2, 3)), np.array([0]), "expected 2 labels"),
        (np.zeros(3), np.array([0]), "logits of shape"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "must be integers"),
    ],
)
def test_bad_arguments_name_the_problem(logits, labels, message):
    with pytest.raises(ValueError, match=message):
        softmax_cross_entropy(logits, labels)


def test_empty_batch_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one sample"):
        softmax_cross_entropy(np.zeros((0, 10), np.float32), np.zeros(0, dtype=int))
