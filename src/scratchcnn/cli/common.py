"""Argument types and options shared by the sub-commands."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scratchcnn.i18n import tr

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
    """An argparse type: ``parse`` the text, then check it with ``accept``.

    ``expected`` is the catalogue key of what is expected (``cli.expected.*``).
    """

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(
                tr("cli.expected", expected=tr(expected), value=repr(text))
            )
        return value

    return convert


positive_int = _number_type(int, lambda v: v > 0, "cli.expected.positive_int")
non_negative_int = _number_type(int, lambda v: v >= 0, "cli.expected.non_negative_int")
positive_float = _number_type(
    float, lambda v: math.isfinite(v) and v > 0, "cli.expected.positive_float"
)
non_negative_float = _number_type(
    float, lambda v: math.isfinite(v) and v >= 0, "cli.expected.non_negative_float"
)
fraction = _number_type(float, lambda v: 0.0 <= v < 1.0, "cli.expected.fraction")


def add_data_arguments(parser: argparse.ArgumentParser, default_key: str) -> None:
    """``--dataset`` and ``--data-dir``; ``default_key`` is the help of ``--dataset``
    (a catalogue key), which says what leaving it out means.
    """
    parser.add_argument("--dataset", choices=DATASET_CHOICES, help=tr(default_key))
    parser.add_argument("--data-dir", metavar="DIR", help=tr("cli.help.data_dir"))


def add_evaluation_arguments(parser: argparse.ArgumentParser) -> None:
    """What every command that runs a saved model over a data set split takes: ``MODEL``,
    ``--dataset``/``--data-dir``, ``--split``, ``--batch-size`` and ``--threads``."""
    parser.add_argument("model", metavar="MODEL", help=tr("cli.help.model_file"))
    add_data_arguments(parser, "cli.help.dataset.model")
    parser.add_argument(
        "--split", choices=("test", "train"), default="test", help=tr("cli.help.split")
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=256,
        metavar="N",
        help=tr("cli.help.batch_size", default=256),
    )
    add_threads_argument(parser)


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: the threads the command's engine runs on (see
    :mod:`scratchcnn.threads`); :func:`scratchcnn.cli.main` applies it around the command's
    handler."""
    parser.add_argument("--threads", type=positive_int, metavar="N", help=tr("cli.help.threads"))


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
