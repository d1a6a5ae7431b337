"""The notebook's loops (scratchcnn.classic.notebook) against the fast path, bit for bit.

Every comparison uses ``np.array_equal``: :class:`FastCNN` must give the very same bits as
the loop-for-loop transcription of the notebook. That holds on every machine because
both make the same floating-point operations in the same order:

- elementwise IEEE arithmetic (the same on every CPU);
- NumPy's pairwise summation of nine contiguous float64 numbers (``np.sum`` over a 3x3
  block), which :func:`sum_of_nine` spells out; ``test_sum_of_nine_is_numpys_order``
  fails first if a NumPy release changes that order;
- the same BLAS call on the same vectors for the dense layer (``np.dot`` per image), so
  whatever kernel OpenBLAS picks for this CPU, both paths get its result.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest

from scratchcnn import classic, datasets
from scratchcnn.classic import notebook

BITS = (
    "the fast path must repeat the notebook's operations in the notebook's order; a "
    "difference here means a sum or product was regrouped (not a BLAS kernel effect: "
    "both paths make the same BLAS calls)"
)


@pytest.fixture(scope="module")
def sample():
    """Real digits from the bundled sample: 200 training and 100 test images."""
    train_images, train_labels = datasets.load("mnist-sample", "train")
    test_images, test_labels = datasets.load("mnist-sample", "test")
    pick = np.random.default_rng(3).permutation(len(train_images))[:200]
    return train_images[pick], train_labels[pick], test_images[:100], test_labels[:100]


def test_the_public_classes_are_the_notebook_loops():
    # The readable transcription does not lean on the fast path.
    tree = ast.parse(open(notebook.__file__, encoding="utf-8").read())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("scratchcnn") for name in imported), imported
    assert classic.Conv3x3 is notebook.Conv3x3 and classic.ClassicCNN is notebook.ClassicCNN


def test_fast_path_trains_and_evaluates_like_the_notebook_loops(sample):
    train_images, train_labels = sample[0][:12], sample[1][:12]
    test_images, test_labels = sample[2][:30], sample[3][:30]
    loops = classic.ClassicCNN.create(7)
    fast = classic.FastCNN(classic.ClassicCNN.create(7))
    prepared = classic.PreparedImages(train_images)
    x = classic.preprocess(train_images)
    lr = 0.05  # large, so that a wrong update would show at once
    for n in np.random.default_rng(0).permutation(len(x)):
        filters_before = loops.conv.filters.copy()
        expected = loops.train(x[n], train_labels[n], lr)
        assert fast.train(prepared, n, train_labels[n], lr) == expected, BITS
        assert not np.array_equal(loops.conv.filters, filters_before)  # the step did something
        assert np.array_equal(fast.network.conv.filters, loops.conv.filters), BITS
        assert np.array_equal(fast.network.softmax.weights, loops.softmax.weights), BITS
        assert np.array_equal(fast.network.softmax.biases, loops.softmax.biases), BITS

    losses, correct = fast.evaluate(classic.PreparedImages(test_images), test_labels, chunk=16)
    for image, label, loss, ok in zip(
        classic.preprocess(test_images), test_labels, losses, correct
    ):
        _, expected_loss, expected_acc = loops.forward(image, label)
        assert loss == expected_loss, BITS
        assert ok == expected_acc


def test_fast_path_handles_odd_sizes_and_images_without_background():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (3, 9, 11), dtype=np.uint8)
    images[0, :4] = 0  # some background patches in the first image only
    labels = np.array([1, 0, 2])
    loops = classic.ClassicCNN.create(2, num_filters=3, image_shape=(9, 11), classes=3)
    fast = classic.FastCNN(
        classic.ClassicCNN.create(2, num_filters=3, image_shape=(9, 11), classes=3)
    )
    prepared = classic.PreparedImages(images)
    for n in [0, 1, 2, 1, 0]:
        image = classic.preprocess(images[n])
        assert loops.train(image, labels[n], 0.1) == fast.train(prepared, n, labels[n], 0.1)
    assert np.array_equal(fast.network.conv.filters, loops.conv.filters), BITS
    losses, _ = fast.evaluate(classic.PreparedImages(images), labels)
    assert [float(v) for v in losses] == [
        float(loops.forward(classic.preprocess(im), lab)[1]) for im, lab in zip(images, labels)
    ]


def test_identical_patches_give_identical_outputs_on_both_paths():
    # The fast path computes a background patch once per image; the loops compute every
    # position. Pooling ties (the notebook's rule) make any difference visible.
    rng = np.random.default_rng(4)
    tile = rng.integers(0, 256, (3, 3)).astype(np.uint8)
    images = np.tile(tile, (2, 4, 4))  # 12x12: every patch at a multiple of 3 is the same
    images[1, :6] = 0
    loops = classic.ClassicCNN.create(0, num_filters=5, image_shape=(12, 12), classes=4)
    loops.conv.filters *= 10.0 ** rng.integers(-3, 3, (5, 3, 3))  # rounding differences likely
    fast = classic.FastCNN(classic.ClassicCNN.create(0, 5, (12, 12), 4))
    fast.network.conv.filters[:] = loops.conv.filters
    out = loops.conv.forward(classic.preprocess(images[0]))
    for r in range(3):
        for c in range(3):
            same = out[r::3, c::3].reshape(-1, 5)
            assert (same == same[0]).all()
    losses, _ = fast.evaluate(classic.PreparedImages(images), np.array([1, 2]))
    expected = [loops.forward(classic.preprocess(im), lab)[1] for im, lab in zip(images, [1, 2])]
    assert list(losses) == expected, BITS


# --- the exactness rules --------------------------------------------------------------


def test_sum_of_nine_is_numpys_order_for_a_3x3_block():
    # The notebook sums np.sum(im_region * filters, axis=(1, 2)); if NumPy ever changes its
    # pairwise summation, this fails and the reproduction needs revisiting.
    rng = np.random.default_rng(1)
    blocks = rng.standard_normal((2000, 8, 3, 3)) * 10.0 ** rng.integers(-4, 4, (2000, 8, 3, 3))
    expected = np.array([np.sum(b, axis=(1, 2)) for b in blocks])
    terms = blocks.reshape(2000, 8, 9).transpose(2, 0, 1)
    assert np.array_equal(classic.sum_of_nine(terms), expected), (
        "NumPy's pairwise summation order for nine numbers changed; scratchcnn classic "
        "would no longer print the notebook's numbers"
    )
    sequential = terms[0] + terms[1]
    for k in range(2, 9):
        sequential = sequential + terms[k]
    assert not np.array_equal(sequential, expected)  # so the order is really being tested


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
    # The shifted form gives exp(0) = 1 for the largest logit and exp(-3600) = 0 otherwise.
    assert p.tolist() == [1.0, 0.0, 0.0]
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
    """The notebook's two driver cells, with ``print`` collecting lines, on the loops."""
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


@pytest.mark.slow
def test_run_classic_prints_what_the_notebook_procedure_prints(sample):
    config = classic.ClassicConfig(seed=9, epochs=1, lr=0.01, num_filters=4, lang="en")
    lines = list(classic.run_classic(*sample, config))
    assert lines == notebook_report(*sample, seed=9, epochs=1, lr=0.01)
    assert lines[1].startswith("[Step 100] ")
    assert lines[4].startswith("[Step 100] ")  # reported before image 100 is trained
    assert len(lines) == 1 + 1 + 1 + (1 + 2) + 3
