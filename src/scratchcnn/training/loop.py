"""The training loop: read :meth:`Trainer.fit` top to bottom.

Each step sets the learning rate from the schedule, then trains one mini-batch; each epoch
ends with the evaluation on the validation images, then the checkpoint. Randomness is
derived from the seed alone: epoch ``e`` shuffles with a generator seeded ``(seed, e)`` and
batch ``b`` of that epoch augments with one seeded ``(seed, e, b)``, so a run resumed from
a checkpoint draws exactly what an uninterrupted run would. Dropout layers keep their own
generators, whose states checkpoints save (:mod:`scratchcnn.persistence`).

Training stops early in one way: a :class:`TrainingStopped` exception. A stop request
(``stop_requested``, set by :meth:`Trainer.stop_on_signals` on SIGINT or SIGTERM) finishes
the current step, writes the checkpoint and raises :class:`TrainingInterrupted`; a loss
that is not finite raises :class:`DivergenceError` at once, before the step that would
spread it to the weights, and writes nothing.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scratchcnn.errors import TrainingError
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.metrics import evaluate
from scratchcnn.model import Sequential
from scratchcnn.preprocessing import normalize
from scratchcnn.training.callbacks import Callback
from scratchcnn.training.config import (
    TrainConfig,
    augment,
    build_optimizer,
    build_schedule,
    epoch_order,
    fit_preprocessing,
    validation_split,
)

#: Version of the ``training_state`` a checkpoint holds.
TRAINING_STATE_VERSION = 1


@dataclass
class EpochLog:
    """One row of the history (``model.metadata["history"]`` holds them as dicts)."""

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


class TrainingStopped(TrainingError):  # noqa: N818 - an early end, not always an error
    """Training ended before its last epoch; ``trainer`` holds where it stopped."""

    def __init__(self, trainer: Trainer, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.trainer = trainer


class TrainingInterrupted(TrainingStopped):
    """A stop was requested; the checkpoint (if any) holds the state after the last step."""

    def __init__(self, trainer: Trainer) -> None:
        super().__init__(
            trainer, f"training stopped at epoch {trainer.epoch + 1}, batch {trainer.batch}"
        )


class DivergenceError(TrainingStopped):
    """The loss became NaN or infinite: training stops at once, saving nothing."""

    def __init__(self, trainer: Trainer, loss: float) -> None:
        lr = trainer.optimizer.lr
        self.suggested_lr = trainer.config.lr / 10
        super().__init__(
            trainer,
            f"the loss became {loss} at epoch {trainer.epoch + 1}, batch {trainer.batch + 1} "
            f"(step {trainer.step + 1}) with learning rate {lr:.3g}",
            hint=f"training diverged; try a lower learning rate, e.g. --lr {self.suggested_lr:.3g}",
        )


class Trainer:
    """Fits a :class:`Sequential` model to labelled uint8 images.

    ``checkpoint``: a file written (atomically) after every epoch and when a stop is
    requested; :func:`resume_trainer` continues from it exactly.
    """

    def __init__(
        self,
        model: Sequential,
        config: TrainConfig,
        callbacks: Iterable[Callback] = (),
        preprocessing: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.callbacks = list(callbacks)
        self.preprocessing = preprocessing or model.metadata.get("preprocessing")
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.optimizer = build_optimizer(config, model)
        self.history: list[EpochLog] = []
        self.epoch = 0  # epochs completed
        self.batch = 0  # batches completed in the current epoch
        self.step = 0  # optimisation steps completed in total
        self.seconds = 0.0  # training time spent, over all sessions
        self.images_seen = 0  # training images processed, over all sessions
        self.stop_requested = False
        #: Settings changed on resume: ``{field: (saved, now)}`` (see :func:`resume_trainer`).
        self.changed_settings: dict[str, tuple[Any, Any]] = {}
        self._epoch_sums = [0.0, 0, 0]  # loss * samples, correct, samples

    def fit(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[EpochLog]:
        """Train until ``config.epochs`` epochs are done; returns the history.

        ``images`` are uint8 ``(N, H, W)`` or ``(N, H, W, C)``, of which the first
        ``config.train_size`` are used when that is set; when ``config.validation_split`` is set and no ``validation`` is given, a seeded part of
        them is held out. Picks up where a resumed trainer stopped.
        """
        config = self.config
        images, labels, validation = self._split(images, labels, validation)
        batches = math.ceil(len(images) / config.batch_size)
        schedule = build_schedule(config, batches)
        self._notify("on_train_begin")
        while self.epoch < config.epochs:
            epoch_start = time.perf_counter()
            order = epoch_order(config.seed, self.epoch, len(images))
            self._notify("on_epoch_begin", self.epoch, batches)
            while self.batch < batches:
                step_start = time.perf_counter()
                self.optimizer.lr = schedule(self.step)
                idx = order[self.batch * config.batch_size : (self.batch + 1) * config.batch_size]
                loss, accuracy = self.train_step(images[idx], labels[idx])
                self.seconds += time.perf_counter() - step_start
                self._notify("on_batch_end", loss, accuracy)
                if self.stop_requested and self.batch < batches:
                    self._stop()
            log = self._end_epoch(time.perf_counter() - epoch_start, validation)
            self._notify("on_epoch_end", log)
            if self.checkpoint is not None:
                self.save_checkpoint(self.checkpoint)
            if self.stop_requested and self.epoch < config.epochs:
                self._stop(saved=True)
        self._notify("on_train_end", self.summary())
        return self.history

    def train_step(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        """One optimisation step on a mini-batch; its loss and accuracy before the step."""
        config = self.config
        if config.shift or config.flip:
            images = augment(
                images, config, np.random.default_rng([config.seed, self.epoch, self.batch])
            )
        x = normalize(images, self.preprocessing, self.model.dtype)
        # A diverging run overflows before its loss turns NaN; the check below reports
        # that once, clearly, instead of a stream of NumPy warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits = self.model.forward(x, training=True)
            loss, grad = softmax_cross_entropy(logits, labels, config.label_smoothing)
            if not math.isfinite(loss):
                raise DivergenceError(self, loss)
            self.model.backward(grad)
            self.optimizer.step()
        correct = int(np.count_nonzero(logits.argmax(axis=1) == labels))
        n = len(labels)
        self._epoch_sums[0] += loss * n
        self._epoch_sums[1] += correct
        self._epoch_sums[2] += n
        self.images_seen += n
        self.batch += 1
        self.step += 1
        return loss, correct / n

    def _split(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Hold out the validation images; fix the input normalisation on the rest."""
        images, labels = np.asarray(images), np.asarray(labels)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        if self.config.train_size:
            images, labels = images[: self.config.train_size], labels[: self.config.train_size]
        fraction = self.config.validation_split
        if validation is None and fraction > 0:
            train_idx, val_idx = validation_split(self.config.seed, len(images), fraction)
            validation = (images[val_idx], labels[val_idx])
            images, labels = images[train_idx], labels[train_idx]
        if len(images) == 0:
            raise ValueError("no training images")
        if self.preprocessing is None:
            self.preprocessing = fit_preprocessing(images)
        self.model.metadata["preprocessing"] = self.preprocessing
        self.model.metadata["recipe"] = self.config.to_dict()
        return images, labels, validation

    def _end_epoch(
        self, seconds: float, validation: tuple[np.ndarray, np.ndarray] | None
    ) -> EpochLog:
        """The epoch's row of the history, with the validation metrics; the model keeps it."""
        loss, accuracy = self.running_metrics()
        log = EpochLog(self.epoch + 1, loss, accuracy, self.optimizer.lr, seconds)
        if validation is not None and len(validation[0]):
            result = evaluate(self.model, validation[0], validation[1], self.preprocessing)
            log.val_loss, log.val_accuracy = result.loss, result.accuracy
        self.history.append(log)
        self.model.metadata["history"] = [dataclasses.asdict(row) for row in self.history]
        self.epoch += 1
        self.batch = 0
        self._epoch_sums = [0.0, 0, 0]
        return log

    def _stop(self, saved: bool = False) -> None:
        if self.checkpoint is not None and not saved:
            self.save_checkpoint(self.checkpoint)
        raise TrainingInterrupted(self)

    def _notify(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    @contextmanager
    def stop_on_signals(self) -> Iterator[Trainer]:
        """While active, SIGINT and SIGTERM ask the trainer to stop after the current step.

        A second signal restores the previous handlers, so pressing Ctrl-C twice still
        stops a stuck process at once.
        """
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def request_stop(signum: int, frame: Any) -> None:
            self.stop_requested = True
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        for sig in previous:
            signal.signal(sig, request_stop)
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def running_metrics(self) -> tuple[float, float]:
        """Mean loss and accuracy over the batches of the current epoch so far."""
        loss_sum, correct, seen = self._epoch_sums
        return loss_sum / max(seen, 1), correct / max(seen, 1)

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

    # --- checkpoints ----------------------------------------------------------------------
    def save_checkpoint(self, path: str | Path) -> None:
        """Save the model, the optimiser state and :meth:`training_state` to ``path``."""
        from scratchcnn.persistence import save_checkpoint

        save_checkpoint(path, self.model, self.optimizer.state_dict(), self.training_state())

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


def write_checkpoint(trainer: Trainer, path: str | Path) -> None:
    """Save the model, the optimiser state and the trainer's state to ``path``."""
    trainer.save_checkpoint(path)


def resume_trainer(
    path: str | Path,
    callbacks: Sequence[Callback] = (),
    checkpoint: str | Path | None = None,
    **overrides: Any,
) -> Trainer:
    """A trainer rebuilt from the checkpoint at ``path``, ready to continue with ``fit``.

    ``overrides`` (TrainConfig fields; None means "keep") change the saved settings; the
    ones that really differ are in ``trainer.changed_settings``, since the result will then
    differ from an uninterrupted run. Raises ``ValueError`` for an invalid override.
    """
    from scratchcnn.persistence import load_checkpoint

    loaded = load_checkpoint(path)
    state = loaded.training_state
    saved = {"train_size": loaded.model.metadata.get("train_size"), **state["config"]}
    config, changed = TrainConfig.from_dict(saved).changed(**overrides)
    trainer = Trainer(
        loaded.model, config, callbacks, state.get("preprocessing"), checkpoint=checkpoint
    )
    trainer.restore(loaded.optimizer_state, state)
    trainer.changed_settings = {k: (state["config"].get(k), v) for k, v in changed.items()}
    return trainer
