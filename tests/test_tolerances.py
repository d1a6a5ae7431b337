"""The error bounds the tests use hold, and are tight enough to catch a real mistake."""

from __future__ import annotations

import numpy as np
from tolerances import dot_bound, gamma, logit_bound, softmax_relative_bound

from scratchcnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from scratchcnn.losses import softmax
from scratchcnn.model import Sequential


def test_float32_products_stay_within_the_bound_of_their_sums():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 784)).astype(np.float32)
    b = rng.standard_normal((784, 10)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    bound = dot_bound(a, b)
    for rows in (1, 7, 64):  # different shapes, possibly different BLAS kernels
        assert (np.abs(a[:rows] @ b - exact[:rows]) <= bound[:rows]).all()
    assert gamma(784) < 5e-5  # a wrong weight or input moves far more than this
    assert (bound < 1e-3 * (np.abs(a) @ np.abs(b))).all()


def test_a_networks_logits_and_probabilities_stay_within_their_bounds():
    rng = np.random.default_rng(1)
    model = Sequential(
        [Conv2D(1, 4, 3, rng=rng), ReLU(), MaxPool2D(2), Flatten(), Dense(676, 10, rng=rng)]
    )
    x = rng.standard_normal((8, 28, 28, 1)).astype(np.float32)
    logits = model.forward(x)
    bound = logit_bound(model, x)
    # float32 weights and inputs are exact in float64, whose rounding is 2**29 times finer.
    reference = model.astype(np.float64).forward(x.astype(np.float64))
    assert (np.abs(logits - reference) <= bound).all()
    p, p_exact = softmax(logits), softmax(reference)
    tolerance = softmax_relative_bound(bound)
    assert (np.abs(p - p_exact) <= tolerance * p_exact).all()
    assert (
        tolerance < 0.02
    )  # worst case over every summation order; typical errors are ~100x smaller
