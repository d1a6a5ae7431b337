"""``scratchcnn summary NAME_OR_FILE``: a preset's or a saved model's layers and sizes."""

from __future__ import annotations

import argparse
import os

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
    for key in ("preset", "dataset"):
        if key in model.metadata:
            print(f"{key}: {model.metadata[key]}")
    return 0
