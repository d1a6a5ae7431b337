"""The notebook's network, transcribed loop for loop: read this beside the notebook.

The notebook (a Chinese translation of Victor Zhou's "CNNs, from scratch") trains
``Conv3x3(8) -> MaxPool2() -> Softmax(13*13*8, 10)`` on 1,000 MNIST images, one image at
a time, with plain Python loops over pixels. The three classes below are its classes with
the same signatures (``forward(input)``, ``backprop(d_L_d_out, learn_rate)``), the same
loops and the same NumPy calls, so they compute the very same bits. Three things differ:

- random numbers come from an explicit ``numpy.random.RandomState`` passed in (the
  notebook seeded the global legacy generator with 114514, which draws the same stream);
  NumPy's global state is never touched;
- the softmax step (:func:`exp_and_sum`, :func:`softmax_gradient`) shifts the logits by
  their maximum where ``sum(exp(t))`` would overflow, instead of printing NaN; elsewhere it
  is the notebook's formula, bit for bit. :mod:`scratchcnn.classic.fast` shares it;
- ``Conv3x3.backprop`` keeps its filter gradient in ``last_d_L_d_filters`` for inspection.

These loops are slow (the notebook's experiments take about a minute).
:class:`scratchcnn.classic.fast.FastCNN` performs the same steps on whole arrays and is
tested to give identical bits; ``scratchcnn classic`` runs that one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

#: The seed of the notebook's ``np.random.seed(114514)``.
NOTEBOOK_SEED = 114514

#: Where ``S = sum(exp(t))`` lies in this range nothing overflows or underflows, so the
#: notebook's ``exp(t) / S`` is kept; outside it (only with exploding weights, where the
#: notebook prints NaN) the logits are first shifted by their maximum.
SAFE_SUM = (1e-100, 1e100)

RandomLike = np.random.RandomState | int | None


def as_random_state(rng: RandomLike) -> np.random.RandomState:
    """A legacy generator: returned as is, seeded from an int, or from OS entropy for None."""
    if isinstance(rng, np.random.RandomState):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.RandomState(rng)
    raise TypeError(f"expected a numpy RandomState, an int seed or None, got {type(rng).__name__}")


def preprocess(images: np.ndarray) -> np.ndarray:
    """The notebook's input scaling, ``image / 255 - 0.5``, in float64."""
    return images / 255 - 0.5


# --- the softmax step, shared with the fast path ----------------------------------------


def exp_and_sum(totals: np.ndarray) -> tuple[np.ndarray, np.float64]:
    """``exp(t)`` and ``S = sum(exp(t))``, shifted by ``max(t)`` only where S would overflow."""
    with np.errstate(over="ignore"):  # an overflow is detected just below
        exp = np.exp(totals)
    total = np.add.reduce(exp)  # np.sum(exp, axis=0) of the notebook
    if not SAFE_SUM[0] < total < SAFE_SUM[1]:
        exp = np.exp(totals - totals.max())
        total = np.add.reduce(exp)
    return exp, total


def softmax_gradient(exp: np.ndarray, total: np.float64, i: int) -> np.ndarray:
    """``d softmax(t)_i / dt`` from ``exp(t)`` and ``S``, as the notebook writes it.

    ``-exp(t_i) exp(t) / S^2``, except ``exp(t_i) (S - exp(t_i)) / S^2`` at ``i``.
    """
    d_out_d_t = -exp[i] * exp / (total**2)
    d_out_d_t[i] = exp[i] * (total - exp[i]) / (total**2)
    return d_out_d_t


# --- the notebook's three classes -------------------------------------------------------


class Conv3x3:
    """A 3x3 convolution with ``num_filters`` filters, no bias, no padding ("valid")."""

    def __init__(self, num_filters: int, rng: RandomLike = None) -> None:
        self.num_filters = num_filters
        # Uniform in [-1, 1), drawn as the notebook does.
        self.filters = as_random_state(rng).uniform(-1, 1, (num_filters, 3, 3))

    def iterate_regions(self, image: np.ndarray) -> Iterator[tuple[np.ndarray, int, int]]:
        """Every 3x3 region of the image with its top-left corner ``(i, j)``."""
        h, w = image.shape
        for i in range(h - 2):
            for j in range(w - 2):
                im_region = image[i : (i + 3), j : (j + 3)]
                yield im_region, i, j

    def forward(self, input: np.ndarray) -> np.ndarray:
        """``(h, w)`` -> ``(h-2, w-2, num_filters)``: ``out[i, j, f] = sum(region * filters[f])``."""
        self.last_input = input
        h, w = input.shape
        output = np.zeros((h - 2, w - 2, self.num_filters))
        for im_region, i, j in self.iterate_regions(input):
            output[i, j] = np.sum(im_region * self.filters, axis=(1, 2))
        return output

    def backprop(self, d_L_d_out: np.ndarray, learn_rate: float) -> None:
        """SGD step: ``dL/dfilters[f] = sum_ij dL/dout[i, j, f] * region_ij``, in raster order.

        Returns None: the layer is the first one, so no gradient flows to the image.
        """
        d_L_d_filters = np.zeros(self.filters.shape)
        for im_region, i, j in self.iterate_regions(self.last_input):
            for f in range(self.num_filters):
                d_L_d_filters[f] += d_L_d_out[i, j, f] * im_region
        self.last_d_L_d_filters = d_L_d_filters
        self.filters -= learn_rate * d_L_d_filters
        return None


