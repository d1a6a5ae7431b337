"""Data-parallel threads (scratchcnn.parallel): a batch cut into parts gives the whole batch's
outputs and gradients.

With integer-valued float64 data and weights every product and sum is exact, whatever
order it is added in, so there the parts must agree with the whole batch bit for bit:
outputs, input gradients and every parameter's gradient. With float32 data the weight
gradients are summed part by part, a different order, so they agree to rounding; a run on
the same number of threads repeats itself exactly.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchcnn import parallel
from scratchcnn.fusion import ConvPool, InPlaceReLU, plan
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.model import Sequential
from scratchcnn.optim import SGD
from scratchcnn.parallel import DataParallel, parallel_plan, part_bounds, run_in_threads
from scratchcnn.threads import blas_threads, engine_threads, limit_threads

pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed")


def network(seed: int, dtype=np.float64, integer: bool = True, batch_norm: bool = False):
    """Conv -> ReLU -> Conv -> ReLU -> MaxPool -> [BatchNorm] -> Flatten -> Dense -> ReLU ->
    Dense on 8x8 inputs, with the model's input gradient on; small integer weights when
    ``integer`` (every sum of the passes then stays far below 2**53: exact)."""
    rng = np.random.default_rng(seed)
    layers = [
        Conv2D(1, 2, 3, rng=rng, dtype=dtype),
        ReLU(),
        Conv2D(2, 3, 3, padding="same", rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2D(2),
        *([BatchNorm2D(3).astype(dtype)] if batch_norm else []),
        Flatten(),
        Dense(27, 4, rng=rng, dtype=dtype),
        ReLU(),
        Dense(4, 3, rng=rng, dtype=dtype),
    ]
    if integer:
        for layer in layers:
            if not isinstance(layer, BatchNorm2D):
                for value in layer.params.values():
                    value[...] = rng.integers(-2, 3, value.shape)
    return Sequential(layers, input_grad=True)


def forward_backward(model: Sequential, x: np.ndarray, g: np.ndarray):
    y = model.forward(x, training=True)
    dx = model.backward(g)
    return y, dx, [p.grad.copy() for p in model.parameters()]


def inputs(batch: int, seed: int, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (batch, 8, 8, 1)).astype(dtype)
    g = rng.integers(-3, 4, (batch, 3)).astype(dtype)
    return x, g


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(0, 200), parts=st.integers(1, 9))
def test_parts_cover_the_batch_in_order_with_sizes_one_apart(batch, parts):
    bounds = part_bounds(batch, parts)
    assert len(bounds) == parts
    assert [i for part in bounds for i in range(batch)[part]] == list(range(batch))
    sizes = [part.stop - part.start for part in bounds]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(
    ("threads", "batch", "min_part"),
    [(2, 70, None), (2, 65, None), (3, 7, 1), (4, 9, 2), (2, 63, None)],
)
def test_parts_equal_the_whole_batch_bit_for_bit_on_integer_data(
    threads, batch, min_part, monkeypatch
):
    if min_part is not None:
        monkeypatch.setattr(parallel, "MIN_PART_SAMPLES", min_part)
    x, g = inputs(batch, seed=batch)
    with limit_threads(1):
        whole = forward_backward(network(0), x, g)
    with limit_threads(threads):
        model = network(0)
        split = forward_backward(model, x, g)
        (step,) = model.steps()
        assert isinstance(step, DataParallel)
        expected_parts = min(threads, batch // parallel.MIN_PART_SAMPLES) or 1
        assert len(step._bounds) == (expected_parts if expected_parts > 1 else 0)
    np.testing.assert_array_equal(split[0], whole[0])
    np.testing.assert_array_equal(split[1], whole[1])
    for got, want in zip(split[2], whole[2]):
        np.testing.assert_array_equal(got, want)


def test_a_stretch_stops_at_batch_norm_and_dropout_and_needs_a_product():
    rng = np.random.default_rng(0)
    layers = [
        Conv2D(1, 4, 3, rng=rng),
        ReLU(),
        MaxPool2D(2),
        BatchNorm2D(4),
        ReLU(),
        BatchNorm2D(4),
        Flatten(),
        Dense(4 * 13 * 13, 8, rng=rng),
        Dropout(0.5, rng=rng),
        Dense(8, 3, rng=rng),
    ]
    steps = parallel_plan(plan(layers), 2)
    kinds = [type(step) for step in steps]
    assert kinds == [
        DataParallel,
        BatchNorm2D,
        InPlaceReLU,  # a stretch without a product stays as it is
        BatchNorm2D,
        DataParallel,
        Dropout,
        DataParallel,
    ]
    assert [type(s) for s in steps[0].steps] == [ConvPool]
    assert [type(s) for s in steps[4].steps] == [Flatten, Dense]
    one_thread = plan(layers)
    assert parallel_plan(one_thread, 1) is one_thread


def test_batch_norm_between_stretches_sees_the_whole_batch():
    x = np.random.default_rng(3).standard_normal((80, 8, 8, 1))
    g = np.random.default_rng(4).standard_normal((80, 3))
    with limit_threads(1):
        whole = forward_backward(network(1, integer=False, batch_norm=True), x, g)
    with limit_threads(2):
        split = forward_backward(network(1, integer=False, batch_norm=True), x, g)
    for got, want in zip([split[0], split[1], *split[2]], [whole[0], whole[1], *whole[2]]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def test_training_on_threads_follows_the_weights_the_optimiser_writes():
    """Copies share the parameter arrays: after SGD steps the parts still compute with the
    current weights (float64: the two runs differ only in summation order)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 8, 8, 1))
    labels = rng.integers(0, 3, 64)
    weights = []
    initial = [p.value.copy() for p in network(2, integer=False).parameters()]
    for threads in (1, 2):
        with limit_threads(threads):
            model = network(2, integer=False)
            optimizer = SGD(model.parameters(), lr=0.05)
            for _ in range(5):
                _, grad = softmax_cross_entropy(model.forward(x, training=True), labels)
                model.backward(grad)
                optimizer.step()
            weights.append([p.value.copy() for p in model.parameters()])
    assert all(np.abs(a - b).max() > 1e-3 for a, b in zip(weights[0], initial))
    for got, want in zip(weights[1], weights[0]):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_the_same_thread_count_gives_the_same_digits_every_time():
    x = np.random.default_rng(6).standard_normal((100, 8, 8, 1)).astype(np.float32)
    g = np.random.default_rng(7).standard_normal((100, 3)).astype(np.float32)
    runs = []
    with limit_threads(2):
        model = network(3, dtype=np.float32, integer=False)
        for _ in range(4):
            runs.append(forward_backward(model, x, g))
    for run in runs[1:]:
        np.testing.assert_array_equal(run[0], runs[0][0])
        np.testing.assert_array_equal(run[1], runs[0][1])
        for got, want in zip(run[2], runs[0][2]):
            np.testing.assert_array_equal(got, want)


