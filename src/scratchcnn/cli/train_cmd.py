"""``scratchcnn train``: train a preset model, checkpoint every epoch, resume, save.

The model is written to ``--out`` when training ends; a checkpoint (model, optimiser,
training state) is written after every epoch to ``--checkpoint`` (default: next to
``--out``), and ``--resume`` continues from it exactly. Ctrl-C (SIGINT) or SIGTERM
finishes the current step, writes the checkpoint and exits with status 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from scratchcnn.cli.common import (
    OPTIMIZER_NAMES,
    PRESET_NAMES,
    SCHEDULE_NAMES,
    add_data_arguments,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from scratchcnn.errors import ScratchCNNError, TrainingError
from scratchcnn.i18n import tr, tr_count

DEFAULT_MODEL = "lenet"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""
    parser = subparsers.add_parser(
        "train",
        help="train a model on a data set, with checkpoints and resume",
        description="Train a preset model. Options left out take the preset's values "
        "(see `scratchcnn summary PRESET`).",
    )
    add_data_arguments(parser, default=None, shown="mnist")
    parser.add_argument(
        "--model",
        metavar="NAME",
        help=f"preset: {', '.join(PRESET_NAMES)} (default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--epochs", type=positive_int, help="passes over the training set (default: the preset's)"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        metavar="B",
        help="images per step (default: the preset's)",
    )
    parser.add_argument(
        "--lr", type=positive_float, help="(peak) learning rate (default: the preset's)"
    )
    parser.add_argument(
        "--optimizer", choices=OPTIMIZER_NAMES, help="optimiser (default: the preset's)"
    )
    parser.add_argument("--momentum", type=fraction, help="SGD momentum (default: the preset's)")
    parser.add_argument(
        "--weight-decay",
        type=non_negative_float,
        metavar="WD",
        help="weight decay (default: the preset's)",
    )
    parser.add_argument(
        "--schedule", choices=SCHEDULE_NAMES, help="learning-rate schedule (default: the preset's)"
    )
    parser.add_argument(
        "--label-smoothing",
        type=fraction,
        metavar="E",
        help="label smoothing (default: the preset's)",
    )
    parser.add_argument(
        "--shift",
        type=non_negative_int,
        metavar="PX",
        help="random shifts of up to PX pixels (default: the preset's)",
    )
    parser.add_argument(
        "--flip",
        action="store_const",
        const=True,
        help="mirror images left-right at random (for Fashion-MNIST, not for digits; "
        "default: the preset's)",
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
        help="train on the first N training images only (quick experiments; default: all)",
    )
    parser.add_argument(
        "--out",
        default="model.npz",
        metavar="PATH",
        help="where to save the model (default: model.npz)",
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
    parser.add_argument(
        "--history",
        metavar="FILE",
        help="also write the per-epoch history to FILE (.json or .csv); the model file "
        "keeps it in any case",
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
    """Train (or resume), evaluate on the test split, save the model (and the history)."""
    from scratchcnn.data import datasets
    from scratchcnn.persistence import save
    from scratchcnn.training import DivergenceError, EpochPrinter, TrainingInterrupted, evaluate
    from scratchcnn.training.history import check_history_path, test_record, write_history

    if args.history:
        check_history_path(args.history)
    ckpt = checkpoint_path(args.out, args.checkpoint)
    trainer, dataset = _resume(args, ckpt) if args.resume else _start(args, ckpt)
    # A live bar needs a terminal (and tqdm); logs and pipes get one line per epoch.
    live = not args.no_progress and sys.stderr.isatty() and _has_tqdm()
    trainer.callbacks = [_progress_bar() if live else EpochPrinter()]

    images, labels = datasets.load(dataset, "train", args.data_dir)
    config = trainer.config
    if trainer.epoch >= config.epochs:
        print(tr_count("cli.train.already_finished", trainer.epoch, path=ckpt))
    else:
        used = min(len(images), config.train_size or len(images))
        preset = trainer.model.metadata.get("preset", "model")
        print(f"training {preset} on {dataset} ({used:,} images): {config.describe()}")
        print(tr("cli.train.checkpoint", path=ckpt, command=_resume_command(args, ckpt)))
        if trainer.epoch or trainer.batch:
            print(f"resuming from {ckpt} at epoch {trainer.epoch + 1}, batch {trainer.batch + 1}")
        with trainer.stop_on_signals():
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
        for line in summary_lines(trainer.summary()):
            print(line)
    save(trainer.model, args.out)
    print(f"model saved to {args.out}")
    if args.history:
        write_history(args.history, trainer.model.metadata.get("history", []))
        print(f"history saved to {args.history}")
    if not args.no_test:
        test_images, test_labels = datasets.load(dataset, "test", args.data_dir)
        result = evaluate(trainer.model, test_images, test_labels)
        print(
            f"test accuracy {result.accuracy:.2%} (loss {result.loss:.4f}) on {result.count:,} images"
        )
        trainer.model.metadata["test"] = test_record(result, dataset)
        save(trainer.model, args.out)
    return 0


def summary_lines(summary: Any) -> list[str]:
    """What a finished run reports: time and throughput, final and best metrics."""
    out = [
        tr_count(
            "cli.train.trained",
            summary.epochs,
            steps=f"{summary.steps:,}",
            duration=format_duration(summary.seconds),
            speed=f"{summary.images_per_second:,.0f}",
        ),
        f"final training loss {summary.final_loss:.4f}, accuracy {summary.final_accuracy:.2%}",
    ]
    if summary.best_val_accuracy is not None:
        out.append(
            f"best validation accuracy {summary.best_val_accuracy:.2%} (epoch {summary.best_epoch})"
        )
    return out


def format_duration(seconds: float) -> str:
    """``12.3 s`` under a minute, ``2 min 05.0 s`` above."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)} min {secs:04.1f} s"


