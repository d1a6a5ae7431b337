"""Fused execution of Conv2D -> (ReLU ->) 2x2 MaxPool2D, as an execution plan of Sequential.

The layers stay what the model is made of (its configuration, saved state, summary and
per-layer feature maps do not change); :func:`plan` only groups them for running.

Unfused, the pooling reads the convolution's NHWC output with the two columns of a window
``C`` numbers apart, so every maximum and every routing step moves ``C`` values at a time.
Fused, the convolution's output rows are computed in *pooling-window order*: the patch
matrix holds the positions ``(2i + p, 2j + q)`` of every window as four blocks, one per
``(p, q)``, so one matrix product returns four contiguous planes ``P[p, q]`` of shape
``(N, OH//2, OW//2, C)``. Pooling is then three maxima of whole planes; the bias and the
ReLU act on the pooled quarter only (``max(a, b) + c = max(a + c, b + c)`` and
``relu(max(a, b)) = max(relu(a), relu(b))``), and the backward pass
is a mask on the same planes, fed straight to the weight-gradient product (and copied
back to the convolution's layout for the input gradient's col2im).

Ties go where the unfused MaxPool2D sends them: to the window's first maximum in
row-major order; with a ReLU, a window whose maximum is not positive passes no gradient.
(The maxima are taken before the bias is added: two unequal values that the addition
would round to one tie the unfused layers but not these; their gradient goes to the larger.)
"""

from __future__ import annotations

import numpy as np

from scratchcnn import functional as F
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Layer, MaxPool2D, ReLU


