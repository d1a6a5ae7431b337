"""The classic layers against a transcription of the notebook's loops, bit for bit.

``NotebookConv3x3``, ``NotebookMaxPool2`` and ``NotebookSoftmax`` below are the notebook's
own classes, copied with only two changes: random numbers come from a ``RandomState``
passed in, and the conv layer keeps its filter gradient for inspection. Every comparison
uses ``np.array_equal``: the vectorised code must give the very same bits.
"""

from __future__ import annotations

import numpy as np
import pytest

from scratchcnn import classic, datasets

# --- the notebook's classes, transcribed -----------------------------------------------


class NotebookConv3x3:
    def __init__(self, num_filters, rng):
        self.num_filters = num_filters
        self.filters = rng.uniform(-1, 1, (num_filters, 3, 3))

    def iterate_regions(self, image):
        h, w = image.shape
        for i in range(h - 2):
            for j in range(w - 2):
                yield image[i : (i + 3), j : (j + 3)], i, j

    def forward(self, input):
        self.last_input = input
        h, w = input.shape
        output = np.zeros((h - 2, w - 2, self.num_filters))
        for im_region, i, j in self.iterate_regions(input):
            output[i, j] = np.sum(im_region * self.filters, axis=(1, 2))
        return output

    def backprop(self, d_L_d_out, learn_rate):
        d_L_d_filters = np.zeros(self.filters.shape)
        for im_region, i, j in self.iterate_regions(self.last_input):
            for f in range(self.num_filters):
                d_L_d_filters[f] += d_L_d_out[i, j, f] * im_region
        self.last_d_L_d_filters = d_L_d_filters
        self.filters -= learn_rate * d_L_d_filters
        return None