def _start(args: argparse.Namespace, ckpt: Path) -> tuple[Any, str]:
    from scratchcnn.data import datasets
    from scratchcnn.presets import build_model, get_preset
    from scratchcnn.training import CONFIG_FIELDS, TrainConfig, Trainer

    name = args.model or DEFAULT_MODEL
    dataset = args.dataset or "mnist"
    values = get_preset(name).recipe(dataset)
    values.update(
        {k: getattr(args, k) for k in CONFIG_FIELDS if getattr(args, k, None) is not None}
    )
    try:
        config = TrainConfig(**values)
    except ValueError as exc:
        raise ScratchCNNError(str(exc)) from None
    model = build_model(name, seed=config.seed)
    model.metadata.update({"dataset": dataset, "class_names": datasets.class_names(dataset)})
    return Trainer(model, config, checkpoint=ckpt), dataset


def _resume(args: argparse.Namespace, ckpt: Path) -> tuple[Any, str]:
    from scratchcnn.persistence import read_header
    from scratchcnn.training import CONFIG_FIELDS, resume_trainer

    if not ckpt.exists():
        raise ScratchCNNError(
            f"no checkpoint to resume from at {ckpt}",
            hint="run without --resume to start training, or pass --checkpoint PATH",
        )
    metadata = read_header(ckpt)["metadata"]
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
    overrides = {k: getattr(args, k, None) for k in CONFIG_FIELDS}
    try:
        trainer = resume_trainer(ckpt, checkpoint=ckpt, **overrides)
    except ValueError as exc:
        raise ScratchCNNError(str(exc)) from None
    if trainer.changed_settings:
        settings = ", ".join(
            f"{k.replace('_', '-')} {old} -> {new}"
            for k, (old, new) in trainer.changed_settings.items()
        )
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
    where = tr_count("cli.train.last_checkpoint", epochs, path=ckpt, command=command)
    return TrainingError(exc.message, hint=f"{exc.hint}; {where}")


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
