"""Data-parallel threads: stretches of per-sample steps run on parts of the batch side by side.

A convolution, a dense layer, a ReLU, a pooling or a flattening computes each sample's
output from that sample alone, so it can run on any cut of the batch. :func:`parallel_plan`
groups every stretch of such steps (with at least one matrix product in it) into one
:class:`DataParallel` step, which cuts the batch into parts, runs one copy of the stretch
per part in its own thread and joins the outputs. NumPy releases Python's global lock
inside its loops and BLAS calls, so the parts really do run at the same time; each part's
matrix products should run on one BLAS thread (:func:`scratchcnn.threads.limit_threads`
arranges both).

Backward runs each part's copy on its part of the gradient. A parameter's gradient is a sum
over the samples, so it is the sum of the parts' gradients, added in part order: the result
depends on the number of parts (float32 sums in another order round differently), never on
which thread finishes first. BatchNorm (statistics of the whole batch) and Dropout (one
random stream for the batch) stay outside the stretches and run as they are.

Part 0 runs the model's own layers; the other parts run copies (:func:`layer_copy`) that
share the layers' parameter arrays, which nothing writes during a forward or backward pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from scratchcnn.fusion import ConvPool, InPlaceReLU, Step
from scratchcnn.layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, ReLU

#: Fewest samples a part gets: for the notebook's small network, parts of 16 cost more in
#: thread hand-overs than they save (benchmarks/bench_engine.py, batch 32).
MIN_PART_SAMPLES = 32

# Step types whose outputs are computed sample by sample; the first three hold products.
_WITH_PRODUCTS = (ConvPool, Conv2D, Dense)
_PER_SAMPLE = (*_WITH_PRODUCTS, InPlaceReLU, ReLU, MaxPool2D, Flatten)


def part_bounds(batch: int, parts: int) -> list[slice]:
    """``parts`` consecutive slices covering ``range(batch)``, sizes differing by at most 1."""
    edges = [batch * k // parts for k in range(parts + 1)]
    return [slice(edges[k], edges[k + 1]) for k in range(parts)]


def layer_copy(layer: Layer) -> Layer:
    """A layer of the same type and configuration whose ``params`` are ``layer``'s own
    dictionary (the same arrays), with gradients and forward state of its own."""
    twin = type(layer)(**layer.get_config())
    twin.dtype = layer.dtype
    twin.params = layer.params
    twin.grads = {key: np.zeros_like(value) for key, value in layer.params.items()}
    twin.input_grad = layer.input_grad
    return twin


def step_copy(step: Step) -> Step:
    """The same step over copies of its layers (see :func:`layer_copy`)."""
    if isinstance(step, ConvPool):
        return ConvPool([layer_copy(layer) for layer in step.layers])
    if isinstance(step, InPlaceReLU):
        return InPlaceReLU(layer_copy(step.layer), step.forward_in_place, step.backward_in_place)
    return layer_copy(step)


def step_layers(step: Step) -> list[Layer]:
    """The layers a step runs."""
    if isinstance(step, ConvPool):
        return step.layers
    if isinstance(step, InPlaceReLU):
        return [step.layer]
    return [step]


class DataParallel:
    """Runs ``steps`` (all per-sample) on up to ``threads`` parts of the batch at once.

    A batch of fewer than ``2 * MIN_PART_SAMPLES`` samples runs whole, on the steps
    themselves. A batch in parts gets its output (and its input gradient) as a new array
    joined from the parts', which the step keeps no reference to.
    """

    def __init__(self, steps: Sequence[Step], threads: int) -> None:
        if threads < 2:
            raise ValueError(f"DataParallel needs at least 2 threads, got {threads}")
        self.steps = list(steps)
        self.threads = threads
        self.layers = [layer for step in self.steps for layer in step_layers(step)]
        # The other parts' steps, each with its layers in the order of self.layers.
        self._copies: list[tuple[list[Step], list[Layer]]] = []
        self._copies_key: tuple[Any, ...] | None = None
        self._bounds: list[slice] = []

    def parts(self, batch: int) -> int:
        """How many parts a batch of ``batch`` samples is cut into."""
        return max(1, min(self.threads, batch // MIN_PART_SAMPLES))

    def _make_copies(self, parts: int) -> None:
        """Copies of the steps for parts 1 to ``parts - 1``, made again when a layer
        changed its dtype or its parameter dictionary since they were made."""
        key = tuple((layer.dtype, id(layer.params)) for layer in self.layers)
        if key != self._copies_key:
            self._copies, self._copies_key = [], key
        while len(self._copies) < parts - 1:
            steps = [step_copy(step) for step in self.steps]
            self._copies.append((steps, [layer for step in steps for layer in step_layers(step)]))

    def _part_steps(self) -> list[list[Step]]:
        """The steps of every part of the last forward: the model's own for part 0, copies
        for the others, whose ``input_grad`` is set from the layers' now (it may change
        between a forward and its backward, as :func:`~scratchcnn.inspection.saliency`
        does)."""
        copies = self._copies[: len(self._bounds) - 1]
        for _, twins in copies:
            for layer, twin in zip(self.layers, twins):
                twin.input_grad = layer.input_grad
        return [self.steps, *(steps for steps, _ in copies)]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        parts = self.parts(len(x))
        if parts == 1:
            self._bounds = []
            return _run_steps(self.steps, x, training)
        self._make_copies(parts)
        self._bounds = part_bounds(len(x), parts)
        outputs = run_in_threads(
            [
                lambda steps=steps, part=part: _run_steps(steps, x[part], training)
                for steps, part in zip(self._part_steps(), self._bounds)
            ]
        )
        return np.concatenate(outputs)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        if not self._bounds:
            return _back_steps(self.steps, grad_out)
        grads = run_in_threads(
            [
                lambda steps=steps, part=part: _back_steps(steps, grad_out[part])
                for steps, part in zip(self._part_steps(), self._bounds)
            ]
        )
        # Part 0 wrote into the layers' own gradients; the other parts are added in order.
        for _, twins in self._copies[: len(self._bounds) - 1]:
            for layer, twin in zip(self.layers, twins):
                for key, grad in layer.grads.items():
                    grad += twin.grads[key]
        if grads[0] is None:
            return None
        return np.concatenate(grads)

    def __repr__(self) -> str:
        inner = ", ".join(type(step).__name__ for step in self.steps)
        return f"DataParallel([{inner}], threads={self.threads})"


def _run_steps(steps: list[Step], x: np.ndarray, training: bool) -> np.ndarray:
    for step in steps:
        x = step.forward(x, training)
    return x


def _back_steps(steps: list[Step], grad: np.ndarray | None) -> np.ndarray | None:
    for step in reversed(steps):
        grad = step.backward(grad)
        if grad is None:
            return None
    return grad


_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def run_in_threads(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Each call's result, the first call run by the calling thread and the others by a
    shared pool of threads, all at the same time. Waits for every call before raising
    the first error, so no call still writes into arrays the caller goes on to use."""
    global _pool, _pool_size
    with _pool_lock:  # a pool replaced by a larger one finishes what it was given
        if len(calls) > 1 and _pool_size < len(calls) - 1:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool_size = len(calls) - 1
            _pool = ThreadPoolExecutor(_pool_size, thread_name_prefix="scratchcnn-part")
        futures = [_pool.submit(call) for call in calls[1:]] if _pool else []
    results: list[Any] = []
    error: BaseException | None = None
    try:
        results.append(calls[0]())
    except BaseException as exc:  # re-raised once the other parts are done
        error = exc
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:
            error = error or exc
    if error is not None:
        wait(futures)  # an interrupt (Ctrl-C) may have cut a wait short
        raise error
    return results


def parallel_plan(steps: list[Step], threads: int) -> list[Step]:
    """``steps`` with every stretch of per-sample steps that holds a matrix product run as
    one :class:`DataParallel` step over ``threads`` threads (``steps`` as they are for 1)."""
    if threads < 2:
        return steps
    planned: list[Step] = []
    stretch: list[Step] = []

    def close_stretch() -> None:
        if any(isinstance(step, _WITH_PRODUCTS) for step in stretch):
            planned.append(DataParallel(stretch, threads))
        else:
            planned.extend(stretch)
        stretch.clear()

    for step in steps:
        if type(step) in _PER_SAMPLE:
            stretch.append(step)
        else:
            close_stretch()
            planned.append(step)
    close_stretch()
    return planned
