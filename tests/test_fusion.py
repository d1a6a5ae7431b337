"""Fused Conv2D -> (ReLU ->) MaxPool2D steps agree with the unfused layers they replace.

The unfused layers are the reference (they are checked against finite differences and
PyTorch elsewhere). With integer-valued inputs and weights every product and sum is exact
in float32 and float64, whatever order BLAS adds in, so there the fused and unfused passes
must agree bit for bit, ties included; with random float64 data they agree to rounding.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchcnn import functional as F
from scratchcnn.fusion import ConvPool, InPlaceReLU, plan
from scratchcnn.inspection import layer_outputs, saliency
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU
from scratchcnn.model import Sequential

FAST = settings(max_examples=40, deadline=None)


@st.composite
def conv_pool_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(
        st.one_of(
            st.just("same"),
            st.just("valid"),
            st.integers(0, 2),
            st.tuples(st.integers(0, 2), st.integers(0, 2)),
        )
    )
    return {
        "batch": draw(st.integers(1, 3)),
        "hw": (draw(st.integers(kh + 1, 11)), draw(st.integers(kw + 1, 11))),
        "cin": draw(st.integers(1, 3)),
        "cout": draw(st.integers(1, 4)),
        "kernel": (kh, kw),
        "stride": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        "padding": padding,
        "bias": draw(st.booleans()),
        "relu": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


def build_pair(case, dtype, exact: bool) -> tuple[Sequential, Sequential]:
    """The same Conv2D (-> ReLU) -> MaxPool2D twice: unfused and fused."""
    models = []
    for fuse in (False, True):
        rng = np.random.default_rng(case["seed"])
        conv = Conv2D(
            case["cin"],
            case["cout"],
            case["kernel"],
            case["stride"],
            case["padding"],
            bias=case["bias"],
            rng=rng,
            dtype=dtype,
        )
        if exact:  # small integers: exact arithmetic, and ties in most windows
            conv.params["weight"][...] = rng.integers(-2, 3, conv.params["weight"].shape)
        if case["bias"]:
            conv.params["bias"][...] = rng.integers(-2, 3, case["cout"])
        layers = [conv, ReLU(), MaxPool2D(2)] if case["relu"] else [conv, MaxPool2D(2)]
        models.append(Sequential(layers, input_grad=True, fuse=fuse))
    return models[0], models[1]


def run(model: Sequential, x: np.ndarray, g_seed: int, exact: bool):
    y = model.forward(x, training=True)
    rng = np.random.default_rng(g_seed)
    g = rng.integers(-3, 4, y.shape) if exact else rng.standard_normal(y.shape)
    dx = model.backward(g.astype(y.dtype))
    return y, dx, {k: v.copy() for k, v in model[0].grads.items()}


def output_fits(case) -> bool:
    """Whether the convolution's output holds at least one 2x2 window."""
    probe = Conv2D(case["cin"], 1, case["kernel"], case["stride"], case["padding"])
    oh, ow, _ = probe.output_shape((*case["hw"], case["cin"]))
    return oh >= 2 and ow >= 2


@FAST
@given(
    conv_pool_cases(),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([F.CHUNK_BYTES, 1]),
)
def test_fused_step_equals_unfused_layers_exactly_on_integer_data_with_ties(
    case, dtype, chunk_bytes
):
    """With ``chunk_bytes`` 1 the fused backward pass takes the batch one sample at a time
    (masks and input gradient); bit for bit either way."""
    if not output_fits(case):
        return
    reference, fused = build_pair(case, dtype, exact=True)
    assert isinstance(fused.steps()[0], ConvPool)
    x = np.random.default_rng(case["seed"] + 1).integers(
        -2, 3, (case["batch"], *case["hw"], case["cin"])
    )
    x = x.astype(dtype)
    y0, dx0, grads0 = run(reference, x, case["seed"], exact=True)
    with mock.patch.object(F, "CHUNK_BYTES", chunk_bytes):
        y1, dx1, grads1 = run(fused, x, case["seed"], exact=True)
    assert y1.dtype == dx1.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)
    for key in grads0:
        np.testing.assert_array_equal(grads1[key], grads0[key])


@FAST
@given(conv_pool_cases())
def test_fused_step_equals_unfused_layers_to_rounding_on_random_data(case):
    if not output_fits(case):
        return
    reference, fused = build_pair(case, np.float64, exact=False)
    x = np.random.default_rng(case["seed"] + 1).standard_normal(
        (case["batch"], *case["hw"], case["cin"])
    )
    y0, dx0, grads0 = run(reference, x, case["seed"], exact=False)
    y1, dx1, grads1 = run(fused, x, case["seed"], exact=False)
    # float64 sums of at most a few hundred terms of size ~1: error far below 1e-12.
    np.testing.assert_allclose(y1, y0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx1, dx0, rtol=1e-12, atol=1e-12)
    for key in grads0:
        np.testing.assert_allclose(grads1[key], grads0[key], rtol=1e-12, atol=1e-12)


