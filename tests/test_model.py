"""The Sequential container: shapes, summary, batching, state, and a training smoke test."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import logit_bound, softmax_relative_bound, unit_roundoff

from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.model import Sequential
from scratchcnn.optim import Adam


def notebook_network(seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        [Conv2D(1, 8, 3, bias=False, rng=rng), MaxPool2D(2), Flatten(), Dense(1352, 10, rng=rng)],
        input_shape=(28, 28, 1),
    )


def test_summary_lists_output_shapes_and_parameter_counts():
    text = notebook_network().summary(print_fn=None)
    assert "(None, 26, 26, 8)" in text
    assert "(None, 13, 13, 8)" in text
    assert "(None, 1352)" in text
    assert "(None, 10)" in text
    assert "13,530" in text  # Dense: 1352*10 + 10
    assert "Total params: 13,602" in text  # + 72 convolution weights, no bias


def test_output_shapes_agree_with_a_real_forward_pass():
    model = Sequential(
        [
            Conv2D(1, 4, 5, stride=2, padding="same", rng=0),
            BatchNorm2D(4),
            ReLU(),
            MaxPool2D(3, stride=2),
            Dropout(0.5, rng=0),
            Flatten(),
            Dense(144, 7, rng=0),
        ]
    )
    x = np.zeros((2, 28, 28, 1), dtype=np.float32)
    shapes = model.output_shapes((28, 28, 1))
    out = x
    for layer, shape in zip(model.layers, shapes):
        out = layer.forward(out)
        assert out.shape[1:] == shape


def test_predict_in_batches_equals_one_big_batch():
    model = notebook_network()
    x = np.random.default_rng(1).standard_normal((70, 28, 28, 1)).astype(np.float32)
    full = model.predict_proba(x, batch_size=1000)
    # Batches of 16 and of 70 may run different BLAS kernels, which add the 1352 terms of
    # each logit in different orders: each result is within the rounding bound of the sums.
    tolerance = softmax_relative_bound(2 * logit_bound(model, x))
    np.testing.assert_allclose(model.predict_proba(x, batch_size=16), full, rtol=tolerance)
    # Ten probabilities, each within (10 + 4) u of its value, summed in float32.
    np.testing.assert_allclose(full.sum(axis=1), 1.0, rtol=(14 + 10) * unit_roundoff(np.float32))
    np.testing.assert_array_equal(model.predict(x, batch_size=9), full.argmax(axis=1))


def test_float32_by_default_and_float64_on_request_throughout():
    model = notebook_network()
    x = np.random.default_rng(2).standard_normal((3, 28, 28, 1))
    assert model.forward(x).dtype == np.float32
    model.astype(np.float64)
    y = model.forward(x, training=True)
    assert y.dtype == np.float64
    _, g = softmax_cross_entropy(y, np.array([1, 2, 3]))
    model.backward(g)
    assert all(p.value.dtype == p.grad.dtype == np.float64 for p in model.parameters())


def test_first_layer_skips_the_input_gradient_unless_asked():
    model = notebook_network()
    x = np.zeros((2, 28, 28, 1), dtype=np.float32)
    _, g = softmax_cross_entropy(model.forward(x, training=True), np.array([0, 1]))
    assert model.backward(g) is None
    model.input_grad = True
    assert model.backward(g).shape == x.shape


def test_config_and_state_rebuild_an_identical_model():
    model = Sequential(
        [
            Conv2D(1, 3, 3, padding=1, rng=0),
            BatchNorm2D(3),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dropout(0.2),
            Dense(3 * 4 * 4, 5, rng=0),
        ],
        input_shape=(8, 8, 1),
    )
    x = np.random.default_rng(3).standard_normal((4, 8, 8, 1)).astype(np.float32)
    model.forward(x, training=True)  # moves BatchNorm's running statistics
    clone = Sequential.from_config(model.get_config())
    clone.load_state_dict({k: v.copy() for k, v in model.state_dict().items()})
    np.testing.assert_array_equal(clone.predict_proba(x), model.predict_proba(x))


def test_load_state_dict_names_the_mismatch():
    model = notebook_network()
    state = dict(model.state_dict())
    state["3.weight"] = np.zeros((1352, 9), dtype=np.float32)
    with pytest.raises(ValueError, match=r"3.weight: saved shape \(1352, 9\)"):
        model.load_state_dict(state)


@pytest.mark.slow
def test_small_cnn_overfits_64_random_images():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 12, 12, 1)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model = Sequential(
        [
            Conv2D(1, 16, 3, padding="same", rng=rng),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(16 * 6 * 6, 10, rng=rng),
        ]
    )
    optimizer = Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss, grad = softmax_cross_entropy(model.forward(x, training=True), y)
        model.backward(grad)
        optimizer.step()
    assert (model.predict(x) == y).mean() == 1.0
    assert loss < 0.1
