"""The pure array functions against plain-loop references written from the definitions."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import gamma

from scratchcnn import functional as F


def conv2d_loops(x, w, b, stride, pads):
    """y[n,i,j,o] = b[o] + sum_{a,b,c} xpad[n, i*s+a, j*s+b, c] * w[a,b,c,o], by loops."""
    top, bottom, left, right = pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw, _, cout = w.shape
    sh, sw = stride
    oh = (xp.shape[1] - kh) // sh + 1
    ow = (xp.shape[2] - kw) // sw + 1
    y = np.zeros((x.shape[0], oh, ow, cout))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                patch = xp[n, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
                for o in range(cout):
                    y[n, i, j, o] = np.sum(patch * w[:, :, :, o]) + b[o]
    return y


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "pads"),
    [
        ((2, 7, 6, 3), (3, 3), (1, 1), (0, 0, 0, 0)),
        ((1, 8, 9, 2), (3, 2), (2, 3), (1, 2, 0, 1)),
        ((3, 5, 5, 1), (5, 5), (1, 1), (2, 2, 2, 2)),
        ((2, 6, 7, 2), (1, 1), (2, 2), (0, 0, 0, 0)),
        # Rows and columns of outputs that lie wholly in the padding.
        ((2, 5, 4, 2), (1, 1), (1, 1), (2, 2, 1, 1)),
        # Stride larger than the kernel (inputs no window reads) and uneven padding.
        ((1, 9, 8, 3), (2, 3), (3, 4), (2, 0, 1, 2)),
    ],
)
def test_conv2d_forward_and_input_gradient_match_loops(shape, kernel, stride, pads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((*kernel, shape[3], 4))
    b = rng.standard_normal(4)
    y, cols = F.conv2d_forward(x, w, b, stride, pads)
    np.testing.assert_allclose(y, conv2d_loops(x, w, b, stride, pads), rtol=1e-12, atol=1e-12)

    # The input gradient is the transpose of the forward map: <conv(x), g> = <x, conv^T(g)>.
    g = rng.standard_normal(y.shape)
    dx = F.conv2d_backward_input(g, w, shape[1:3], stride, pads)
    basis_check = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = 1.0
        basis_check[idx] = np.sum(conv2d_loops(e, w, np.zeros(4), stride, pads) * g)
    np.testing.assert_allclose(dx, basis_check, rtol=1e-10, atol=1e-12)

    dw = F.conv2d_backward_weight(cols, g, w.shape)
    dw_loops = np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        e = np.zeros_like(w)
        e[idx] = 1.0
        dw_loops[idx] = np.sum(conv2d_loops(x, e, np.zeros(4), stride, pads) * g)
    np.testing.assert_allclose(dw, dw_loops, rtol=1e-10, atol=1e-12)


def test_im2col_is_one_row_per_window():
    x = np.arange(2 * 4 * 5 * 3, dtype=np.float64).reshape(2, 4, 5, 3)
    cols = F.im2col(x, 2, 3, 2, 1)
    assert cols.shape == (2, 2, 3, 2 * 3 * 3)
    np.testing.assert_array_equal(cols[1, 1, 2], x[1, 2:4, 2:5, :].reshape(-1))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("contiguous", [True, False])
def test_im2col_matches_windows_for_any_memory_layout(channels, contiguous):
    # A transposed array is not C-contiguous, so the views take the as_strided path.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 7, 6, channels))
    if not contiguous:
        x = np.ascontiguousarray(x.transpose(2, 1, 0, 3)).transpose(2, 1, 0, 3)
        assert not x.flags.c_contiguous
    cols = F.im2col(x, 3, 2, 2, 1)
    for n, i, j in np.ndindex(*cols.shape[:3]):
        window = x[n, 2 * i : 2 * i + 3, j : j + 2, :]
        np.testing.assert_array_equal(cols[n, i, j], window.reshape(-1))
    with pytest.raises(ValueError, match="read-only"):
        F.window_view(x, 3, 2, 2, 1)[0, 0, 0, 0, 0, 0] = 1.0


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        ((28, 28), (3, 3), (1, 1), (1, 1, 1, 1)),
        ((28, 28), (4, 4), (1, 1), (1, 2, 1, 2)),
        ((7, 8), (3, 3), (2, 2), (1, 1, 0, 1)),
        ((5, 5), (1, 1), (3, 3), (0, 0, 0, 0)),
    ],
)
def test_same_padding_gives_ceil_size_over_stride(size, kernel, stride, expected):
    pads = F.resolve_padding("same", kernel, stride, size)
    assert pads == expected
    for n, k, s, before, after in zip(size, kernel, stride, pads[::2], pads[1::2]):
        assert F.conv_output_size(n, k, s, before, after) == -(-n // s)


def test_max_pool_first_maximum_and_all_ties():
    x = np.array([[3.0, 3.0, 1.0, 2.0], [0.0, 3.0, 2.0, 0.5]]).reshape(1, 2, 4, 1)
    y, route = F.max_pool2d_forward(x, (2, 2), (2, 2))
    np.testing.assert_array_equal(y.ravel(), [3.0, 2.0])
    g = np.array([10.0, 20.0]).reshape(1, 1, 2, 1)
    first = F.max_pool2d_backward(g, route, x.shape, (2, 2), (2, 2))
    # The first of the three tied 3s gets the gradient.
    np.testing.assert_array_equal(first[0, :, :, 0], [[10, 0, 0, 20], [0, 0, 0, 0]])
    every = F.max_pool2d_backward_all_ties(g, x, y, (2, 2), (2, 2))
    np.testing.assert_array_equal(every[0, :, :, 0], [[10, 10, 0, 20], [0, 10, 20, 0]])


def test_overlapping_max_pool_adds_gradients():
    x = np.array([1.0, 5.0, 2.0, 0.0]).reshape(1, 1, 4, 1)
    y, route = F.max_pool2d_forward(x, (1, 2), (1, 1))
    np.testing.assert_array_equal(y.ravel(), [5.0, 5.0, 2.0])
    dx = F.max_pool2d_backward(np.ones_like(y), route, x.shape, (1, 2), (1, 1))
    np.testing.assert_array_equal(dx.ravel(), [0.0, 2.0, 1.0, 0.0])


@pytest.mark.parametrize("pool", [(2, 2), (3, 3), (2, 3)])
@pytest.mark.parametrize("shape", [(2, 6, 6, 3), (1, 7, 5, 2), (3, 4, 9, 1)])
def test_max_pool_routes_to_the_first_row_major_maximum_among_ties(pool, shape):
    """Small integer values make many ties; compare with a loop over windows."""
    rng = np.random.default_rng(sum(shape) + sum(pool))
    x = rng.integers(0, 3, shape).astype(np.float64)
    y, route = F.max_pool2d_forward(x, pool, pool)
    g = rng.standard_normal(y.shape)
    dx = F.max_pool2d_backward(g, route, x.shape, pool, pool)
    expected = np.zeros_like(x)
    ph, pw = pool
    for n, i, j, c in np.ndindex(*y.shape):
        window = x[n, i * ph : i * ph + ph, j * pw : j * pw + pw, c]
        assert y[n, i, j, c] == window.max()
        a, b = np.unravel_index(np.argmax(window), window.shape)  # first in row-major order
        expected[n, i * ph + a, j * pw + b, c] = g[n, i, j, c]
    np.testing.assert_array_equal(dx, expected)


def test_reused_buffers_stay_correct_when_the_dtype_changes():
    """A workspace filled in float32 must not leak stale values into a float64 call."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 3, 2, 3))
    workspace: dict = {}
    for dtype in (np.float32, np.float64, np.float32):
        g = rng.standard_normal((2, 5, 5, 3)).astype(dtype)
        if dtype == np.float64:
            # Poison whatever a reused buffer of this shape might hold.
            for buffer in workspace.values():
                buffer[...] = 1e6
        fresh = F.conv2d_backward_input(g, w.astype(dtype), (7, 7), (1, 1), (0, 0, 0, 0))
        reused = F.conv2d_backward_input(
            g, w.astype(dtype), (7, 7), (1, 1), (0, 0, 0, 0), workspace
        )
        np.testing.assert_array_equal(reused, fresh)


