"""Every layer's backward pass agrees with central finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_layer_gradients, numerical_gradient, relative_error
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.model import Sequential

TOLERANCE = 1e-6
FAST = settings(max_examples=25, deadline=None)


def assert_gradients_match(errors: dict[str, float]) -> None:
    bad = {k: v for k, v in errors.items() if not v < TOLERANCE}
    assert not bad, f"relative errors above {TOLERANCE}: {bad}"


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(
        st.one_of(
            st.just("same"),
            st.just("valid"),
            st.integers(0, 2),
            st.tuples(st.integers(0, 2), st.integers(0, 2)),
        )
    )
    h, w = draw(st.integers(kh, 7)), draw(st.integers(kw, 7))
    return {
        "batch": draw(st.integers(1, 3)),
        "hw": (h, w),
        "cin": draw(st.integers(1, 3)),
        "cout": draw(st.integers(1, 3)),
        "kernel": (kh, kw),
        "stride": (sh, sw),
        "padding": padding,
        "bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


@FAST
@given(conv_cases())
def test_conv2d_gradients(case):
    rng = np.random.default_rng(case["seed"])
    layer = Conv2D(
        case["cin"],
        case["cout"],
        case["kernel"],
        case["stride"],
        case["padding"],
        bias=case["bias"],
        rng=rng,
        dtype=np.float64,
    )
    if case["bias"]:
        layer.params["bias"][...] = rng.standard_normal(case["cout"])
    x = rng.standard_normal((case["batch"], *case["hw"], case["cin"]))
    assert_gradients_match(check_layer_gradients(layer, x, rng))


@FAST
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2**16),
)
def test_maxpool2d_gradients(batch, ph, pw, sh, sw, seed):
    rng = np.random.default_rng(seed)
    h, w = ph + rng.integers(0, 5), pw + rng.integers(0, 5)
    # A permutation keeps every value distinct, so no window has a tie within 1e-6.
    x = rng.permutation(batch * h * w * 2).reshape(batch, h, w, 2).astype(np.float64) * 0.1
    layer = MaxPool2D((ph, pw), (sh, sw))
    layer.forward(x)  # float64 in, float64 out: pooling keeps the input dtype
    assert_gradients_match(check_layer_gradients(layer, x, rng))


@FAST
@given(
    st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.booleans(), st.integers(0, 2**16)
)
def test_dense_gradients(batch, fin, fout, bias, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(fin, fout, bias=bias, rng=rng, dtype=np.float64)
    if bias:
        layer.params["bias"][...] = rng.standard_normal(fout)
    assert_gradients_match(check_layer_gradients(layer, rng.standard_normal((batch, fin)), rng))


@FAST
@given(
    st.integers(2, 4),
    st.integers(2, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 2**16),
)
def test_batchnorm2d_gradients_in_training(batch, h, w, c, seed):
    # At least 4 values per channel: with 2, x_hat is +-1 whatever x is and the gradient
    # vanishes, leaving nothing but rounding noise to compare.
    rng = np.random.default_rng(seed)
    layer = BatchNorm2D(c, dtype=np.float64)
    layer.params["weight"][...] = rng.uniform(0.5, 2.0, c)
    layer.params["bias"][...] = rng.standard_normal(c)
    x = rng.standard_normal((batch, h, w, c)) * 3 + 1
    assert_gradients_match(check_layer_gradients(layer, x, rng, training=True))


def test_batchnorm2d_gradients_at_inference():
    rng = np.random.default_rng(1)
    layer = BatchNorm2D(3, dtype=np.float64)
    layer.buffers["running_mean"][...] = rng.standard_normal(3)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, 3)
    layer.params["weight"][...] = rng.uniform(0.5, 2.0, 3)
    x = rng.standard_normal((2, 3, 3, 3))
    # At inference BatchNorm is an affine map per channel: y = x * scale + shift.
    scale = layer.params["weight"] / np.sqrt(layer.buffers["running_var"] + layer.eps)
    shift = layer.params["bias"] - layer.buffers["running_mean"] * scale
    np.testing.assert_allclose(layer.forward(x), x * scale + shift, rtol=1e-12)


def test_batchnorm2d_backward_follows_the_mode_of_the_last_forward():
    # A training forward leaves its batch statistics behind; an inference forward after it
    # must not reuse them: its gradient is gamma / sqrt(running_var + eps) * g.
    rng = np.random.default_rng(2)
    layer = BatchNorm2D(3, dtype=np.float64)
    layer.params["weight"][...] = rng.uniform(0.5, 2.0, 3)
    layer.params["bias"][...] = rng.standard_normal(3)
    layer.forward(rng.standard_normal((4, 3, 3, 3)) * 2 + 1, training=True)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, 3)
    x = rng.standard_normal((2, 3, 3, 3))
    assert_gradients_match(check_layer_gradients(layer, x, rng, training=False))
    layer.forward(x, training=False)
    g = rng.standard_normal(x.shape)
    expected = g * layer.params["weight"] / np.sqrt(layer.buffers["running_var"] + layer.eps)
    np.testing.assert_allclose(layer.backward(g), expected, rtol=1e-12)


@FAST
@given(st.integers(1, 3), st.integers(0, 2**16))
def test_relu_gradients(batch, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 3, 4, 2))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink at 0
    assert_gradients_match(check_layer_gradients(ReLU(), x, rng))


def test_flatten_gradients():
    rng = np.random.default_rng(2)
    assert_gradients_match(check_layer_gradients(Flatten(), rng.standard_normal((2, 3, 4, 5)), rng))


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.7])
def test_dropout_gradients_with_fixed_mask(rate):
    rng = np.random.default_rng(3)
    layer = Dropout(rate)

    def same_mask():
        layer.rng = np.random.default_rng(42)

    x = rng.standard_normal((4, 3, 3, 2))
    assert_gradients_match(check_layer_gradients(layer, x, rng, before_forward=same_mask))


def test_dropout_keeps_expectation_and_is_identity_at_inference():
    layer = Dropout(0.25, rng=0)
    x = np.ones((200, 50, 10), dtype=np.float32)
    y = layer.forward(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert layer.forward(x, training=False) is x


@FAST
@given(st.integers(1, 6), st.integers(2, 7), st.floats(0.0, 0.3), st.integers(0, 2**16))
def test_softmax_cross_entropy_gradient(batch, classes, smoothing, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((batch, classes)) * 3
    labels = rng.integers(0, classes, batch)
    _, grad = softmax_cross_entropy(logits, labels, smoothing)

    def loss():
        return softmax_cross_entropy(logits, labels, smoothing)[0]

    assert relative_error(grad, numerical_gradient(loss, logits)) < TOLERANCE


def test_whole_model_gradient_wrt_input_and_parameters():
    rng = np.random.default_rng(5)
    model = Sequential(
        [
            Conv2D(2, 3, 3, padding="same", bias=False, rng=rng, dtype=np.float64),
            BatchNorm2D(3, dtype=np.float64),
            ReLU(),
            MaxPool2D(2),
            Conv2D(3, 4, 2, stride=2, rng=rng, dtype=np.float64),
            Flatten(),
            Dense(4, 5, rng=rng, dtype=np.float64),
        ],
        input_grad=True,
    )
    x = rng.standard_normal((3, 6, 6, 2))
    labels = rng.integers(0, 5, 3)

    def loss():
        return softmax_cross_entropy(model.forward(x, training=True), labels)[0]

    _, grad_logits = softmax_cross_entropy(model.forward(x, training=True), labels)
    grad_x = model.backward(grad_logits)
    assert relative_error(grad_x, numerical_gradient(loss, x)) < TOLERANCE
    for p in model.parameters():
        analytic = p.grad.copy()
        assert relative_error(analytic, numerical_gradient(loss, p.value)) < TOLERANCE, p.name
