"""Pure array functions of the engine: padding, im2col, convolution and pooling.

Everything here works on NHWC arrays (``(batch, height, width, channels)``), keeps no
state and allocates its outputs; the stateful layers in :mod:`scratchcnn.layers` call
these. Convolutions are cross-correlations, as in every deep-learning library:

    y[n, i, j, o] = sum_{a, b, c} x[n, i*s + a, j*s + b, c] * w[a, b, c, o] + bias[o]

They are computed by gathering every receptive field into one row of a matrix (im2col,
from a strided view of the input, so the gather is a single copy) and contracting that
matrix with the kernel in one BLAS matrix product. Backward passes reuse the same trick:
the weight gradient is one product of the saved patch matrix with the output gradient, and
the input gradient is itself a convolution of the (dilated, padded) output gradient with
the flipped kernel, not a scatter.
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


def window_view(x: np.ndarray, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
    """A read-only strided view ``(N, OH, OW, kh, kw, C)`` of every window of ``x``.

    ``view[n, i, j, a, b, c] == x[n, i*sh + a, j*sw + b, c]``; no data is copied.
    """
    n, h, w, c = x.shape
    oh = (h - kh) // sh + 1
    ow = (w - kw) // sw + 1
    s0, s1, s2, s3 = x.strides
    return as_strided(
        x,
        shape=(n, oh, ow, kh, kw, c),
        strides=(s0, s1 * sh, s2 * sw, s1, s2, s3),
        writeable=False,
    )


def im2col(x: np.ndarray, kh: int, kw: int, sh: int = 1, sw: int = 1) -> np.ndarray:
    """Gather each ``kh x kw`` window of the (already padded) ``x`` into one row.

    Returns a C-contiguous ``(N, OH, OW, kh*kw*C)`` array whose last axis is ordered
    ``(a, b, c)``, matching a kernel of shape ``(kh, kw, C, out)`` reshaped to
    ``(kh*kw*C, out)``.
    """
    windows = window_view(x, kh, kw, sh, sw)
    n, oh, ow = windows.shape[:3]
    return windows.reshape(n, oh, ow, kh * kw * x.shape[3])


def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int] = (1, 1),
    pads: Pads = (0, 0, 0, 0),
) -> tuple[np.ndarray, np.ndarray]:
    """Convolve ``x`` (N, H, W, Cin) with ``weight`` (kh, kw, Cin, Cout).

    Returns ``(y, cols)``: the output (N, OH, OW, Cout) and the patch matrix, which
    :func:`conv2d_backward_weight` needs. One matrix product: ``y = cols @ W + bias``.
    """
    kh, kw, cin, cout = weight.shape
    cols = im2col(pad_nhwc(x, pads), kh, kw, *stride)
    y = cols @ weight.reshape(kh * kw * cin, cout)
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
) -> np.ndarray:
    """dL/dx as a convolution of the output gradient with the flipped kernel.

    Each input pixel ``x[p]`` (padded coordinate ``p + pad``) received ``w[k]`` from every
    output ``y[i]`` with ``i*s + k = p + pad``. Placing ``dy[i]`` at ``i*s + kh-1-pad`` of a
    zero array (dilation by the stride plus padding) turns that sum into a stride-1
    correlation with the kernel flipped in space and transposed in channels:
    ``dx[p] = sum_k' G[p + k'] * w[kh-1-k']``.
    """
    kh, kw, cin, cout = weight.shape
    _n, _oh, _ow, _ = grad_out.shape
    h, w = input_hw
    sh, sw = stride
    top, _, left, _ = pads
    spread = _spread_gradient(
        grad_out, (h + kh - 1, w + kw - 1), (sh, sw), (kh - 1 - top, kw - 1 - left)
    )
    flipped = weight[::-1, ::-1].transpose(0, 1, 3, 2)
    cols = im2col(spread, kh, kw)
    return cols @ np.ascontiguousarray(flipped).reshape(kh * kw * cout, cin)


def _spread_gradient(
    grad_out: np.ndarray, size: tuple[int, int], stride: tuple[int, int], offset: tuple[int, int]
) -> np.ndarray:
    """Zero array of ``size`` with ``grad_out[i, j]`` at ``(i*sh + oy, j*sw + ox)``.

    Rows or columns that land outside (windows lying wholly in the padding) are dropped.
    With stride 1 this is plain zero padding.
    """
    n, oh, ow, c = grad_out.shape
    (H, W), (sh, sw), (oy, ox) = size, stride, offset
    if (sh, sw) == (1, 1) and oy >= 0 and ox >= 0 and oy + oh <= H and ox + ow <= W:
        return pad_nhwc(grad_out, (oy, H - oy - oh, ox, W - ox - ow))
    i0, i1 = _index_range(oh, sh, oy, H)
    j0, j1 = _index_range(ow, sw, ox, W)
    out = np.zeros((n, H, W, c), dtype=grad_out.dtype)
    out[
        :, i0 * sh + oy : (i1 - 1) * sh + oy + 1 : sh, j0 * sw + ox : (j1 - 1) * sw + ox + 1 : sw
    ] = grad_out[:, i0:i1, j0:j1]
    return out


def _index_range(count: int, stride: int, offset: int, size: int) -> tuple[int, int]:
    """The range ``[first, last)`` of ``i`` in ``[0, count)`` with ``0 <= i*stride + offset < size``."""
    first = max(0, -(offset // stride))
    last = min(count, (size - 1 - offset) // stride + 1)
    return first, max(first, last)


def max_pool2d_forward(
    x: np.ndarray, pool: tuple[int, int], stride: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Max over each ``pool`` window; returns ``(y, argmax)``.

    ``argmax[n, i, j, c]`` is the flat index ``a*pw + b`` of the first maximum of the
    window (row-major order), which the backward pass routes the gradient to. The loop runs
    over the ``ph*pw`` offsets of a window (4 for 2x2), each step a whole-array operation.
    """
    ph, pw = pool
    sh, sw = stride
    _n, h, w, _c = x.shape
    oh = (h - ph) // sh + 1
    ow = (w - pw) // sw + 1
    y = x[:, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw].copy()
    argmax = np.zeros(y.shape, dtype=np.int8 if ph * pw < 128 else np.int32)
    for k in range(1, ph * pw):
        a, b = divmod(k, pw)
        candidate = x[:, a : a + (oh - 1) * sh + 1 : sh, b : b + (ow - 1) * sw + 1 : sw]
        greater = candidate > y
        np.copyto(y, candidate, where=greater)
        np.copyto(argmax, k, where=greater)
    return y, argmax


def max_pool2d_backward(
    grad_out: np.ndarray,
    argmax: np.ndarray,
    input_shape: tuple[int, ...],
    pool: tuple[int, int],
    stride: tuple[int, int],
) -> np.ndarray:
    """Route each window's gradient to the position of its first maximum (a subgradient).

    Ties go to the first maximum in row-major order, as in PyTorch, so the gradient of a
    window is never counted twice. Overlapping windows (stride < pool) add up.
    """
    ph, pw = pool
    sh, sw = stride
    _, oh, ow, _ = grad_out.shape
    grad_in = np.zeros(input_shape, dtype=grad_out.dtype)
    overlapping = sh < ph or sw < pw
    for k in range(ph * pw):
        a, b = divmod(k, pw)
        target = grad_in[:, a : a + (oh - 1) * sh + 1 : sh, b : b + (ow - 1) * sw + 1 : sw]
        if overlapping:
            target += np.where(argmax == k, grad_out, 0)
        else:
            np.copyto(target, grad_out, where=argmax == k)
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
    ph, pw = pool
    sh, sw = stride
    _, oh, ow, _ = grad_out.shape
    grad_in = np.zeros(x.shape, dtype=grad_out.dtype)
    for k in range(ph * pw):
        a, b = divmod(k, pw)
        rows = slice(a, a + (oh - 1) * sh + 1, sh)
        cols = slice(b, b + (ow - 1) * sw + 1, sw)
        np.copyto(grad_in[:, rows, cols], grad_out, where=x[:, rows, cols] == y)
    return grad_in
