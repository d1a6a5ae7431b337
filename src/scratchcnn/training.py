"""The training loop: mini-batches, schedules, validation, history, checkpoints, resume.

A :class:`Trainer` takes a model and a :class:`TrainConfig` and fits the model to uint8
images. Randomness is derived from the seed alone: epoch ``e`` shuffles with a generator
seeded ``(seed, e)`` and batch ``b`` of that epoch augments with one seeded
``(seed, e, b)``, so a run resumed from a checkpoint draws exactly what an uninterrupted
run would. Dropout layers keep their own generators, whose states checkpoints save
(:mod:`scratchcnn.persistence`).

Hooks (:class:`Callback`) see the start and end of training, of each epoch and of each
batch: the progress bar, the epoch log and the checkpoint writer are callbacks.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scratchcnn.augment import random_flip, random_shift
from scratchcnn.errors import TrainingError
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.metrics import accuracy, confusion_matrix, per_class_accuracy
from scratchcnn.model import Sequential
from scratchcnn.optim import SGD, Adam, AdamW, Optimizer
from scratchcnn.preprocessing import normalize
from scratchcnn.schedules import ConstantLR, CosineLR, OneCycleLR, Schedule, StepLR

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
#: Version of the ``training_state`` a checkpoint holds.
TRAINING_STATE_VERSION = 1


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (all JSON-serialisable)."""

    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    label_smoothing: float = 0.0
    shift: int = 0
    flip: bool = False
    validation_split: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}"),
            (
                math.isfinite(self.lr) and self.lr > 0,
                f"learning rate must be positive, got {self.lr}",
            ),
            (
                self.optimizer in OPTIMIZERS,
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}",
            ),
            (
                self.schedule in SCHEDULES,
                f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}",
            ),
            (0.0 <= self.momentum < 1.0, f"momentum must be in [0, 1), got {self.momentum}"),
            (self.weight_decay >= 0.0, f"weight decay must be >= 0, got {self.weight_decay}"),
            (
                0.0 <= self.label_smoothing < 1.0,
                f"label smoothing must be in [0, 1), got {self.label_smoothing}",
            ),
            (0 <= self.shift <= 8, f"shift must be between 0 and 8 pixels, got {self.shift}"),
            (
                0.0 <= self.validation_split < 1.0,
                f"validation split must be in [0, 1), got {self.validation_split}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class EpochLog:
    """One row of the history."""

    epoch: int
    loss: float
    accuracy: float
    lr: float
    seconds: float
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass
class Summary:
    """What a finished (or interrupted) run reports."""

    epochs: int
    steps: int
    seconds: float
    images_per_second: float
    final_loss: float
    final_accuracy: float
    best_val_accuracy: float | None = None
    best_epoch: int | None = None

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [
            f"trained {self.epochs} epoch{'s' if self.epochs != 1 else ''} ({self.steps} steps) "
            f"in {_duration(self.seconds)}, {self.images_per_second:,.0f} images/s",
            f"final training loss {self.final_loss:.4f}, accuracy {self.final_accuracy:.2%}",
        ]
        if self.best_val_accuracy is not None:
            out.append(
                f"best validation accuracy {self.best_val_accuracy:.2%} (epoch {self.best_epoch})"
            )
        return out


@dataclass
class Evaluation:
    """Loss and accuracy of a model on a labelled set, with the confusion matrix."""

    loss: float
    accuracy: float
    confusion: np.ndarray
    per_class_accuracy: np.ndarray
    count: int
    #: Each image's predicted class and that class's softmax probability.
    predictions: np.ndarray | None = None
    confidence: np.ndarray | None = None


class Callback:
    """Hooks called by :class:`Trainer`; override what you need."""

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer, epoch: int, batches: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, loss: float, accuracy: float) -> None: ...

    def on_epoch_end(self, trainer: Trainer, log: EpochLog) -> None: ...

    def on_train_end(self, trainer: Trainer, summary: Summary) -> None: ...


