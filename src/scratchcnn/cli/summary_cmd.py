"""``scratchcnn summary NAME_OR_FILE``: a preset's or a saved model's layers and sizes."""

from __future__ import annotations

import argparse
import os
from typing import Any

from scratchcnn.cli.common import PRESET_NAMES
from scratchcnn.i18n import tr, tr_count


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``summary`` sub-command."""
    parser = subparsers.add_parser(
        "summary",
        help=tr("cli.summary.help"),
        description=tr("cli.summary.description"),
    )
    parser.add_argument(
        "model",
        nargs="?",
        metavar="NAME_OR_FILE",
        help=tr("cli.summary.help.model", presets=", ".join(PRESET_NAMES)),
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary (and, for a preset, its training recipe)."""
    from scratchcnn.persistence import load
    from scratchcnn.presets import PRESETS, build_model
    from scratchcnn.tables import format_table

    if args.model is None:
        print(format_table([[name, _description(name)] for name in PRESETS]))
        return 0
    if args.model in PRESETS and not os.path.exists(args.model):
        preset = PRESETS[args.model]
        print(f"{args.model}: {_description(args.model)}")
        build_model(args.model).summary(labels=summary_labels())
        recipe = ", ".join(f"{k}={v}" for k, v in preset.defaults.items())
        print(tr("cli.summary.recipe", recipe=recipe))
        for dataset, changes in preset.per_dataset.items():
            settings = ", ".join(f"{k}={v}" for k, v in changes.items())
            print(tr("cli.summary.recipe_on", dataset=dataset, settings=settings))
        return 0
    model = load(args.model)
    model.summary(input_shape=model.input_shape or (28, 28, 1), labels=summary_labels())
    for key in ("preset", "dataset"):
        if key in model.metadata:
            print(tr(f"cli.summary.{key}", value=model.metadata[key]))
    for line in training_lines(model.metadata):
        print(line)
    return 0


#: The words of ``Sequential.summary``'s table, as keys of its ``labels``.
SUMMARY_WORDS = ("layer", "output_shape", "params", "total", "input")


def summary_labels() -> dict[str, str]:
    """The words of ``Sequential.summary``'s table in the command line's language."""
    return {key: tr(f"cli.summary.table.{key}") for key in SUMMARY_WORDS}


def training_lines(metadata: dict[str, Any]) -> list[str]:
    """How a saved model was trained (one row per epoch) and how well it did on the test set."""
    from scratchcnn.cli.train_cmd import describe_config, format_duration
    from scratchcnn.tables import format_table
    from scratchcnn.training import TrainConfig

    history = metadata.get("history") or []
    lines = [""]
    recipe = metadata.get("recipe")
    if isinstance(recipe, dict):
        try:
            lines.append(
                tr("cli.summary.recipe", recipe=describe_config(TrainConfig.from_dict(recipe)))
            )
        except (TypeError, ValueError):
            lines.append(tr("cli.summary.recipe", recipe=recipe))
    if history:
        seconds = sum(float(row.get("seconds") or 0) for row in history)
        lines.append(
            tr_count(
                "cli.summary.trained",
                len(history),
                dataset=metadata.get("dataset", "?"),
                duration=format_duration(seconds),
            )
        )
        columns = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")
        rows = [[tr(f"cli.col.{column}") for column in columns]]
        for row in history:
            rows.append(
                [
                    row.get("epoch", ""),
                    _number(row.get("loss"), ".4f"),
                    _number(row.get("accuracy"), ".2%"),
                    _number(row.get("val_loss"), ".4f"),
                    _number(row.get("val_accuracy"), ".2%"),
                    _number(row.get("lr"), ".3g"),
                    _number(row.get("seconds"), ".1f"),
                ]
            )
        lines.append(format_table(rows, "rrrrrrr"))
    else:
        lines.append(tr("cli.summary.no_history"))
    test = metadata.get("test")
    if isinstance(test, dict) and test.get("accuracy") is not None:
        lines.append(
            tr(
                "cli.summary.test",
                split=tr(f"cli.split.{test.get('split', 'test')}"),
                accuracy=_number(test.get("accuracy"), ".2%"),
                loss=_number(test.get("loss"), ".4f"),
                images=_number(test.get("images"), ","),
                dataset=test.get("dataset", metadata.get("dataset", "?")),
            )
        )
    else:
        lines.append(tr("cli.summary.no_test"))
    return lines


def _description(name: str) -> str:
    """A preset's one-line description, in the current language."""
    return tr(f"cli.preset.{name}")


def _number(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``; ``-`` where the file records none."""
    if value is None:
        return "-"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)
