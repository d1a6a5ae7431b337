"""``scratchcnn train``: train a preset model, checkpoint every epoch, resume, save.

The model is written to ``--out`` when training ends; a checkpoint (model, optimiser,
training state) is written after every epoch to ``--checkpoint`` (default: next to
``--out``), and ``--resume`` continues from it exactly. Ctrl-C (SIGINT) or SIGTERM
finishes the current step, writes the checkpoint and exits with status 130.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from scratchcnn.cli.common import (
    PRESET_NAMES,
    add_data_arguments,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from scratchcnn.errors import ScratchCNNError, TrainingError

DEFAULT_MODEL = "lenet"
# Options that set TrainConfig fields; None means "not given" (the preset decides).
CONFIG_OPTIONS = (
    "epochs",
    "batch_size",
    "lr",
    "optimizer",
    "momentum",
    "weight_decay",
    "schedule",
    "label_smoothing",
    "shift",
    "flip",
    "validation_split",
    "seed",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""
    parser = subparsers.add_parser(
        "train",
        help="train a model on a data set, with checkpoints and resume",
        description="Train a preset model. Options left out take the preset's values "
        "(see `scratchcnn summary PRESET`).",
    )
    add_data_arguments(parser, default=None)
    parser.add_argument(
        "--model",
        metavar="NAME",
        help=f"preset: {', '.join(PRESET_NAMES)} (default: {DEFAULT_MODEL})",
    )
    parser.add_argument("--epochs", type=positive_int, help="passes over the training set")
    parser.add_argument("--batch-size", type=positive_int, metavar="B", help="images per step")
    parser.add_argument("--lr", type=positive_float, help="(peak) learning rate")
    parser.add_argument("--optimizer", choices=("sgd", "adam", "adamw"))
    parser.add_argument("--momentum", type=fraction, help="SGD momentum")
    parser.add_argument("--weight-decay", type=non_negative_float, metavar="WD")
    parser.add_argument("--schedule", choices=("constant", "step", "cosine", "onecycle"))
    parser.add_argument("--label-smoothing", type=fraction, metavar="E")
    parser.add_argument(
        "--shift", type=non_negative_int, metavar="PX", help="random shifts of up to PX pixels"
    )
    parser.add_argument(
        "--flip",
        action="store_const",
        const=True,
        help="mirror images left-right at random (for Fashion-MNIST, not for digits)",
    )
    parser.add_argument(
        "--validation-split",
        type=fraction,
        metavar="F",
        help="hold out this fraction of the training set for validation (default: 0)",
    )
    parser.add_argument("--seed", type=int, help="seed of every random draw (default: 0)")
    parser.add_argument(
        "--train-size",
        type=positive_int,
        metavar="N",
        help="train on the first N training images only (quick experiments)",
    )
    parser.add_argument(
        "--out", default="model.npz", metavar="PATH", help="where to save the model (model.npz)"
    )
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="checkpoint file written after every epoch (default: OUT with .ckpt.npz)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint exactly"
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="one line per epoch instead of a progress bar (the default when not on a terminal)",
    )
    parser.add_argument(
        "--no-test", action="store_true", help="skip evaluating on the test split at the end"
    )
    parser.set_defaults(handler=run)


def checkpoint_path(out: str, checkpoint: str | None) -> Path:
    """``--checkpoint``, or ``--out`` with its ``.npz`` suffix turned into ``.ckpt.npz``."""
    if checkpoint:
        return Path(checkpoint)
    path = Path(out)
    stem = path.name[:-4] if path.name.endswith(".npz") else path.name
    return path.with_name(stem + ".ckpt.npz")


def run(args: argparse.Namespace) -> int:
    """Train (or resume), save the model, evaluate it on the test split."""
    from scratchcnn import datasets
    from scratchcnn.persistence import save
    from scratchcnn.training import (
        CheckpointWriter,
        DivergenceError,
        EpochPrinter,
        TrainingInterrupted,
        evaluate,
        write_checkpoint,
    )

    ckpt = checkpoint_path(args.out, args.checkpoint)
    if args.resume:
        trainer, dataset = _resume(args, ckpt)
    else:
        trainer, dataset = _start(args)
    callbacks = [CheckpointWriter(ckpt)]
    # A live bar needs a terminal (and tqdm); logs and pipes get one line per epoch.
    live = not args.no_progress and sys.stderr.isatty() and _has_tqdm()
    callbacks.insert(0, _progress_bar() if live else EpochPrinter())
    trainer.callbacks = callbacks

    images, labels = datasets.load(dataset, "train", args.data_dir)
    train_size = trainer.model.metadata.get("train_size")
    if train_size:
        images, labels = images[:train_size], labels[:train_size]
    config = trainer.config
    if trainer.epoch >= config.epochs:
        print(f"{ckpt}: training already finished ({trainer.epoch} epochs); nothing to do")
    else:
        print(
            f"training {trainer.model.metadata.get('preset', 'model')} on {dataset} "
            f"({len(images):,} images): {_describe(config)}"
        )
        if trainer.epoch or trainer.batch:
            print(f"resuming from {ckpt} at epoch {trainer.epoch + 1}, batch {trainer.batch + 1}")
        trainer.on_stop = lambda t: write_checkpoint(t, ckpt)
        with StopOnSignals(trainer):
            try:
                trainer.fit(images, labels)
            except DivergenceError as exc:
                raise _with_checkpoint_hint(exc, args, ckpt) from None
            except TrainingInterrupted:
                print(
                    f"\ninterrupted at epoch {trainer.epoch + 1}, batch {trainer.batch}; "
                    f"checkpoint saved to {ckpt}\nresume with: {_resume_command(args, ckpt)}",
                    file=sys.stderr,
                )
                return 130
        for line in trainer.summary().lines():
            print(line)
    save(trainer.model, args.out)
    print(f"model saved to {args.out}")
    if not args.no_test:
        test_images, test_labels = datasets.load(dataset, "test", args.data_dir)
        result = evaluate(trainer.model, test_images, test_labels)
        print(
            f"test accuracy {result.accuracy:.2%} (loss {result.loss:.4f}) on {result.count:,} images"
        )
    return 0


def _start(args: argparse.Namespace) -> tuple[Any, str]:
    from scratchcnn import datasets
    from scratchcnn.presets import build_model, get_preset
    from scratchcnn.training import TrainConfig, Trainer

    name = args.model or DEFAULT_MODEL
    preset = get_preset(name)
    dataset = args.dataset or "mnist"
    values = preset.recipe(dataset)
    values.update({k: getattr(args, k) for k in CONFIG_OPTIONS if getattr(args, k) is not None})
    try:
        config = TrainConfig(**values)
    except ValueError as exc:
        raise ScratchCNNError(str(exc)) from None
    model = build_model(name, seed=config.seed)
    model.metadata.update({"dataset": dataset, "class_names": datasets.class_names(dataset)})
    if args.train_size:
        model.metadata["train_size"] = args.train_size
    return Trainer(model, config), dataset


def _resume(args: argparse.Namespace, ckpt: Path) -> tuple[Any, str]:
    from scratchcnn.training import TrainConfig, resume_trainer

    if not ckpt.exists():
        raise ScratchCNNError(
            f"no checkpoint to resume from at {ckpt}",
            hint="run without --resume to start training, or pass --checkpoint PATH",
        )
    trainer = resume_trainer(ckpt)
    saved = trainer.config.to_dict()
    changed = {
        k: getattr(args, k)
        for k in CONFIG_OPTIONS
        if getattr(args, k) is not None and getattr(args, k) != saved[k]
    }
    metadata = trainer.model.metadata
    conflicts = []
    if args.dataset and args.dataset != metadata.get("dataset"):
        conflicts.append(f"--dataset {args.dataset} (checkpoint: {metadata.get('dataset')})")
    if args.model and args.model != metadata.get("preset"):
        conflicts.append(f"--model {args.model} (checkpoint: {metadata.get('preset')})")
    if conflicts:
        raise ScratchCNNError(
            f"{ckpt} holds another run: {'; '.join(conflicts)}",
            hint="drop those options to resume it, or start afresh without --resume",
        )
    if changed:
        try:
            trainer.config = TrainConfig(**{**saved, **changed})
        except ValueError as exc:
            raise ScratchCNNError(str(exc)) from None
        settings = ", ".join(f"{k.replace('_', '-')} {saved[k]} -> {v}" for k, v in changed.items())
        print(
            f"warning: resuming with changed settings ({settings}); the result will differ "
            "from an uninterrupted run",
            file=sys.stderr,
        )
    return trainer, metadata.get("dataset", "mnist")


def _with_checkpoint_hint(exc: Any, args: argparse.Namespace, ckpt: Path) -> TrainingError:
    """Say where the last good checkpoint is and how to resume from it more gently."""
    from scratchcnn.persistence import read_header

    try:
        epochs = read_header(ckpt)["training_state"]["epoch"]
    except Exception:
        return TrainingError(exc.message, hint=f"{exc.hint}; no checkpoint was written")
    command = f"{_resume_command(args, ckpt)} --lr {exc.suggested_lr:.3g}"
    return TrainingError(
        exc.message,
        hint=f"{exc.hint}; the last good checkpoint ({epochs} epochs) is {ckpt}: {command}",
    )


def _describe(config: Any) -> str:
    parts = [
        f"{config.epochs} epochs",
        f"batch {config.batch_size}",
        f"{config.optimizer} lr {config.lr:g}",
        f"{config.schedule} schedule",
    ]
    if config.shift:
        parts.append(f"shifts up to {config.shift} px")
    if config.flip:
        parts.append("random mirroring")
    if config.validation_split:
        parts.append(f"validation {config.validation_split:.0%}")
    return ", ".join(parts)


def _resume_command(args: argparse.Namespace, ckpt: Path) -> str:
    parts = ["scratchcnn train --resume", f"--out {args.out}"]
    if args.checkpoint:
        parts.append(f"--checkpoint {ckpt}")
    if args.data_dir:
        parts.append(f"--data-dir {args.data_dir}")
    return " ".join(parts)


def _has_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _progress_bar() -> Any:
    from scratchcnn.training import ProgressBar

    return ProgressBar(file=sys.stderr)


class StopOnSignals:
    """While active, SIGINT and SIGTERM ask the trainer to stop after the current step.

    A second signal restores the default behaviour, so pressing Ctrl-C twice still stops
    a stuck process at once.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.trainer.stop_requested = True
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __enter__(self) -> StopOnSignals:
        for sig in self.SIGNALS:
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
