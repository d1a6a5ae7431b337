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
    add_threads_argument,
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
        "train", help=tr("cli.train.help"), description=tr("cli.train.description")
    )
    add_data_arguments(parser, "cli.help.dataset.train")
    parser.add_argument(
        "--model",
        metavar="NAME",
        help=tr("cli.train.help.model", presets=", ".join(PRESET_NAMES), default=DEFAULT_MODEL),
    )
    parser.add_argument("--epochs", type=positive_int, help=tr("cli.train.help.epochs"))
    parser.add_argument(
        "--batch-size", type=positive_int, metavar="B", help=tr("cli.train.help.batch_size")
    )
    parser.add_argument("--lr", type=positive_float, help=tr("cli.train.help.lr"))
    parser.add_argument("--optimizer", choices=OPTIMIZER_NAMES, help=tr("cli.train.help.optimizer"))
    parser.add_argument("--momentum", type=fraction, help=tr("cli.train.help.momentum"))
    parser.add_argument(
        "--weight-decay",
        type=non_negative_float,
        metavar="WD",
        help=tr("cli.train.help.weight_decay"),
    )
    parser.add_argument("--schedule", choices=SCHEDULE_NAMES, help=tr("cli.train.help.schedule"))
    parser.add_argument(
        "--label-smoothing", type=fraction, metavar="E", help=tr("cli.train.help.label_smoothing")
    )
    parser.add_argument(
        "--shift", type=non_negative_int, metavar="PX", help=tr("cli.train.help.shift")
    )
    parser.add_argument("--flip", action="store_const", const=True, help=tr("cli.train.help.flip"))
    parser.add_argument(
        "--validation-split",
        type=fraction,
        metavar="F",
        help=tr("cli.train.help.validation_split"),
    )
    parser.add_argument("--seed", type=int, help=tr("cli.train.help.seed"))
    parser.add_argument(
        "--train-size", type=positive_int, metavar="N", help=tr("cli.train.help.train_size")
    )
    parser.add_argument("--out", default="model.npz", metavar="PATH", help=tr("cli.train.help.out"))
    parser.add_argument("--checkpoint", metavar="PATH", help=tr("cli.train.help.checkpoint"))
    parser.add_argument("--resume", action="store_true", help=tr("cli.train.help.resume"))
    parser.add_argument("--no-progress", action="store_true", help=tr("cli.train.help.no_progress"))
    parser.add_argument("--no-test", action="store_true", help=tr("cli.train.help.no_test"))
    parser.add_argument("--history", metavar="FILE", help=tr("cli.train.help.history"))
    add_threads_argument(parser)
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
    from scratchcnn.training import DivergenceError, TrainingInterrupted, evaluate
    from scratchcnn.training.history import check_history_path, test_record, write_history

    if args.history:
        check_history_path(args.history)
    ckpt = checkpoint_path(args.out, args.checkpoint)
    trainer, dataset = _resume(args, ckpt) if args.resume else _start(args, ckpt)
    # A live bar needs a terminal (and tqdm); logs and pipes get one line per epoch.
    live = not args.no_progress and sys.stderr.isatty() and _has_tqdm()
    trainer.callbacks = [_progress_bar() if live else _epoch_printer()]

    images, labels = datasets.load(dataset, "train", args.data_dir)
    config = trainer.config
    if trainer.epoch >= config.epochs:
        print(tr_count("cli.train.already_finished", trainer.epoch, path=ckpt))
    else:
        used = min(len(images), config.train_size or len(images))
        preset = trainer.model.metadata.get("preset", "model")
        print(
            tr(
                "cli.train.start",
                preset=preset,
                dataset=dataset,
                images=f"{used:,}",
                settings=describe_config(config),
            )
        )
        print(tr("cli.train.checkpoint", path=ckpt, command=_resume_command(args, ckpt)))
        if trainer.epoch or trainer.batch:
            print(
                tr(
                    "cli.train.resuming",
                    path=ckpt,
                    epoch=trainer.epoch + 1,
                    batch=trainer.batch + 1,
                )
            )
        with trainer.stop_on_signals():
            try:
                trainer.fit(images, labels)
            except DivergenceError as exc:
                raise _with_checkpoint_hint(exc, args, ckpt) from None
            except TrainingInterrupted:
                message = tr(
                    "cli.train.interrupted",
                    epoch=trainer.epoch + 1,
                    batch=trainer.batch,
                    path=ckpt,
                    command=_resume_command(args, ckpt),
                )
                print("\n" + message, file=sys.stderr)
                return 130
        for line in summary_lines(trainer.summary()):
            print(line)
    save(trainer.model, args.out)
    print(tr("cli.train.saved", path=args.out))
    if args.history:
        write_history(args.history, trainer.model.metadata.get("history", []))
        print(tr("cli.train.history_saved", path=args.history))
    if not args.no_test:
        test_images, test_labels = datasets.load(dataset, "test", args.data_dir)
        result = evaluate(trainer.model, test_images, test_labels)
        print(
            tr(
                "cli.train.test",
                accuracy=f"{result.accuracy:.2%}",
                loss=f"{result.loss:.4f}",
                images=f"{result.count:,}",
            )
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
        tr(
            "cli.train.final",
            loss=f"{summary.final_loss:.4f}",
            accuracy=f"{summary.final_accuracy:.2%}",
        ),
    ]
    if summary.best_val_accuracy is not None:
        out.append(
            tr(
                "cli.train.best",
                accuracy=f"{summary.best_val_accuracy:.2%}",
                epoch=summary.best_epoch,
            )
        )
    return out