@pytest.mark.parametrize(
    ("stride", "padding"), [((1, 1), "valid"), ((2, 1), "same"), ((2, 2), "valid")]
)
def test_input_gradient_in_batch_chunks_equals_one_pass(monkeypatch, stride, padding):
    """conv2d_backward_input goes through the batch in chunks that fit the cache; each
    sample's sums are the same in any chunk. BLAS may still round the shorter products
    differently (another kernel for another row count), so the chunked result is held to
    the float32 bound of those sums: gamma(Cout + kh*kw) times the sum of |terms|."""
    rng = np.random.default_rng(7)
    x_shape, kernel = (11, 9, 8, 3), (3, 2, 3, 5)
    pads = F.resolve_padding(padding, kernel[:2], stride, x_shape[1:3])
    oh = F.conv_output_size(9, 3, stride[0], pads[0], pads[1])
    ow = F.conv_output_size(8, 2, stride[1], pads[2], pads[3])
    g = rng.standard_normal((11, oh, ow, 5)).astype(np.float32)
    w = rng.standard_normal(kernel).astype(np.float32)
    monkeypatch.setattr(F, "CHUNK_BYTES", 1 << 40)
    whole = F.conv2d_backward_input(g, w, (9, 8), stride, pads)
    terms = F.conv2d_backward_input(
        np.abs(g).astype(np.float64), np.abs(w).astype(np.float64), (9, 8), stride, pads
    )
    bound = 2 * gamma(5 + 3 * 2) * terms
    for chunk_bytes in (1, 3000, 10_000):  # one sample, a few, an uneven last chunk
        monkeypatch.setattr(F, "CHUNK_BYTES", chunk_bytes)
        workspace: F.Workspace = {}
        chunked = F.conv2d_backward_input(g, w, (9, 8), stride, pads, workspace)
        assert np.all(np.abs(chunked.astype(np.float64) - whole) <= bound)
        assert np.array_equal(chunked == 0, whole == 0)  # the padding is never written