def test_a_small_batch_runs_whole_on_the_layers_themselves():
    x, g = inputs(2 * parallel.MIN_PART_SAMPLES - 1, seed=8)
    with limit_threads(4):
        model = network(4)
        y, dx, grads = forward_backward(model, x, g)
        (step,) = model.steps()
    assert step._bounds == [] and step._copies == []
    with limit_threads(1):
        whole = forward_backward(network(4), x, g)
    np.testing.assert_array_equal(y, whole[0])
    np.testing.assert_array_equal(dx, whole[1])
    for got, want in zip(grads, whole[2]):
        np.testing.assert_array_equal(got, want)


def test_copies_follow_a_new_dtype_and_the_input_gradient_switch():
    x, g = inputs(70, seed=9)
    with limit_threads(2):
        model = network(5, dtype=np.float32)
        forward_backward(model, x.astype(np.float32), g.astype(np.float32))
        model.astype(np.float64)
        model.input_grad = False
        y, dx, grads = forward_backward(model, x, g)
        assert y.dtype == np.float64 and dx is None
        assert all(grad.dtype == np.float64 for grad in grads)
        model.input_grad = True
        y, dx, grads = forward_backward(model, x, g)
    with limit_threads(1):
        reference = network(5, dtype=np.float32).astype(np.float64)
        want = forward_backward(reference, x, g)
    np.testing.assert_array_equal(y, want[0])
    np.testing.assert_array_equal(dx, want[1])
    for got, expected in zip(grads, want[2]):
        np.testing.assert_array_equal(got, expected)


def test_the_plan_follows_the_thread_count():
    model = network(6)
    with limit_threads(2):
        assert [type(s) for s in model.steps()] == [DataParallel]
    with limit_threads(1):
        assert DataParallel not in [type(s) for s in model.steps()]


def test_parts_run_at_the_same_time_and_errors_wait_for_the_others():
    both_started = threading.Barrier(3, timeout=10)
    finished = []

    def part(k: int):
        both_started.wait()  # fails unless all three calls run at once
        finished.append(k)
        return k

    assert run_in_threads([lambda k=k: part(k) for k in range(3)]) == [0, 1, 2]

    def failing():
        raise ValueError("part 0 broke")

    def slow():
        threading.Event().wait(0.2)
        finished.append("slow")

    finished.clear()
    with pytest.raises(ValueError, match="part 0 broke"):
        run_in_threads([failing, slow])
    assert finished == ["slow"]


def test_limit_threads_sets_the_engine_and_blas_counts_and_restores_them():
    before_blas, before_engine = blas_threads(), engine_threads()
    with limit_threads(3):
        assert engine_threads() == 3
        assert blas_threads() == 1
        with limit_threads(2):
            assert engine_threads() == 2
        assert engine_threads() == 3
    assert (blas_threads(), engine_threads()) == (before_blas, before_engine)