class NotebookMaxPool2:
    def iterate_regions(self, image):
        h, w, _ = image.shape
        for i in range(h // 2):
            for j in range(w // 2):
                yield image[(i * 2) : (i * 2 + 2), (j * 2) : (j * 2 + 2)], i, j

    def forward(self, input):
        self.last_input = input
        h, w, num_filters = input.shape
        output = np.zeros((h // 2, w // 2, num_filters))
        for im_region, i, j in self.iterate_regions(input):
            output[i, j] = np.amax(im_region, axis=(0, 1))
        return output

    def backprop(self, d_L_d_out):
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


class NotebookSoftmax:
    def __init__(self, input_len, nodes, rng):
        self.weights = rng.randn(input_len, nodes) / input_len
        self.biases = np.zeros(nodes)

    def forward(self, input):
        self.last_input_shape = input.shape
        input = input.flatten()
        self.last_input = input
        totals = np.dot(input, self.weights) + self.biases
        self.last_totals = totals
        exp = np.exp(totals)
        return exp / np.sum(exp, axis=0)

    def backprop(self, d_L_d_out, learn_rate):
        for i, gradient in enumerate(d_L_d_out):
            if gradient == 0:
                continue
            t_exp = np.exp(self.last_totals)
            S = np.sum(t_exp)
            d_out_d_t = -t_exp[i] * t_exp / (S**2)
            d_out_d_t[i] = t_exp[i] * (S - t_exp[i]) / (S**2)
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


def notebook_step(conv, pool, softmax, image, label, lr):
    """The notebook's ``train``; returns every intermediate for comparison."""
    a = conv.forward(image)
    b = pool.forward(a)
    out = softmax.forward(b)
    loss = -np.log(out[label])
    gradient = np.zeros(10)
    gradient[label] = -1 / out[label]
    g_soft = softmax.backprop(gradient, lr)
    g_pool = pool.backprop(g_soft)
    conv.backprop(g_pool, lr)
    return a, b, out, loss, g_soft, g_pool


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    """Real digits from the bundled sample: 250 training and 200 test images."""
    train_images, train_labels = datasets.load("mnist-sample", "train")
    test_images, test_labels = datasets.load("mnist-sample", "test")
    pick = np.random.default_rng(3).permutation(len(train_images))[:250]
    return train_images[pick], train_labels[pick], test_images[:200], test_labels[:200]


# --- the layers, step by step --------------------------------------------------------


def test_layers_match_the_notebook_loops_over_sgd_steps(sample):
    images, labels = sample[0][:6], sample[1][:6]
    ref_rng, rng = np.random.RandomState(114514), np.random.RandomState(114514)
    ref = (NotebookConv3x3(8, ref_rng), NotebookMaxPool2(), NotebookSoftmax(1352, 10, ref_rng))
    net = classic.ClassicCNN.create(rng)
    assert np.array_equal(net.conv.filters, ref[0].filters)
    assert np.array_equal(net.softmax.weights, ref[2].weights)
    lr = 0.05  # large, so that a wrong update would show at once
    for image, label in zip(classic.preprocess(images), labels):
        a, b, out, loss, g_soft, g_pool = notebook_step(*ref, image, label, lr)
        assert np.array_equal(net.conv.forward(image), a)
        assert np.array_equal(net.pool.forward(a), b)
        out_net = net.softmax.forward(b)
        assert np.array_equal(out_net, out)
        assert -np.log(out_net[label]) == loss
        gradient = np.zeros(10)
        gradient[label] = -1 / out[label]
        assert np.array_equal(net.softmax.backprop(gradient, lr), g_soft)
        assert np.array_equal(net.pool.backprop(g_soft), g_pool)
        taps = classic.conv3x3_taps(image[np.newaxis]).reshape(9, -1)
        grad = classic.conv3x3_filter_gradient(taps, g_pool.transpose(2, 0, 1).reshape(8, -1))
        assert np.array_equal(grad, ref[0].last_d_L_d_filters)
        net.conv.backprop(g_pool, lr)
        assert np.array_equal(net.conv.filters, ref[0].filters)
        assert np.array_equal(net.softmax.weights, ref[2].weights)
        assert np.array_equal(net.softmax.biases, ref[2].biases)


def test_fast_path_trains_and_evaluates_like_the_layers(sample):
    train_images, train_labels = sample[0][:40], sample[1][:40]
    test_images, test_labels = sample[2][:60], sample[3][:60]
    layers = classic.ClassicCNN.create(7)
    fast = classic.FastCNN(classic.ClassicCNN.create(7))
    prepared = classic.PreparedImages(train_images)
    x = classic.preprocess(train_images)
    for n in np.random.default_rng(0).permutation(len(x)):
        assert layers.train(x[n], train_labels[n], 0.02) == fast.train(
            prepared, n, train_labels[n], 0.02
        )
    assert np.array_equal(fast.network.conv.filters, layers.conv.filters)
    assert np.array_equal(fast.network.softmax.weights, layers.softmax.weights)
    assert np.array_equal(fast.network.softmax.biases, layers.softmax.biases)

    losses, correct = fast.evaluate(classic.PreparedImages(test_images), test_labels, chunk=16)
    for image, label, loss, ok in zip(
        classic.preprocess(test_images), test_labels, losses, correct
    ):
        _, expected_loss, expected_acc = layers.forward(image, label)
        assert loss == expected_loss
        assert ok == expected_acc


def test_fast_path_handles_odd_sizes_and_images_without_background():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (3, 9, 11), dtype=np.uint8)
    images[0, :4] = 0  # some background patches in the first image only
    labels = np.array([1, 0, 2])
    layers = classic.ClassicCNN.create(2, num_filters=3, image_shape=(9, 11), classes=3)
    fast = classic.FastCNN(
        classic.ClassicCNN.create(2, num_filters=3, image_shape=(9, 11), classes=3)
    )
    prepared = classic.PreparedImages(images)
    for n in [0, 1, 2, 1, 0]:
        image = classic.preprocess(images[n])
        assert layers.train(image, labels[n], 0.1) == fast.train(prepared, n, labels[n], 0.1)
    assert np.array_equal(fast.network.conv.filters, layers.conv.filters)
    losses, _ = fast.evaluate(classic.PreparedImages(images), labels)
    assert [float(v) for v in losses] == [
        float(layers.forward(classic.preprocess(im), lab)[1]) for im, lab in zip(images, labels)
    ]


# --- the exactness rules --------------------------------------------------------------


def test_sum_of_nine_is_numpys_order_for_a_3x3_block():
    # The notebook sums np.sum(im_region * filters, axis=(1, 2)); if NumPy ever changes its
    # pairwise summation, this fails and the reproduction needs revisiting.
    rng = np.random.default_rng(1)
    blocks = rng.standard_normal((2000, 8, 3, 3)) * 10.0 ** rng.integers(-4, 4, (2000, 8, 3, 3))
    expected = np.array([np.sum(b, axis=(1, 2)) for b in blocks])
    terms = blocks.reshape(2000, 8, 9).transpose(2, 0, 1)
    assert np.array_equal(classic.sum_of_nine(terms), expected)
    sequential = terms[0] + terms[1]
    for k in range(2, 9):
        sequential = sequential + terms[k]
    assert not np.array_equal(sequential, expected)  # so the order is really being tested


def test_filter_gradient_adds_positions_in_sequence():
    rng = np.random.default_rng(2)
    taps = rng.standard_normal((9, 300)) * 10.0 ** rng.integers(-4, 4, (9, 300))
    grad = rng.standard_normal((4, 300))
    expected = np.zeros((4, 9))
    for p in range(300):
        for f in range(4):
            expected[f] += grad[f, p] * taps[:, p]
    result = classic.conv3x3_filter_gradient(taps, grad).reshape(4, 9)
    assert np.array_equal(result, expected)
    assert not np.array_equal(result, (grad[:, None, :] * taps[None]).sum(axis=2))


def test_identical_patches_give_bit_identical_outputs():
    rng = np.random.default_rng(4)
    tile = rng.random((3, 3)) - 0.5
    image = np.tile(tile, (4, 4))  # 12x12: every patch at a multiple of 3 is the same
    conv = classic.Conv3x3(5, np.random.RandomState(0))
    conv.filters *= 10.0 ** rng.integers(-3, 3, (5, 3, 3))  # make rounding differences likely
    out = conv.forward(image)
    for r in range(3):
        for c in range(3):
            same = out[r::3, c::3].reshape(-1, 5)
            assert (same == same[0]).all()
    reference = NotebookConv3x3(5, np.random.RandomState(0))
    reference.filters = conv.filters.copy()
    assert np.array_equal(out, reference.forward(image))


def test_pooling_sends_the_gradient_to_every_tied_maximum():
    x = np.array(
        [
            [[1.0], [3.0], [2.0], [2.0]],
            [[3.0], [0.0], [2.0], [2.0]],
            [[5.0], [4.0], [7.0], [-1.0]],
            [[0.0], [5.0], [6.0], [7.0]],
        ]
    )
    pool = classic.MaxPool2()
    assert pool.forward(x)[..., 0].tolist() == [[3.0, 2.0], [5.0, 7.0]]
    grad = pool.backprop(np.array([[[10.0], [20.0]], [[30.0], [40.0]]]))[..., 0]
    assert grad.tolist() == [
        [0.0, 10.0, 20.0, 20.0],
        [10.0, 0.0, 20.0, 20.0],
        [30.0, 0.0, 40.0, 0.0],
        [0.0, 30.0, 0.0, 40.0],
    ]


def test_softmax_keeps_the_notebook_formula_and_survives_huge_logits():
    rng = np.random.RandomState(0)
    layer = classic.Softmax(4, 3, rng)
    x = np.array([0.3, -0.2, 0.5, 0.1])
    totals = np.dot(x, layer.weights) + layer.biases
    assert np.array_equal(layer.forward(x), np.exp(totals) / np.sum(np.exp(totals)))
    layer.weights[:] = [[900.0, 0.0, -900.0]] * 4  # exp(totals) overflows float64
    p = layer.forward(np.ones(4))
    assert np.isfinite(p).all() and np.isclose(p.sum(), 1.0) and p[0] == 1.0
    grad = layer.backprop(np.array([0.0, -5.0, 0.0]), 0.01)
    assert np.isfinite(grad).all() and np.isfinite(layer.weights).all()


def test_random_stream_follows_the_notebooks_order():
    rng = np.random.RandomState(114514)
    first = classic.ClassicCNN.create(rng)
    second = classic.ClassicCNN.create(rng)
    np_rng = np.random.RandomState(114514)
    assert np.array_equal(first.conv.filters, np_rng.uniform(-1, 1, (8, 3, 3)))
    assert np.array_equal(first.softmax.weights, np_rng.randn(1352, 10) / 1352)
    assert np.array_equal(second.conv.filters, np_rng.uniform(-1, 1, (8, 3, 3)))
    assert np.array_equal(second.softmax.weights, np_rng.randn(1352, 10) / 1352)


def test_as_random_state():
    rng = np.random.RandomState(1)
    assert classic.as_random_state(rng) is rng
    assert classic.as_random_state(5).randint(1000) == np.random.RandomState(5).randint(1000)
    assert isinstance(classic.as_random_state(None), np.random.RandomState)
    with pytest.raises(TypeError, match="RandomState"):
        classic.as_random_state(np.random.default_rng(0))


def notebook_report(train_images, train_labels, test_images, test_labels, seed, epochs, lr):
    """The notebook's two driver cells, with ``print`` collecting lines, on the layers."""
    text = classic.MESSAGES["en"]
    lines = []
    rng = np.random.RandomState(seed)
    net = classic.ClassicCNN.create(rng, 4)
    lines.append(text["ready"].format(dataset="MNIST"))
    loss = 0
    num_correct = 0
    for i, (im, label) in enumerate(zip(classic.preprocess(test_images), test_labels)):
        _, lo, acc = net.forward(im, label)
        loss += lo
        num_correct += acc
        if i % 100 == 99:
            lines.append(text["eval_step"] % (i + 1, loss / 100, num_correct))
            loss = 0
            num_correct = 0
    net = classic.ClassicCNN.create(rng, 4)
    lines.append(text["ready"].format(dataset="MNIST"))
    x_train = classic.preprocess(train_images)
    for epoch in range(epochs):
        lines.append(text["epoch"] % (epoch + 1))
        permutation = rng.permutation(len(x_train))
        x_train = x_train[permutation]
        train_labels = train_labels[permutation]
        loss = 0
        num_correct = 0
        for i, (im, label) in enumerate(zip(x_train, train_labels)):
            if i > 0 and i % 100 == 99:
                lines.append(text["train_step"] % (i + 1, loss / 100, num_correct))
                loss = 0
                num_correct = 0
            lo, acc = net.train(im, label, lr)
            loss += lo
            num_correct += acc
    lines.append(text["test"])
    loss = 0
    num_correct = 0
    for im, label in zip(classic.preprocess(test_images), test_labels):
        _, lo, acc = net.forward(im, label)
        loss += lo
        num_correct += acc
    num_tests = len(test_images)
    lines.append(f"{text['test_loss']} {loss / num_tests}")
    lines.append(f"{text['test_accuracy']} {num_correct / num_tests}")
    return lines


def test_run_classic_prints_what_the_notebook_procedure_prints(sample):
    config = classic.ClassicConfig(seed=9, epochs=2, lr=0.01, num_filters=4, lang="en")
    lines = list(classic.run_classic(*sample, config))
    assert lines == notebook_report(*sample, seed=9, epochs=2, lr=0.01)
    assert [line[:9] for line in lines[1:3]] == ["[Step 100", "[Step 200"]
    assert lines[5].startswith("[Step 100] ")  # reported before image 100 is trained
    assert len(lines) == 1 + 2 + 1 + 2 * (1 + 2) + 3