class DivergenceError(TrainingError):
    """The loss became NaN or infinite: training stops at once, saving nothing."""

    def __init__(
        self, loss: float, epoch: int, batch: int, step: int, lr: float, suggested_lr: float
    ) -> None:
        super().__init__(
            f"the loss became {loss} at epoch {epoch + 1}, batch {batch + 1} (step {step + 1}) "
            f"with learning rate {lr:.3g}",
            hint=f"training diverged; try a lower learning rate, e.g. --lr {suggested_lr:.3g}",
        )
        self.suggested_lr = suggested_lr


class TrainingInterrupted(Exception):  # noqa: N818 - a requested stop, not an error
    """Raised by :meth:`Trainer.fit` after a stop request, once the state is saved."""

    def __init__(self, trainer: Trainer) -> None:
        super().__init__(f"training stopped at epoch {trainer.epoch + 1}, batch {trainer.batch}")
        self.trainer = trainer


def build_optimizer(config: TrainConfig, model: Sequential) -> Optimizer:
    """The optimiser the config names, over the model's parameters."""
    params = model.parameters()
    if config.optimizer == "sgd":
        return SGD(
            params,
            config.lr,
            config.momentum,
            config.nesterov and config.momentum > 0,
            config.weight_decay,
        )
    if config.optimizer == "adam":
        return Adam(params, config.lr, weight_decay=config.weight_decay)
    return AdamW(params, config.lr, weight_decay=config.weight_decay)


def build_schedule(config: TrainConfig, steps_per_epoch: int) -> Schedule:
    """The learning-rate schedule the config names, over the whole run."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "constant":
        return ConstantLR(config.lr)
    if config.schedule == "step":
        return StepLR(config.lr, step_size=max(1, total // 3), gamma=0.1)
    if config.schedule == "cosine":
        return CosineLR(config.lr, total_steps=total)
    return OneCycleLR(config.lr, total_steps=max(total, 2))


def augment(images: np.ndarray, config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """The config's augmentation of one batch: random shifts, then random mirroring."""
    if config.shift:
        images = random_shift(images, config.shift, rng)
    if config.flip:
        images = random_flip(images, rng)
    return images


def epoch_order(seed: int, epoch: int, count: int) -> np.ndarray:
    """The shuffled order of ``count`` samples in ``epoch``: a function of the seed only."""
    return np.random.default_rng([seed, epoch]).permutation(count)


