"""The original notebook's network, vectorised, with the notebook's exact arithmetic.

The notebook (a Chinese translation of Victor Zhou's "CNNs, from scratch") trains
``Conv3x3(8) -> MaxPool2() -> Softmax(13*13*8, 10)`` on 1,000 MNIST images, one image at a
time, with plain loops over pixels. This module keeps its three classes, their signatures
(``forward(input)``, ``backprop(d_L_d_out, learn_rate)``) and their semantics, but every
pixel loop becomes a handful of whole-array operations. Run with the same data and seed it
prints the very same numbers, down to the last digit, because every floating-point sum is
done in the order the notebook's NumPy calls do it:

- a convolution output is the sum of nine products in NumPy's pairwise order
  ``((t0+t1)+(t2+t3)) + ((t4+t5)+(t6+t7)) + t8`` (what ``np.sum`` over a 3x3 block does), so
  identical patches give bit-identical outputs, as they do in the notebook;
- a filter gradient adds its terms one output position after the other, in raster order;
- the dense layer makes the same BLAS calls on the same vectors (``np.dot`` per image);
- max pooling sends the gradient to *every* position equal to the window's maximum.

Random numbers come from an explicit ``numpy.random.RandomState`` (the notebook seeded the
global legacy generator with 114514, which draws the same stream); NumPy's global state is
never touched.

Two implementations share one set of parameters: the classes :class:`Conv3x3`,
:class:`MaxPool2` and :class:`Softmax` (wrapped by :class:`ClassicCNN`) read like the
notebook, one image at a time; :class:`FastCNN` performs the same steps on a
:class:`PreparedImages` set with the work rearranged for speed (background patches computed
once, pooling windows laid out in contiguous blocks, buffers reused). The tests check that
both give the same bits as a transcription of the notebook's loops.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from scratchcnn.errors import TrainingError
from scratchcnn.functional import max_pool2d_backward_all_ties, strided_view, window_view

#: The seed of the notebook's ``np.random.seed(114514)``.
NOTEBOOK_SEED = 114514

# The notebook's softmax is ``exp(t) / sum(exp(t))`` and its backward pass divides by the
# square of that sum. Whenever the sum lies in this range nothing overflows or underflows,
# so the notebook's formula is kept and its numbers are reproduced; outside it (only with
# exploding weights, where the notebook prints NaN) the logits are first shifted by their
# maximum, which gives the same probabilities without the overflow.
_SAFE_SUM = (1e-100, 1e100)

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


# --- the vectorised operations ----------------------------------------------------------


def sum_of_nine(
    terms: np.ndarray, scratch: np.ndarray | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """``((t0+t1)+(t2+t3)) + ((t4+t5)+(t6+t7)) + t8`` over the first axis of ``terms``.

    This is the order of NumPy's pairwise sum for nine contiguous numbers (eight partial
    sums combined as a tree, then the ninth added), the order the notebook's
    ``np.sum(im_region * self.filters, axis=(1, 2))`` uses. ``scratch``, shaped like
    ``terms[:4]``, receives the partial sums; ``out`` (default: part of ``scratch``) the
    result.
    """
    if scratch is None:
        scratch = np.empty((4, *terms.shape[1:]))
    if out is None:
        out = scratch[1]
    np.add(terms[0:8:2], terms[1:8:2], out=scratch)  # t0+t1, t2+t3, t4+t5, t6+t7
    np.add(scratch[0::2], scratch[1::2], out=scratch[0::2])  # (t0+t1)+(t2+t3), (t4+t5)+(t6+t7)
    np.add(scratch[0], scratch[2], out=scratch[1])
    return np.add(scratch[1], terms[8], out=out)


def conv3x3_taps(images: np.ndarray) -> np.ndarray:
    """The nine shifted copies of a batch of images, ``(9, N, H-2, W-2)``.

    ``taps[3*a + b, n, i, j] == images[n, i + a, j + b]``: tap ``k`` holds, for every output
    position, the pixel that filter entry ``k`` multiplies (the notebook's ``im_region``).
    """
    windows = window_view(images[..., np.newaxis], 3, 3, 1, 1)[..., 0]  # (N, OH, OW, 3, 3)
    n, oh, ow = windows.shape[:3]
    return np.ascontiguousarray(windows.transpose(3, 4, 0, 1, 2)).reshape(9, n, oh, ow)


def conv3x3_forward(taps: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """``out[n, f] = sum_k taps[k, n] * filters[f, k]`` for taps ``(9, N, OH, OW)``.

    Returns ``(N, F, OH, OW)``, each output summed by :func:`sum_of_nine`.
    """
    weights = filters.reshape(len(filters), 9).T  # weights[k, f] = filters[f, k]
    products = taps[:, :, np.newaxis] * weights[:, np.newaxis, :, np.newaxis, np.newaxis]
    return sum_of_nine(products)


def conv3x3_filter_gradient(taps: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """``dL/dfilters[f, k] = sum_p grad[f, p] * taps[k, p]`` over the P output positions.

    ``taps`` is ``(9, P)`` and ``grad`` is ``(F, P)``, positions in raster order. The notebook
    adds ``d_L_d_out[i, j, f] * im_region`` one position after the other; here the products
    are laid out one row per position and ``np.add.reduce`` over that outer axis adds the
    rows in the same sequence (a matrix product would group the sums differently).
    """
    num_filters, positions = grad.shape
    products = grad[:, np.newaxis, :] * taps[np.newaxis, :, :]  # (F, 9, P)
    by_position = np.ascontiguousarray(products.reshape(num_filters * 9, positions).T)
    return np.add.reduce(by_position, axis=0).reshape(num_filters, 3, 3)


def max_pool2(x: np.ndarray) -> np.ndarray:
    """Maximum of each 2x2 block of the last two axes (an odd last row/column is dropped)."""
    h = x.shape[-2] // 2 * 2
    w = x.shape[-1] // 2 * 2
    top = np.maximum(x[..., 0:h:2, 0:w:2], x[..., 0:h:2, 1:w:2])
    bottom = np.maximum(x[..., 1:h:2, 0:w:2], x[..., 1:h:2, 1:w:2])
    return np.maximum(top, bottom)


def max_pool2_backward(grad_out: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of :func:`max_pool2` by the notebook's rule, for ``(..., H, W)`` arrays.

    Each block's gradient goes to *every* position equal to the block's maximum (ties all
    receive it, as in the notebook's ``if im_region[...] == amax``); other positions get 0.
    """
    h, w = x.shape[-2:]
    oh, ow = y.shape[-2:]
    grad = max_pool2d_backward_all_ties(
        grad_out.reshape(-1, oh, ow, 1),
        x.reshape(-1, h, w, 1),
        y.reshape(-1, oh, ow, 1),
        (2, 2),
        (2, 2),
    )
    return grad.reshape(x.shape)


# --- the notebook's three classes ------------------------------------------------------


class Conv3x3:
    """A 3x3 convolution with ``num_filters`` filters, no bias, no padding ("valid").

    ``forward`` maps an ``(h, w)`` image to ``(h-2, w-2, num_filters)``:
    ``out[i, j, f] = sum(image[i:i+3, j:j+3] * filters[f])``.
    """

    def __init__(self, num_filters: int, rng: RandomLike = None) -> None:
        self.num_filters = num_filters
        # Uniform in [-1, 1), drawn as the notebook does.
        self.filters = as_random_state(rng).uniform(-1, 1, (num_filters, 3, 3))

    def forward(self, input: np.ndarray) -> np.ndarray:
        """Correlate the image with every filter; remembers the taps for ``backprop``."""
        self.last_input = input
        self.last_taps = conv3x3_taps(input[np.newaxis])  # (9, 1, h-2, w-2)
        out = conv3x3_forward(self.last_taps, self.filters)[0]  # (F, h-2, w-2)
        return out.transpose(1, 2, 0)

    def backprop(self, d_L_d_out: np.ndarray, learn_rate: float) -> None:
        """SGD step on the filters: ``dL/dfilters[f] = sum_ij dL/dout[i, j, f] * region_ij``.

        Returns None: the layer is the first one, so no gradient flows to the image.
        """
        grad = d_L_d_out.transpose(2, 0, 1).reshape(self.num_filters, -1)
        d_L_d_filters = conv3x3_filter_gradient(self.last_taps.reshape(9, -1), grad)
        self.filters -= learn_rate * d_L_d_filters
        return None


class MaxPool2:
    """2x2 max pooling with stride 2: ``(h, w, f) -> (h // 2, w // 2, f)``."""

    def forward(self, input: np.ndarray) -> np.ndarray:
        """``out[i, j, f] = max(input[2i:2i+2, 2j:2j+2, f])``."""
        self.last_input = input
        self.last_output = max_pool2(input.transpose(2, 0, 1))  # (f, h // 2, w // 2)
        return self.last_output.transpose(1, 2, 0)

    def backprop(self, d_L_d_out: np.ndarray) -> np.ndarray:
        """Copy each window's gradient to every position holding the window's maximum."""
        grad = max_pool2_backward(
            d_L_d_out.transpose(2, 0, 1), self.last_input.transpose(2, 0, 1), self.last_output
        )
        return grad.transpose(1, 2, 0)


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

        Only the entry ``i`` of the true class is non-zero in ``dL/dout`` (cross-entropy).
        With ``S = sum(exp(t))``: ``dout_i/dt = -exp(t_i) exp(t) / S^2`` except
        ``dout_i/dt_i = exp(t_i) (S - exp(t_i)) / S^2``; then ``dL/dW = x^T dL/dt``,
        ``dL/db = dL/dt`` and ``dL/dx = W dL/dt`` (with the weights before the update).
        """
        nonzero = np.flatnonzero(d_L_d_out)
        if len(nonzero) == 0:
            return None
        i = nonzero[0]
        d_L_d_t = d_L_d_out[i] * softmax_gradient(self.last_exp, self.last_sum, i)
        # x^T dL/dt is an outer product: a rank-one matrix product, one rounding per entry.
        d_L_d_w = np.dot(self.last_input[:, np.newaxis], d_L_d_t[np.newaxis])
        d_L_d_inputs = self.weights @ d_L_d_t
        d_L_d_w *= learn_rate
        self.weights -= d_L_d_w
        self.biases -= learn_rate * d_L_d_t
        return d_L_d_inputs.reshape(self.last_input_shape)


def exp_and_sum(totals: np.ndarray) -> tuple[np.ndarray, np.float64]:
    """``exp(t)`` and its sum, shifted by ``max(t)`` only where the plain form would overflow."""
    with np.errstate(over="ignore"):  # an overflow is detected just below
        exp = np.exp(totals)
    total = np.add.reduce(exp)
    if not _SAFE_SUM[0] < total < _SAFE_SUM[1]:
        exp = np.exp(totals - totals.max())
        total = np.add.reduce(exp)
    return exp, total


def softmax_gradient(exp: np.ndarray, total: np.float64, i: int) -> np.ndarray:
    """``d softmax(t)_i / dt`` from ``exp(t)`` and ``S = sum(exp(t))``, as the notebook writes it."""
    d_out_d_t = -exp[i] * exp / (total**2)
    d_out_d_t[i] = exp[i] * (total - exp[i]) / (total**2)
    return d_out_d_t


# --- the network --------------------------------------------------------------------------


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


# --- the same computation, arranged for speed -------------------------------------------


class PreparedImages:
    """A set of images made ready for :class:`FastCNN`: scaled once, patches sorted out.

    The convolution reads, for output position ``(i, j)``, the 3x3 patch at ``(i, j)``. A
    patch of nine zero pixels (MNIST's flat background) gives each filter one and the same
    value, so it is computed once per image: image ``n`` owns the block
    ``columns[:, start[n]:start[n + 1]]`` whose first column is that background patch and
    whose other columns are its "active" patches (about a third of all positions);
    ``code[n, q]`` says which column of the block output slot ``q`` reads.

    Slots are *pool-major*: slot ``(2a + b) * windows + I * ow + J`` is output position
    ``(2I + a, 2J + b)``, so the four members of every 2x2 pooling window sit in four
    contiguous blocks of ``windows = oh * ow`` slots. A last odd output row or column belongs
    to no window and is left out, as the notebook's pooling ignores it.
    """

    def __init__(self, images: np.ndarray) -> None:
        images = np.asarray(images)
        if images.ndim != 3 or min(images.shape[1:]) < 4:
            raise ValueError(f"expected images of shape (N, H, W), H, W >= 4, got {images.shape}")
        n, h, w = images.shape
        oh, ow = (h - 2) // 2, (w - 2) // 2
        self.count = n
        self.image_shape = (h, w)
        self.pooled_shape = (oh, ow)
        self.windows = oh * ow
        self.x = preprocess(images)

        nonzero = images != 0
        rows = nonzero[:, :-2] | nonzero[:, 1:-1] | nonzero[:, 2:]
        active = rows[:, :, :-2] | rows[:, :, 1:-1] | rows[:, :, 2:]  # patch (i, j) has ink
        active = _pool_major(active[:, : 2 * oh, : 2 * ow])
        self.code = np.cumsum(active, axis=1)
        self.code *= active
        with_background = np.concatenate([np.ones((n, 1), dtype=bool), active], axis=1)
        self.start = np.concatenate([[0], np.cumsum(with_background.sum(axis=1))])

        # Gather each column's nine taps from the flat pixels: the patch's top-left pixel
        # plus the offset of the tap; the background columns are then set to scaled zero.
        a, b, i, j = np.indices((2, 2, oh, ow)).reshape(4, -1)
        corner = np.concatenate([[0], (2 * i + a) * w + (2 * j + b)])
        image, slot = np.nonzero(with_background)
        first = image * (h * w) + corner[slot]
        offsets = (np.arange(3)[:, np.newaxis] * w + np.arange(3)).reshape(9)
        pixels = self.x.reshape(-1)
        self.columns = np.empty((9, len(first)))
        index = np.empty_like(first)
        for k in range(9):  # indices are all in range: mode="clip" skips a buffered check
            pixels.take(np.add(first, offsets[k], out=index), out=self.columns[k], mode="clip")
        self.columns[:, self.start[:-1]] = preprocess(np.zeros(1, dtype=np.uint8))[0]

        # The filter gradient needs every slot's taps: taps[n, ka, kb, a, b, I, J] is pixel
        # (2I + a + ka, 2J + b + kb) of image n (a view; a training step copies one image's).
        s0, s1, s2 = self.x.strides
        self.taps = strided_view(
            self.x, (n, 3, 3, 2, 2, oh, ow), (s0, s1, s2, s1, s2, 2 * s1, 2 * s2)
        )


def _pool_major(x: np.ndarray) -> np.ndarray:
    """``(N, 2*oh, 2*ow)`` raster positions to ``(N, 4*oh*ow)`` pool-major slots."""
    n, h, w = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2).transpose(0, 2, 4, 1, 3).reshape(n, -1)


class FastCNN:
    """The steps of :class:`ClassicCNN` on :class:`PreparedImages`, bit for bit, faster.

    It reads and updates the network's own filters, weights and biases. Each operation is
    the one the layers perform, on the same numbers in the same order, so the results are
    identical; what changes is the arrangement: the convolution is computed once per
    distinct patch column, pooling takes the maximum of four contiguous blocks, the filter
    gradient's products are laid out one row per raster position for the sequential sum,
    and every buffer is allocated once.
    """

    def __init__(self, network: ClassicCNN) -> None:
        self.network = network
        self._buffers: dict[tuple[int, int], dict[str, np.ndarray]] = {}

    def train(
        self, images: PreparedImages, n: int, label: int, lr: float = 0.005
    ) -> tuple[np.float64, int]:
        """``ClassicCNN.train`` on image ``n``: one SGD step; the loss and accuracy before it.

        Raises :class:`~scratchcnn.errors.TrainingError`, leaving the parameters as they
        were, when the true class's probability is 0 or NaN (training has diverged).
        """
        conv, softmax = self.network.conv, self.network.softmax
        num_filters = conv.num_filters
        oh, ow = images.pooled_shape
        windows = images.windows
        buf = self._workspace(images)

        # Forward: the conv value of every column of the image, spread to the slots, pooled.
        columns = images.columns[:, images.start[n] : images.start[n + 1]]
        conv_out = buf["conv_out"]
        self._convolve(columns, buf).take(
            images.code[n], axis=1, out=conv_out.reshape(num_filters, -1), mode="clip"
        )
        pooled = _max_of_blocks(conv_out, buf)
        flat = buf["flat"]
        np.copyto(flat.reshape(windows, num_filters), pooled.T)  # the notebook's (i, j, f) order
        totals = np.dot(flat, softmax.weights) + softmax.biases
        exp, total = exp_and_sum(totals)
        out = exp / total
        if not out[label] > 0:  # the notebook would go on with an infinite loss, then NaN
            raise TrainingError(f"the probability of the true class is {out[label]}")
        loss = -np.log(out[label])
        acc = 1 if np.argmax(out) == label else 0

        # Softmax backward and update (Softmax.backprop).
        gradient = -1 / out[label]
        d_L_d_t = gradient * softmax_gradient(exp, total, label)
        d_L_d_w = np.dot(flat[:, np.newaxis], d_L_d_t[np.newaxis], out=buf["d_L_d_w"])
        d_L_d_inputs = softmax.weights @ d_L_d_t
        d_L_d_w *= lr
        softmax.weights -= d_L_d_w
        softmax.biases -= lr * d_L_d_t

        # Pooling backward: every slot equal to its window's maximum gets the window's gradient.
        grad_pooled = buf["grad_pooled"]
        np.copyto(grad_pooled, d_L_d_inputs.reshape(windows, num_filters).T)
        np.equal(conv_out, pooled[:, np.newaxis], out=buf["is_max"])
        grad_conv = np.multiply(grad_pooled[:, np.newaxis], buf["is_max"], out=buf["grad_conv"])

        # Filter gradient: products in pool-major order, rearranged to one row per raster
        # position, then summed row after row (conv3x3_filter_gradient's order).
        taps = buf["taps"]
        np.copyto(taps.reshape(images.taps.shape[1:]), images.taps[n])
        products = buf["products"]
        np.multiply(grad_conv[:, np.newaxis], taps, out=products)
        by_position = buf["by_position"]
        np.copyto(
            by_position,
            products.reshape(num_filters, 9, 2, 2, oh, ow).transpose(4, 2, 5, 3, 0, 1),
        )
        d_L_d_filters = np.add.reduce(by_position.reshape(4 * windows, -1), axis=0)
        conv.filters -= lr * d_L_d_filters.reshape(num_filters, 3, 3)
        return loss, acc

    def evaluate(
        self, images: PreparedImages, labels: np.ndarray, chunk: int = 64
    ) -> tuple[np.ndarray, np.ndarray]:
        """``ClassicCNN.forward`` on every image: the losses and the 0/1 accuracies.

        Convolution and pooling run on ``chunk`` images at a time, with conv values laid
        out ``(column, filter)`` so that spreading them to the slots copies whole rows and
        pooling yields the notebook's ``(i, j, f)`` order directly; only the dense layer's
        ``np.dot`` stays per image, since a matrix-matrix product may round differently.
        """
        softmax = self.network.softmax
        num_filters = self.network.conv.num_filters
        windows = images.windows
        buf = self._workspace(images)
        weights = softmax.weights
        totals = np.empty((images.count, weights.shape[1]))
        bounds = np.append(images.start[::chunk], images.start[-1])
        values = np.empty((np.diff(bounds).max(initial=0), num_filters))
        conv_out = np.empty((chunk, 4, windows, num_filters))
        pooled = np.empty((2, chunk, windows, num_filters))
        for first in range(0, images.count, chunk):
            last = min(first + chunk, images.count)
            size = last - first
            begin, end = images.start[first], images.start[last]
            for lo in range(begin, end, 8192):
                hi = min(lo + 8192, end)
                self._convolve(images.columns[:, lo:hi], buf, values[lo - begin : hi - begin].T)
            code = images.code[first:last] + (images.start[first:last, np.newaxis] - begin)
            spread = conv_out[:size]
            spread_rows = spread.reshape(size, 4 * windows, -1)
            values[: end - begin].take(code, axis=0, out=spread_rows, mode="clip")
            top, bottom = pooled[0, :size], pooled[1, :size]
            np.maximum(spread[:, 0], spread[:, 1], out=top)
            np.maximum(spread[:, 2], spread[:, 3], out=bottom)
            np.maximum(top, bottom, out=top)  # (image, window, filter): the (i, j, f) order
            for row, x in enumerate(top.reshape(size, -1), first):
                np.dot(x, weights, out=totals[row])
        totals += softmax.biases
        with np.errstate(over="ignore"):
            exp = np.exp(totals)
        sums = np.add.reduce(exp, axis=1)
        for row in np.flatnonzero(~((sums > _SAFE_SUM[0]) & (sums < _SAFE_SUM[1]))):
            exp[row], sums[row] = exp_and_sum(totals[row])
        out = exp / sums[:, np.newaxis]
        labels = np.asarray(labels, dtype=np.intp)
        with np.errstate(divide="ignore"):  # a probability of 0 is an infinite loss
            losses = -np.log(out[np.arange(images.count), labels])
        correct = np.argmax(out, axis=1) == labels
        return losses, correct

    def _convolve(
        self, columns: np.ndarray, buf: dict[str, np.ndarray], out: np.ndarray | None = None
    ) -> np.ndarray:
        """Conv values ``(F, C)`` of patch columns ``(9, C)``: :func:`conv3x3_forward`'s sums.

        ``out`` may be any ``(F, C)`` view, such as the transpose of a ``(C, F)`` array.
        """
        filters = self.network.conv.filters
        size = filters.shape[0] * columns.shape[1]
        products = buf["conv_products"][: 9 * size].reshape(9, len(filters), -1)
        weights = filters.reshape(len(filters), 9).T  # weights[k, f] = filters[f, k]
        np.multiply(columns[:, np.newaxis], weights[:, :, np.newaxis], out=products)
        scratch = buf["conv_sums"][: 4 * size].reshape(4, len(filters), -1)
        return sum_of_nine(products, scratch, out)

    def _workspace(self, images: PreparedImages) -> dict[str, np.ndarray]:
        """Buffers for images of this size, allocated on first use."""
        key = images.pooled_shape
        if key not in self._buffers:
            f = self.network.conv.num_filters
            oh, ow = key
            windows = oh * ow
            if self.network.softmax.weights.shape[0] != windows * f:
                raise ValueError(
                    f"images of shape {images.image_shape} give {windows * f} features, but "
                    f"the dense layer takes {self.network.softmax.weights.shape[0]}"
                )
            widest = max(8192, 4 * windows + 1)
            self._buffers[key] = {
                "conv_products": np.empty(9 * f * widest),
                "conv_sums": np.empty(4 * f * widest),
                "conv_out": np.empty((f, 4, windows)),
                "pooled": np.empty((f, windows)),
                "pooled_other": np.empty((f, windows)),
                "flat": np.empty(windows * f),
                "d_L_d_w": np.empty((windows * f, self.network.softmax.weights.shape[1])),
                "grad_pooled": np.empty((f, windows)),
                "is_max": np.empty((f, 4, windows), dtype=bool),
                "grad_conv": np.empty((f, 4, windows)),
                "taps": np.empty((9, 4, windows)),
                "products": np.empty((f, 9, 4, windows)),
                "by_position": np.empty((oh, 2, ow, 2, f, 9)),
            }
        return self._buffers[key]


def _max_of_blocks(conv_out: np.ndarray, buf: dict[str, np.ndarray]) -> np.ndarray:
    """Max pooling in the pool-major layout: the maximum of the four slot blocks."""
    pooled, other = buf["pooled"], buf["pooled_other"]
    np.maximum(conv_out[:, 0], conv_out[:, 1], out=pooled)
    np.maximum(conv_out[:, 2], conv_out[:, 3], out=other)
    return np.maximum(pooled, other, out=pooled)


# --- the report, in the notebook's words ---------------------------------------------------

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "ready": "{dataset}数据集上的CNN初始化成功",
        "eval_step": "[Step %d] 过去一百张图片: 平均损失值 %.3f | 准确率: %d%%",
        "epoch": "--- 第 %d 轮迭代---",
        "train_step": "[Step %d] 过去100张图片: 平均损失值: %.3f | 准确率: %d%%",
        "test": "\n--- CNN的测试结果 ---",
        "test_loss": "总体平均损失值:",
        "test_accuracy": "总体平均准确率:",
    },
    "en": {
        "ready": "{dataset} CNN initialized!",
        "eval_step": "[Step %d] Past 100 steps: Average Loss %.3f | Accuracy: %d%%",
        "epoch": "--- Epoch %d ---",
        "train_step": "[Step %d] Past 100 steps: Average Loss %.3f | Accuracy: %d%%",
        "test": "\n--- Testing the CNN ---",
        "test_loss": "Test Loss:",
        "test_accuracy": "Test Accuracy:",
    },
}
LANGUAGES: tuple[str, ...] = tuple(MESSAGES)


@dataclass(frozen=True)
class ClassicConfig:
    """The notebook's settings; every field can be changed to explore."""

    seed: int = NOTEBOOK_SEED
    epochs: int = 3
    lr: float = 0.005
    num_filters: int = 8
    lang: str = "zh"
    dataset_title: str = "MNIST"


def run_classic(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    config: ClassicConfig = ClassicConfig(),
) -> Iterator[str]:
    """Run the notebook's two experiments and yield the lines it prints, one at a time.

    Images are ``uint8 (N, H, W)``. First an untrained network is evaluated on the test
    images (a report every 100 images); then a second network is trained for
    ``config.epochs`` epochs of per-image SGD on the training images, reshuffled each epoch,
    and tested. The logging keeps the notebook's quirks: the training report is printed
    *before* the image of step ``i`` is trained, whenever ``i % 100 == 99``, and divides by
    100 (so the first report covers 99 images).

    Where the notebook would go on printing NaN after a learning rate too large has driven
    a probability to zero, a :class:`~scratchcnn.errors.TrainingError` says where instead.
    """
    if config.lang not in MESSAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {config.lang!r}")
    text = MESSAGES[config.lang]
    ready = text["ready"].format(dataset=config.dataset_title)
    rng = np.random.RandomState(config.seed)
    shape = tuple(test_images.shape[1:])
    test_set = PreparedImages(test_images)

    # Experiment 1: the untrained network, forward passes only.
    network = ClassicCNN.create(rng, config.num_filters, shape)
    yield ready
    losses, correct = FastCNN(network).evaluate(test_set, test_labels)
    loss = 0
    num_correct = 0
    for i, (lo, acc) in enumerate(zip(losses, correct)):
        loss += lo
        num_correct += int(acc)
        if i % 100 == 99:
            yield text["eval_step"] % (i + 1, loss / 100, num_correct)
            loss = 0
            num_correct = 0

    # Experiment 2: a fresh network trained with per-image SGD, then tested.
    network = ClassicCNN.create(rng, config.num_filters, shape)
    fast = FastCNN(network)
    yield ready
    train_set = PreparedImages(train_images)
    order = np.arange(train_set.count)
    train_labels = np.asarray(train_labels, dtype=np.intp)
    for epoch in range(config.epochs):
        yield text["epoch"] % (epoch + 1)
        # The notebook permutes the already shuffled arrays: compose the permutations.
        order = order[rng.permutation(train_set.count)]
        loss = 0
        num_correct = 0
        for i, n in enumerate(order):
            if i > 0 and i % 100 == 99:
                yield text["train_step"] % (i + 1, loss / 100, num_correct)
                loss = 0
                num_correct = 0
            try:
                lo, acc = fast.train(train_set, n, train_labels[n], config.lr)
            except TrainingError as exc:
                raise TrainingError(
                    f"training diverged at epoch {epoch + 1}, step {i + 1}: {exc.message}",
                    hint=f"try a learning rate below {config.lr:g}",
                ) from None
            loss += lo
            num_correct += acc

    yield text["test"]
    losses, correct = fast.evaluate(test_set, test_labels)
    loss = 0
    for lo in losses:
        loss += lo
    num_tests = test_set.count
    yield f"{text['test_loss']} {loss / num_tests}"
    yield f"{text['test_accuracy']} {int(np.count_nonzero(correct)) / num_tests}"
