"""Forward outputs and gradients agree with PyTorch (float32, relative error < 1e-4).

PyTorch is an independent reference, never a dependency: these tests skip where it is
not installed (CI installs it).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchcnn import functional as F
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, MaxPool2D, ReLU
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.model import Sequential

torch = pytest.importorskip("torch", reason="PyTorch is not installed; `pip install torch==2.13.0`")

# Both sides compute in float32 with sums of at most n ~ 600 products (a weight gradient
# over 4 x 12 x 12 positions). Rounding differences of such sums are typically
# sqrt(n) * u ~ 1.5e-6 relative (u = 2**-24), whatever the BLAS kernel or oneDNN path;
# the worst case over all summation orders, 2 * gamma(n) * || |W| |x| || / ||W x||, is
# about 1e-3 for Gaussian data. 1e-4 sits between the two: 60 times the typical difference
# and far below the O(1) error of a wrong formula. (tests/tolerances.py has the bounds.)
TOLERANCE = 1e-4
SETTINGS = settings(max_examples=30, deadline=None)


def rel(ours: np.ndarray, theirs: torch.Tensor, nchw: bool = False, terms=None) -> float:
    """Relative error ``|ours - theirs| / |theirs|``; NCHW tensors are compared as NHWC.

    For a gradient that sums many terms (a bias or weight gradient sums over the batch and
    the positions), pass ``terms``, the sums of the terms' absolute values (same shape):
    float32 sums are off by up to gamma(n) * sum|terms| however much the terms cancel
    (see tolerances.py), so the error is measured against that when it is the larger.
    """
    ref = theirs.detach().numpy()
    if nchw:
        ref = ref.transpose(0, 2, 3, 1)
    scale = np.linalg.norm(ref)
    if terms is not None:
        scale = max(scale, float(np.linalg.norm(np.asarray(terms, dtype=np.float64))))
    return float(np.linalg.norm(ours - ref) / max(scale, 1e-30))


def conv_weight_terms(padded: torch.Tensor, grad: np.ndarray, weight_shape, stride) -> np.ndarray:
    """Per weight, the sum of |input| * |output gradient| over the batch and positions,
    (kh, kw, Cin, Cout) like our weights; ``grad`` is NHWC."""
    sums = torch.nn.grad.conv2d_weight(
        padded.detach().abs(),
        weight_shape,
        torch.tensor(np.abs(grad)).permute(0, 3, 1, 2),
        stride=stride,
    )
    return sums.permute(2, 3, 1, 0).numpy()


def to_nchw(x: np.ndarray, grad: bool = True) -> torch.Tensor:
    return torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=grad)


@SETTINGS
@given(
    batch=st.integers(1, 4),
    h=st.integers(3, 12),
    w=st.integers(3, 12),
    cin=st.integers(1, 5),
    cout=st.integers(1, 6),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.one_of(st.just("same"), st.integers(0, 2)),
    seed=st.integers(0, 2**16),
)
def test_conv2d_matches_torch(batch, h, w, cin, cout, k, stride, padding, seed):
    rng = np.random.default_rng(seed)
    layer = Conv2D(cin, cout, k, stride, padding, rng=rng)
    layer.params["bias"][...] = rng.standard_normal(cout)
    x = rng.standard_normal((batch, h, w, cin)).astype(np.float32)
    y = layer.forward(x)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(g)

    xt = to_nchw(x)
    wt = torch.tensor(layer.params["weight"].transpose(3, 2, 0, 1).copy(), requires_grad=True)
    bt = torch.tensor(layer.params["bias"].copy(), requires_grad=True)
    top, bottom, left, right = F.resolve_padding(padding, (k, k), (stride, stride), (h, w))
    padded = torch.nn.functional.pad(xt, (left, right, top, bottom))
    yt = torch.nn.functional.conv2d(padded, wt, bt, stride=stride)
    yt.backward(to_nchw(g, grad=False))

    assert rel(y, yt, nchw=True) < TOLERANCE
    assert rel(dx, xt.grad, nchw=True) < TOLERANCE
    weight_terms = conv_weight_terms(padded, g, wt.shape, stride)
    assert rel(layer.grads["weight"], wt.grad.permute(2, 3, 1, 0), terms=weight_terms) < TOLERANCE
    assert rel(layer.grads["bias"], bt.grad, terms=np.abs(g).sum(axis=(0, 1, 2))) < TOLERANCE


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_same_padding_matches_torch_same_for_stride_one():
    rng = np.random.default_rng(0)
    for k in (1, 2, 3, 4, 5):
        layer = Conv2D(2, 3, k, padding="same", rng=rng)
        x = rng.standard_normal((2, 7, 8, 2)).astype(np.float32)
        wt = torch.tensor(layer.params["weight"].transpose(3, 2, 0, 1).copy())
        yt = torch.nn.functional.conv2d(
            to_nchw(x, grad=False), wt, torch.tensor(layer.params["bias"]), padding="same"
        )
        assert rel(layer.forward(x), yt, nchw=True) < TOLERANCE, k


@SETTINGS
@given(
    batch=st.integers(1, 4),
    pool=st.integers(1, 3),
    stride=st.integers(1, 3),
    h=st.integers(3, 12),
    w=st.integers(3, 12),
    c=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_maxpool2d_matches_torch(batch, pool, stride, h, w, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, h, w, c)).astype(np.float32)
    layer = MaxPool2D(pool, stride)
    y = layer.forward(x)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(g)
    xt = to_nchw(x)
    yt = torch.nn.functional.max_pool2d(xt, pool, stride)
    yt.backward(to_nchw(g, grad=False))
    assert rel(y, yt, nchw=True) < TOLERANCE
    assert rel(dx, xt.grad, nchw=True) < TOLERANCE


def test_maxpool2d_ties_go_to_the_first_maximum_like_torch():
    x = np.zeros((1, 4, 4, 1), dtype=np.float32)  # every window is one big tie
    layer = MaxPool2D(2)
    layer.forward(x)
    dx = layer.backward(np.ones((1, 2, 2, 1), dtype=np.float32))
    xt = to_nchw(x)
    torch.nn.functional.max_pool2d(xt, 2).sum().backward()
    np.testing.assert_array_equal(dx, xt.grad.numpy().transpose(0, 2, 3, 1))
    assert dx.sum() == 4  # one unit of gradient per window, not one per tied position


@SETTINGS
@given(st.integers(1, 16), st.integers(1, 40), st.integers(1, 20), st.integers(0, 2**16))
def test_dense_matches_torch(batch, fin, fout, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(fin, fout, rng=rng)
    layer.params["bias"][...] = rng.standard_normal(fout)
    x = rng.standard_normal((batch, fin)).astype(np.float32)
    y = layer.forward(x)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    lin = torch.nn.Linear(fin, fout)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(layer.params["weight"].T.copy()))
        lin.bias.copy_(torch.tensor(layer.params["bias"]))
    yt = lin(xt)
    yt.backward(torch.tensor(g))
    assert rel(y, yt) < TOLERANCE
    assert rel(dx, xt.grad) < TOLERANCE
    weight_terms = np.abs(x).T @ np.abs(g)
    assert rel(layer.grads["weight"], lin.weight.grad.T, terms=weight_terms) < TOLERANCE
    assert rel(layer.grads["bias"], lin.bias.grad, terms=np.abs(g).sum(axis=0)) < TOLERANCE


@SETTINGS
@given(
    batch=st.integers(2, 8),
    h=st.integers(2, 9),  # >= 4 values per channel; with 2 the input gradient is pure rounding
    w=st.integers(1, 9),
    c=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_batchnorm2d_matches_torch(batch, h, w, c, seed):
    rng = np.random.default_rng(seed)
    layer = BatchNorm2D(c, momentum=0.1)
    layer.params["weight"][...] = rng.uniform(0.5, 1.5, c)
    layer.params["bias"][...] = rng.standard_normal(c)
    x = (rng.standard_normal((batch, h, w, c)) * 2 + 3).astype(np.float32)
    y = layer.forward(x, training=True)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(g)

    bn = torch.nn.BatchNorm2d(c, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(layer.params["weight"]))
        bn.bias.copy_(torch.tensor(layer.params["bias"]))
    bn.train()
    xt = to_nchw(x)
    yt = bn(xt)
    yt.backward(to_nchw(g, grad=False))
    assert rel(y, yt, nchw=True) < TOLERANCE
    assert rel(dx, xt.grad, nchw=True) < TOLERANCE
    x64 = x.astype(np.float64)
    normalised = (x64 - x64.mean(axis=(0, 1, 2))) / np.sqrt(x64.var(axis=(0, 1, 2)) + 1e-5)
    weight_terms = np.abs(g * normalised).sum(axis=(0, 1, 2))
    assert rel(layer.grads["weight"], bn.weight.grad, terms=weight_terms) < TOLERANCE
    assert rel(layer.grads["bias"], bn.bias.grad, terms=np.abs(g).sum(axis=(0, 1, 2))) < TOLERANCE
    assert rel(layer.buffers["running_mean"], bn.running_mean) < TOLERANCE
    assert rel(layer.buffers["running_var"], bn.running_var) < TOLERANCE

    bn.eval()
    x2 = rng.standard_normal((2, h, w, c)).astype(np.float32)
    y2 = layer.forward(x2, training=False)
    g2 = rng.standard_normal(y2.shape).astype(np.float32)
    dx2 = layer.backward(g2)
    bn.zero_grad()
    x2t = to_nchw(x2)
    y2t = bn(x2t)
    y2t.backward(to_nchw(g2, grad=False))
    assert rel(y2, y2t, nchw=True) < TOLERANCE
    assert rel(dx2, x2t.grad, nchw=True) < TOLERANCE
    running_mean, running_var = layer.buffers["running_mean"], layer.buffers["running_var"]
    normalised2 = (x2.astype(np.float64) - running_mean) / np.sqrt(running_var + 1e-5)
    weight_terms = np.abs(g2 * normalised2).sum(axis=(0, 1, 2))
    assert rel(layer.grads["weight"], bn.weight.grad, terms=weight_terms) < TOLERANCE
    assert rel(layer.grads["bias"], bn.bias.grad, terms=np.abs(g2).sum(axis=(0, 1, 2))) < TOLERANCE


@SETTINGS
@given(
    st.integers(1, 64),
    st.integers(2, 12),
    st.floats(0.1, 30.0),
    st.floats(0.0, 0.2),
    st.integers(0, 2**16),
)
def test_softmax_cross_entropy_matches_torch(batch, classes, scale, smoothing, seed):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((batch, classes)) * scale).astype(np.float32)
    labels = rng.integers(0, classes, batch)
    loss, grad = softmax_cross_entropy(logits, labels, smoothing)
    lt = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(lt, torch.tensor(labels), label_smoothing=smoothing)
    ref.backward()
    assert abs(loss - ref.item()) <= TOLERANCE * max(abs(ref.item()), 1e-3)
    assert rel(grad, lt.grad) < TOLERANCE


@SETTINGS
@given(
    batch=st.integers(1, 4),
    h=st.integers(4, 13),
    cin=st.integers(1, 4),
    cout=st.integers(1, 6),
    stride=st.integers(1, 2),
    padding=st.sampled_from(["same", 0, 1]),
    seed=st.integers(0, 2**16),
)
def test_fused_conv_relu_pool_matches_torch(batch, h, cin, cout, stride, padding, seed):
    rng = np.random.default_rng(seed)
    conv = Conv2D(cin, cout, 3, stride, padding, rng=rng)
    conv.params["bias"][...] = rng.standard_normal(cout)
    model = Sequential([conv, ReLU(), MaxPool2D(2)], input_grad=True)
    x = rng.standard_normal((batch, h, h, cin)).astype(np.float32)
    top, bottom, left, right = F.resolve_padding(padding, (3, 3), (stride, stride), (h, h))
    if (h + top + bottom - 3) // stride + 1 < 2:
        return
    y = model.forward(x, training=True)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = model.backward(g)

    xt = to_nchw(x)
    wt = torch.tensor(conv.params["weight"].transpose(3, 2, 0, 1).copy(), requires_grad=True)
    bt = torch.tensor(conv.params["bias"].copy(), requires_grad=True)
    padded = torch.nn.functional.pad(xt, (left, right, top, bottom))
    conv_out = torch.nn.functional.conv2d(padded, wt, bt, stride=stride)
    conv_out.retain_grad()
    yt = torch.nn.functional.max_pool2d(torch.relu(conv_out), 2)
    yt.backward(to_nchw(g, grad=False))

    assert rel(y, yt, nchw=True) < TOLERANCE
    assert rel(dx, xt.grad, nchw=True) < TOLERANCE
    routed = conv_out.grad.permute(0, 2, 3, 1).numpy()  # what reaches the convolution
    weight_terms = conv_weight_terms(padded, routed, wt.shape, stride)
    assert rel(conv.grads["weight"], wt.grad.permute(2, 3, 1, 0), terms=weight_terms) < TOLERANCE
    assert rel(conv.grads["bias"], bt.grad, terms=np.abs(routed).sum(axis=(0, 1, 2))) < TOLERANCE