def validation_split(seed: int, count: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)``: a seeded random ``fraction`` held out."""
    order = np.random.default_rng([seed, 2**31]).permutation(count)
    held = round(count * fraction)
    return np.sort(order[held:]), np.sort(order[:held])


class Trainer:
    """Fits a :class:`Sequential` model to labelled uint8 images.

    ``stop_requested`` may be set from a signal handler: the trainer finishes the current
    step, calls ``on_stop`` (where the CLI writes a checkpoint) and raises
    :class:`TrainingInterrupted`.
    """

    def __init__(
        self,
        model: Sequential,
        config: TrainConfig,
        callbacks: Iterable[Callback] = (),
        preprocessing: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.callbacks = list(callbacks)
        self.preprocessing = preprocessing or model.metadata.get("preprocessing")
        self.optimizer = build_optimizer(config, model)
        self.history: list[EpochLog] = []
        self.epoch = 0  # epochs completed
        self.batch = 0  # batches completed in the current epoch
        self.step = 0  # optimisation steps completed in total
        self.seconds = 0.0  # training time spent, over all sessions
        self.images_seen = 0  # training images processed, over all sessions
        self.stop_requested = False
        self.on_stop: Callable[[Trainer], None] | None = None
        self._epoch_sums = [0.0, 0, 0]  # loss * samples, correct, samples

    # --- fitting --------------------------------------------------------------------
    def fit(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[EpochLog]:
        """Train until ``config.epochs`` epochs are done; returns the history.

        ``images`` are uint8 ``(N, H, W)`` or ``(N, H, W, C)``; when
        ``config.validation_split`` is set and no ``validation`` is given, a seeded part of
        them is held out. Picks up where a resumed trainer stopped.
        """
        config = self.config
        images, labels = np.asarray(images), np.asarray(labels)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        if validation is None and config.validation_split > 0:
            train_idx, val_idx = validation_split(config.seed, len(images), config.validation_split)
            validation = (images[val_idx], labels[val_idx])
            images, labels = images[train_idx], labels[train_idx]
        if len(images) == 0:
            raise ValueError("no training images")
        if self.preprocessing is None:
            self.preprocessing = fit_preprocessing(images)
        self.model.metadata["preprocessing"] = self.preprocessing
        count = len(images)
        batches = math.ceil(count / config.batch_size)
        schedule = build_schedule(config, batches)
        for callback in self.callbacks:
            callback.on_train_begin(self)
        while self.epoch < config.epochs:
            epoch_start = time.perf_counter()
            order = epoch_order(config.seed, self.epoch, count)
            for callback in self.callbacks:
                callback.on_epoch_begin(self, self.epoch, batches)
            while self.batch < batches:
                step_start = time.perf_counter()
                idx = order[self.batch * config.batch_size : (self.batch + 1) * config.batch_size]
                # A diverging run overflows before its loss turns NaN; the check below
                # reports that once, clearly, instead of a stream of NumPy warnings.
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    self._train_step(images[idx], labels[idx], schedule)
                self.seconds += time.perf_counter() - step_start
                if self.stop_requested and self.batch < batches:
                    self._stop()
            log = self._finish_epoch(time.perf_counter() - epoch_start, validation)
            for callback in self.callbacks:
                callback.on_epoch_end(self, log)
            if self.stop_requested and self.epoch < config.epochs:
                self._stop()
        summary = self.summary()
        for callback in self.callbacks:
            callback.on_train_end(self, summary)
        return self.history

    def _train_step(
        self, batch_images: np.ndarray, batch_labels: np.ndarray, schedule: Schedule
    ) -> None:
        config = self.config
        if config.shift or config.flip:
            rng = np.random.default_rng([config.seed, self.epoch, self.batch])
            batch_images = augment(batch_images, config, rng)
        x = normalize(batch_images, self.preprocessing, self.model.dtype)
        self.optimizer.lr = schedule(self.step)
        logits = self.model.forward(x, training=True)
        loss, grad = softmax_cross_entropy(logits, batch_labels, config.label_smoothing)
        if not math.isfinite(loss):
            raise DivergenceError(
                loss, self.epoch, self.batch, self.step, self.optimizer.lr, config.lr / 10
            )
        self.model.backward(grad)
        self.optimizer.step()
        correct = int(np.count_nonzero(logits.argmax(axis=1) == batch_labels))
        n = len(batch_labels)
        sums = self._epoch_sums
        sums[0] += loss * n
        sums[1] += correct
        sums[2] += n
        self.images_seen += n
        self.batch += 1
        self.step += 1
        for callback in self.callbacks:
            callback.on_batch_end(self, loss, correct / n)

    def _finish_epoch(
        self, seconds: float, validation: tuple[np.ndarray, np.ndarray] | None
    ) -> EpochLog:
        loss, accuracy = self.running_metrics()
        log = EpochLog(
            epoch=self.epoch + 1,
            loss=loss,
            accuracy=accuracy,
            lr=self.optimizer.lr,
            seconds=seconds,
        )
        if validation is not None and len(validation[0]):
            result = evaluate(self.model, validation[0], validation[1], self.preprocessing)
            log.val_loss, log.val_accuracy = result.loss, result.accuracy
        self.history.append(log)
        self.epoch += 1
        self.batch = 0
        self._epoch_sums = [0.0, 0, 0]
        return log

    def running_metrics(self) -> tuple[float, float]:
        """Mean loss and accuracy over the batches of the current epoch so far."""
        loss_sum, correct, seen = self._epoch_sums
        return loss_sum / max(seen, 1), correct / max(seen, 1)

    def _stop(self) -> None:
        if self.on_stop is not None:
            self.on_stop(self)
        raise TrainingInterrupted(self)

    def summary(self) -> Summary:
        """Totals so far: time, throughput, final and best metrics."""
        last = self.history[-1] if self.history else None
        best = max(
            (log for log in self.history if log.val_accuracy is not None),
            key=lambda log: log.val_accuracy,
            default=None,
        )
        return Summary(
            epochs=self.epoch,
            steps=self.step,
            seconds=self.seconds,
            images_per_second=self.images_seen / self.seconds if self.seconds else 0.0,
            final_loss=last.loss if last else float("nan"),
            final_accuracy=last.accuracy if last else float("nan"),
            best_val_accuracy=best.val_accuracy if best else None,
            best_epoch=best.epoch if best else None,
        )

    # --- state for checkpoints ----------------------------------------------------------
    def training_state(self) -> dict[str, Any]:
        """Everything besides the model and optimiser arrays needed to resume exactly."""
        return {
            "version": TRAINING_STATE_VERSION,
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "seconds": self.seconds,
            "images_seen": self.images_seen,
            "epoch_sums": list(self._epoch_sums),
            "history": [dataclasses.asdict(log) for log in self.history],
            "preprocessing": self.preprocessing,
        }

    def restore(self, optimizer_state: dict[str, np.ndarray], state: dict[str, Any]) -> None:
        """Continue from a checkpoint: the model must already hold its weights."""
        if state.get("version") != TRAINING_STATE_VERSION:
            raise ValueError(f"unsupported training state version {state.get('version')!r}")
        self.optimizer.load_state_dict(optimizer_state)
        self.epoch = int(state["epoch"])
        self.batch = int(state["batch"])
        self.step = int(state["step"])
        self.seconds = float(state["seconds"])
        self.images_seen = int(state["images_seen"])
        loss_sum, correct, seen = state["epoch_sums"]
        self._epoch_sums = [float(loss_sum), int(correct), int(seen)]
        self.history = [EpochLog(**log) for log in state["history"]]
        self.preprocessing = state.get("preprocessing") or self.preprocessing


def fit_preprocessing(images: np.ndarray) -> dict[str, Any]:
    """Scale to [0, 1], then centre and scale by the training set's mean and std."""
    sample = np.asarray(images, dtype=np.float64) / 255.0
    std = float(sample.std())
    return {"scale": 1 / 255, "mean": float(sample.mean()), "std": std if std > 0 else 1.0}