class MaxPool2:
    """2x2 max pooling with stride 2: ``(h, w, f) -> (h // 2, w // 2, f)``."""

    def iterate_regions(self, image: np.ndarray) -> Iterator[tuple[np.ndarray, int, int]]:
        """Every non-overlapping 2x2 region with its output position (an odd edge is dropped)."""
        h, w, _ = image.shape
        new_h = h // 2
        new_w = w // 2
        for i in range(new_h):
            for j in range(new_w):
                im_region = image[(i * 2) : (i * 2 + 2), (j * 2) : (j * 2 + 2)]
                yield im_region, i, j

    def forward(self, input: np.ndarray) -> np.ndarray:
        """``out[i, j, f] = max(input[2i:2i+2, 2j:2j+2, f])``."""
        self.last_input = input
        h, w, num_filters = input.shape
        output = np.zeros((h // 2, w // 2, num_filters))
        for im_region, i, j in self.iterate_regions(input):
            output[i, j] = np.amax(im_region, axis=(0, 1))
        return output

    def backprop(self, d_L_d_out: np.ndarray) -> np.ndarray:
        """Each window's gradient goes to *every* position equal to its maximum (ties too)."""
        d_L_d_input = np.zeros(self.last_input.shape)
        for im_region, i, j in self.iterate_regions(self.last_input):
            h, w, f = im_region.shape
            amax = np.amax(im_region, axis=(0, 1))
            for i2 in range(h):
                for j2 in range(w):
                    for f2 in range(f):
                        if im_region[i2, j2, f2] == amax[f2]:
                            d_L_d_input[i * 2 + i2, j * 2 + j2, f2] = d_L_d_out[i, j, f2]
        return d_L_d_input


class Softmax:
    """A fully connected layer followed by softmax: ``p = exp(t) / sum(exp(t))``, ``t = xW + b``."""

    def __init__(self, input_len: int, nodes: int, rng: RandomLike = None) -> None:
        # Standard normal scaled down by the fan-in, as the notebook does; zero biases.
        self.weights = as_random_state(rng).randn(input_len, nodes) / input_len
        self.biases = np.zeros(nodes)

    def forward(self, input: np.ndarray) -> np.ndarray:
        """Flatten the input, compute the class scores ``t`` and their softmax."""
        self.last_input_shape = input.shape
        input = input.flatten()
        self.last_input = input
        totals = np.dot(input, self.weights) + self.biases
        self.last_totals = totals
        self.last_exp, self.last_sum = exp_and_sum(totals)
        return self.last_exp / self.last_sum

    def backprop(self, d_L_d_out: np.ndarray, learn_rate: float) -> np.ndarray | None:
        """SGD step on weights and biases; returns ``dL/dinput`` shaped like the input.

        Only the entry of the true class is non-zero in ``dL/dout`` (cross-entropy). Then
        ``dL/dW = x^T dL/dt``, ``dL/db = dL/dt`` and ``dL/dx = W dL/dt`` (the weights
        before the update).
        """
        for i, gradient in enumerate(d_L_d_out):
            if gradient == 0:
                continue
            d_out_d_t = softmax_gradient(self.last_exp, self.last_sum, i)
            d_t_d_w = self.last_input
            d_t_d_b = 1
            d_t_d_inputs = self.weights
            d_L_d_t = gradient * d_out_d_t
            d_L_d_w = d_t_d_w[np.newaxis].T @ d_L_d_t[np.newaxis]
            d_L_d_b = d_L_d_t * d_t_d_b
            d_L_d_inputs = d_t_d_inputs @ d_L_d_t
            self.weights -= learn_rate * d_L_d_w
            self.biases -= learn_rate * d_L_d_b
            return d_L_d_inputs.reshape(self.last_input_shape)
        return None


# --- the network: the notebook's forward() and train() ------------------------------------


@dataclass
class ClassicCNN:
    """The notebook's network, ``Conv3x3 -> MaxPool2 -> Softmax``, one image at a time."""

    conv: Conv3x3
    pool: MaxPool2
    softmax: Softmax

    @classmethod
    def create(
        cls,
        rng: RandomLike = None,
        num_filters: int = 8,
        image_shape: tuple[int, int] = (28, 28),
        classes: int = 10,
    ) -> ClassicCNN:
        """Draw the filters, then the weights, from ``rng`` (the notebook's order)."""
        rng = as_random_state(rng)
        pooled = ((image_shape[0] - 2) // 2) * ((image_shape[1] - 2) // 2)
        conv = Conv3x3(num_filters, rng)
        softmax = Softmax(pooled * num_filters, classes, rng)
        return cls(conv, MaxPool2(), softmax)

    def forward(self, image: np.ndarray, label: int) -> tuple[np.ndarray, np.float64, int]:
        """Probabilities, cross-entropy loss ``-log p[label]`` and 0/1 accuracy of one image.

        ``image`` is already scaled (see :func:`preprocess`).
        """
        out = self.conv.forward(image)
        out = self.pool.forward(out)
        out = self.softmax.forward(out)
        loss = -np.log(out[label])
        acc = 1 if np.argmax(out) == label else 0
        return out, loss, acc

    def train(self, image: np.ndarray, label: int, lr: float = 0.005) -> tuple[np.float64, int]:
        """One SGD step on one image; returns the loss and accuracy before the step."""
        out, loss, acc = self.forward(image, label)
        gradient = np.zeros(len(out))
        gradient[label] = -1 / out[label]  # dL/dout for L = -log(out[label])
        gradient = self.softmax.backprop(gradient, lr)
        gradient = self.pool.backprop(gradient)
        self.conv.backprop(gradient, lr)
        return loss, acc
