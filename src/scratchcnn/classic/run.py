"""The notebook's two experiments, run on the fast path, printed in the notebook's words.

:func:`run_classic` yields the lines the notebook prints (in Chinese, as the notebook, or
in English), computed by :class:`~scratchcnn.classic.fast.FastCNN`; ``scratchcnn classic``
prints them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from scratchcnn.classic.fast import FastCNN, PreparedImages
from scratchcnn.classic.notebook import NOTEBOOK_SEED, ClassicCNN
from scratchcnn.errors import TrainingError

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
