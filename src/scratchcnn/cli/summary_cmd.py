"""``scratchcnn summary NAME_OR_FILE``: a preset's or a saved model's layers and sizes."""

from __future__ import annotations

import argparse
import os
from typing import Any

from scratchcnn.cli.common import PRESET_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``summary`` sub-command."""
    parser = subparsers.add_parser(
        "summary",
        help="show a preset's or a model file's layers, output shapes and parameters",
    )
    parser.add_argument(
        "model",
        nargs="?",
        metavar="NAME_OR_FILE",
        help=f"a preset ({', '.join(PRESET_NAMES)}) or a model file; none lists the presets",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary (and, for a preset, its training recipe)."""
    from scratchcnn.persistence import load
    from scratchcnn.presets import PRESETS, build_model
    from scratchcnn.tables import format_table

    if args.model is None:
        print(format_table([[name, preset.description] for name, preset in PRESETS.items()]))
        return 0
    if args.model in PRESETS and not os.path.exists(args.model):
        preset = PRESETS[args.model]
        print(f"{args.model}: {preset.description}")
        build_model(args.model).summary()
        recipe = ", ".join(f"{k}={v}" for k, v in preset.defaults.items())
        print(f"Training recipe: {recipe}")
        for dataset, changes in preset.per_dataset.items():
            print(f"  on {dataset}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
        return 0
    model = load(args.model)
    model.summary(input_shape=model.input_shape or (28, 28, 1))
    for line in training_lines(model.metadata):
        print(line)
    return 0


def training_lines(metadata: dict[str, Any]) -> list[str]:
    """How a model was trained (preset, data set, recipe, time) and how well it did.

    Reads ``metadata["history"]`` and ``metadata["test"]`` (see
    :mod:`scratchcnn.training.history`); a model saved without them shows what it has.
    """
    from scratchcnn.cli.train_cmd import format_duration
    from scratchcnn.tables import format_table
    from scratchcnn.training import TrainConfig

    lines = [f"{key}: {metadata[key]}" for key in ("preset", "dataset") if key in metadata]
    history = metadata.get("history") or []
    recipe = metadata.get("recipe")
    if history:
        seconds = sum(row.get("seconds") or 0.0 for row in history)
        epochs = f"{len(history)} epoch{'s' if len(history) != 1 else ''}"
        lines.append(f"trained: {epochs} in {format_duration(seconds)}")
    if isinstance(recipe, dict):
        try:
            lines.append(f"recipe: {TrainConfig.from_dict(recipe).describe()}")
        except (TypeError, ValueError):
            lines.append(f"recipe: {recipe}")
    if history:
        rows = [["epoch", "loss", "accuracy", "val loss", "val accuracy", "lr", "time"]]
        for row in history:
            rows.append(
                [
                    row.get("epoch"),
                    _number(row.get("loss"), "{:.4f}"),
                    _number(row.get("accuracy"), "{:.2%}"),
                    _number(row.get("val_loss"), "{:.4f}"),
                    _number(row.get("val_accuracy"), "{:.2%}"),
                    _number(row.get("lr"), "{:.3g}"),
                    _number(row.get("seconds"), "{:.1f} s"),
                ]
            )
        lines += ["", format_table(rows, "rrrrrrr")]
    test = metadata.get("test")
    if isinstance(test, dict):
        where = f"{test.get('dataset', '?')} {test.get('split', 'test')}"
        images = test.get("images")
        count = f" ({images:,} images)" if isinstance(images, int) else ""
        lines += [
            "",
            f"test on {where}{count}: accuracy {_number(test.get('accuracy'), '{:.2%}')}, "
            f"loss {_number(test.get('loss'), '{:.4f}')}",
        ]
    if not history and not isinstance(test, dict):
        lines.append("no training history in this file")
    return lines


def _number(value: Any, template: str) -> str:
    """``value`` formatted, or "-" where it is missing (no validation data, say)."""
    return "-" if not isinstance(value, (int, float)) else template.format(value)
