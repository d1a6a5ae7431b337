"""Pure array functions of the engine: padding, im2col, convolution and pooling.

Everything here works on NHWC arrays (``(batch, height, width, channels)``), keeps no
state and allocates its outputs; the stateful layers in :mod:`scratchcnn.layers` call
these. Convolutions are cross-correlations, as in every deep-learning library:

    y[n, i, j, o] = sum_{a, b, c} x[n, i*s + a, j*s + b, c] * w[a, b, c, o] + bias[o]

They are computed by gathering every receptive field into one row of a matrix (im2col,
from a strided view of the input, so the gather is a single copy) and contracting that
matrix with the kernel in one BLAS matrix product. Backward, the weight gradient is one
product of the saved patch matrix with the output gradient, and the input gradient one
product per kernel offset, each added into a shifted window of ``dx`` (col2im): that
reads the output gradient as it lies, where the equivalent convolution with the flipped
kernel first copies a dilated, padded gradient ``kh*kw`` times (measured 1.3-20x slower
at batch 128 on one thread, as fast at batch 1).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import as_strided

Padding = int | tuple[int, int] | Literal["same", "valid"]
# (top, bottom, left, right)
Pads = tuple[int, int, int, int]


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int) -> int:
    """Output length of a window of ``kernel`` sliding by ``stride`` over a padded axis."""
    return (size + pad_before + pad_after - kernel) // stride + 1


def resolve_padding(
    padding: Padding, kernel: tuple[int, int], stride: tuple[int, int], size: tuple[int, int]
) -> Pads:
    """Turn a padding spec into explicit ``(top, bottom, left, right)`` zero padding.

    ``"same"`` follows TensorFlow: the output has ``ceil(size / stride)`` positions and an
    odd total padding puts the extra row/column at the bottom/right. ``"valid"`` is 0.
    """
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        pads = []
        for k, s, n in zip(kernel, stride, size):
            out = math.ceil(n / s)
            total = max((out - 1) * s + k - n, 0)
            pads += [total // 2, total - total // 2]
        return (pads[0], pads[1], pads[2], pads[3])
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    ph, pw = padding
    return (ph, ph, pw, pw)


def pad_nhwc(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Zero-pad the height and width axes; returns ``x`` itself when there is no padding."""
    top, bottom, left, right = pads
    if top == bottom == left == right == 0:
        return x
    n, h, w, c = x.shape
    out = np.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
    out[:, top : top + h, left : left + w, :] = x
    return out


