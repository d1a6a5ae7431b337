"""The training loop: learning, exact resume, divergence, evaluation, augmentation."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import gamma, logit_bound

from scratchcnn.augment import random_flip, random_shift
from scratchcnn.datasets import load
from scratchcnn.errors import TrainingError
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.metrics import confusion_matrix
from scratchcnn.model import Sequential
from scratchcnn.persistence import load_checkpoint
from scratchcnn.presets import PRESETS, build_model
from scratchcnn.training import (
    Callback,
    DivergenceError,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    epoch_order,
    evaluate,
    resume_trainer,
)


@pytest.fixture(scope="module")
def sample():
    images, labels = load("mnist-sample", "train")
    return images[:600], labels[:600]


def small_model(seed: int = 0) -> Sequential:
    """Every source of randomness: initialisation, BatchNorm statistics, dropout."""
    rng = np.random.default_rng(seed)
    return Sequential(
        [
            Conv2D(1, 4, 3, bias=False, rng=rng),
            BatchNorm2D(4),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dropout(0.2, rng=np.random.default_rng(seed + 1)),
            Dense(13 * 13 * 4, 10, rng=rng),
        ],
        input_shape=(28, 28, 1),
    )


CONFIG = {"epochs": 4, "batch_size": 64, "lr": 3e-3, "shift": 2, "validation_split": 0.1, "seed": 7}


class StopAt(Callback):
    """Request a stop once ``epoch`` epochs and ``batch`` more batches are done."""

    def __init__(self, epoch: int, batch: int = 0) -> None:
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, trainer, loss, accuracy):
        if trainer.epoch == self.epoch and trainer.batch == self.batch:
            trainer.stop_requested = True

    def on_epoch_end(self, trainer, log):
        if self.batch == 0 and trainer.epoch == self.epoch:
            trainer.stop_requested = True


def test_training_learns_the_sample(sample):
    images, labels = sample
    trainer = Trainer(small_model(), TrainConfig(**{**CONFIG, "validation_split": 0.0, "lr": 1e-2}))
    history = trainer.fit(images, labels)
    assert [log.epoch for log in history] == [1, 2, 3, 4]
    assert history[-1].loss < history[0].loss
    test_images, test_labels = load("mnist-sample", "test")
    assert evaluate(trainer.model, test_images, test_labels).accuracy > 0.8


@pytest.mark.slow
@pytest.mark.parametrize("stop", [(2, 0), (1, 3)], ids=["after-epoch-2", "mid-epoch"])
def test_stopped_and_resumed_run_ends_with_identical_weights(sample, tmp_path, stop):
    images, labels = sample
    straight = Trainer(small_model(), TrainConfig(**CONFIG))
    straight.fit(images, labels)

    ckpt = tmp_path / "run.ckpt.npz"
    first = Trainer(small_model(), TrainConfig(**CONFIG), [StopAt(*stop)], checkpoint=ckpt)
    with pytest.raises(TrainingInterrupted):
        first.fit(images, labels)
    assert load_checkpoint(ckpt).training_state["epoch"] == stop[0]

    resumed = resume_trainer(ckpt)
    resumed.fit(images, labels)
    # Exact equality is the point: one process, so the same BLAS kernel, shapes and thread
    # count, for which OpenBLAS orders every sum the same way each time.
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.value, b.value, err_msg=a.name)
    for key, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(value, resumed.model.state_dict()[key], err_msg=key)
    assert [log.loss for log in straight.history] == [log.loss for log in resumed.history]
    assert straight.history[-1].val_accuracy == resumed.history[-1].val_accuracy


def plain_model() -> Sequential:
    """No BatchNorm, which would keep a diverging network's activations finite for longer."""
    return Sequential(
        [Conv2D(1, 4, 3, rng=0), ReLU(), MaxPool2D(2), Flatten(), Dense(676, 10, rng=0)]
    )


def test_absurd_learning_rate_stops_at_once_naming_the_step(sample):
    images, labels = sample
    config = TrainConfig(epochs=3, batch_size=64, lr=1e6, optimizer="sgd", schedule="constant")
    trainer = Trainer(plain_model(), config)
    with pytest.raises(TrainingError) as error:
        trainer.fit(images, labels)
    message = str(error.value)
    assert f"(step {trainer.step + 1})" in message
    assert "epoch 1" in message
    assert "try a lower learning rate, e.g. --lr 1e+05" in message
    assert trainer.step < 10  # stopped at once, not at the end of the epoch


def test_divergence_leaves_the_last_good_checkpoint_untouched(sample, tmp_path):
    images, labels = sample
    ckpt = tmp_path / "run.ckpt.npz"
    config = TrainConfig(epochs=1, batch_size=64, lr=1e-2, optimizer="sgd", schedule="constant")
    Trainer(plain_model(), config, checkpoint=ckpt).fit(images, labels)
    good = ckpt.read_bytes()

    trainer = resume_trainer(ckpt, checkpoint=ckpt, epochs=3, lr=1e6)
    assert trainer.changed_settings == {"epochs": (1, 3), "lr": (1e-2, 1e6)}
    with pytest.raises(DivergenceError, match="epoch 2"):
        trainer.fit(images, labels)
    assert ckpt.read_bytes() == good
    restored = load_checkpoint(ckpt)
    assert restored.training_state["epoch"] == 1
    assert all(np.isfinite(v).all() for v in restored.model.state_dict().values())


