"""Argument types and options shared by the sub-commands."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The names of the data sets and presets, repeated here so that building the parser
# imports nothing heavy; tests check them against scratchcnn.data.datasets, .presets and
# .training.
DATASET_CHOICES = ("mnist", "fashion-mnist", "mnist-sample")
PRESET_NAMES = ("classic", "lenet", "fast", "best")
OPTIMIZER_NAMES = ("sgd", "adam", "adamw")
SCHEDULE_NAMES = ("constant", "step", "cosine", "onecycle")


def _number_type(
    parse: Callable[[str], Any], accept: Callable[[Any], bool], expected: str
) -> Callable[[str], Any]:
    """An argparse type: ``parse`` the text, then check it with ``accept``."""

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return convert


positive_int = _number_type(int, lambda v: v > 0, "a positive integer")
non_negative_int = _number_type(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _number_type(float, lambda v: math.isfinite(v) and v > 0, "a positive number")
non_negative_float = _number_type(float, lambda v: math.isfinite(v) and v >= 0, "a number >= 0")
fraction = _number_type(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


def add_data_arguments(
    parser: argparse.ArgumentParser, default: str | None = "mnist", shown: str | None = None
) -> None:
    """``--dataset`` and ``--data-dir``; ``shown`` says what a missing ``--dataset`` means."""
    shown = shown or default
    parser.add_argument(
        "--dataset",
        choices=DATASET_CHOICES,
        default=default,
        help=f"data set (default: {shown})" if shown else "data set",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder holding the data set's files (default: $SCRATCHCNN_DATA, then the cache)",
    )


def warn_if_other_dataset(model: Any, model_path: str, dataset: str, command: str) -> None:
    """One line on stderr when ``model`` was trained on a data set other than ``dataset``.

    The command goes on: the numbers still print, the warning says how to read them.
    ``command`` is ``evaluate`` or ``report`` (the verb of the warning).
    """
    from scratchcnn.compatibility import other_training_dataset
    from scratchcnn.i18n import tr

    trained = other_training_dataset(model.metadata, dataset)
    if trained is not None:
        message = tr(
            f"cli.warning.other_dataset.{command}",
            model=Path(model_path).name,
            trained=trained,
            dataset=dataset,
        )
        print(message, file=sys.stderr)