def evaluate(
    model: Sequential,
    images: np.ndarray,
    labels: np.ndarray,
    preprocessing: dict[str, Any] | None = None,
    batch_size: int = 256,
    num_classes: int | None = None,
) -> Evaluation:
    """Mean loss, accuracy and confusion matrix over uint8 images, ``batch_size`` at a time.

    Each image's predicted class and its probability are kept too (two numbers per
    image), for reports that show the most confident mistakes.

    Only one batch is ever normalised and run at once, so memory stays bounded however
    many images there are.
    """
    if preprocessing is None:
        preprocessing = model.metadata.get("preprocessing")
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError("nothing to evaluate: no images")
    loss_sum = 0.0
    predictions = np.empty(len(labels), dtype=np.int64)
    confidence = np.empty(len(labels), dtype=np.float64)
    classes = num_classes
    for start in range(0, len(images), batch_size):
        stop = start + batch_size
        x = normalize(images[start:stop], preprocessing, model.dtype)
        logits = model.forward(x)
        classes = classes or logits.shape[1]
        loss, _ = softmax_cross_entropy(logits, labels[start:stop])
        loss_sum += loss * len(x)
        predictions[start:stop] = logits.argmax(axis=1)
        # The top class's probability: exp(0) / sum_j exp(z_j - max z).
        shifted = logits - logits.max(axis=1, keepdims=True)
        confidence[start:stop] = 1.0 / np.exp(shifted).sum(axis=1)
    confusion = confusion_matrix(labels, predictions, classes or 10)
    return Evaluation(
        loss=loss_sum / len(labels),
        accuracy=accuracy(labels, predictions),
        confusion=confusion,
        per_class_accuracy=per_class_accuracy(confusion),
        count=len(labels),
        predictions=predictions,
        confidence=confidence,
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)} min {secs:04.1f} s"