def test_plan_fuses_every_conv_relu_pool_and_conv_pool_and_nothing_else():
    rng = np.random.default_rng(0)
    layers = [
        Conv2D(1, 4, 3, rng=rng),
        ReLU(),
        MaxPool2D(2),  # fused with the two before
        Conv2D(4, 4, 3, padding="same", rng=rng),
        MaxPool2D(2),  # fused with the conv before
        Conv2D(4, 4, 1, rng=rng),
        ReLU(),
        Conv2D(4, 4, 1, rng=rng),  # a ReLU then another conv: no pooling, no fusion
        BatchNorm2D(4),
        MaxPool2D(2),  # BatchNorm in between: not fused
        Conv2D(4, 4, 1, rng=rng),
        MaxPool2D(3),  # not 2x2
        Conv2D(4, 4, 1, rng=rng),
        MaxPool2D(2, stride=1),  # overlapping windows
        Flatten(),
    ]
    steps = plan(layers)
    fused = [step for step in steps if isinstance(step, ConvPool)]
    assert [step.layers for step in fused] == [layers[0:3], layers[3:5]]
    assert steps[2] is layers[5] and steps[4:] == layers[7:]
    assert isinstance(steps[3], InPlaceReLU) and steps[3].layer is layers[6]
    assert Sequential(layers, fuse=False).steps() == layers


def small_network(fuse: bool) -> Sequential:
    rng = np.random.default_rng(3)
    return Sequential(
        [
            Conv2D(1, 4, 3, rng=rng, dtype=np.float64),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(4 * 4 * 4, 3, rng=rng, dtype=np.float64),
        ],
        input_shape=(10, 10, 1),
        fuse=fuse,
    )


def test_layer_list_config_feature_maps_and_saliency_are_unchanged_by_fusion():
    fused, unfused = small_network(True), small_network(False)
    x = np.random.default_rng(4).standard_normal((3, 10, 10, 1))
    assert [type(layer).__name__ for layer in fused] == [
        "Conv2D",
        "ReLU",
        "MaxPool2D",
        "Flatten",
        "Dense",
    ]
    assert fused.get_config() == unfused.get_config()
    assert fused.summary(print_fn=None) == unfused.summary(print_fn=None)
    maps = layer_outputs(fused, x)
    assert [out.shape[1:] for _, out in maps] == [tuple(s) for s in fused.output_shapes()]
    np.testing.assert_allclose(maps[-1][1], fused.forward(x), rtol=1e-12, atol=1e-12)
    grad_fused, classes = saliency(fused, x)
    grad_unfused, _ = saliency(unfused, x, classes)
    np.testing.assert_allclose(grad_fused, grad_unfused, rtol=1e-12, atol=1e-12)


def test_backward_after_running_the_layers_one_by_one_uses_that_forward():
    fused, unfused = small_network(True), small_network(False)
    rng = np.random.default_rng(5)
    fused.forward(rng.standard_normal((2, 10, 10, 1)), training=True)  # a fused pass first
    x = rng.standard_normal((2, 10, 10, 1))
    out = x
    for layer in fused:
        out = layer.forward(out, training=True)
    g = rng.standard_normal(out.shape)
    fused.backward(g)
    unfused.forward(x, training=True)
    unfused.backward(g)
    for ours, reference in zip(fused.parameters(), unfused.parameters()):
        np.testing.assert_allclose(ours.grad, reference.grad, rtol=1e-12, atol=1e-12)


def test_first_layer_skips_the_input_gradient_when_fused():
    model = small_network(True)
    model.input_grad = False
    y = model.forward(np.ones((2, 10, 10, 1)), training=True)
    assert model.backward(np.ones_like(y)) is None
    assert np.any(model[0].grads["weight"] != 0)


def test_input_too_small_for_the_pooling_fails_like_the_unfused_layers():
    errors = []
    for fuse in (False, True):
        rng = np.random.default_rng(0)
        model = Sequential([Conv2D(1, 2, 3, rng=rng), ReLU(), MaxPool2D(2)], fuse=fuse)
        with pytest.raises(ValueError, match="smaller than its 2x2 window") as caught:
            model.forward(np.ones((1, 4, 3, 1)))
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


def test_in_place_relus_match_the_layers_and_leave_the_callers_arrays_alone():
    def network(fuse: bool) -> Sequential:
        rng = np.random.default_rng(6)
        return Sequential(
            [
                ReLU(),  # first: the caller's input must not be overwritten
                Conv2D(2, 3, 3, rng=rng, dtype=np.float64),
                ReLU(),  # between two convolutions: in place both ways
                Conv2D(3, 2, 1, rng=rng, dtype=np.float64),
                Flatten(),
                Dense(2 * 5 * 5, 4, rng=rng, dtype=np.float64),
                ReLU(),  # last: the caller's gradient must not be overwritten
            ],
            input_grad=True,
            fuse=fuse,
        )

    fused, unfused = network(True), network(False)
    steps = fused.steps()
    assert [type(step).__name__ for step in steps[::2]] == [
        "InPlaceReLU",
        "InPlaceReLU",
        "Flatten",
        "InPlaceReLU",
    ]
    assert (steps[2].forward_in_place, steps[2].backward_in_place) == (True, True)
    assert (steps[0].forward_in_place, steps[0].backward_in_place) == (False, True)
    assert (steps[6].forward_in_place, steps[6].backward_in_place) == (True, False)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 7, 7, 2))
    x_before = x.copy()
    y = fused.forward(x, training=True)
    g = rng.standard_normal(y.shape)
    g_before = g.copy()
    dx = fused.backward(g)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(g, g_before)
    np.testing.assert_allclose(y, unfused.forward(x, training=True), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, unfused.backward(g), rtol=1e-12, atol=1e-12)
    for ours, reference in zip(fused.parameters(), unfused.parameters()):
        np.testing.assert_allclose(ours.grad, reference.grad, rtol=1e-12, atol=1e-12)
