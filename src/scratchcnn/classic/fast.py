"""The notebook's network on whole arrays: the exact fast path ``scratchcnn classic`` runs.

:class:`FastCNN` performs the steps of :class:`scratchcnn.classic.notebook.ClassicCNN` on a
:class:`PreparedImages` set, reading and updating the same parameters, and gives the very
same bits, because every floating-point sum is done in the order the notebook's NumPy calls
do it:

- a convolution output is the sum of nine products in NumPy's pairwise order
  ``((t0+t1)+(t2+t3)) + ((t4+t5)+(t6+t7)) + t8`` (what ``np.sum`` over a 3x3 block does), so
  identical patches give bit-identical outputs, as they do in the notebook;
- a filter gradient adds its terms one output position after the other, in raster order;
- the dense layer makes the same BLAS calls on the same vectors (``np.dot`` per image);
- max pooling sends the gradient to *every* position equal to the window's maximum;
- the softmax step is the notebook module's own (:func:`~scratchcnn.classic.notebook.exp_and_sum`,
  :func:`~scratchcnn.classic.notebook.softmax_gradient`).

What changes is the arrangement: background patches computed once per image, pooling
windows laid out in contiguous blocks, buffers reused. The tests check the bits against
the notebook's loops.
"""

from __future__ import annotations

import numpy as np

from scratchcnn.classic.notebook import (
    SAFE_SUM,
    ClassicCNN,
    exp_and_sum,
    preprocess,
    softmax_gradient,
)
from scratchcnn.errors import TrainingError
from scratchcnn.functional import strided_view


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
        # position, then summed row after row (the notebook's order: position after position).
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
        for row in np.flatnonzero(~((sums > SAFE_SUM[0]) & (sums < SAFE_SUM[1]))):
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
        """Conv values ``(F, C)`` of patch columns ``(9, C)``: the notebook's ``np.sum`` over each 3x3 block.

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