def strided_view(x: np.ndarray, shape: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """A read-only view of ``x``'s memory with the given ``shape`` and byte ``strides``.

    Like :func:`numpy.lib.stride_tricks.as_strided`, which this falls back on for a
    non-contiguous ``x``; building the view directly on a contiguous ``x`` takes a tenth of
    the time, which counts when a whole training step lasts tens of microseconds.
    """
    if x.flags.c_contiguous:
        view = np.ndarray(shape, x.dtype, x, 0, strides)
        view.flags.writeable = False
        return view
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def window_view(x: np.ndarray, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
    """A read-only strided view ``(N, OH, OW, kh, kw, C)`` of every window of ``x``.

    ``view[n, i, j, a, b, c] == x[n, i*sh + a, j*sw + b, c]``; no data is copied.
    """
    n, h, w, c = x.shape
    oh = (h - kh) // sh + 1
    ow = (w - kw) // sw + 1
    s0, s1, s2, s3 = x.strides
    return strided_view(x, (n, oh, ow, kh, kw, c), (s0, s1 * sh, s2 * sw, s1, s2, s3))


Workspace = dict[str, np.ndarray]


def scratch_buffer(
    workspace: Workspace | None, key: str, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """An uninitialised array, kept in ``workspace`` and reused while the shape holds.

    Large im2col matrices are rebuilt every step; writing into the same memory each time
    avoids the cost of the operating system handing out (and zeroing) fresh pages.
    """
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    buffer = workspace.get(key)
    if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
        buffer = workspace[key] = np.empty(shape, dtype=dtype)
    return buffer


def column_sums(
    rows: np.ndarray, out: np.ndarray, workspace: Workspace | None = None
) -> np.ndarray:
    """``out[j] = sum_i rows[i, j]``, as the product ``ones @ rows``.

    For the tall, narrow matrices of bias gradients (one row per output position), BLAS
    runs this product about ten times faster than ``rows.sum(axis=0)``.
    """
    previous = workspace.get("ones") if workspace is not None else None
    ones = scratch_buffer(workspace, "ones", (rows.shape[0],), rows.dtype)
    if ones is not previous:
        ones[...] = 1
    return np.dot(ones, rows, out=out)


def im2col(
    x: np.ndarray,
    kh: int,
    kw: int,
    sh: int = 1,
    sw: int = 1,
    workspace: Workspace | None = None,
    key: str = "cols",
) -> np.ndarray:
    """Gather each ``kh x kw`` window of the (already padded) ``x`` into one row.

    Returns an ``(N, OH, OW, kh*kw*C)`` array whose last axis is ordered ``(a, b, c)``,
    matching a kernel of shape ``(kh, kw, C, out)`` reshaped to ``(kh*kw*C, out)``.

    With several channels, one copy of the strided window view does the gather. With a
    single channel that copy would move 1 value per inner step, so instead the copy goes
    offset-major: plane ``a*kw + b`` holds the image shifted by kernel offset ``(a, b)``
    (inner steps move whole output rows), and the result is a transposed (column-major)
    view of those planes, which BLAS reads as is.
    """
    n, h, w, c = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    if c != 1:
        cols = scratch_buffer(workspace, key, (n, oh, ow, kh * kw * c), x.dtype)
        np.copyto(cols.reshape(n, oh, ow, kh, kw, c), window_view(x, kh, kw, sh, sw))
        return cols
    planes = scratch_buffer(workspace, key, (kh * kw, n, oh, ow), x.dtype)
    s0, s1, s2, _ = x.strides
    shifted_images = strided_view(x, (kh, kw, n, oh, ow), (s1, s2, s0, s1 * sh, s2 * sw))
    np.copyto(planes.reshape(kh, kw, n, oh, ow), shifted_images)
    return planes.transpose(1, 2, 3, 0)


def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int] = (1, 1),
    pads: Pads = (0, 0, 0, 0),
    workspace: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Convolve ``x`` (N, H, W, Cin) with ``weight`` (kh, kw, Cin, Cout).

    Returns ``(y, cols)``: the output (N, OH, OW, Cout) and the patch matrix, which
    :func:`conv2d_backward_weight` needs. One matrix product: ``y = cols @ W + bias``.
    """
    kh, kw, _, cout = weight.shape
    cols = im2col(pad_nhwc(x, pads), kh, kw, *stride, workspace=workspace)
    n, oh, ow, k = cols.shape
    y = (cols.reshape(n * oh * ow, k) @ weight.reshape(k, cout)).reshape(n, oh, ow, cout)
    if bias is not None:
        y += bias
    return y, cols


def conv2d_backward_weight(
    cols: np.ndarray, grad_out: np.ndarray, weight_shape: tuple[int, ...]
) -> np.ndarray:
    """dL/dW = cols^T @ dL/dy, summed over every output position of every image."""
    k = cols.shape[-1]
    cout = grad_out.shape[-1]
    return (cols.reshape(-1, k).T @ grad_out.reshape(-1, cout)).reshape(weight_shape)


def conv2d_backward_input(
    grad_out: np.ndarray,
    weight: np.ndarray,
    input_hw: tuple[int, int],
    stride: tuple[int, int] = (1, 1),
    pads: Pads = (0, 0, 0, 0),
    workspace: Workspace | None = None,
) -> np.ndarray:
    """dL/dx as one matrix product per kernel offset, each added into its window (col2im).

    Output ``y[i, j]`` read ``x_pad[i*s + a, j*s + b]`` through ``w[a, b]``, so
    ``dx_pad[i*s + a, j*s + b] += dy[i, j] @ w[a, b]^T`` for every offset ``(a, b)``:
    ``kh*kw`` products ``(N*OH*OW, Cout) @ (Cout, Cin)`` into one contiguous buffer, each
    added to a strided window of ``dx``. Rows and columns that land in the padding are
    never written, so ``dx`` needs no padded copy. The batch goes through in chunks of
    about :data:`CHUNK_BYTES` of ``dx`` and products, so that the nine additions read and
    write memory the cache still holds; each sample's sums are the same either way (BLAS
    may round a shorter product differently if it picks another kernel for it).
    """
    cin = weight.shape[2]
    n, oh, ow, _ = grad_out.shape
    h, w = input_hw
    grad_in = np.empty((n, h, w, cin), dtype=grad_out.dtype)
    per_sample = (h * w + oh * ow) * cin * grad_out.itemsize
    chunk = max(1, min(n, CHUNK_BYTES // max(1, per_sample)))
    part = scratch_buffer(workspace, "offset_grad", (chunk * oh * ow, cin), grad_out.dtype)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        grad_in[start:stop] = 0  # zeroed here, where the additions find it in the cache
        add_offset_products(
            grad_out[start:stop], weight, grad_in[start:stop], stride, pads,
            part[: (stop - start) * oh * ow],
        )
    return grad_in


#: Bytes of input gradient and offset products that one chunk of conv2d_backward_input
#: works on: about what a core's L2 cache holds, with room for the kernel and the rest.
CHUNK_BYTES = 2 * 1024 * 1024


def add_offset_products(
    grad_out: np.ndarray,
    weight: np.ndarray,
    grad_in: np.ndarray,
    stride: tuple[int, int],
    pads: Pads,
    part: np.ndarray,
) -> None:
    """``grad_in[i*s + a - top, j*s + b - left] += grad_out[i, j] @ weight[a, b]^T`` for
    every offset ``(a, b)`` (the body of :func:`conv2d_backward_input`, for a batch or a
    chunk of one), through the buffer ``part`` of ``(N*OH*OW, Cin)``."""
    kh, kw, cin, _ = weight.shape
    n, oh, ow, cout = grad_out.shape
    h, w = grad_in.shape[1:3]
    top, _, left, _ = pads
    sh, sw = stride
    rows = grad_out.reshape(n * oh * ow, cout)
    windows = part.reshape(n, oh, ow, cin)
    for a in range(kh):
        i0, i1 = _index_range(oh, sh, a - top, h)
        if i0 == i1:
            continue
        y0 = i0 * sh + a - top
        for b in range(kw):
            j0, j1 = _index_range(ow, sw, b - left, w)
            if j0 == j1:
                continue
            x0 = j0 * sw + b - left
            np.dot(rows, weight[a, b].T, out=part)
            grad_in[
                :, y0 : y0 + (i1 - i0 - 1) * sh + 1 : sh, x0 : x0 + (j1 - j0 - 1) * sw + 1 : sw
            ] += windows[:, i0:i1, j0:j1]


def _index_range(count: int, stride: int, offset: int, size: int) -> tuple[int, int]:
    """The range ``[first, last)`` of ``i`` in ``[0, count)`` with ``0 <= i*stride + offset < size``."""
    first = max(0, -(offset // stride))
    last = min(count, (size - 1 - offset) // stride + 1)
    return first, max(first, last)


def max_pool2d_forward(
    x: np.ndarray, pool: tuple[int, int], stride: tuple[int, int]
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Max over each ``pool`` window moved by ``stride``; returns ``(y, route)``.

    ``route`` is what :func:`max_pool2d_backward` needs to send each window's gradient to
    the window's first maximum in row-major order. The common 2x2, stride-2 case runs as
    two pairwise maxima (rows, then columns) on whole arrays; other shapes take the max
    over the ``ph*pw`` offsets of a window, each offset one whole-array operation.
    """
    if pool == (2, 2) and stride == (2, 2):
        return _max_pool_2x2(x)
    y = None
    for a, b in np.ndindex(*pool):
        candidate = _pool_offset_view(x, a, b, pool, stride, x.shape)
        y = candidate.copy() if y is None else np.maximum(y, candidate, out=y)
    return y, (x, y)


def _pool_offset_view(
    x: np.ndarray,
    a: int,
    b: int,
    pool: tuple[int, int],
    stride: tuple[int, int],
    shape: tuple[int, ...],
) -> np.ndarray:
    """The value at offset ``(a, b)`` of every window: a strided view of ``x``."""
    (ph, pw), (sh, sw) = pool, stride
    oh = (shape[1] - ph) // sh + 1
    ow = (shape[2] - pw) // sw + 1
    return x[:, a : a + (oh - 1) * sh + 1 : sh, b : b + (ow - 1) * sw + 1 : sw]


def _max_pool_2x2(x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """2x2 max pooling as a max of column pairs, then of row pairs.

    Window ``[[p, q], [r, s]]``: ``top = max(p, q)``, ``bottom = max(r, s)`` (``right``
    records ``q > p`` and ``s > r``), then ``y = max(top, bottom)`` (``from_bottom``
    records ``bottom > top``). Strict comparisons keep the earlier value on ties, so the
    route leads to the first maximum in row-major order.
    """
    oh, ow = x.shape[1] // 2, x.shape[2] // 2
    x = x[:, : 2 * oh, : 2 * ow]
    left, right_values = x[:, :, 0::2], x[:, :, 1::2]
    right = np.greater(right_values, left)
    row_max = np.maximum(left, right_values)
    top, bottom = row_max[:, 0::2], row_max[:, 1::2]
    from_bottom = np.greater(bottom, top)
    return np.maximum(top, bottom), (right, from_bottom)


def max_pool2d_backward(
    grad_out: np.ndarray,
    route: tuple[np.ndarray, ...],
    input_shape: tuple[int, ...],
    pool: tuple[int, int],
    stride: tuple[int, int],
) -> np.ndarray:
    """Route each window's gradient to its first maximum in row-major order.

    This is a subgradient of the max, as in PyTorch: a window with tied maxima passes its
    gradient once, to the first of them. Overlapping windows (stride < pool) add up.
    """
    if pool == (2, 2) and stride == (2, 2):
        return _max_pool_2x2_backward(grad_out, route, input_shape)
    x, y = route
    grad_in = np.zeros(input_shape, dtype=grad_out.dtype)
    unclaimed = np.ones(y.shape, dtype=bool)
    for a, b in np.ndindex(*pool):
        is_first_max = (_pool_offset_view(x, a, b, pool, stride, input_shape) == y) & unclaimed
        unclaimed &= ~is_first_max
        _pool_offset_view(grad_in, a, b, pool, stride, input_shape)[...] += grad_out * is_first_max
    return grad_in


def _max_pool_2x2_backward(
    grad_out: np.ndarray, route: tuple[np.ndarray, ...], input_shape: tuple[int, ...]
) -> np.ndarray:
    """Undo :func:`_max_pool_2x2`'s two steps: rows first, then columns."""
    right, from_bottom = route
    n, oh, ow, c = grad_out.shape
    h, w = input_shape[1:3]
    row_grad = np.empty((n, 2 * oh, ow, c), dtype=grad_out.dtype)
    np.multiply(grad_out, ~from_bottom, out=row_grad[:, 0::2])
    np.multiply(grad_out, from_bottom, out=row_grad[:, 1::2])
    odd = h != 2 * oh or w != 2 * ow
    grad_in = (np.zeros if odd else np.empty)(input_shape, dtype=grad_out.dtype)
    np.multiply(row_grad, ~right, out=grad_in[:, : 2 * oh, 0 : 2 * ow : 2])
    np.multiply(row_grad, right, out=grad_in[:, : 2 * oh, 1 : 2 * ow : 2])
    return grad_in


def max_pool2d_backward_all_ties(
    grad_out: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    pool: tuple[int, int],
    stride: tuple[int, int],
) -> np.ndarray:
    """Give each window's gradient to *every* position equal to the window's maximum.

    This is the rule of the original notebook (``if im_region[...] == amax: ...``). It is
    not a true subgradient (a window with ``t`` tied maxima passes ``t`` copies of its
    gradient), but :mod:`scratchcnn.classic` needs it to reproduce the notebook exactly.
    Windows must not overlap.
    """
    grad_in = np.zeros(x.shape, dtype=grad_out.dtype)
    for a, b in np.ndindex(*pool):
        target = _pool_offset_view(grad_in, a, b, pool, stride, x.shape)
        is_max = _pool_offset_view(x, a, b, pool, stride, x.shape) == y
        np.multiply(grad_out, is_max, out=target)
    return grad_in
