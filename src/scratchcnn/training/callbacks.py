"""Hooks into :meth:`Trainer.fit <scratchcnn.training.Trainer.fit>`: progress bar, epoch log.

A callback sees the start and end of training, of each epoch and of each batch. It only
watches (or sets ``trainer.stop_requested``); the loop itself sets the learning rate,
evaluates and writes checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scratchcnn.i18n import tr

if TYPE_CHECKING:
    from scratchcnn.training.loop import EpochLog, Summary, Trainer


class Callback:
    """Hooks called by the trainer; override what you need."""

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer, epoch: int, batches: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, loss: float, accuracy: float) -> None: ...

    def on_epoch_end(self, trainer: Trainer, log: EpochLog) -> None: ...

    def on_train_end(self, trainer: Trainer, summary: Summary) -> None: ...


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
            desc=tr("train.progress.epoch", epoch=epoch + 1, epochs=trainer.config.epochs),
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