# --- built-in callbacks -----------------------------------------------------------------
class ProgressBar(Callback):
    """A tqdm bar per epoch with live running loss and accuracy."""

    def __init__(self, refresh_every: int = 10, **tqdm_options: Any) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._options = tqdm_options
        self._every = refresh_every
        self._bar = None

    def on_epoch_begin(self, trainer: Trainer, epoch: int, batches: int) -> None:
        self._bar = self._tqdm(
            total=batches,
            initial=trainer.batch,
            desc=f"epoch {epoch + 1}/{trainer.config.epochs}",
            unit="batch",
            leave=True,
            dynamic_ncols=True,
            **self._options,
        )

    def on_batch_end(self, trainer: Trainer, loss: float, accuracy: float) -> None:
        if self._bar is None:
            return
        self._bar.update(1)
        if trainer.batch % self._every == 0:
            running_loss, running_accuracy = trainer.running_metrics()
            self._bar.set_postfix(
                loss=f"{running_loss:.4f}", acc=f"{running_accuracy:.2%}", refresh=False
            )

    def on_epoch_end(self, trainer: Trainer, log: EpochLog) -> None:
        if self._bar is None:
            return
        postfix = {"loss": f"{log.loss:.4f}", "acc": f"{log.accuracy:.2%}"}
        if log.val_accuracy is not None:
            postfix["val_acc"] = f"{log.val_accuracy:.2%}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.close()
        self._bar = None

    def on_train_end(self, trainer: Trainer, summary: Summary) -> None:
        if self._bar is not None:
            self._bar.close()


class EpochPrinter(Callback):
    """One line per epoch, for logs and terminals without a progress bar."""

    def __init__(self, print_fn: Callable[[str], None] | None = None) -> None:
        # Flushed at once, so that a log piped to a file or another program stays live.
        self.print = print_fn or (lambda line: print(line, flush=True))

    def on_epoch_end(self, trainer: Trainer, log: EpochLog) -> None:
        line = (
            f"epoch {log.epoch}/{trainer.config.epochs}: loss {log.loss:.4f}, "
            f"accuracy {log.accuracy:.2%}, lr {log.lr:.3g}, {log.seconds:.1f} s"
        )
        if log.val_accuracy is not None:
            line += f", validation loss {log.val_loss:.4f}, accuracy {log.val_accuracy:.2%}"
        self.print(line)


class CheckpointWriter(Callback):
    """Writes a checkpoint after every epoch (atomically: see :mod:`scratchcnn.fileio`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_epoch_end(self, trainer: Trainer, log: EpochLog) -> None:
        write_checkpoint(trainer, self.path)


def write_checkpoint(trainer: Trainer, path: str | Path) -> None:
    """Save the model, the optimiser state and the trainer's state to ``path``."""
    from scratchcnn.persistence import save_checkpoint

    save_checkpoint(path, trainer.model, trainer.optimizer.state_dict(), trainer.training_state())


def resume_trainer(path: str | Path, callbacks: Sequence[Callback] = ()) -> Trainer:
    """A trainer rebuilt from a checkpoint, ready to continue with :meth:`Trainer.fit`."""
    from scratchcnn.persistence import load_checkpoint

    checkpoint = load_checkpoint(path)
    state = checkpoint.training_state
    config = TrainConfig.from_dict(state["config"])
    trainer = Trainer(checkpoint.model, config, callbacks, preprocessing=state.get("preprocessing"))
    trainer.restore(checkpoint.optimizer_state, state)
    return trainer


__all__ = [
    "Callback",
    "CheckpointWriter",
    "DivergenceError",
    "EpochLog",
    "EpochPrinter",
    "Evaluation",
    "ProgressBar",
    "Summary",
    "TrainConfig",
    "Trainer",
    "TrainingInterrupted",
    "augment",
    "build_optimizer",
    "build_schedule",
    "evaluate",
    "fit_preprocessing",
    "resume_trainer",
    "write_checkpoint",
]