def test_resume_overrides_are_checked_and_unchanged_ones_ignored(sample, tmp_path):
    images, labels = sample
    ckpt = tmp_path / "run.ckpt.npz"
    config = TrainConfig(epochs=1, batch_size=200, lr=1e-2, optimizer="sgd", schedule="constant")
    Trainer(plain_model(), config, checkpoint=ckpt).fit(images[:200], labels[:200])
    same = resume_trainer(ckpt, batch_size=200, lr=None)
    assert same.changed_settings == {} and same.config == config
    with pytest.raises(ValueError, match="learning rate must be positive"):
        resume_trainer(ckpt, lr=-1.0)
    with pytest.raises(ValueError, match="unknown training settings: colour"):
        resume_trainer(ckpt, colour="red")


def test_the_model_keeps_the_history(sample):
    images, labels = sample
    config = TrainConfig(epochs=2, batch_size=100, validation_split=0.2, schedule="constant")
    trainer = Trainer(plain_model(), config)
    trainer.fit(images[:300], labels[:300])
    history = trainer.model.metadata["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    assert set(history[0]) == {
        "epoch",
        "loss",
        "accuracy",
        "lr",
        "seconds",
        "val_loss",
        "val_accuracy",
    }
    assert history[1]["loss"] == trainer.history[1].loss
    assert 0 <= history[1]["val_accuracy"] <= 1 and history[1]["lr"] == config.lr


def test_evaluate_matches_a_direct_computation_and_bounds_the_batch(sample):
    images, labels = sample
    model = plain_model()
    model.metadata["preprocessing"] = {"scale": 1 / 255, "mean": 0.1, "std": 0.3}
    seen = []
    original = model.forward

    def spy(x, training=False):
        seen.append(len(x))
        return original(x, training)

    model.forward = spy
    result = evaluate(model, images, labels, batch_size=128)
    assert max(seen) == 128 and sum(seen) == len(images)
    x = ((images / 255.0 - 0.1) / 0.3).astype(np.float32)[..., None]
    logits = original(x)
    loss, _ = softmax_cross_entropy(logits, labels)
    # Batches of 128 and one of 600 may run different BLAS kernels. Each sample's loss,
    # logsumexp(z) - z_y, moves by at most twice its logits' error; the mean of 600
    # positive float32 losses adds gamma(600) relative on either side.
    logit_error = 2 * logit_bound(model, x).max(axis=1)
    tolerance = float(np.mean(2 * logit_error)) + 2 * gamma(len(images)) * loss
    assert abs(result.loss - loss) <= tolerance
    predictions = logits.argmax(axis=1)
    # A prediction may flip only where the top two logits are closer than their error.
    top2 = np.sort(logits, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * logit_error
    same = result.confusion.sum()
    assert same == len(images)
    assert result.accuracy == pytest.approx(np.mean(predictions == labels), abs=(~clear).mean())
    if clear.all():
        np.testing.assert_array_equal(result.confusion, confusion_matrix(labels, predictions, 10))


def test_random_shift_moves_each_image_by_its_own_offset():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 255, (20, 6, 7)).astype(np.uint8)
    shifted = random_shift(images, 2, np.random.default_rng(5))
    draw = np.random.default_rng(5)
    dy, dx = draw.integers(0, 5, 20), draw.integers(0, 5, 20)
    for i in range(20):
        padded = np.pad(images[i], 2)
        np.testing.assert_array_equal(shifted[i], padded[dy[i] : dy[i] + 6, dx[i] : dx[i] + 7])


def test_epoch_order_depends_on_seed_and_epoch_only():
    np.testing.assert_array_equal(epoch_order(3, 1, 50), epoch_order(3, 1, 50))
    assert not np.array_equal(epoch_order(3, 1, 50), epoch_order(3, 2, 50))
    assert sorted(epoch_order(3, 1, 50)) == list(range(50))


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_build_and_map_a_digit_to_ten_scores(name):
    model = build_model(name, seed=1)
    assert model.output_shapes((28, 28, 1))[-1] == (10,)
    assert model.forward(np.zeros((2, 28, 28, 1), dtype=np.float32)).shape == (2, 10)
    for dataset in ("mnist", "fashion-mnist"):
        TrainConfig(**PRESETS[name].recipe(dataset))  # the recipes themselves are valid


@pytest.mark.parametrize(("name", "fused"), [("fast", 2), ("best", 2)])
def test_speed_presets_pool_before_batch_norm_so_the_engine_fuses_their_blocks(name, fused):
    from scratchcnn.fusion import ConvPool, plan

    steps = plan(build_model(name, seed=0).layers)
    assert sum(isinstance(step, ConvPool) for step in steps) == fused


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"lr": -1.0}, "learning rate must be positive"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"validation_split": 1.0}, "validation split"),
    ],
)
def test_bad_config_values_are_named(values, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**values)


def test_random_flip_mirrors_about_half_the_images_and_nothing_else():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (400, 5, 6)).astype(np.uint8)
    flipped = random_flip(images, np.random.default_rng(9))
    mirrored = np.array([np.array_equal(f, i[:, ::-1]) for f, i in zip(flipped, images)])
    unchanged = np.array([np.array_equal(f, i) for f, i in zip(flipped, images)])
    assert np.all(mirrored ^ unchanged)
    assert 150 < mirrored.sum() < 250