class ConvPool:
    """Runs ``conv`` (then ReLU if ``relu``) then a 2x2, stride-2 max pooling as one step.

    Parameters and gradients are the ``conv`` layer's own arrays, updated in place.
    """

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers
        self.conv: Conv2D = layers[0]  # type: ignore[assignment]
        self.relu = len(layers) == 3
        self._planes: np.ndarray | None = None
        self._workspace: F.Workspace = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        conv = self.conv
        x, pads = conv.prepare_input(x)
        kh, kw, cin, cout = conv.params["weight"].shape
        n, h, w, _ = x.shape
        sh, sw = conv.stride
        oh = F.conv_output_size(h, kh, sh, pads[0], pads[1])
        ow = F.conv_output_size(w, kw, sw, pads[2], pads[3])
        ph, pw = oh // 2, ow // 2
        if ph == 0 or pw == 0:  # the pooling's own error says what is wrong
            self._planes = None
            for layer in self.layers:
                x = layer.forward(x, training)
            return x
        cols = window_order_cols(F.pad_nhwc(x, pads), (kh, kw), (sh, sw), (ph, pw), self._workspace)
        planes = cols @ conv.params["weight"].reshape(kh * kw * cin, cout)
        planes = planes.reshape(2, 2, n, ph, pw, cout)
        top = np.maximum(planes[0, 0], planes[0, 1])
        bottom = np.maximum(planes[1, 0], planes[1, 1])
        pooled = np.maximum(top, bottom)
        if "bias" in conv.params:
            # The same shift for the four values of a window: added after their maximum.
            pooled += conv.params["bias"]
        if self.relu:
            np.maximum(pooled, 0, out=pooled)
        self._cols, self._planes, self._top, self._bottom = cols, planes, top, bottom
        self._input_shape, self._pads, self._output_hw = x.shape, pads, (oh, ow)
        conv.forget_forward()
        return pooled

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        # Unfused when the fused forward did not run, or the layers ran one by one since.
        if self._planes is None or self.conv._cols is not None:
            grad: np.ndarray | None = grad_out
            for layer in reversed(self.layers):
                grad = layer.backward(grad)
                if grad is None:
                    break
            return grad
        conv, planes, top = self.conv, self._planes, self._top
        weight = conv.params["weight"]
        kh, kw, cin, cout = weight.shape
        grad_out = conv._check_grad(grad_out, top.shape)
        n = top.shape[0]
        oh, ow = self._output_hw
        h, w = self._input_shape[1:3]
        workspace = self._workspace
        grads = F.scratch_buffer(workspace, "plane_grads", planes.shape, planes.dtype)
        gate = grad_out
        if self.relu:
            gate = F.scratch_buffer(workspace, "gate", top.shape, top.dtype)
        # The masks and the input gradient go through the batch in chunks the cache holds:
        # about 4 * F.CHUNK_BYTES of planes, their gradients and the input gradient's
        # buffers (smaller chunks cost more in calls than they save). The weight gradient
        # is one product over the whole batch.
        per_sample = 2 * planes[:, :, :1].nbytes
        if conv.input_grad:
            per_sample += (oh * ow * cout + h * w * cin + oh * ow * cin) * planes.itemsize
        chunk = max(1, min(n, 4 * F.CHUNK_BYTES // per_sample))
        if conv.input_grad:
            dtype = planes.dtype
            grad_in = np.empty(self._input_shape, dtype=dtype)
            natural = F.scratch_buffer(workspace, "conv_grad", (chunk, oh, ow, cout), dtype)
            part = F.scratch_buffer(workspace, "offset_grad", (chunk * oh * ow, cin), dtype)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            self._plane_grads(
                grad_out[start:stop], gate[start:stop], grads[:, :, start:stop], start, stop
            )
            if conv.input_grad:
                count = stop - start
                self._input_grad(
                    grads[:, :, start:stop],
                    grad_in[start:stop],
                    natural[:count],
                    part[: count * oh * ow],
                )
        rows = grads.reshape(-1, cout)
        np.dot(self._cols.T, rows, out=conv.grads["weight"].reshape(kh * kw * cin, cout))
        if "bias" in conv.params:
            F.column_sums(gate.reshape(-1, cout), conv.grads["bias"], workspace)
        return grad_in if conv.input_grad else None

    def _plane_grads(
        self, grad_out: np.ndarray, gate: np.ndarray, grads: np.ndarray, start: int, stop: int
    ) -> None:
        """The gradients of samples ``start:stop`` at the four planes, into ``grads`` (and,
        with a ReLU, what passes it into ``gate``)."""
        planes = self._planes[:, :, start:stop]  # type: ignore[index]
        top, bottom = self._top[start:stop], self._bottom[start:stop]
        # Unfused order: the window's maximum is max(top row, bottom row), each the max of
        # its left and right value; strict comparisons keep the earlier one on ties.
        if self.relu:
            # relu(max + bias) passes gradient only where it is positive.
            maximum = np.maximum(top, bottom)
            if "bias" in self.conv.params:
                maximum += self.conv.params["bias"]
            np.multiply(grad_out, maximum > 0, out=gate)
        from_bottom = bottom > top
        g_bottom = np.multiply(gate, from_bottom, out=grads[1, 0])
        g_top = np.subtract(gate, g_bottom, out=grads[0, 0])
        np.multiply(g_top, planes[0, 1] > planes[0, 0], out=grads[0, 1])
        g_top -= grads[0, 1]
        g_right = np.multiply(g_bottom, planes[1, 1] > planes[1, 0], out=grads[1, 1])
        g_bottom -= g_right

    def _input_grad(
        self, grads: np.ndarray, grad_in: np.ndarray, natural: np.ndarray, part: np.ndarray
    ) -> None:
        """dL/dx of a chunk of samples from their plane gradients ``grads``, into
        ``grad_in``, through the buffers ``natural`` and ``part``."""
        # Back to the convolution's own output layout, where col2im's shifted windows are
        # long contiguous runs (the window-order planes would make them runs of Cin).
        ph, pw = grads.shape[3:5]
        natural[:, 2 * ph :] = 0
        natural[:, :, 2 * pw :] = 0
        for p in range(2):
            for q in range(2):
                natural[:, p : 2 * ph : 2, q : 2 * pw : 2] = grads[p, q]
        grad_in[...] = 0
        conv = self.conv
        F.add_offset_products(natural, conv.params["weight"], grad_in, conv.stride, self._pads, part)


def _window_view(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], pooled: tuple[int, int]
) -> np.ndarray:
    """Strided view ``v[p, q, n, i, j, a, b, c] = x[n, (2i+p)*sh + a, (2j+q)*sw + b, c]``:
    the patch of the convolution output at ``(2i + p, 2j + q)``, grouped by window corner.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pooled
    n, _, _, c = x.shape
    s0, s1, s2, s3 = x.strides
    shape = (2, 2, n, ph, pw, kh, kw, c)
    return np.ndarray(
        shape, x.dtype, x, 0, (s1 * sh, s2 * sw, s0, 2 * sh * s1, 2 * sw * s2, s1, s2, s3)
    )


def window_order_cols(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pooled: tuple[int, int],
    workspace: F.Workspace | None = None,
) -> np.ndarray:
    """The im2col matrix ``(4*N*PH*PW, kh*kw*C)`` of the padded ``x``, rows in window order.

    Row ``((p*2 + q)*N + n)*PH*PW + i*PW + j`` is the patch of output ``(2i + p, 2j + q)``;
    columns are ordered ``(a, b, c)`` like a ``(kh, kw, C, out)`` kernel. With one channel
    the gather goes offset-major (inner loops over output columns rather than over
    ``kw`` values) and the result is a transposed view, which BLAS reads as it is.
    """
    x = np.ascontiguousarray(x)
    (kh, kw), (ph, pw) = kernel, pooled
    n, c = x.shape[0], x.shape[3]
    rows = 4 * n * ph * pw
    view = _window_view(x, kernel, stride, pooled)
    if c != 1:
        cols = F.scratch_buffer(workspace, "window_cols", (rows, kh * kw * c), x.dtype)
        np.copyto(cols.reshape(view.shape), view)
        return cols
    planes = F.scratch_buffer(workspace, "window_cols", (kh * kw, rows), x.dtype)
    np.copyto(planes.reshape(kh, kw, 2, 2, n, ph, pw), view[..., 0].transpose(5, 6, 0, 1, 2, 3, 4))
    return planes.T


class InPlaceReLU:
    """A ReLU that overwrites its input (when the step before it returns a fresh array it
    keeps no reference to) and/or its incoming gradient (when the step after it does)."""

    def __init__(self, layer: ReLU, forward_in_place: bool, backward_in_place: bool) -> None:
        self.layer = layer
        self.forward_in_place = forward_in_place
        self.backward_in_place = backward_in_place

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.layer.forward(x, training, in_place=self.forward_in_place)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        return self.layer.backward(grad_out, in_place=self.backward_in_place)


# Steps whose forward returns a new array they keep no reference to.
_FRESH_OUTPUT = (Conv2D, Dense, BatchNorm2D, ConvPool)
# Steps whose backward returns a new array they keep no reference to.
_FRESH_INPUT_GRAD = (Conv2D, Dense, BatchNorm2D, MaxPool2D, ConvPool)

Step = Layer | ConvPool | InPlaceReLU


def plan(layers: list[Layer]) -> list[Step]:
    """The steps that run ``layers``: each Conv2D followed by (a ReLU and) a 2x2, stride-2
    MaxPool2D becomes one :class:`ConvPool`; a ReLU between steps that hand it arrays of
    their own runs in place (:class:`InPlaceReLU`); every other layer runs as it is."""
    steps = _fuse_conv_pool(layers)
    for k, step in enumerate(steps):
        if type(step) is ReLU:
            forward = k > 0 and type(steps[k - 1]) in _FRESH_OUTPUT
            backward = k + 1 < len(steps) and type(steps[k + 1]) in _FRESH_INPUT_GRAD
            if forward or backward:
                steps[k] = InPlaceReLU(step, forward, backward)
    return steps


def _fuse_conv_pool(layers: list[Layer]) -> list[Layer | ConvPool]:
    steps: list[Layer | ConvPool] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, Conv2D):
            relu = i + 1 < len(layers) and type(layers[i + 1]) is ReLU
            j = i + 2 if relu else i + 1
            pool = layers[j] if j < len(layers) else None
            if type(pool) is MaxPool2D and pool.pool_size == (2, 2) and pool.stride == (2, 2):
                steps.append(ConvPool(layers[i : j + 1]))
                i = j + 1
                continue
        steps.append(layer)
        i += 1
    return steps