def format_duration(seconds: float) -> str:
    """``12.3 s`` under a minute, ``2 min 05.0 s`` above (in the current language)."""
    if seconds < 60:
        return tr("cli.seconds", seconds=f"{seconds:.1f}")
    minutes, secs = divmod(seconds, 60)
    return tr("cli.minutes", minutes=int(minutes), seconds=f"{secs:04.1f}")


def describe_config(config: Any) -> str:
    """The settings of a run in one line: epochs, batch, optimiser, schedule, augmentation."""
    parts = [
        tr_count("cli.config.epochs", config.epochs),
        tr("cli.config.batch", size=config.batch_size),
        tr("cli.config.optimizer", optimizer=config.optimizer, lr=f"{config.lr:g}"),
        tr("cli.config.schedule", schedule=config.schedule),
    ]
    if config.shift:
        parts.append(tr("cli.config.shift", pixels=config.shift))
    if config.flip:
        parts.append(tr("cli.config.flip"))
    if config.validation_split:
        parts.append(tr("cli.config.validation", fraction=f"{config.validation_split:.0%}"))
    if config.train_size:
        parts.append(tr("cli.config.train_size", count=f"{config.train_size:,}"))
    return tr("cli.list_separator").join(parts)


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
            message_key="cli.train.no_checkpoint",
            hint_key="cli.train.no_checkpoint.hint",
            path=ckpt,
        )
    metadata = read_header(ckpt)["metadata"]
    conflicts = []
    if args.dataset and args.dataset != metadata.get("dataset"):
        conflicts.append(
            tr(
                "cli.train.conflict",
                option=f"--dataset {args.dataset}",
                value=metadata.get("dataset"),
            )
        )
    if args.model and args.model != metadata.get("preset"):
        conflicts.append(
            tr("cli.train.conflict", option=f"--model {args.model}", value=metadata.get("preset"))
        )
    if conflicts:
        raise ScratchCNNError(
            message_key="cli.train.other_run",
            hint_key="cli.train.other_run.hint",
            path=ckpt,
            conflicts="; ".join(conflicts),
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
        print(tr("cli.train.changed_settings", settings=settings), file=sys.stderr)
    return trainer, metadata.get("dataset", "mnist")


def _with_checkpoint_hint(exc: Any, args: argparse.Namespace, ckpt: Path) -> TrainingError:
    """Say where the last good checkpoint is and how to resume from it more gently."""
    from scratchcnn.persistence import read_header

    try:
        epochs = read_header(ckpt)["training_state"]["epoch"]
    except Exception:
        return TrainingError(
            exc.message, hint=f"{exc.hint}; {tr('cli.train.no_checkpoint_written')}"
        )
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


def epoch_line(epochs: int, log: Any) -> str:
    """One epoch's line: its loss, accuracy, learning rate, time and validation metrics."""
    line = tr(
        "cli.train.epoch",
        epoch=log.epoch,
        epochs=epochs,
        loss=f"{log.loss:.4f}",
        accuracy=f"{log.accuracy:.2%}",
        lr=f"{log.lr:.3g}",
        seconds=f"{log.seconds:.1f}",
    )
    if log.val_accuracy is not None:
        line += tr(
            "cli.train.epoch.validation",
            loss=f"{log.val_loss:.4f}",
            accuracy=f"{log.val_accuracy:.2%}",
        )
    return line


def _epoch_printer() -> Any:
    from scratchcnn.training import EpochPrinter

    class EpochLines(EpochPrinter):
        """The library's one line per epoch, in the command line's language."""

        def on_epoch_end(self, trainer: Any, log: Any) -> None:
            self.print(epoch_line(trainer.config.epochs, log))

    return EpochLines()


def _has_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _progress_bar() -> Any:
    from scratchcnn.training import ProgressBar

    return ProgressBar(file=sys.stderr)
